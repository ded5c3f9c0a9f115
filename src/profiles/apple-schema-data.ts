/**
 * Apple's payload schemas in the compact form the project ships (data/apple-device-management/payload-schemas.json):
 * derived from the apple/device-management YAML (mdm/profiles/*.yaml) by scripts/derive-apple-schemas.mjs, or at
 * run time from a checkout named by $AIWATCH_APPLE_DM_DIR, and decoded into the object graph apple-yaml.ts checks.
 *
 * Keeps exactly what the checker uses. Per YAML file: its name, its PayloadType, whether the payload is unavailable
 * on macOS (`supportedOS.macOS.introduced: n/a`) or device-channel only there (`userchannel: false`). Per key: name, type, presence, rangelist, range, format,
 * repetition, unavailable on macOS, subkeys. Drops the prose (title, content, description), defaults, `subkeytype`,
 * `assettypes`, and every OS fact other than "not on macOS".
 * Apple's YAML reuses subkey lists through anchors and aliases, some cyclic (a home screen Folder holds pages of icon
 * items); a list used more than once is stored once per schema in `shared` and referenced by index (`subkeysRef`),
 * so the JSON stays small and acyclic, and decoding restores the shared (and cyclic) graph.
 * The YAML is trusted data yet read defensively: every shape is checked, nesting is capped, a bad file throws.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { InputFileError } from '../errors.js';
import { lazyRequire } from '../formats/lazy.js';

// Loaded on first use, not at every start of the CLI (src/formats/lazy.ts).
const yaml = lazyRequire<typeof import('yaml')>('yaml');

/** The `format` tag of the shipped JSON; bumped when its shape changes. */
export const APPLE_DATA_FORMAT = 'aiwatch-deploy/apple-payload-schemas@1';
/** Deepest subkey nesting accepted (Apple's deepest is under 10). */
const MAX_DEPTH = 64;

export type Presence = 'required' | 'optional';
export interface Bounds {
  min?: number;
  max?: number;
}

/** A payload key as the checker sees it (decoded: `subkeys` may be shared between keys, even cyclic). */
export interface AppleKey {
  key: string;
  type: string;
  presence?: Presence;
  rangelist?: Array<string | number | boolean>;
  range?: Bounds;
  format?: string;
  repetition?: Bounds;
  /** `supportedOS.macOS.introduced: n/a`. */
  notOnMacOS?: true;
  subkeys?: AppleKey[];
}

/** One YAML file's payload schema, decoded. */
export interface AppleSchema {
  /** YAML file name (e.g. `com.apple.servicemanagement.yaml`); `<type>, merged from <n> files` for a merged type. */
  file: string;
  payloadType: string;
  notOnMacOS?: true;
  /** `supportedOS.macOS.userchannel: false`: a User-scoped profile cannot carry it. */
  deviceChannelOnly?: true;
  keys: AppleKey[];
}

/** A key as stored: inline `subkeys`, or `subkeysRef` into the schema's `shared` lists. */
export type CompactKey = Omit<AppleKey, 'subkeys'> & { subkeys?: CompactKey[]; subkeysRef?: number };
export interface CompactSchema {
  file: string;
  payloadType: string;
  notOnMacOS?: true;
  deviceChannelOnly?: true;
  keys: CompactKey[];
  shared?: CompactKey[][];
}

type Raw = Record<string, unknown>;
const isRecord = (x: unknown): x is Raw => typeof x === 'object' && x !== null && !Array.isArray(x);
const macOS = (supportedOS: unknown): Raw | undefined => (isRecord(supportedOS) && isRecord(supportedOS.macOS) ? supportedOS.macOS : undefined);
const notOnMacOS = (supportedOS: unknown): boolean => macOS(supportedOS)?.introduced === 'n/a';

/** Derives one schema; `fail` throws with the file named. */
class Deriver {
  private readonly uses = new Map<unknown[], number>();
  private readonly refs = new Map<unknown[], number>();
  private readonly pending: unknown[][] = [];

  constructor(readonly fail: (message: string) => never) {}

  /** Count how often each subkey list is reached (by identity), descending into each only once. */
  count(list: unknown, depth: number): void {
    if (!Array.isArray(list)) this.fail('subkeys is not a list');
    const n = this.uses.get(list) ?? 0;
    this.uses.set(list, n + 1);
    if (n > 0) return;
    if (depth > MAX_DEPTH) this.fail(`subkeys nested deeper than ${MAX_DEPTH}`);
    for (const k of list) if (isRecord(k) && k.subkeys !== undefined) this.count(k.subkeys, depth + 1);
  }

  keys(list: unknown[]): CompactKey[] {
    return list.map((k) => this.key(k));
  }

  /** The `shared` table: lists reached more than once, each encoded once. */
  shared(): CompactKey[][] {
    const out: CompactKey[][] = [];
    for (let i = 0; i < this.pending.length; i++) out.push(this.keys(this.pending[i]!));
    return out;
  }

  private key(raw: unknown): CompactKey {
    if (!isRecord(raw) || typeof raw.key !== 'string' || typeof raw.type !== 'string') this.fail('a payload key without a string key and type');
    const name = raw.key;
    const out: CompactKey = { key: name, type: raw.type };
    if (raw.presence !== undefined) {
      if (raw.presence !== 'required' && raw.presence !== 'optional') this.fail(`${name}: presence ${JSON.stringify(raw.presence)} is not required or optional`);
      out.presence = raw.presence;
    }
    if (raw.rangelist !== undefined) {
      const ok = Array.isArray(raw.rangelist) && raw.rangelist.every((v) => ['string', 'number', 'boolean'].includes(typeof v));
      if (!ok) this.fail(`${name}: rangelist is not a list of scalars`);
      out.rangelist = raw.rangelist as Array<string | number | boolean>;
    }
    if (raw.range !== undefined) out.range = this.bounds(name, 'range', raw.range);
    if (raw.format !== undefined) {
      if (typeof raw.format !== 'string') this.fail(`${name}: format is not a string`);
      out.format = raw.format;
    }
    if (raw.repetition !== undefined) out.repetition = this.bounds(name, 'repetition', raw.repetition);
    if (notOnMacOS(raw.supportedOS)) out.notOnMacOS = true;
    if (raw.subkeys !== undefined) {
      const list = raw.subkeys as unknown[];
      if ((this.uses.get(list) ?? 0) > 1) out.subkeysRef = this.ref(list);
      else out.subkeys = this.keys(list);
    }
    return out;
  }

  private ref(list: unknown[]): number {
    let i = this.refs.get(list);
    if (i === undefined) {
      i = this.pending.length;
      this.refs.set(list, i);
      this.pending.push(list);
    }
    return i;
  }

  private bounds(name: string, field: string, raw: unknown): Bounds {
    if (!isRecord(raw)) this.fail(`${name}: ${field} is not a mapping`);
    const out: Bounds = {};
    for (const side of ['min', 'max'] as const) {
      const v = raw[side];
      if (v === undefined) continue;
      if (typeof v !== 'number') this.fail(`${name}: ${field}.${side} is not a number`);
      out[side] = v;
    }
    return out;
  }
}

/** The compact schema of one parsed YAML document; `where` names it in errors. */
export function deriveAppleSchema(file: string, doc: unknown, where = file): CompactSchema {
  const fail = (message: string): never => {
    throw new InputFileError(where, message);
  };
  const payload = isRecord(doc) && isRecord(doc.payload) ? doc.payload : undefined;
  const payloadType = payload?.payloadtype;
  const list = isRecord(doc) ? doc.payloadkeys : undefined;
  if (typeof payloadType !== 'string' || !Array.isArray(list)) fail('not an apple/device-management payload schema (no payload.payloadtype or payloadkeys)');
  const d = new Deriver(fail);
  d.count(list, 0);
  const keys = d.keys(list as unknown[]);
  const shared = d.shared();
  return {
    file,
    payloadType: payloadType as string,
    ...(notOnMacOS(payload?.supportedOS) ? { notOnMacOS: true as const } : {}),
    ...(macOS(payload?.supportedOS)?.userchannel === false ? { deviceChannelOnly: true as const } : {}),
    keys,
    ...(shared.length > 0 ? { shared } : {}),
  };
}

/**
 * Every `mdm/profiles/*.yaml` of an apple/device-management checkout, derived, sorted by file name. `label` says who
 * named `dir` (the env variable, the script's argument) in the error when it is no checkout.
 */
export function deriveAppleCheckout(dir: string, label: string): CompactSchema[] {
  const profiles = path.join(dir, 'mdm', 'profiles');
  if (!existsSync(path.join(profiles, 'TopLevel.yaml')) || !existsSync(path.join(profiles, 'CommonPayloadKeys.yaml'))) {
    throw new InputFileError(dir, `${label} names no apple/device-management checkout (expected mdm/profiles/TopLevel.yaml and mdm/profiles/CommonPayloadKeys.yaml)`);
  }
  const files = readdirSync(profiles)
    .filter((n) => n.endsWith('.yaml'))
    .sort(byCodePoint);
  return files.map((f) => {
    const where = path.join(profiles, f);
    let doc: unknown;
    try {
      doc = yaml().parse(readFileSync(where, 'utf8'), { maxAliasCount: -1 });
    } catch (e) {
      throw new InputFileError(where, `not valid YAML (${(e as Error).message.split('\n')[0]})`);
    }
    return deriveAppleSchema(f, doc, where);
  });
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The shipped JSON text: stable, sorted by file name, one schema per line (a changed schema is a one-line diff). */
export function serializeAppleData(schemas: readonly CompactSchema[]): string {
  const sorted = [...schemas].sort((a, b) => byCodePoint(a.file, b.file));
  return `{"format":${JSON.stringify(APPLE_DATA_FORMAT)},"schemas":[\n${sorted.map((s) => JSON.stringify(s)).join(',\n')}\n]}\n`;
}

/** Parse the shipped JSON. A file of another format or shape throws (a broken oracle must not pass silently). */
export function parseAppleData(text: string, where: string): CompactSchema[] {
  const data = JSON.parse(text) as unknown;
  if (!isRecord(data) || data.format !== APPLE_DATA_FORMAT || !Array.isArray(data.schemas)) {
    throw new Error(`${where}: not ${APPLE_DATA_FORMAT} data (regenerate it with scripts/derive-apple-schemas.mjs)`);
  }
  for (const s of data.schemas) {
    if (!isRecord(s) || typeof s.file !== 'string' || typeof s.payloadType !== 'string' || !Array.isArray(s.keys)) throw new Error(`${where}: a schema entry without file, payloadType or keys`);
  }
  return data.schemas as CompactSchema[];
}

/** Decode one compact schema into the checker's graph (shared lists become shared arrays, cycles included). */
export function decodeAppleSchema(s: CompactSchema): AppleSchema {
  const lists: AppleKey[][] = (s.shared ?? []).map(() => []);
  const decode = (k: CompactKey): AppleKey => {
    const { subkeys, subkeysRef, ...rest } = k;
    const out: AppleKey = rest;
    if (subkeysRef !== undefined) {
      const list = lists[subkeysRef];
      if (!list) throw new Error(`${s.file}: ${k.key} refers to shared list ${subkeysRef}, which does not exist`);
      out.subkeys = list;
    } else if (subkeys) out.subkeys = subkeys.map(decode);
    return out;
  };
  (s.shared ?? []).forEach((list, i) => lists[i]!.push(...list.map(decode)));
  const out: AppleSchema = { file: s.file, payloadType: s.payloadType, keys: s.keys.map(decode) };
  if (s.notOnMacOS) out.notOnMacOS = true;
  if (s.deviceChannelOnly) out.deviceChannelOnly = true;
  return out;
}

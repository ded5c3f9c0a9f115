/**
 * A checker of configuration profiles against Apple's own payload schemas (the apple/device-management YAML:
 * mdm/profiles/TopLevel.yaml, CommonPayloadKeys.yaml and one file per PayloadType), used as an independent oracle
 * by `verify` and the tests.
 *
 * Covers, recursively through `subkeys`: presence (required/optional; absent = optional), the types `<string>
 * <integer> <real> <boolean> <date> <data> <array> <dictionary> <any>`, `rangelist`, `range`, `format` (a regex),
 * array `repetition`, array element placeholders (an `<array>`'s single subkey describes every element; its own
 * name never appears in a plist), `ANY` wildcard keys, keys and payloads not available on macOS (`introduced:
 * n/a`), and the one rule the YAML states only in prose: every TCC identity has exactly one of `Allowed` and
 * `Authorization` (the YAML marks `Allowed` required; Intune rejects both with error 10022).
 * Does not cover: `valuetype` semantics, `assettypes`, OS-version minimums, `combinetype`.
 * Hand-written because no library reads this YAML dialect; the YAML itself is loaded with the `yaml` package
 * (which resolves the `&id001`/`*id001` aliases the files use).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PACKAGE_ROOT } from '../config/paths.js';
import type { Problem } from '../errors.js';
import { childPath, type PNode, type PType } from './plist-read.js';

export interface AppleKey {
  key: string;
  type: string;
  presence?: 'required' | 'optional';
  rangelist?: unknown[];
  range?: { min?: number; max?: number };
  format?: string;
  repetition?: { min?: number; max?: number };
  subkeys?: AppleKey[];
  supportedOS?: Record<string, Record<string, unknown> | undefined>;
}

export interface AppleSchema {
  /** File name, e.g. `com.apple.servicemanagement.yaml`. */
  file: string;
  title: string;
  payloadType: string;
  supportedOS?: Record<string, Record<string, unknown> | undefined>;
  keys: AppleKey[];
}

export interface AppleSchemas {
  dir: string;
  topLevel: AppleSchema;
  common: AppleSchema;
  payloads: Map<string, AppleSchema>;
}

/** Env variable naming the apple/device-management folder. */
export const APPLE_DM_ENV = 'AIWATCH_APPLE_DM_DIR';

/** Where Apple's schemas are: `$AIWATCH_APPLE_DM_DIR`, else `<package root>/../shared/data/apple-device-management`. */
export function appleSchemaDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[APPLE_DM_ENV];
  return fromEnv ? path.resolve(fromEnv) : path.resolve(PACKAGE_ROOT, '..', 'shared', 'data', 'apple-device-management');
}

const cache = new Map<string, AppleSchemas | undefined>();

function toSchema(file: string, doc: unknown): AppleSchema {
  const d = doc as { title?: string; payload?: { payloadtype?: string; supportedOS?: AppleSchema['supportedOS'] }; payloadkeys?: AppleKey[] };
  if (!d?.payload?.payloadtype || !Array.isArray(d.payloadkeys)) throw new Error(`${file}: not an apple/device-management payload schema`);
  return { file, title: d.title ?? '', payloadType: d.payload.payloadtype, supportedOS: d.payload.supportedOS, keys: d.payloadkeys };
}

/**
 * Load every `mdm/profiles/*.yaml` under `dir`. Undefined when the folder (or TopLevel/CommonPayloadKeys) is absent;
 * a present but unreadable schema throws (a broken oracle must not pass silently).
 */
export function loadAppleSchemas(dir: string): AppleSchemas | undefined {
  if (cache.has(dir)) return cache.get(dir);
  const profilesDir = path.join(dir, 'mdm', 'profiles');
  let result: AppleSchemas | undefined;
  if (existsSync(path.join(profilesDir, 'TopLevel.yaml')) && existsSync(path.join(profilesDir, 'CommonPayloadKeys.yaml'))) {
    const payloads = new Map<string, AppleSchema>();
    let topLevel: AppleSchema | undefined;
    let common: AppleSchema | undefined;
    for (const f of readdirSync(profilesDir).filter((n) => n.endsWith('.yaml')).sort()) {
      const schema = toSchema(f, parseYaml(readFileSync(path.join(profilesDir, f), 'utf8'), { maxAliasCount: -1 }));
      if (schema.payloadType === 'TopLevel') topLevel = schema;
      else if (schema.payloadType === 'CommonPayloadKeys') common = schema;
      else payloads.set(schema.payloadType, schema);
    }
    if (topLevel && common) result = { dir, topLevel, common, payloads };
  }
  cache.set(dir, result);
  return result;
}

const TYPE_OF: Record<string, PType[]> = {
  '<string>': ['string'],
  '<integer>': ['integer'],
  // CFPreferences reads an integer where a real is expected; Apple's tools write whole reals as <real> anyway.
  '<real>': ['real', 'integer'],
  '<boolean>': ['boolean'],
  '<date>': ['date'],
  '<data>': ['data'],
  '<array>': ['array'],
  '<dictionary>': ['dict'],
};

class Walker {
  constructor(
    readonly file: string,
    readonly schemaName: string,
    readonly problems: Problem[],
  ) {}

  fail(where: string, message: string): void {
    this.problems.push({ where: where ? `${this.file}:${where}` : this.file, message: `${message} (Apple schema ${this.schemaName})` });
  }

  keys(node: PNode, keys: AppleKey[], where: string, allowUnknown = false): void {
    if (node.type !== 'dict') return;
    const byName = new Map(keys.filter((k) => k.key !== 'ANY').map((k) => [k.key, k]));
    const any = keys.find((k) => k.key === 'ANY');
    for (const [k, v] of node.entries) {
      const def = byName.get(k) ?? any;
      if (def) this.value(v, def, childPath(where, k));
      else if (!allowUnknown) this.fail(childPath(where, k), `unknown key ${JSON.stringify(k)}`);
    }
    const exclusive = byName.has('Allowed') && byName.has('Authorization');
    for (const def of byName.values()) {
      if (exclusive && def.key === 'Allowed') continue;
      if (def.presence === 'required' && !node.entries.has(def.key)) this.fail(where, `missing required key ${def.key}`);
    }
    if (any?.presence === 'required' && node.entries.size === 0) this.fail(where, 'must not be empty');
    if (exclusive) this.exclusivePair(node, where);
  }

  /** TCC identities: "Every payload needs to include either Authorization or Allowed, but not both." */
  exclusivePair(node: PNode & { type: 'dict' }, where: string): void {
    const has = ['Allowed', 'Authorization'].filter((k) => node.entries.has(k));
    if (has.length === 0) this.fail(where, 'needs exactly one of Allowed or Authorization, has neither');
    if (has.length === 2) this.fail(where, 'has both Allowed and Authorization; exactly one is allowed (Intune rejects this with error 10022)');
  }

  value(node: PNode, def: AppleKey, where: string): void {
    if (def.supportedOS?.macOS?.introduced === 'n/a') this.fail(where, `${def.key} is not available on macOS`);
    const accepted = TYPE_OF[def.type];
    if (accepted && !accepted.includes(node.type)) {
      this.fail(where, `expected ${def.type}, found <${node.type === 'dict' ? 'dictionary' : node.type}>`);
      return;
    }
    if (def.rangelist && node.type !== 'array' && node.type !== 'dict') this.rangelist(node, def.rangelist, where);
    if (def.range && (node.type === 'integer' || node.type === 'real')) this.range(Number(node.value), def.range, where);
    if (def.format && node.type === 'string') this.format(node.value, def.format, where);
    if (node.type === 'array') {
      const r = def.repetition;
      if (r?.min !== undefined && node.items.length < r.min) this.fail(where, `needs at least ${r.min} item(s), has ${node.items.length}`);
      if (r?.max !== undefined && node.items.length > r.max) this.fail(where, `allows at most ${r.max} item(s), has ${node.items.length}`);
      const element = def.subkeys?.[0];
      node.items.forEach((item, i) => {
        if (element) this.value(item, element, childPath(where, i));
        else if (def.rangelist) this.rangelist(item, def.rangelist, childPath(where, i));
      });
    }
    if (node.type === 'dict' && def.subkeys) this.keys(node, def.subkeys, where);
  }

  rangelist(node: PNode, list: unknown[], where: string): void {
    if (node.type === 'array' || node.type === 'dict' || node.type === 'data') return;
    const v = String(node.value);
    if (!list.some((x) => String(x) === v)) this.fail(where, `${JSON.stringify(v)} is not one of ${list.map((x) => JSON.stringify(String(x))).join(', ')}`);
  }

  range(n: number, r: { min?: number; max?: number }, where: string): void {
    if ((r.min !== undefined && n < r.min) || (r.max !== undefined && n > r.max)) this.fail(where, `${n} is outside ${r.min ?? '-∞'}…${r.max ?? '∞'}`);
  }

  format(s: string, format: string, where: string): void {
    let re: RegExp;
    try {
      re = new RegExp(format, 'u');
    } catch {
      return;
    }
    if (!re.test(s)) this.fail(where, `does not match the format ${format}`);
  }
}

/** Check `node` (a dict) against `keys`, appending problems. `allowUnknown`: keys not in `keys` pass. */
export function checkKeys(node: PNode, keys: AppleKey[], where: string, file: string, schemaName: string, problems: Problem[], allowUnknown = false): void {
  new Walker(file, schemaName, problems).keys(node, keys, where, allowUnknown);
}

/** Keys of a payload of `schema`: the common payload keys, overridden by the payload's own definitions. */
export function payloadKeys(schemas: AppleSchemas, schema: AppleSchema | undefined): AppleKey[] {
  const own = schema?.keys ?? [];
  const names = new Set(own.map((k) => k.key));
  return [...schemas.common.keys.filter((k) => !names.has(k.key)), ...own];
}

export interface AppleProfileCheck {
  problems: Problem[];
  /** PayloadTypes without an Apple schema (only their common keys were checked). */
  unknownTypes: string[];
}

/** Check a whole profile: the top-level keys, then every payload against its type's schema. */
export function checkProfileAgainstApple(root: PNode, schemas: AppleSchemas, file: string): AppleProfileCheck {
  const problems: Problem[] = [];
  const unknownTypes: string[] = [];
  new Walker(file, schemas.topLevel.file, problems).keys(root, schemas.topLevel.keys, '');
  const content = root.type === 'dict' ? root.entries.get('PayloadContent') : undefined;
  if (content?.type !== 'array') return { problems, unknownTypes };
  content.items.forEach((item, i) => {
    const where = childPath('PayloadContent', i);
    const typeNode = item.type === 'dict' ? item.entries.get('PayloadType') : undefined;
    const type = typeNode?.type === 'string' ? typeNode.value : undefined;
    const schema = type === undefined ? undefined : schemas.payloads.get(type);
    if (type !== undefined && !schema) unknownTypes.push(type);
    const w = new Walker(file, schema?.file ?? schemas.common.file, problems);
    if (schema?.supportedOS?.macOS?.introduced === 'n/a') w.fail(where, `payload type ${type} is not available on macOS`);
    w.keys(item, payloadKeys(schemas, schema), where, schema === undefined);
  });
  return { problems, unknownTypes };
}

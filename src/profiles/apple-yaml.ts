/**
 * A checker of configuration profiles against Apple's own payload schemas (apple/device-management's
 * mdm/profiles: TopLevel, CommonPayloadKeys and one schema per PayloadType), used as an independent oracle by
 * `verify` and the tests. The schemas come from the derived data the package ships
 * (data/apple-device-management/payload-schemas.json, see apple-schema-data.ts), or from a YAML checkout named by
 * `$AIWATCH_APPLE_DM_DIR`; both go through the same derivation, so they check alike.
 *
 * Covers, recursively through `subkeys`: presence (required/optional; absent = optional), the types `<string>
 * <integer> <real> <boolean> <date> <data> <array> <dictionary> <any>`, `rangelist`, `range`, `format` (a regex),
 * array `repetition`, array element placeholders (an `<array>`'s single subkey describes every element; its own
 * name never appears in a plist), `ANY` wildcard keys, keys and payloads not available on macOS (`introduced:
 * n/a`), and the one rule the YAML states only in prose: every TCC identity has exactly one of `Allowed` and
 * `Authorization` (the YAML marks `Allowed` required; Intune rejects both with error 10022).
 * A PayloadType Apple describes in several files (com.apple.MCX, com.apple.extensiblesso) is checked against their
 * union: every key of any file is known; a key is required only when every file requires it; a key two files define
 * differently keeps only what they agree on (its type, else `<any>`).
 * Does not cover: `valuetype` semantics, `assettypes`, OS-version minimums, `combinetype`.
 * Hand-written because no library reads this YAML dialect; the recursion follows the profile being checked (whose
 * depth the plist reader bounds), never the schema alone.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { PACKAGE_ROOT } from '../config/paths.js';
import type { Problem } from '../errors.js';
import { decodeAppleSchema, deriveAppleCheckout, parseAppleData, type AppleKey, type AppleSchema } from './apple-schema-data.js';
import { childPath, type PNode, type PType } from '../formats/plist-read.js';

export type { AppleKey, AppleSchema } from './apple-schema-data.js';

export interface AppleSchemas {
  /** Where they were read: the shipped JSON file, or the YAML folder of a checkout. */
  source: string;
  /** Read from the checkout `$AIWATCH_APPLE_DM_DIR` names (not the shipped data). */
  fromEnv?: true;
  topLevel: AppleSchema;
  common: AppleSchema;
  payloads: Map<string, AppleSchema>;
}

/** Env variable naming an apple/device-management checkout to read instead of the shipped data. */
export const APPLE_DM_ENV = 'AIWATCH_APPLE_DM_DIR';
/** The derived data the package ships, with Apple's notice (LICENSE.txt) and its source (SOURCE.txt) beside it. */
export const APPLE_DATA_FILE = path.join(PACKAGE_ROOT, 'data', 'apple-device-management', 'payload-schemas.json');

/** One schema standing for several files of the same PayloadType (see the header for the rules). */
function mergeSchemas(variants: AppleSchema[]): AppleSchema {
  if (variants.length === 1) return variants[0]!;
  const defs = new Map<string, AppleKey[]>();
  for (const v of variants) for (const k of v.keys) defs.set(k.key, [...(defs.get(k.key) ?? []), k]);
  const keys = [...defs.values()].map((ds): AppleKey => {
    const first = ds[0]!;
    const presence = ds.length === variants.length && ds.every((d) => d.presence === 'required') ? 'required' : 'optional';
    if (ds.every((d) => isDeepStrictEqual(d, first))) return { ...first, presence };
    const type = ds.every((d) => d.type === first.type) ? first.type : '<any>';
    return { key: first.key, type, presence };
  });
  const merged: AppleSchema = { file: `${variants[0]!.payloadType}, merged from ${variants.length} files`, payloadType: variants[0]!.payloadType, keys };
  if (variants.every((v) => v.notOnMacOS)) merged.notOnMacOS = true;
  if (variants.every((v) => v.deviceChannelOnly)) merged.deviceChannelOnly = true;
  return merged;
}

/** Decoded schemas → TopLevel, CommonPayloadKeys and one (merged) schema per PayloadType. */
export function assembleAppleSchemas(schemas: readonly AppleSchema[], source: string): AppleSchemas {
  const byType = new Map<string, AppleSchema[]>();
  for (const s of schemas) byType.set(s.payloadType, [...(byType.get(s.payloadType) ?? []), s]);
  const single = (t: string): AppleSchema => {
    const found = byType.get(t);
    if (found?.length !== 1) throw new Error(`${source}: expected exactly one ${t} schema, found ${found?.length ?? 0}`);
    return found[0]!;
  };
  const topLevel = single('TopLevel');
  const common = single('CommonPayloadKeys');
  const payloads = new Map<string, AppleSchema>();
  for (const [t, variants] of byType) if (t !== 'TopLevel' && t !== 'CommonPayloadKeys') payloads.set(t, mergeSchemas(variants));
  return { source, topLevel, common, payloads };
}

let bundled: AppleSchemas | undefined;

/** The shipped schemas (read once). Missing or broken data is an internal error: the package itself is damaged. */
export function bundledAppleSchemas(): AppleSchemas {
  bundled ??= assembleAppleSchemas(parseAppleData(readFileSync(APPLE_DATA_FILE, 'utf8'), APPLE_DATA_FILE).map(decodeAppleSchema), APPLE_DATA_FILE);
  return bundled;
}

/** The schemas of an apple/device-management checkout (YAML). Not a checkout, or a bad file: InputFileError. */
export function loadAppleSchemas(dir: string, label = 'the folder'): AppleSchemas {
  return assembleAppleSchemas(deriveAppleCheckout(dir, label).map(decodeAppleSchema), path.join(dir, 'mdm', 'profiles'));
}

const fromEnvCache = new Map<string, AppleSchemas>();

/** `$AIWATCH_APPLE_DM_DIR`'s checkout when set (an error when it is no checkout), else the shipped data. */
export function resolveAppleSchemas(env: NodeJS.ProcessEnv = process.env): AppleSchemas {
  const named = env[APPLE_DM_ENV];
  if (!named) return bundledAppleSchemas();
  const dir = path.resolve(named);
  let schemas = fromEnvCache.get(dir);
  if (!schemas) {
    schemas = { ...loadAppleSchemas(dir, APPLE_DM_ENV), fromEnv: true };
    fromEnvCache.set(dir, schemas);
  }
  return schemas;
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
    if (def.notOnMacOS) this.fail(where, `${def.key} is not available on macOS`);
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
    if (schema?.notOnMacOS) w.fail(where, `payload type ${type} is not available on macOS`);
    w.keys(item, payloadKeys(schemas, schema), where, schema === undefined);
  });
  return { problems, unknownTypes };
}

/**
 * The rollout file of `plan` / `apply` (docs/publish.md): YAML or JSON holding the release (`release.zip`), values
 * shared by every target (`defaults`) and the `targets[]`. It is read whole (at most {@link ROLLOUT_MAX_BYTES}),
 * validated by schemas/rollout.schema.json and then by the rules a schema cannot say (unique names, required fields
 * after defaults are merged, an MDM that has a driver, its credential fields, secrets given by reference only, the
 * URL's scheme), each problem naming the target; every problem is reported at once (UsageError, exit 2). Nothing here
 * reads a secret: references stay references (src/rollout/secrets.ts reads them), paths are made absolute against the
 * rollout file's folder.
 *
 * A value that may be a secret is never echoed: the schema has no pattern for credentials or tenant values, their
 * schema problems are printed without the value, and a literal that looks like a key (src/secret.ts looksLikeKey) is
 * refused wherever it is typed, without showing it.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { TENANT_KEY_NAMES, TENANT_KEYS, type TenantKeyName } from '../config/tenant-keys.js';
import { validatorFor } from '../config/validate.js';
import { InputFileError, UsageError } from '../errors.js';
import { checkInputFile, readInputFile } from '../io/fs.js';
import { looksLikeKey } from '../secret.js';
import type { MdmDriver, MdmKind, RolloutTarget, ScopeCriterion, SecretRef, TargetScope } from './model.js';

/** The largest rollout file read (200 targets take ~100 KiB). */
export const ROLLOUT_MAX_BYTES = 4 << 20;

/** The drivers the rollout may use, by MDM (src/mdm/index.ts in the CLI, a test driver in tests). */
export type DriverRegistry = Partial<Record<MdmKind, MdmDriver>>;

export interface Rollout {
  /** The rollout file as named in messages (relative to the working folder when inside it). */
  file: string;
  /** The release zip (absolute); absent when the file names none (then `--release` must). */
  release: { zip?: string };
  targets: RolloutTarget[];
}

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A target name as messages show it: as is when it has the schema's form, else quoted and cut (it may hold controls). */
const nameShown = (n: string): string => (/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(n) ? n : JSON.stringify(n.slice(0, 40)));
const isRef = (v: unknown): v is SecretRef => isObj(v) && (typeof v.file === 'string' || typeof v.env === 'string');

/** Read, parse and validate `file`; `shown` is how messages name it. */
export async function loadRollout(file: string, drivers: DriverRegistry, shown = file): Promise<Rollout> {
  await checkInputFile(file, 'rollout file');
  const size = (await stat(file)).size;
  if (size > ROLLOUT_MAX_BYTES) throw new InputFileError(shown, `${size} bytes: over the ${ROLLOUT_MAX_BYTES} a rollout file may have (not read)`);
  const bytes = await readInputFile(file, 'rollout file');
  return parseRollout(bytes.toString('utf8'), { file: shown, dir: path.dirname(path.resolve(file)) }, drivers);
}

/** Parse YAML (JSON is YAML) with duplicate keys and alias bombs refused; every syntax error at once. */
function parseText(text: string, file: string): unknown {
  const doc = parseDocument(text.replace(/^\uFEFF/, ''), { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) throw new UsageError(doc.errors.map((e) => `${file}: ${e.message.split('\n')[0]}`));
  try {
    return doc.toJS({ maxAliasCount: 50 }) as unknown;
  } catch (e) {
    throw new UsageError(`${file}: ${(e as Error).message}`);
  }
}

/** Validate parsed text: `where.dir` is the folder relative paths are resolved against. */
export function parseRollout(text: string, where: { file: string; dir: string }, drivers: DriverRegistry): Rollout {
  const data = parseText(text, where.file);
  const problems = schemaLines(data, where.file);
  const root = isObj(data) ? data : {};
  const defaults = isObj(root.defaults) ? root.defaults : {};
  const rawTargets = Array.isArray(root.targets) ? root.targets : [];
  const targets: RolloutTarget[] = [];
  const seen = new Map<string, number>();
  rawTargets.forEach((raw, i) => {
    if (!isObj(raw)) return;
    const label = typeof raw.name === 'string' ? `targets[${i}] (${nameShown(raw.name)})` : `targets[${i}]`;
    const say = (m: string): void => void problems.push(`${where.file}: ${label}: ${m}`);
    if (typeof raw.name === 'string') {
      const first = seen.get(raw.name);
      if (first !== undefined) say(`the name ${JSON.stringify(raw.name)} is also targets[${first}]'s: each target needs its own name`);
      else seen.set(raw.name, i);
    }
    const t = mergeTarget(defaults, raw, where.dir, say);
    if (t) {
      // An incomplete target (no url, scope …) still has its other fields checked: every problem at once.
      targetRules(t.target, drivers, say, t.complete);
      if (t.complete) targets.push(t.target);
    }
  });
  const zip = isObj(root.release) && typeof root.release.zip === 'string' ? root.release.zip : undefined;
  if (zip !== undefined && looksLikeKey(zip)) problems.push(`${where.file}: /release/zip: holds what looks like a key (not shown): give the path of a release zip`);
  if (problems.length > 0) throw new UsageError(problems);
  return { file: where.file, release: zip === undefined ? {} : { zip: path.resolve(where.dir, zip) }, targets };
}

/**
 * The target with its defaults merged, references' paths made absolute; `complete` false when a required field is
 * missing (then placeholders stand in for it, so that the other fields can still be checked). Undefined without a
 * name or an mdm (nothing to check them against).
 */
function mergeTarget(defaults: Raw, raw: Raw, dir: string, say: (m: string) => void): { target: RolloutTarget; complete: boolean } | undefined {
  const pick = (k: string): unknown => (raw[k] !== undefined ? raw[k] : defaults[k]);
  const merged = (k: string): Raw => ({ ...(isObj(defaults[k]) ? defaults[k] : {}), ...(isObj(raw[k]) ? raw[k] : {}) });
  const missing = ['mdm', 'url', 'scope'].filter((k) => pick(k) === undefined);
  if (missing.length > 0) say(`no ${missing.join(', ')}: give ${missing.length > 1 ? 'them' : 'it'} in the target or in defaults`);
  const mdm = pick('mdm');
  const url = pick('url');
  const scope = pick('scope');
  if (typeof raw.name !== 'string' || typeof mdm !== 'string') return undefined;
  const complete = typeof url === 'string' && isObj(scope);
  const absolute = (v: unknown): unknown => (isRef(v) && 'file' in v && typeof v.file === 'string' ? { file: path.resolve(dir, v.file) } : v);
  const refs = (o: Raw): Raw => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, absolute(v)]));
  const target: RolloutTarget = {
    name: raw.name,
    mdm: mdm as MdmKind,
    url: typeof url === 'string' ? url : '',
    credentials: refs(merged('credentials')) as RolloutTarget['credentials'],
    tenant: refs(merged('tenant')) as RolloutTarget['tenant'],
    scope: normalScope(isObj(scope) ? scope : { group: '' }),
    testServer: pick('testServer') === true,
    options: merged('options'),
  };
  return { target, complete };
}

function normalScope(s: Raw): TargetScope {
  if (typeof s.group === 'string') return { group: s.group };
  const sg = isObj(s.smartGroup) ? s.smartGroup : {};
  const criteria = (Array.isArray(sg.criteria) ? sg.criteria : []).filter(isObj).map(
    (c): ScopeCriterion => ({ name: String(c.name), searchType: String(c.searchType), value: String(c.value), andOr: c.andOr === 'or' ? 'or' : 'and' }),
  );
  return { smartGroup: { name: String(sg.name), criteria } };
}

/** The rules a schema cannot say, for one merged target. */
function targetRules(t: RolloutTarget, drivers: DriverRegistry, say: (m: string) => void, complete: boolean): void {
  const driver = drivers[t.mdm];
  if (!driver) {
    const have = Object.keys(drivers).sort().join(', ') || 'none';
    say(`mdm "${t.mdm}" is not supported yet (supported: ${have})`);
  }
  const urlProblem = t.url === '' ? undefined : targetUrlProblem(t.url);
  if (urlProblem) say(urlProblem);
  if (driver) credentialRules(t, driver, say);
  tenantRules(t, say);
  for (const [where, v] of [['scope', t.scope], ['options', t.options]] as const) {
    if (anyStringLooksLikeKey(v)) say(`${where}: holds what looks like a key (not shown): keys go under credentials or tenant, by reference`);
  }
  // A driver names the target itself (`target acme: …`); the file's own prefix already does.
  if (driver && complete) for (const p of driver.validate(t)) say(p.startsWith(`target ${t.name}: `) ? p.slice(`target ${t.name}: `.length) : p);
}

/** https, or http to this machine only (a local test server); no credentials, query or fragment in it. */
export function targetUrlProblem(url: string): string | undefined {
  if (looksLikeKey(url)) return 'url: holds what looks like a key (not shown): give the MDM\'s base URL';
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `url: ${JSON.stringify(url)} is not a URL (expected e.g. https://acme.jamfcloud.com)`;
  }
  if (u.username || u.password) return 'url: holds a user name or password (not shown): give the base URL alone, credentials under credentials by reference';
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) {
    return `url: ${JSON.stringify(url)} must be https (http only for 127.0.0.1, localhost or [::1], a local test server)`;
  }
  if (u.search || u.hash) return `url: ${JSON.stringify(url)} must not have a query or fragment (expected the MDM's base URL)`;
  return undefined;
}

const REF_HINT = 'give it by reference, {file: PATH} or {env: NAME} (the value given is not shown)';

function credentialRules(t: RolloutTarget, driver: MdmDriver, say: (m: string) => void): void {
  const fields = new Map(driver.credentialFields.map((f) => [f.name, f]));
  for (const [name, v] of Object.entries(t.credentials)) {
    const f = fields.get(name);
    if (!f) {
      say(`credentials.${name}: not a credential of ${t.mdm} (expected ${driver.credentialFields.map((x) => x.name).join(', ')})`);
      continue;
    }
    if (typeof v === 'string' && f.secret) say(`credentials.${name} is a secret: ${REF_HINT}`);
    else if (typeof v === 'string' && looksLikeKey(v)) say(`credentials.${name}: holds what looks like a key: ${REF_HINT}`);
  }
  for (const f of driver.credentialFields) if (f.required && t.credentials[f.name] === undefined) say(`credentials.${f.name} is missing (${t.mdm} needs ${f.secret ? 'it, by reference' : 'it'})`);
}

function tenantRules(t: RolloutTarget, say: (m: string) => void): void {
  for (const [name, v] of Object.entries(t.tenant)) {
    if (!(TENANT_KEY_NAMES as string[]).includes(name)) {
      say(`tenant.${name}: not a tenant key (expected ${TENANT_KEY_NAMES.join(', ')})`);
      continue;
    }
    const kind: string = TENANT_KEYS[name as TenantKeyName];
    if (typeof v === 'string' && kind.startsWith('secret')) say(`tenant.${name} is a secret: ${REF_HINT}`);
    else if (typeof v === 'string' && looksLikeKey(v)) say(`tenant.${name}: holds what looks like a key: ${REF_HINT}`);
  }
}

function anyStringLooksLikeKey(v: unknown, depth = 0): boolean {
  if (typeof v === 'string') return looksLikeKey(v);
  if (depth > 20 || typeof v !== 'object' || v === null) return false;
  return Object.values(v as Raw).some((x) => anyStringLooksLikeKey(x, depth + 1));
}

/** The targets named by `--target` (all when none); an unknown name is a usage error naming the known ones. */
export function selectTargets(rollout: Rollout, names: readonly string[] | undefined): RolloutTarget[] {
  if (!names || names.length === 0) return rollout.targets;
  const known = new Set(rollout.targets.map((t) => t.name));
  const unknown = [...new Set(names)].filter((n) => !known.has(n));
  if (unknown.length > 0) {
    const list = rollout.targets.length <= 20 ? rollout.targets.map((t) => t.name).join(', ') : `${rollout.targets.length} targets`;
    throw new UsageError(unknown.map((n) => `--target ${JSON.stringify(n)}: no such target in ${rollout.file} (it has ${list})`));
  }
  const wanted = new Set(names);
  return rollout.targets.filter((t) => wanted.has(t.name));
}

/* ----- schema problems, printed without values under credentials and tenant ----- */

function schemaLines(data: unknown, file: string): string[] {
  const v = validatorFor('rollout.schema.json');
  if (v(data)) return [];
  const errors = v.errors ?? [];
  const anyOfAt = errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath);
  const under = (p: string, base: string): boolean => p === base || p.startsWith(`${base}/`);
  const out = new Set<string>();
  for (const e of errors) {
    if (e.keyword !== 'anyOf' && anyOfAt.some((a) => under(e.instancePath, a))) continue;
    const at = readablePath(data, e.instancePath);
    const secretish = /^\/(targets\/\d+|defaults)\/(credentials|tenant)\//.test(e.instancePath);
    const value = valueAt(data, e.instancePath);
    let message: string;
    if (e.keyword === 'anyOf') {
      message = isObj(value) ? 'a reference is {file: PATH} or {env: NAME}, exactly one' : `must be ${/\/tenant\//.test(e.instancePath) ? 'true, false, ' : ''}text or a reference {file: PATH} / {env: NAME}`;
    } else if (e.keyword === 'additionalProperties') {
      message = `unknown key "${String((e.params as { additionalProperty: string }).additionalProperty)}"`;
    } else if (e.keyword === 'enum') {
      message = `must be one of ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`;
    } else if (e.keyword === 'pattern') {
      message = `does not match the expected form ${(e.params as { pattern: string }).pattern}`;
    } else if (e.keyword === 'maxProperties' || e.keyword === 'minProperties') {
      message = /\/scope$/.test(e.instancePath) ? 'give exactly one of smartGroup or group' : /\/(file|env)$|\/(credentials|tenant)\/[^/]+$/.test(e.instancePath) ? 'a reference is {file: PATH} or {env: NAME}, exactly one' : (e.message ?? e.keyword);
    } else if (e.keyword === 'propertyNames') {
      message = `has a key that is not a valid name: ${String((e.params as { propertyName?: string }).propertyName ?? '')}`;
    } else {
      message = e.message ?? e.keyword;
    }
    const showValue = !secretish && (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') && !(typeof value === 'string' && looksLikeKey(value));
    out.add(`${file}: ${at}: ${message}${showValue && e.keyword !== 'anyOf' ? `, got ${JSON.stringify(value)}` : ''}`);
  }
  return [...out];
}

/** `/targets/3/url` → `targets[3] (acme) /url`, so a problem names the target. */
function readablePath(data: unknown, pointer: string): string {
  const m = /^\/targets\/(\d+)(\/.*)?$/.exec(pointer);
  if (!m) return pointer || '/';
  const t = isObj(data) && Array.isArray(data.targets) ? (data.targets as unknown[])[Number(m[1])] : undefined;
  const name = isObj(t) && typeof t.name === 'string' ? ` (${nameShown(t.name)})` : '';
  return `targets[${m[1]}]${name}${m[2] ? ` ${m[2]}` : ''}`;
}

function valueAt(data: unknown, pointer: string): unknown {
  let cur: unknown = data;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Raw)[key];
  }
  return cur;
}

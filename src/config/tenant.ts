/**
 * Raw tenant values → validated {@link TenantValues}, against the key definitions in `profiles/tenant-keys.json`.
 * Every problem is reported at once; each names the key, the value (secrets masked) and what was expected.
 * Used by `tenant`, `tenants` (per CSV row) and `intune`.
 */
import { UsageError } from '../errors.js';
import { looksLikeKey, Secret } from '../secret.js';
import type { DeploymentSpec, TenantKeyDef } from './spec-types.js';
import { HOST_KEY, type RawTenantValues, type TenantValues } from './tenant-keys.js';

export { tenantPreferences, type RawTenantValues } from './tenant-keys.js';

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** Code units no XML property list can carry: unpaired surrogates and the noncharacters U+FFFE/U+FFFF. */
const NOT_PLIST = /[\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function shown(def: TenantKeyDef, value: string): string {
  // A key typed into the wrong field (`--host rl_org_…`) is still a key.
  if (def.secret || looksLikeKey(value)) return new Secret(value, def.name).masked();
  // JSON escapes C0 controls; also escape what would be invisible or reorder the message on a terminal
  // (C1 controls, line/paragraph separators, bidi controls, BOM, noncharacters, lone surrogates).
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value).replace(
    /[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Host must be an https origin: no credentials, no path/query/fragment, a plausible host name, a port 1–65535. */
export function hostProblem(value: string): string | undefined {
  if (/[^\x20-\x7e]/.test(value)) return 'expected ASCII only (write an international name in its xn-- form)';
  // Checked before URL parsing, whose one message for a bad port would be "not a URL".
  const port = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#@]*@)?[^/?#:]*:(\d+)(?:[/?#]|$)/i.exec(value)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return `is invalid: port ${port} is out of range 1–65535`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'expected an https:// URL such as https://acme.runlayer.com';
  }
  if (url.protocol !== 'https:') return `expected https:// (got ${url.protocol}//): the agent sends keys to this host`;
  if (url.username || url.password) return 'must not carry credentials (user:password@)';
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) return 'expected the tenant origin only, without a path, query or fragment';
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(url.hostname)) return 'expected a DNS host name';
  return undefined;
}

function stringProblem(def: TenantKeyDef, value: string): string | undefined {
  if (def.maxLength !== undefined && value.length > def.maxLength) return `is ${value.length} characters long; at most ${def.maxLength} allowed`;
  if (CONTROL.test(value)) return 'must not contain control characters or line breaks';
  if (NOT_PLIST.test(value)) return 'must not contain unpaired surrogates or U+FFFE/U+FFFF (a property list cannot carry them)';
  if (def.name === HOST_KEY) return hostProblem(value);
  if (def.pattern && !new RegExp(def.pattern, 'u').test(value)) {
    if (def.secret) return `expected a key of the form ${def.pattern.replace(/^\^|\[.*$/g, '')}… without spaces`;
    return `does not match ${def.pattern}`;
  }
  return undefined;
}

/** Parse a boolean given as text ("true"/"false"/"1"/"0"/"yes"/"no"). */
export function parseBool(value: boolean | string): boolean | undefined {
  if (typeof value === 'boolean') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(v)) return true;
  if (['false', '0', 'no'].includes(v)) return false;
  return undefined;
}

/**
 * Validate raw values. `subject` prefixes each message (e.g. `tenant`, `tenants.csv row 4`); `how` says where a
 * missing required value is given (e.g. `--host URL`), for the message.
 */
export function parseTenantInput(spec: DeploymentSpec, raw: RawTenantValues, subject = 'tenant', how?: (def: TenantKeyDef) => string): TenantValues {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const def of spec.tenantKeys) {
    const v = raw[def.name];
    if (v === undefined || v === '') {
      if (def.required) problems.push(`${subject}: ${def.name} is required (${def.description})${how ? `: give it with ${how(def)}` : ''}`);
      else if (def.default !== undefined) out[def.name] = def.default;
      continue;
    }
    if (def.type === 'boolean') {
      const b = parseBool(v as boolean | string);
      if (b === undefined) problems.push(`${subject}: ${def.name} must be true or false, got ${JSON.stringify(v)}`);
      else out[def.name] = b;
      continue;
    }
    const text = v instanceof Secret ? v.reveal() : String(v);
    const p = stringProblem(def, text);
    if (p) problems.push(`${subject}: ${def.name} ${shown(def, text)} ${p}`);
    else out[def.name] = v instanceof Secret ? v : def.secret ? new Secret(text, def.name) : text;
  }
  if (problems.length > 0) throw new UsageError(problems);
  out[HOST_KEY] = normalHost(String(out[HOST_KEY]));
  return out as TenantValues;
}

/**
 * The one spelling of a valid Host: scheme and host name in lower case (both are case-insensitive, and the agent
 * compares text), no default port 443, no final `/` — the URL's origin.
 */
export function normalHost(value: string): string {
  return new URL(value).origin;
}

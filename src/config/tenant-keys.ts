/**
 * The tenant keys as types: the names of profiles/tenant-keys.json with the kind of value each holds, and
 * {@link TenantValues}, the one map of tenant values keyed by those names. It flows unchanged from the flags (or a
 * CSV row, or a file being verified) through parseTenantInput to the profile, Intune and Jamf renderers, the Intune
 * scripts and the checks. loadSpec refuses a tenant-keys.json whose names, order or kinds differ from this table.
 */
import { Secret } from '../secret.js';

/**
 * Each key of tenant-keys.json, in its order, with its kind: `string`, `secret` (a string kept in a Secret) or
 * `boolean`; a final `!` when every validated tenant has it (required, or given a default). A key may be required
 * without the `!` (OrgApiKey): then consumers that need it check it themselves.
 */
export const TENANT_KEYS = {
  Host: 'string!',
  OrgApiKey: 'secret',
  EnrollmentKey: 'secret',
  Username: 'string',
  DeviceName: 'string',
  Enforcement: 'boolean!',
  Sessions: 'boolean!',
} as const;

export type TenantKeyName = keyof typeof TENANT_KEYS;
type Kind<N extends TenantKeyName> = (typeof TENANT_KEYS)[N];
type ValueOf<K extends string> = K extends `secret${string}` ? Secret : K extends `boolean${string}` ? boolean : string;
type Always = { [N in TenantKeyName]: Kind<N> extends `${string}!` ? N : never }[TenantKeyName];

/** Validated tenant values keyed by the names of tenant-keys.json. Secrets stay wrapped. */
export type TenantValues = { readonly [N in Always]: ValueOf<Kind<N>> } & { readonly [N in Exclude<TenantKeyName, Always>]?: ValueOf<Kind<N>> };

/** Raw values as they come from flags, the environment or a CSV row: booleans may still be text. */
export type RawTenantValues = { [N in TenantKeyName]?: Kind<N> extends `boolean${string}` ? boolean | string : ValueOf<Kind<N>> };

/** The keys the code must name as text: the tenant origin (validated as a URL, normalised, shown in profile names). */
export const HOST_KEY = 'Host' satisfies TenantKeyName;
/** …and the key the launchd enrollment gate reads with PlistBuddy (src/config/launchd-units.ts). */
export const ENROLLMENT_KEY = 'EnrollmentKey' satisfies TenantKeyName;

export const TENANT_KEY_NAMES = Object.keys(TENANT_KEYS) as TenantKeyName[];

/** The names of the secret keys, in definition order. */
export const SECRET_KEY_NAMES = TENANT_KEY_NAMES.filter((n) => TENANT_KEYS[n].startsWith('secret'));

/** Differences between the loaded definitions and {@link TENANT_KEYS}, each naming the file `where`. */
export function tenantKeyTableProblems(defs: ReadonlyArray<{ name: string; type: string; secret: boolean; required: boolean; default?: unknown }>, where: string): string[] {
  const names = defs.map((d) => d.name);
  if (names.join() !== TENANT_KEY_NAMES.join()) {
    return [`${where}: the keys must be ${TENANT_KEY_NAMES.join(', ')} in this order (the code's table, src/config/tenant-keys.ts), got ${names.join(', ')}`];
  }
  const problems: string[] = [];
  for (const d of defs) {
    const kind: string = TENANT_KEYS[d.name as TenantKeyName];
    const found = `${d.secret ? 'secret' : d.type}${d.required || d.default !== undefined ? '!' : ''}`;
    if (kind.replace('!', '') !== found.replace('!', '') || (kind.endsWith('!') && !found.endsWith('!'))) {
      problems.push(`${where}: ${d.name} is defined as ${found}, the code expects ${kind} (src/config/tenant-keys.ts)`);
    }
  }
  return problems;
}

/** The values as the preference dictionary of the domain, in definition order (secrets revealed: for serialisers only). */
export function tenantPreferences(t: TenantValues): Record<string, string | boolean> {
  const prefs: Record<string, string | boolean> = {};
  for (const name of TENANT_KEY_NAMES) {
    const v = t[name];
    if (v !== undefined) prefs[name] = v instanceof Secret ? v.reveal() : v;
  }
  return prefs;
}

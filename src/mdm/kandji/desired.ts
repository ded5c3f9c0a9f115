/**
 * What one Kandji (Iru) target should hold for a release, in apply order — pure data from the release, the spec it
 * was read with and the target (no I/O):
 *
 *  1. the PPPC custom profile, 2. the login-items custom profile, 3. the tenant-config custom profile (managed
 *     preferences of the agent's domain; holds the keys), each Mac-only, active, assigned to the target's blueprint;
 *  4. the custom app: the release pkg (`install_type: package`), `continuously_enforce` with an audit script that
 *     exits 0 when the installed package receipt has this release's version and 1 otherwise (Kandji then installs
 *     the pkg), assigned to the blueprint after the profiles.
 *
 * Each object's `fields` are what `plan` compares with the server, as plan values (a profile or script as its hash);
 * `hash` is the marker's content hash of the desired content. Where the marker goes: a profile's top-level
 * PayloadDescription (mobileconfig.ts), the custom app's audit script as its last line, after the script's `exit`
 * so it never runs (docs/decisions.md).
 */
import type { DeploymentSpec } from '../../config/spec-types.js';
import type { TenantValues } from '../../config/tenant-keys.js';
import { planTenant } from '../../profiles/plan.js';
import { contentHash, formatMarker, secretShown, writeMarker } from '../../rollout/marker.js';
import type { ReleaseContent } from '../../rollout/model.js';
import { shQuote, type DesiredBase, type ProfileRole } from '../desired.js';
import { profileContent, profileDescription, profileRoot, withDescription } from './mobileconfig.js';

export interface DesiredProfile extends DesiredBase<ProfileRole | 'app'> {
  kind: 'profile';
  role: ProfileRole;
  /** The .mobileconfig we upload, with the marker in PayloadDescription for `version` (the tenant one holds keys). */
  text: (version: string) => string;
  /** The upload's file name. */
  fileName: string;
}

export interface DesiredApp extends DesiredBase<ProfileRole | 'app'> {
  kind: 'app';
  role: 'app';
  fileName: string;
  size: number;
  sha256: string;
  /** The audit script without the marker line. */
  auditScript: string;
}

export type DesiredObject = DesiredProfile | DesiredApp;

/** The platforms a profile runs on (Kandji's `runs_on_*` form fields); only the Mac. */
export const RUNS_ON = { runs_on_mac: true, runs_on_iphone: false, runs_on_ipad: false, runs_on_tv: false } as const;

/** What a library item not in the blueprint shows in a plan. */
export const NOT_ASSIGNED = '(not assigned)';

export function objectNames(prefix: string): { pppc: string; loginItems: string; tenant: string; app: string } {
  return { pppc: `${prefix} — PPPC`, loginItems: `${prefix} — login items`, tenant: `${prefix} — tenant settings`, app: `${prefix} — agent` };
}

/**
 * The custom app's audit script: exit 0 when the package receipt says `version` is installed (Kandji does nothing),
 * 1 otherwise (Kandji installs the pkg). Absolute tool paths (the agent runs it as root with a minimal PATH).
 */
export function auditScript(packageIdentifier: string, version: string): string {
  return [
    '#!/bin/sh',
    '# aiwatch-deploy: exit 0 when this aiwatch version is installed (nothing to do), 1 when Kandji should install the pkg.',
    `v=$(/usr/sbin/pkgutil --pkg-info ${shQuote(packageIdentifier)} 2>/dev/null | /usr/bin/awk '/^version: / { print $2 }')`,
    `if [ "$v" = ${shQuote(version)} ]; then`,
    '  exit 0',
    'fi',
    'exit 1',
  ].join('\n');
}

/** A script or profile as a plan value: empty stays empty, anything else its hash. */
export function textShown(text: string): string {
  return text === '' ? '' : secretShown(text);
}

/** The file line of a plan: `aiwatch-1.2.0-macos-arm64.pkg, 123456 bytes`. */
export function fileShown(fileName: string, size: number | null): string {
  return `${fileName}, ${size ?? 'no'} bytes`;
}

export interface DesiredInput {
  spec: DeploymentSpec;
  release: ReleaseContent;
  tenant: TenantValues;
  prefix: string;
  /** The blueprint's name (the target's scope.group). */
  blueprint: string;
}

function profile(role: ProfileRole, name: string, release: string, blueprint: string, secret: boolean): DesiredProfile {
  const what = `${name} (the release's profile)`;
  const root = profileRoot(release, what);
  const original = profileDescription(root);
  const text = (version: string): string => withDescription(root, writeMarker(original, { kind: role, sha256: hash, version }), what);
  // The compared content is computed from what we upload (the marker does not enter it: PayloadDescription is not compared).
  const content = profileContent(profileRoot(withDescription(root, formatMarker({ kind: role, sha256: '0'.repeat(64), version: '0' }), what), what));
  const hash = contentHash({ role, name, content, active: true, ...RUNS_ON, blueprint });
  return {
    kind: 'profile',
    role,
    name,
    text,
    fileName: `${role.replace(/^profile-/, 'aiwatch-')}.mobileconfig`,
    hash,
    fields: { payload: secretShown(content), active: true, runs_on: 'mac', blueprint },
    ...(secret ? { secretFields: ['payload'] } : {}),
  };
}

/** The desired objects of one target, in apply order. */
export function desiredObjects(input: DesiredInput): DesiredObject[] {
  const { spec, release, tenant, prefix, blueprint } = input;
  const names = objectNames(prefix);
  const utf8 = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
  const pkg = release.pkg;
  const script = auditScript(spec.packageIdentifier, release.version);
  const app: DesiredApp = {
    kind: 'app',
    role: 'app',
    name: names.app,
    fileName: pkg.fileName,
    size: pkg.size,
    sha256: pkg.sha256.toLowerCase(),
    auditScript: script,
    hash: contentHash({ role: 'app', name: names.app, fileName: pkg.fileName, size: pkg.size, sha256: pkg.sha256.toLowerCase(), script, enforcement: 'continuously_enforce', blueprint }),
    fields: {
      file: fileShown(pkg.fileName, pkg.size),
      install_type: 'package',
      install_enforcement: 'continuously_enforce',
      audit_script: textShown(script),
      preinstall_script: '',
      postinstall_script: '',
      active: true,
      restart: false,
      show_in_self_service: false,
      blueprint,
    },
  };
  return [
    profile('profile-pppc', names.pppc, utf8(release.profiles.pppc), blueprint, false),
    profile('profile-loginitems', names.loginItems, utf8(release.profiles.loginItems), blueprint, false),
    profile('profile-tenant', names.tenant, utf8(planTenant(spec, tenant, 'mobileconfig').bytes), blueprint, true),
    app,
  ];
}

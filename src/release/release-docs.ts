/**
 * The release zip's own documents, pure functions of what the build produced: `manifest.json` (every file's name,
 * size, sha256 and role; version, arch, identifiers, builder version, binary identity, trust state),
 * `SHA256SUMS` (the format `sha256sum -c` reads) and `README.txt` (deployment order: profiles, then the pkg).
 */
import { createHash } from 'node:crypto';
import { stableJson } from '../formats/json.js';
import type { DeploymentSpec } from '../config/spec-types.js';

export type FileRole =
  | 'pkg'
  | 'pppc-profile'
  | 'login-items-profile'
  | 'jamf-schema'
  | 'cleanup-script'
  | 'uninstall-script'
  | 'doctor-script'
  | 'jamf-extension-attribute'
  | 'intune-attribute'
  | 'readme'
  | 'manifest'
  | 'checksums';

export interface ReleaseFile {
  name: string;
  role: FileRole;
  size: number;
  sha256: string;
  mode: number;
}

export interface BinaryIdentitySummary {
  arches: string[];
  identifier?: string;
  teamId?: string;
  /** `signed`: a CMS signature is present (its chain is not checked here); `adhoc`; `unsigned`. */
  signature: 'signed' | 'adhoc' | 'unsigned';
  /** Common name of the signing certificate, when the signature names one. */
  signer?: string;
  hardenedRuntime?: boolean;
  /** Every slice is signed by an Apple Developer ID Application certificate (chain to Apple Root CA checked). */
  developerId?: boolean;
}

export interface ReleaseManifest {
  schemaVersion: 1;
  product: 'aiwatch';
  version: string;
  arch: string;
  builder: { name: 'aiwatch-deploy'; version: string };
  sourceDateEpoch: number;
  identifiers: { signingIdentifier: string; teamId: string; packageIdentifier: string; domain: string; labelPrefix: string };
  installPath: string;
  binary: BinaryIdentitySummary;
  /**
   * The agent binary is not signed by an Apple Developer ID (accepted with --development-build): the PPPC grant
   * cannot match it on a Mac. `verify` reports such a binary as a problem unless this says so.
   */
  developmentBuild: boolean;
  /** What a person must know before deploying, in words (the development build); also atop README.txt. */
  warnings: string[];
  pkg: { signed: boolean; notarized: boolean; stapled: boolean };
  files: ReleaseFile[];
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function describeFile(name: string, role: FileRole, data: Uint8Array | string, mode = 0o644): ReleaseFile {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return { name, role, size: bytes.length, sha256: sha256Hex(bytes), mode };
}

export function renderManifest(m: ReleaseManifest): string {
  return stableJson(m);
}

/** `sha256sum -c` format: `<hex>  <name>` (two spaces: text mode), one line per file, sorted by name. */
export function renderSha256Sums(files: readonly ReleaseFile[]): string {
  return [...files]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((f) => `${f.sha256}  ${f.name}\n`)
    .join('');
}

export function renderReadme(spec: DeploymentSpec, m: Pick<ReleaseManifest, 'version' | 'arch' | 'warnings' | 'pkg' | 'files' | 'developmentBuild'>): string {
  const byRole = (r: FileRole): string => m.files.find((f) => f.role === r)?.name ?? '(not included)';
  const lines = [
    `aiwatch ${m.version} for macOS (${m.arch})${m.developmentBuild ? ' -- DEVELOPMENT BUILD, NOT FOR PRODUCTION' : ''}`,
    '='.repeat(40),
    '',
  ];
  for (const w of m.warnings) lines.push(`WARNING: ${w}`, '');
  lines.push(
    'Deploy in this order (profiles BEFORE the package, so the agent has Full Disk Access and no',
    '"Background Item Added" prompt from its first launch):',
    '',
    `  1. ${byRole('pppc-profile')}`,
    `       Privacy Preferences Policy Control: Full Disk Access for ${spec.installPath}`,
    `       (signing identifier ${spec.identifier}, team ${spec.teamId}).`,
    `  2. ${byRole('login-items-profile')}`,
    `       Managed login items: launchd labels starting with ${spec.labelPrefix}.`,
    `  3. The tenant configuration for the preference domain ${spec.domain}:`,
    `       Jamf Pro: Application & Custom Settings > External Applications > Custom Schema,`,
    `       upload ${byRole('jamf-schema')}; other MDMs: \`aiwatch-deploy tenant\`.`,
    `  4. If the older script-based deployment (runlayer-scan) was used: run ${byRole('cleanup-script')}`,
    '       once as root, and remove the old PPPC profile for runlayer-scan in your MDM.',
    `  5. ${byRole('pkg')}`,
    `       Package identifier ${spec.packageIdentifier}; ${m.pkg.signed ? 'signed' : 'NOT signed'}, ${m.pkg.notarized ? 'notarized' : 'NOT notarized'}, ${m.pkg.stapled ? 'stapled' : 'not stapled'}.`,
    '',
    `To remove aiwatch: ${byRole('uninstall-script')} (as root; --dry-run shows what it would do).`,
    `To check a Mac: ${byRole('doctor-script')} (as root; --json, --bundle FILE for a redacted support bundle).`,
    `Inventory: ${byRole('jamf-extension-attribute')} (Jamf Pro extension attribute), ${byRole('intune-attribute')} (Intune custom attribute).`,
    'Check the files: shasum -a 256 -c SHA256SUMS   (Linux: sha256sum -c SHA256SUMS)',
    'Details of every file: manifest.json',
    '',
  );
  return lines.join('\n');
}

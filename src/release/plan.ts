/**
 * The release plan: everything about a release that follows from the spec and the options alone, before any byte of
 * the binary is read or anything is written — the checked version and arch, the file names (`aiwatch-<version>-
 * macos-<arch>.pkg/.zip`), the pkg scripts, the documents the zip carries (profiles, Jamf schema, cleanup and
 * uninstall scripts, the doctor and its two inventory scripts) with their roles, modes and whether they are
 * signed, and the manifest fields that do not depend on the built files. Pure: src/release/release.ts applies it.
 */
import { checkReleaseInput, releaseStem, type ReleaseArch } from '../config/release-input.js';
import type { DeploymentSpec } from '../config/spec-types.js';
import type { HostArchitecture } from '../pkg/distribution.js';
import { DOCTOR_SCRIPT_NAME, INTUNE_ATTRIBUTE_SCRIPT_NAME, JAMF_EA_SCRIPT_NAME, renderDoctorScripts } from '../doctor/doctor-macos.js';
import { planProfiles, profileFileNames } from '../profiles/plan.js';
import { CLEANUP_SCRIPT_NAME, renderMacosScripts, UNINSTALL_SCRIPT_NAME, type MacosScripts } from './macos-scripts.js';
import type { FileRole, ReleaseManifest } from './release-docs.js';

export interface ReleasePlanInput {
  version: string;
  arch: ReleaseArch;
  epoch: number;
  builderVersion: string;
  /** The pkg is signed as it is written (an XarSigner is given). */
  signPkg: boolean;
  /** The PPPC and login-items profiles are CMS-signed. */
  signProfiles: boolean;
}

/** A file of the zip whose bytes are known from the spec alone. */
export interface PlannedDocument {
  name: string;
  role: FileRole;
  mode: number;
  bytes: Uint8Array;
  /** Signed (CMS) before it goes into the zip. */
  sign: boolean;
}

/** The manifest fields known before the build; the binary, trust state and files are filled in by the build. */
export type ManifestBase = Omit<ReleaseManifest, 'binary' | 'developmentBuild' | 'warnings' | 'pkg' | 'files'>;

export interface ReleasePlan {
  spec: DeploymentSpec;
  version: string;
  arch: ReleaseArch;
  epoch: number;
  pkgName: string;
  zipName: string;
  hostArchitectures: HostArchitecture[];
  /** `aiwatch-deploy <version>`: the pkg's generator field. */
  generator: string;
  scripts: MacosScripts;
  /** Profiles, Jamf schema, cleanup and uninstall scripts, the doctor scripts, in this order (README, manifest, SHA256SUMS come last). */
  documents: PlannedDocument[];
  signPkg: boolean;
  manifest: ManifestBase;
}

function hostArchitectures(arch: ReleaseArch): HostArchitecture[] {
  return arch === 'universal' ? ['arm64', 'x86_64'] : [arch];
}

/** The profiles the zip carries (PPPC, login items, Jamf schema), then the two admin scripts, then the doctor and its inventory scripts. */
function plannedDocuments(spec: DeploymentSpec, scripts: MacosScripts, signProfiles: boolean): PlannedDocument[] {
  const names = profileFileNames(spec);
  const roleOf: Record<string, FileRole> = { [names.pppc]: 'pppc-profile', [names.loginItems]: 'login-items-profile', [names.jamfSchema]: 'jamf-schema' };
  const docs: PlannedDocument[] = [];
  for (const a of planProfiles(spec)) {
    const role = roleOf[a.path];
    if (role) docs.push({ name: a.path, role, mode: 0o644, bytes: a.bytes, sign: signProfiles && role !== 'jamf-schema' });
  }
  const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');
  docs.push({ name: CLEANUP_SCRIPT_NAME, role: 'cleanup-script', mode: 0o755, bytes: text(scripts.cleanup), sign: false });
  docs.push({ name: UNINSTALL_SCRIPT_NAME, role: 'uninstall-script', mode: 0o755, bytes: text(scripts.uninstall), sign: false });
  const doctor = renderDoctorScripts(spec);
  docs.push({ name: DOCTOR_SCRIPT_NAME, role: 'doctor-script', mode: 0o755, bytes: text(doctor.doctor), sign: false });
  docs.push({ name: JAMF_EA_SCRIPT_NAME, role: 'jamf-extension-attribute', mode: 0o755, bytes: text(doctor.jamfAttribute), sign: false });
  docs.push({ name: INTUNE_ATTRIBUTE_SCRIPT_NAME, role: 'intune-attribute', mode: 0o755, bytes: text(doctor.intuneAttribute), sign: false });
  return docs;
}

/** Plan the release of `spec`; throws a UsageError for a bad version or arch (nothing has been touched). */
export function planRelease(input: ReleasePlanInput, spec: DeploymentSpec): ReleasePlan {
  const { version, arch } = checkReleaseInput({ version: input.version, arch: input.arch });
  const stem = releaseStem(version, arch);
  const scripts = renderMacosScripts(spec);
  return {
    spec,
    version,
    arch,
    epoch: input.epoch,
    pkgName: `${stem}.pkg`,
    zipName: `${stem}.zip`,
    hostArchitectures: hostArchitectures(arch),
    generator: `aiwatch-deploy ${input.builderVersion}`,
    scripts,
    documents: plannedDocuments(spec, scripts, input.signProfiles),
    signPkg: input.signPkg,
    manifest: {
      schemaVersion: 1,
      product: 'aiwatch',
      version,
      arch,
      builder: { name: 'aiwatch-deploy', version: input.builderVersion },
      sourceDateEpoch: input.epoch,
      identifiers: { signingIdentifier: spec.identifier, teamId: spec.teamId, packageIdentifier: spec.packageIdentifier, domain: spec.domain, labelPrefix: spec.labelPrefix },
      installPath: spec.installPath,
    },
  };
}

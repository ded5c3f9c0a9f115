/**
 * The release build: compiled agent binary + options → `aiwatch-<version>-macos-<arch>.zip` in the output folder.
 * Orchestrates, as a flat list of named steps: check the binary, merge a universal binary, build the flat package,
 * (sign, notarize, staple through injected steps), render the profiles and scripts, write the manifest, checksums
 * and README, then the zip. Everything is staged in a private temporary folder; the only write into `--out` is the
 * final zip, renamed into place, so an interrupted or failed build leaves nothing there.
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkReleaseInput, releaseStem, type ReleaseArch } from '../config/release-input.js';
import type { DeploymentSpec } from '../config/spec-types.js';
import { AiwatchError, InterruptedError, OutputError } from '../errors.js';
import { checkOutputDir, createStagingStream, hashFile, readInputFile, withTempDir, writeStagingFile, writeStreamAtomic } from '../io/fs.js';
import { CLEANUP_SCRIPT_NAME, renderMacosScripts, UNINSTALL_SCRIPT_NAME } from './macos-scripts.js';
import { checkReleaseBinary, type ReleaseBinaryIdentity } from '../macho/binary-check.js';
import type { TrustAnchors } from '../sign/binary-trust.js';
import type { HostArchitecture } from '../pkg/distribution.js';
import { buildFlatPackage, type FlatPackageInput, type FlatPackageResult } from '../pkg/flat-package.js';
import { createUniversal } from '../macho/lipo.js';
import type { XarSigner } from '../pkg/xar.js';
import { writeZip, type ZipEntryInput } from '../formats/zip.js';
import { planProfiles, profileFileNames } from '../profiles/plan.js';
import { describeFile, renderManifest, renderReadme, renderSha256Sums, type FileRole, type ReleaseFile, type ReleaseManifest } from './release-docs.js';

/** Writes the product archive to `pkgFile` from the composer's input (`--builder apple`: src/tools/apple-pkg.ts). */
export type PackageBuilder = (input: FlatPackageInput, pkgFile: string) => Promise<void>;

export interface ReleaseOptions {
  spec: DeploymentSpec;
  version: string;
  arch: ReleaseArch;
  /** The binary (thin of `arch`, or fat holding every needed arch). */
  binary: string;
  /** With arch universal: a second thin x86_64 binary to merge with the arm64 `binary`. */
  binaryX86_64?: string;
  /** Folder that receives the zip. */
  outDir: string;
  epoch: number;
  builderVersion: string;
  /**
   * Accept an agent binary that is not signed by an Apple Developer ID Application (unsigned, ad-hoc, or a demo/test
   * certificate): a development build, flagged in the manifest (`developmentBuild`), its warnings and README.txt.
   * Without it such a binary is refused (exit 3): a Mac would never match the PPPC grant to it.
   */
  developmentBuild?: boolean;
  /** Where a Developer ID chain must end; default Apple Root CA (tests: a throwaway PKI). */
  anchors?: TrustAnchors;
  signer?: XarSigner;
  /** Sign the agent binary: writes a signed copy of `input` to `out` (in the staging folder) before the check. */
  signBinary?: (input: string, out: string) => Promise<void>;
  /** CMS-sign the PPPC and login-items profiles (unsigned when absent). */
  signProfile?: (bytes: Uint8Array, name: string) => Promise<Uint8Array>;
  /** Runs on the finished pkg (in the staging folder): notarize and staple. */
  afterPkg?: (pkgFile: string) => Promise<{ notarized: boolean; stapled: boolean }>;
  /** Builds the product archive; default: ours (src/pkg/flat-package.ts), streamed into the staging folder. */
  packageBuilder?: PackageBuilder;
  onStep?: (step: string) => void;
  signal?: AbortSignal;
  gzipWorkers?: number;
  /** Progress of the long step (the Payload's compression): bytes of payload data read so far, and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface ReleaseResult {
  zip: string;
  manifest: ReleaseManifest;
  /** What the built-in builder wrote (absent with another packageBuilder). */
  pkg?: FlatPackageResult;
}

function hostArchitectures(arch: ReleaseArch): HostArchitecture[] {
  return arch === 'universal' ? ['arm64', 'x86_64'] : [arch];
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InterruptedError('build interrupted; nothing was written to the output folder');
}

/**
 * The built-in builder: the flat package streamed into `pkgFile`, hashed on its way there (saves reading the
 * largest file of the release once more for the manifest).
 */
async function writeOurPackage(input: FlatPackageInput, pkgFile: string): Promise<{ pkg: FlatPackageResult; digest: { sha256: string; size: number } }> {
  const sha = createHash('sha256');
  let size = 0;
  const hasher = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sha.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  const written = pipeline(hasher, createStagingStream(pkgFile, 0o644));
  let pkg: FlatPackageResult;
  try {
    pkg = await buildFlatPackage(input, hasher);
  } finally {
    hasher.end();
    await written;
  }
  return { pkg, digest: { sha256: sha.digest('hex'), size } };
}

const STAGING_FULL: Record<string, string> = { ENOSPC: 'no space left on the device', EDQUOT: 'disk quota exceeded', EFBIG: 'file too large for the file system', EROFS: 'read-only file system' };

/** A file-system error in the staging folder (disk full, TMPDIR read-only) is an output problem (exit 3), not a bug. */
function stagingError(e: unknown, tmp: string): unknown {
  if (e instanceof AiwatchError) return e;
  let errno: NodeJS.ErrnoException | undefined;
  for (let c: unknown = e; c instanceof Error && !errno; c = c.cause) if (typeof (c as NodeJS.ErrnoException).code === 'string') errno = c as NodeJS.ErrnoException;
  const why = errno && (STAGING_FULL[errno.code!] ?? (errno.syscall === 'mkdtemp' ? errno.message : undefined));
  if (!why) return e;
  return new OutputError(tmp, `cannot write the build's temporary files (${why}); free space there or point TMPDIR at a folder with room for about twice the binary`, { cause: e });
}

/** The binary itself, or (with `signBinary`) its signed copy in the staging folder. */
async function signedCopy(o: ReleaseOptions, file: string, work: string, name: string): Promise<string> {
  if (!o.signBinary) return file;
  const out = path.join(work, name);
  await o.signBinary(file, out);
  return out;
}

async function prepareBinary(o: ReleaseOptions, work: string): Promise<{ file: string; identity: ReleaseBinaryIdentity }> {
  const dev = o.developmentBuild === true;
  const expect = { identifier: o.spec.identifier, teamId: o.spec.teamId, allowUnsigned: dev, allowUntrustedSigner: dev, anchors: o.anchors };
  const binary = await signedCopy(o, o.binary, work, 'signed-binary');
  if (o.arch !== 'universal' || !o.binaryX86_64) {
    return { file: binary, identity: await checkReleaseBinary(binary, { ...expect, arch: o.arch }) };
  }
  const binaryX86_64 = await signedCopy(o, o.binaryX86_64, work, 'signed-binary-x86_64');
  await checkReleaseBinary(binary, { ...expect, arch: 'arm64' });
  await checkReleaseBinary(binaryX86_64, { ...expect, arch: 'x86_64', what: '--binary-x86_64' });
  // The merge holds both thin binaries and the universal one in memory at once (≈ 2 × their total size): fine for an
  // agent of tens of MiB, the one place the build's memory grows with the binary (docs/benchmarks.md).
  const fat = createUniversal([
    { name: o.binary, data: await readInputFile(binary, '--binary') },
    { name: o.binaryX86_64, data: await readInputFile(binaryX86_64, '--binary-x86_64') },
  ]);
  const file = path.join(work, 'aiwatch-universal');
  await writeStagingFile(file, fat, 0o755);
  return { file, identity: await checkReleaseBinary(file, { ...expect, arch: 'universal' }) };
}

/** The development-build warning, in words (manifest, build summary, README.txt, --json), or none. */
export function warningsFor(identity: ReleaseBinaryIdentity): string[] {
  if (identity.developerId) return [];
  const signer = identity.slices.find((s) => s.signerTrust && !s.signerTrust.trusted)?.signerTrust?.signer;
  const what =
    identity.signature === 'unsigned' ? 'is unsigned, not signed'
    : identity.signature === 'adhoc' ? 'is ad-hoc signed, not signed'
    : signer !== undefined ? `is signed by "${signer}", not` : 'is not signed';
  return [
    `DEVELOPMENT BUILD: the agent binary ${what} by an Apple Developer ID; the PPPC grant will not match on a Mac ` +
      '(no Full Disk Access) and Gatekeeper may block the agent. Do not deploy this release to production.',
  ];
}

/** Build the release zip. */
export async function buildRelease(o: ReleaseOptions): Promise<ReleaseResult> {
  const { version, arch } = checkReleaseInput({ version: o.version, arch: o.arch });
  const stem = releaseStem(version, arch);
  await checkOutputDir(o.outDir, '--out');
  const step = (s: string): void => {
    checkAborted(o.signal);
    o.onStep?.(s);
  };
  const staged = withTempDir('build', async (work) => {
    step('check binary');
    const bin = await prepareBinary(o, work);
    step('render scripts');
    const scripts = renderMacosScripts(o.spec);
    const pkgName = `${stem}.pkg`;
    const pkgFile = path.join(work, pkgName);
    const input: FlatPackageInput = {
      spec: o.spec,
      version,
      hostArchitectures: hostArchitectures(arch),
      binaryFile: bin.file,
      scripts,
      epoch: o.epoch,
      generator: `aiwatch-deploy ${o.builderVersion}`,
      workDir: work,
      signer: o.signer,
      onStep: step,
      gzipWorkers: o.gzipWorkers,
      signal: o.signal,
      onProgress: o.onProgress,
    };
    let pkg: FlatPackageResult | undefined;
    let digest: { sha256: string; size: number } | undefined;
    if (o.packageBuilder) await o.packageBuilder(input, pkgFile);
    else ({ pkg, digest } = await writeOurPackage(input, pkgFile));
    let trust = { notarized: false, stapled: false };
    if (o.afterPkg) {
      trust = await o.afterPkg(pkgFile);
      digest = undefined; // stapling changed the file
    }
    step('write release documents');
    const names = profileFileNames(o.spec);
    const roleOf: Record<string, FileRole> = { [names.pppc]: 'pppc-profile', [names.loginItems]: 'login-items-profile', [names.jamfSchema]: 'jamf-schema' };
    const entries: Array<ZipEntryInput & { role: FileRole }> = [];
    const pkgHash = digest ?? (await hashFile(pkgFile));
    const files: ReleaseFile[] = [{ name: pkgName, role: 'pkg', mode: 0o644, ...pkgHash }];
    entries.push({ name: pkgName, mode: 0o644, source: { file: pkgFile }, compress: false, role: 'pkg' });
    const add = (name: string, role: FileRole, text: string | Uint8Array, mode = 0o644): void => {
      const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
      files.push(describeFile(name, role, bytes, mode));
      entries.push({ name, mode, source: { bytes }, role });
    };
    for (const a of planProfiles(o.spec)) {
      const role = roleOf[a.path];
      if (!role) continue;
      const sign = o.signProfile && role !== 'jamf-schema';
      add(a.path, role, sign ? await o.signProfile!(a.bytes, a.path) : a.bytes);
    }
    add(CLEANUP_SCRIPT_NAME, 'cleanup-script', scripts.cleanup, 0o755);
    add(UNINSTALL_SCRIPT_NAME, 'uninstall-script', scripts.uninstall, 0o755);
    const manifest: ReleaseManifest = {
      schemaVersion: 1,
      product: 'aiwatch',
      version,
      arch,
      builder: { name: 'aiwatch-deploy', version: o.builderVersion },
      sourceDateEpoch: o.epoch,
      identifiers: {
        signingIdentifier: o.spec.identifier,
        teamId: o.spec.teamId,
        packageIdentifier: o.spec.packageIdentifier,
        domain: o.spec.domain,
        labelPrefix: o.spec.labelPrefix,
      },
      installPath: o.spec.installPath,
      binary: {
        arches: bin.identity.arches,
        identifier: bin.identity.identifier,
        teamId: bin.identity.teamId,
        signature: bin.identity.signature,
        signer: bin.identity.slices.find((sl) => sl.signer)?.signer,
        hardenedRuntime: bin.identity.hardenedRuntime,
        developerId: bin.identity.developerId,
      },
      developmentBuild: !bin.identity.developerId,
      warnings: warningsFor(bin.identity),
      pkg: { signed: o.signer !== undefined, ...trust },
      files: [],
    };
    add('README.txt', 'readme', renderReadme(o.spec, { ...manifest, files }));
    manifest.files = [...files].sort((a, b) => (a.name < b.name ? -1 : 1));
    const manifestText = renderManifest(manifest);
    add('manifest.json', 'manifest', manifestText);
    add('SHA256SUMS', 'checksums', renderSha256Sums(files));
    step('write zip');
    const zipFile = path.join(o.outDir, `${stem}.zip`);
    const ordered = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    await writeStreamAtomic(zipFile, async (s) => {
      checkAborted(o.signal);
      await writeZip(ordered, o.epoch, s);
      checkAborted(o.signal);
    });
    return { zip: zipFile, manifest, pkg };
  });
  return staged.catch((e: unknown) => {
    throw stagingError(e, tmpdir());
  });
}

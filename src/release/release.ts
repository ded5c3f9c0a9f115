/**
 * Applying a release plan (src/release/plan.ts): compiled agent binary + options → `aiwatch-<version>-macos-<arch>.zip`
 * in the output folder. A flat list of named steps: check the binary (merge a universal binary), build the flat
 * package, (sign, notarize, staple through injected steps), write the documents (profiles, scripts, manifest,
 * checksums, README), then the zip. Everything is staged in a private temporary folder; the only write into `--out`
 * is the final zip, renamed into place, so an interrupted or failed build leaves nothing there.
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import type { ReleaseArch } from '../config/release-input.js';
import type { DeploymentSpec } from '../config/spec-types.js';
import { AiwatchError, InterruptedError, OutputError } from '../errors.js';
import { checkOutputDir, createStagingStream, hashFile, readInputFile, withTempDir, writeStagingFile, writeStreamAtomic } from '../io/fs.js';
import { checkReleaseBinary, startReleaseBinaryCheck, type ReleaseBinaryCheckFeed, type ReleaseBinaryIdentity } from '../sign/binary-check.js';
import type { TrustAnchors } from '../sign/binary-trust.js';
import type { FlatPackageResult } from '../pkg/flat-package.js';
import { buildFlatPackage, layoutFlatPackage, type FlatPackageInput } from './package.js';
import { createUniversal } from '../macho/lipo.js';
import type { XarSigner } from '../pkg/xar.js';
import { writeZip, writeZipLeading, ZIP_LEAD_LIMIT, type ZipEntryInput, type ZipLeadEntry } from '../formats/zip.js';
import { planRelease, type ReleasePlan } from './plan.js';
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

/** What applying a plan needs besides the plan: the input files, the output folder, the injected steps, progress. */
export type ReleaseIo = Omit<ReleaseOptions, 'spec' | 'version' | 'arch' | 'epoch' | 'builderVersion'>;

export interface ReleaseResult {
  zip: string;
  manifest: ReleaseManifest;
  /** What the built-in builder wrote (absent with another packageBuilder). */
  pkg?: FlatPackageResult;
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InterruptedError('build interrupted; nothing was written to the output folder');
}

/** The pkg's digest as it was written: SHA-256 for the manifest, CRC-32 (zlib's) for its zip entry. */
interface PkgDigest {
  sha256: string;
  size: number;
  crc32?: number;
}

/** SHA-256 and (natively) CRC-32 of bytes as they pass, and their count. */
class PkgHasher {
  readonly #sha = createHash('sha256');
  #size = 0;
  #crc = 0;
  update(chunk: Uint8Array): void {
    this.#sha.update(chunk);
    this.#crc = zlib.crc32(chunk, this.#crc);
    this.#size += chunk.length;
  }
  digest(): PkgDigest {
    return { sha256: this.#sha.digest('hex'), size: this.#size, crc32: this.#crc >>> 0 };
  }
}

/**
 * The built-in builder, for a pkg that must be a file (notarize and staple work on one): the flat package streamed
 * into `pkgFile`, hashed on its way there (SHA-256 and, natively, CRC-32: saves reading the largest file of the
 * release once more for the manifest, and the zip's JavaScript CRC).
 */
async function writeOurPackage(input: FlatPackageInput, pkgFile: string): Promise<{ pkg: FlatPackageResult; digest: PkgDigest }> {
  const h = new PkgHasher();
  const hasher = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      h.update(chunk);
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
  return { pkg, digest: h.digest() };
}

/**
 * The built-in builder, for a pkg that only goes into the zip: laid out, never written as a file of its own. Its
 * CRC-32 is known from its pieces (the Payload's was taken as it was written, the other members are in memory), so
 * its bytes (the xar's TOC and small members from memory, the Payload from its staging file) are read once: by the
 * zip writer, which copies them first in the zip, hashing SHA-256 for the documents written after them and
 * re-hashing each member against the TOC's SHA-1 ({@link zipLeadStep}).
 */
async function layOutOurPackage(input: FlatPackageInput): Promise<{ pkg: FlatPackageResult; laidOut: ZipLeadEntry['source'] }> {
  const layout = await layoutFlatPackage(input);
  if (layout.crc32 === undefined) throw new Error("internal: the laid-out pkg's CRC-32 is unknown (a member came without its CRC-32)");
  return { pkg: layout.result, laidOut: { open: () => layout.bytes({ verify: true }), known: { size: layout.result.xar.size, crc32: layout.crc32 } } };
}

/** SHA-256, CRC-32 and size of bytes read once (a laid-out pkg too large to lead its zip). */
async function digestOf(bytes: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<PkgDigest> {
  const h = new PkgHasher();
  for await (const chunk of bytes) {
    checkAborted(signal);
    h.update(chunk);
  }
  return h.digest();
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
async function signedCopy(o: ReleaseIo, file: string, work: string, name: string): Promise<string> {
  if (!o.signBinary) return file;
  const out = path.join(work, name);
  await o.signBinary(file, out);
  return out;
}

/**
 * The binary to package, checked: `identity` when the check is done, or `pending` when its hashes ride on the
 * Payload's read of the binary (our builder, one thin or fat file: one pass feeds the page hashes, the file's
 * SHA-256, the Bom's cksum, cpio and the deflate pool); everything the headers and signature decide is checked before.
 */
type PreparedBinary = { file: string } & ({ identity: ReleaseBinaryIdentity; pending?: undefined } | { identity?: undefined; pending: ReleaseBinaryCheckFeed });

async function prepareBinary(plan: ReleasePlan, o: ReleaseIo, work: string): Promise<PreparedBinary> {
  const dev = o.developmentBuild === true;
  const expect = { identifier: plan.spec.identifier, teamId: plan.spec.teamId, allowUnsigned: dev, allowUntrustedSigner: dev, anchors: o.anchors };
  const binary = await signedCopy(o, o.binary, work, 'signed-binary');
  if (plan.arch !== 'universal' || !o.binaryX86_64) {
    const spec = { ...expect, arch: plan.arch };
    if (!o.packageBuilder) return { file: binary, pending: await startReleaseBinaryCheck(binary, spec) };
    return { file: binary, identity: await checkReleaseBinary(binary, spec) };
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

/** The zip's contents as they are gathered: manifest entries and zip entries, in the order they were added. */
class ZipContents {
  readonly files: ReleaseFile[] = [];
  readonly entries: ZipEntryInput[] = [];

  addFile(name: string, role: FileRole, from: { file: string } | { open: () => AsyncIterable<Uint8Array> }, hash: PkgDigest): void {
    const { crc32, ...digest } = hash;
    this.files.push({ name, role, mode: 0o644, ...digest });
    const known = crc32 === undefined ? undefined : { size: digest.size, crc32 };
    const source: ZipEntryInput['source'] = 'open' in from ? { open: from.open, known: known! } : known ? { file: from.file, known } : { file: from.file };
    this.entries.push({ name, mode: 0o644, source, compress: false });
  }

  add(name: string, role: FileRole, data: string | Uint8Array, mode = 0o644): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.files.push(describeFile(name, role, bytes, mode));
    this.entries.push({ name, mode, source: { bytes } });
  }

  /** Entries by name: the zip's order. */
  ordered(): ZipEntryInput[] {
    return [...this.entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

interface BuiltPkg {
  /** The pkg as a file in the staging folder (unless it was only laid out). */
  file: string;
  /** Only laid out (no notarize or staple step): its bytes, size and CRC-32, written first in the zip. */
  laidOut?: ZipLeadEntry['source'];
  /** What the built-in builder wrote (absent with another packageBuilder). */
  pkg?: FlatPackageResult;
  /** Its hash as it was written (absent when another builder wrote it, or stapling changed it since). */
  digest?: PkgDigest;
}

/** Step "build pkg": the product archive in the staging folder, by our composer or the injected builder. */
async function buildPkgStep(
  plan: ReleasePlan,
  o: ReleaseIo,
  binaryFile: string,
  work: string,
  step: (s: string) => void,
  check?: { tap: (chunk: Uint8Array) => void; afterPayload: () => void },
): Promise<BuiltPkg> {
  const file = path.join(work, plan.pkgName);
  const input: FlatPackageInput = {
    ...(check ? { binaryTap: check.tap, afterPayload: check.afterPayload } : {}),
    spec: plan.spec,
    version: plan.version,
    hostArchitectures: plan.hostArchitectures,
    binaryFile,
    scripts: plan.scripts,
    epoch: plan.epoch,
    generator: plan.generator,
    workDir: work,
    signer: o.signer,
    onStep: step,
    gzipWorkers: o.gzipWorkers,
    signal: o.signal,
    onProgress: o.onProgress,
  };
  if (o.packageBuilder) {
    await o.packageBuilder(input, file);
    return { file };
  }
  if (!o.afterPkg) return { file, ...(await layOutOurPackage(input)) };
  return { file, ...(await writeOurPackage(input, file)) };
}

/** Step "notarize / staple" (injected): runs on the finished pkg; stapling changes the file, so its hash is stale. */
async function trustStep(o: ReleaseIo, built: BuiltPkg): Promise<{ built: BuiltPkg; trust: { notarized: boolean; stapled: boolean } }> {
  if (!o.afterPkg) return { built, trust: { notarized: false, stapled: false } };
  const trust = await o.afterPkg(built.file);
  return { built: { ...built, digest: undefined }, trust };
}

/** The binary's identity as the manifest records it. */
function binarySummary(identity: ReleaseBinaryIdentity): Pick<ReleaseManifest, 'binary' | 'developmentBuild' | 'warnings'> {
  return {
    binary: {
      arches: identity.arches,
      identifier: identity.identifier,
      teamId: identity.teamId,
      signature: identity.signature,
      signer: identity.slices.find((sl) => sl.signer)?.signer,
      hardenedRuntime: identity.hardenedRuntime,
      developerId: identity.developerId,
    },
    developmentBuild: !identity.developerId,
    warnings: warningsFor(identity),
  };
}

type SignedDocument = ReleasePlan['documents'][number];

/** Step "write release documents", first part: the planned documents, signed where asked (they do not name the pkg). */
async function signedDocuments(plan: ReleasePlan, o: ReleaseIo): Promise<SignedDocument[]> {
  const out: SignedDocument[] = [];
  for (const d of plan.documents) out.push({ ...d, bytes: d.sign && o.signProfile ? await o.signProfile(d.bytes, d.name) : d.bytes });
  return out;
}

/** The zip's contents once the pkg's digest is known: the pkg, the documents, README, manifest, sums. */
function releaseContents(
  plan: ReleasePlan,
  pkg: { from: { file: string } | { open: () => AsyncIterable<Uint8Array> }; digest: PkgDigest },
  documents: readonly SignedDocument[],
  identity: ReleaseBinaryIdentity,
  trust: ReleaseManifest['pkg'],
): { contents: ZipContents; manifest: ReleaseManifest } {
  const contents = new ZipContents();
  contents.addFile(plan.pkgName, 'pkg', pkg.from, pkg.digest);
  for (const d of documents) contents.add(d.name, d.role, d.bytes, d.mode);
  const manifest: ReleaseManifest = { ...plan.manifest, ...binarySummary(identity), pkg: trust, files: [] };
  contents.add('README.txt', 'readme', renderReadme(plan.spec, { ...manifest, files: contents.files }));
  manifest.files = [...contents.files].sort((a, b) => (a.name < b.name ? -1 : 1));
  contents.add('manifest.json', 'manifest', renderManifest(manifest));
  contents.add('SHA256SUMS', 'checksums', renderSha256Sums(contents.files));
  return { contents, manifest };
}

/** Step "write zip": the one write into the output folder, renamed into place when complete. */
async function zipStep(plan: ReleasePlan, o: ReleaseIo, write: (out: Writable) => Promise<void>): Promise<string> {
  const zipFile = path.join(o.outDir, plan.zipName);
  await writeStreamAtomic(zipFile, async (s) => {
    checkAborted(o.signal);
    await write(s);
    checkAborted(o.signal);
  });
  return zipFile;
}

/**
 * Step "write zip" for a laid-out pkg: its bytes first (read once, hashed on the way), then the documents that name
 * its SHA-256; the central directory in name order as always (src/formats/zip.ts writeZipLeading).
 */
function zipLeadStep(plan: ReleasePlan, o: ReleaseIo, lead: ZipLeadEntry, contentsFor: (pkgSha256: string) => ZipContents): Promise<string> {
  return zipStep(plan, o, (s) => writeZipLeading(lead, async (sha256) => contentsFor(sha256).ordered().filter((e) => e.name !== lead.name), plan.epoch, s));
}

/**
 * Apply a plan: check the output folder, then in a private staging folder the flat list of steps — check binary,
 * render scripts (planned; the step is announced for progress), build pkg, notarize/staple, write release
 * documents, write zip. Each step checks for an abort first; any failure removes the staging folder.
 */
export async function applyRelease(plan: ReleasePlan, o: ReleaseIo): Promise<ReleaseResult> {
  await checkOutputDir(o.outDir, '--out');
  const step = (s: string): void => {
    checkAborted(o.signal);
    o.onStep?.(s);
  };
  const staged = withTempDir('build', async (work) => {
    step('check binary');
    const bin = await prepareBinary(plan, o, work);
    let identity = bin.identity;
    const pending = bin.pending;
    step('render scripts');
    const check = pending && { tap: (chunk: Uint8Array) => pending.update(chunk), afterPayload: () => void (identity = pending.finish()) };
    const { built, trust } = await trustStep(o, await buildPkgStep(plan, o, bin.file, work, step, check));
    if (!identity) throw new Error('internal: the binary check did not finish with the Payload');
    step('write release documents');
    const documents = await signedDocuments(plan, o);
    const pkgTrust = { signed: plan.signPkg, ...trust };
    if (built.laidOut && built.laidOut.known.size < ZIP_LEAD_LIMIT) {
      const source = built.laidOut;
      step('write zip');
      let manifest: ReleaseManifest | undefined;
      const zip = await zipLeadStep(plan, o, { name: plan.pkgName, mode: 0o644, source }, (sha256) => {
        const r = releaseContents(plan, { from: { open: source.open }, digest: { sha256, ...source.known } }, documents, identity!, pkgTrust);
        manifest = r.manifest;
        return r.contents;
      });
      return { zip, manifest: manifest!, pkg: built.pkg };
    }
    // A pkg as a file, or one laid out too large to lead a zip32 (2 GiB: written by writeZip, zip64 with yazl): hashed first.
    const from = built.laidOut ? { open: built.laidOut.open } : { file: built.file };
    const digest = built.digest ?? (built.laidOut ? await digestOf(built.laidOut.open(), o.signal) : await hashFile(built.file));
    const { contents, manifest } = releaseContents(plan, { from, digest }, documents, identity, pkgTrust);
    step('write zip');
    const ordered = contents.ordered();
    return { zip: await zipStep(plan, o, (s) => writeZip(ordered, plan.epoch, s)), manifest, pkg: built.pkg };
  });
  return staged.catch((e: unknown) => {
    throw stagingError(e, tmpdir());
  });
}

/** Build the release zip: plan from the options, then apply. */
export async function buildRelease(o: ReleaseOptions): Promise<ReleaseResult> {
  const plan = planRelease(
    { version: o.version, arch: o.arch, epoch: o.epoch, builderVersion: o.builderVersion, signPkg: o.signer !== undefined, signProfiles: o.signProfile !== undefined },
    o.spec,
  );
  return applyRelease(plan, o);
}

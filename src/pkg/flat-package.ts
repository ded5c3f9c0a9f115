/**
 * The composer: the only module that combines the format modules into a product archive (what productbuild
 * writes and MDMs accept), laid out as reference §1.4:
 *
 *   Distribution                       (zlib)
 *   Resources/                         (directory)
 *   <component>.pkg/Bom                (zlib)
 *   <component>.pkg/PackageInfo        (zlib)
 *   <component>.pkg/Payload            (stored: gzip of a cpio odc archive)
 *   <component>.pkg/Scripts            (stored: gzip of a cpio odc archive of preinstall/postinstall)
 *
 * It knows nothing of the product: it takes the install files, the identifiers and titles (the release layer,
 * src/release/package.ts, maps the deployment spec and its launchd units to them).
 * It runs as a list of named steps; each failure is wrapped with the step's name. The Payload is streamed
 * cpio → parallel gzip → a temporary file while its SHA-1 and size are measured, so the xar is laid out without
 * reading it again and memory does not grow with the binary's size. {@link buildProductArchive} then writes the
 * archive to a stream; {@link layoutProductArchive} stops before that, for a caller that copies the bytes where they
 * finally go (the release zip) instead of into a pkg file first.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createStagingStream } from '../io/fs.js';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import zlib from 'node:zlib';
import { AiwatchError, InterruptedError } from '../errors.js';
import { writeBom, type BomArchInfo } from './bom.js';
import { writeCpio } from './cpio.js';
import { renderDistribution, type HostArchitecture } from './distribution.js';
import { gzipParallel } from '../formats/gzip.js';
import { renderPackageInfo } from './package-info.js';
import { payloadStats, planPayload, planScripts, type InstallFile, type PayloadEntry, type PayloadStats } from './payload.js';
import { layoutXar, type XarInput, type XarLayout, type XarSigner, type XarWriteResult } from './xar.js';
import { writeChunk } from '../formats/byte-stream.js';

/** What the Distribution and PackageInfo say about the product. */
export interface ProductArchiveMeta {
  /** The product and component package identifier (Distribution, PackageInfo). */
  packageIdentifier: string;
  /** The component directory inside the archive, e.g. `aiwatch.pkg`. */
  componentName: string;
  /** The Distribution title. */
  title: string;
  /** The Distribution's minimum macOS version. */
  minimumMacOS: string;
  version: string;
  hostArchitectures: readonly HostArchitecture[];
}

export interface ProductArchiveInput extends ProductArchiveMeta {
  /** What the Payload installs (absolute paths, modes, sources). */
  files: InstallFile[];
  /** Rendered install scripts (POSIX sh). */
  scripts: { preinstall: string; postinstall: string };
  /** Seconds since the epoch for every timestamp (SOURCE_DATE_EPOCH). */
  epoch: number;
  /** `aiwatch-deploy <version>`, for PackageInfo generator-version. */
  generator: string;
  /** A private folder for the staged Payload (removed by the caller). */
  workDir: string;
  /** Per-architecture Mach-O sizes for BomInfo. */
  bomArch?: BomArchInfo;
  /** Seconds Installer lets each install script run (PackageInfo `timeout`); default 600, as pkgbuild writes. */
  scriptsTimeout?: number;
  /** Sign the product archive as productsign does. */
  signer?: XarSigner;
  /** Called as each named step starts. */
  onStep?: (step: string) => void;
  /** gzip workers; default all cores. */
  gzipWorkers?: number;
  /** Checked between Payload chunks: once aborted, the build stops with an InterruptedError. */
  signal?: AbortSignal;
  /** Progress of the Payload step: bytes of the cpio stream compressed so far, and its total size. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Called once the Payload is written, before anything else: a check fed by a file source's `tap` during that
   * one read gives its verdict here (throwing stops the build).
   */
  afterPayload?: () => void | Promise<void>;
}

export interface FlatPackageResult {
  componentName: string;
  payloadEntries: number;
  stats: PayloadStats;
  payloadBytes: number;
  xar: XarWriteResult;
}

/** The Distribution of the product archive (also what `--builder apple` hands productbuild). */
export function productDistribution(meta: ProductArchiveMeta, stats: PayloadStats): string {
  const { version } = meta;
  return renderDistribution({
    title: meta.title,
    hostArchitectures: meta.hostArchitectures,
    minimumMacOS: meta.minimumMacOS,
    components: [{ id: meta.packageIdentifier, version, installKBytes: stats.installKBytes, pkgName: meta.componentName }],
    product: { id: meta.packageIdentifier, version },
  });
}

class StepError extends Error {}

async function step<T>(name: string, onStep: ((s: string) => void) | undefined, fn: () => Promise<T>): Promise<T> {
  onStep?.(name);
  try {
    return await fn();
  } catch (e) {
    if (e instanceof AiwatchError) throw e;
    throw new StepError(`${name}: ${(e as Error).message}`, { cause: e });
  }
}

/** The cpio stream's size: a 76-byte header and the NUL-terminated name per entry, the data, the trailer, 512-byte padding. */
function cpioSize(entries: readonly PayloadEntry[]): number {
  let n = 76 + 'TRAILER!!!'.length + 1;
  for (const e of entries) n += 76 + Buffer.byteLength(e.path) + 1 + (e.kind === 'dir' ? 0 : e.size);
  return Math.ceil(n / 512) * 512;
}

/** Pass `source` through, reporting the bytes seen against `total`. */
async function* counted(source: AsyncIterable<Buffer>, total: number, report: (done: number, total: number) => void): AsyncGenerator<Buffer> {
  let done = 0;
  for await (const chunk of source) {
    done += chunk.length;
    report(Math.min(done, total), total);
    yield chunk;
  }
}

async function stagePayload(
  entries: PayloadEntry[],
  file: string,
  workers: number | undefined,
  signal?: AbortSignal,
  onProgress?: (done: number, total: number) => void,
): Promise<{ size: number; sha1: string; crc32: number; checksums: Map<string, number> }> {
  const checksums = new Map<string, number>();
  const out = createStagingStream(file, 0o600);
  const sha1 = createHash('sha1');
  let crc = 0; // zlib's CRC-32 of the gzip bytes: the release's zip entry for the pkg needs no pass of its own
  let size = 0;
  try {
    const cpio = writeCpio(entries, { checksums, reuseChunks: true });
    const source = onProgress ? counted(cpio, cpioSize(entries), onProgress) : cpio;
    for await (const chunk of gzipParallel(source, { workers })) {
      if (signal?.aborted) throw new InterruptedError('build interrupted; nothing was written to the output folder');
      sha1.update(chunk);
      crc = zlib.crc32(chunk, crc);
      size += chunk.length;
      if (!out.write(chunk)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await finished(out);
  }
  return { size, sha1: sha1.digest('hex'), crc32: crc >>> 0, checksums };
}

async function gzipBytes(entries: PayloadEntry[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of gzipParallel(writeCpio(entries), { workers: 0 })) parts.push(c);
  return Buffer.concat(parts);
}

/** A product archive laid out (every member measured, the TOC sealed and signed), its bytes not written yet. */
export interface ProductArchiveLayout {
  result: FlatPackageResult;
  /** The archive's bytes, read from its sources (the staged Payload in `workDir`) each time (see {@link XarLayout}). */
  bytes: XarLayout['bytes'];
  /** The archive's CRC-32, known without reading it (see {@link XarLayout.crc32}). */
  crc32?: number;
}

/** Build the product archive into `out`. */
export async function buildProductArchive(input: ProductArchiveInput, out: Writable): Promise<FlatPackageResult> {
  const layout = await layoutProductArchive(input);
  await step(input.signer ? 'write signed product archive (xar)' : 'write product archive (xar)', undefined, async () => {
    for await (const chunk of layout.bytes()) await writeChunk(out, chunk);
  });
  return layout.result;
}

/**
 * Everything of {@link buildProductArchive} but the last copy: the Payload staged in `input.workDir`, the other
 * members made, the xar laid out. The caller reads its bytes where they are needed (the release streams them into
 * its zip, so the pkg is never a file of its own).
 */
export async function layoutProductArchive(input: ProductArchiveInput): Promise<ProductArchiveLayout> {
  const { onStep } = input;
  const comp = input.componentName;
  const entries = await step('plan payload', onStep, () => planPayload(input.files, { mtime: input.epoch, what: 'payload' }));
  const payloadFile = path.join(input.workDir, 'Payload');
  const payload = await step('write Payload (cpio + gzip)', onStep, () => stagePayload(entries, payloadFile, input.gzipWorkers, input.signal, input.onProgress));
  await input.afterPayload?.();
  const bom = await step('write Bom', onStep, () => writeBom(entries, { checksums: payload.checksums, arch: input.bomArch }));
  const scripts = await step('write Scripts', onStep, async () =>
    gzipBytes(
      await planScripts(
        [
          { name: 'postinstall', source: { bytes: Buffer.from(input.scripts.postinstall, 'utf8') } },
          { name: 'preinstall', source: { bytes: Buffer.from(input.scripts.preinstall, 'utf8') } },
        ],
        { mtime: input.epoch },
      ),
    ),
  );
  const stats = payloadStats(entries);
  const packageInfo = renderPackageInfo({
    identifier: input.packageIdentifier,
    version: input.version,
    generatorVersion: input.generator,
    payload: stats,
    scripts: { preinstall: true, postinstall: true },
    scriptsTimeout: input.scriptsTimeout,
  });
  const distribution = productDistribution(input, stats);
  const members: XarInput[] = [
    { path: 'Distribution', source: { bytes: Buffer.from(distribution, 'utf8') }, encoding: 'zlib' },
    { path: 'Resources', directory: true },
    { path: `${comp}/Bom`, source: { bytes: bom }, encoding: 'zlib' },
    { path: `${comp}/PackageInfo`, source: { bytes: Buffer.from(packageInfo, 'utf8') }, encoding: 'zlib' },
    { path: `${comp}/Payload`, source: { file: payloadFile, known: { size: payload.size, sha1: payload.sha1, crc32: payload.crc32 } } },
    { path: `${comp}/Scripts`, source: { bytes: scripts } },
  ];
  const xar = await step(input.signer ? 'write signed product archive (xar)' : 'write product archive (xar)', onStep, () =>
    layoutXar(members, { creationTime: new Date(input.epoch * 1000), signer: input.signer }),
  );
  return { result: { componentName: comp, payloadEntries: entries.length, stats, payloadBytes: payload.size, xar: xar.result }, bytes: (o) => xar.bytes(o), crc32: xar.crc32 };
}

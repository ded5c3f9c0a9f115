/**
 * The release zip: a deterministic writer (over yazl) and a reader (over yauzl) for verify/inspect.
 *
 * Entries are DEFLATEd at level 6 unless the caller says they are compressed already (the pkg: its Payload is gzip,
 * so deflating it again costs a full pass over the largest file for a gain of well under 1%).
 * Determinism: entries in the order given (the release plan sorts them), a fixed mode per entry, every mtime the
 * same SOURCE_DATE_EPOCH instant, DEFLATE at a fixed level. The ZIP "DOS" timestamp has no time zone: yazl encodes it
 * from the Date's *local* fields, so two machines in different zones would write different bytes. We therefore
 * (a) disable yazl's UTC extended-timestamp field (`forceDosTimestamp`) and (b) hand yazl a Date whose local fields
 * equal the UTC calendar fields of the epoch, so the stored DOS time is the UTC time wherever the build runs.
 * DOS times start in 1980: an earlier SOURCE_DATE_EPOCH is clamped to 1980-01-01 00:00 (as yazl does).
 *
 * Reading (over yauzl) is bounded (src/formats/limits.ts): the entry count is checked from the end record before any
 * entry is listed; an entry is read only as the caller asks (into memory up to a size limit, streamed to a file, or
 * not at all), after its declared size passed the inflate-ratio and total limits, and it may not inflate past what
 * it declares (a zip bomb) nor stop short of it. Every read entry can be hashed (SHA-256) on the way.
 * A zip is read by path or from a random-access source (src/formats/source.ts: a decrypted inner zip in memory); a
 * stored (uncompressed, unencrypted) entry can be handed out as a window of the zip — read in place, no copy.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { createStagingStream } from '../io/fs.js';
import { byteText, InputLimitError, LIMITS } from './limits.js';
import { fileSource, windowSource, type NamedSource, type RandomAccessSource } from './source.js';
import { writeChunk } from './byte-stream.js';

export interface ZipEntryInput {
  /** Path inside the zip, `/`-separated, no leading slash. */
  name: string;
  /** Unix permission bits (0o644, 0o755). */
  mode: number;
  source: { bytes: Uint8Array } | { file: string };
  /** DEFLATE the entry (default true); false stores it, for data that is compressed already (the .pkg). */
  compress?: boolean;
}

/** A Date whose local calendar fields are the UTC fields of `epochSeconds` (see header). */
export function dosDateFor(epochSeconds: number): Date {
  const ms = Math.max(epochSeconds, 315532800) * 1000;
  const utc = new Date(ms);
  return new Date(utc.getUTCFullYear(), utc.getUTCMonth(), utc.getUTCDate(), utc.getUTCHours(), utc.getUTCMinutes(), utc.getUTCSeconds());
}

/** Write a deterministic zip of `entries` to `out`. Resolves when everything has been written. */
export async function writeZip(entries: readonly ZipEntryInput[], epochSeconds: number, out: Writable): Promise<void> {
  const zip = new yazl.ZipFile();
  const mtime = dosDateFor(epochSeconds);
  for (const e of entries) {
    const compression = e.compress === false ? { compress: false } : { compress: true, compressionLevel: 6 };
    const opts = { mtime, mode: 0o100000 | e.mode, ...compression, forceDosTimestamp: true };
    if ('bytes' in e.source) zip.addBuffer(Buffer.from(e.source.bytes), e.name, opts);
    else zip.addReadStream(createReadStream(e.source.file), e.name, opts);
  }
  zip.end();
  await pipeline(zip.outputStream, out, { end: false });
}

export interface ZipEntryInfo {
  name: string;
  mode: number;
  size: number;
  compressedSize: number;
  /** DOS timestamp as an ISO string (UTC calendar as stored). */
  mtime: string;
}

/** yauzl's view of a random-access source. */
class SourceReader extends yauzl.RandomAccessReader {
  constructor(private readonly source: RandomAccessSource) {
    super();
  }
  override _readStreamForRange(start: number, end: number): Readable {
    return Readable.from(this.source.stream(start, end - start), { objectMode: false });
  }
}

const OPEN_OPTIONS = { lazyEntries: true, autoClose: false, validateEntrySizes: false };

function openZip(input: string | NamedSource): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, zf?: yauzl.ZipFile): void => (err || !zf ? reject(err ?? new Error('cannot open zip')) : resolve(zf));
    if (typeof input === 'string') yauzl.open(input, OPEN_OPTIONS, done);
    else yauzl.fromRandomAccessReader(new SourceReader(input.source), input.source.size, OPEN_OPTIONS, done);
  });
}

/** What {@link readZip} does with an entry's bytes: keep them, stream them to a new file (0600) or to a sink, or leave them. */
export type ZipTake = 'memory' | 'skip' | { file: string } | { sink: (chunk: Buffer) => void | Promise<void> };

/**
 * A take, or: read in place when the entry is stored (no compression, no encryption) — its bytes are checked (and
 * hashed) as they pass, then handed out as a window of the zip ({@link ZipReadEntry.source}); a compressed entry is
 * read as `otherwise` says.
 */
export type ZipTakeOrWindow = ZipTake | { window: true; otherwise: ZipTake };

export interface ZipReadOptions {
  /** Per entry (listed in order): default 'skip'. 'memory' is refused above LIMITS['zip.entry-bytes']. */
  take?: (entry: ZipEntryInfo, index: number) => ZipTakeOrWindow;
  /** Compute the SHA-256 of every entry read (memory or file). */
  sha256?: boolean;
  /** Most entries (default LIMITS['zip.entries']). */
  maxEntries?: number;
}

/** An entry as read: its bytes in memory, the file they were streamed to, or a window of the zip; its SHA-256 when asked. */
export type ZipReadEntry = ZipEntryInfo & { data?: Buffer; file?: string; source?: RandomAccessSource; sha256?: string };

function entryInfo(entry: yauzl.Entry): ZipEntryInfo {
  const d = entry.getLastModDate({ forceDosFormat: true, timezone: 'UTC' } as never);
  return { name: entry.fileName, mode: (entry.externalFileAttributes >>> 16) & 0o7777, size: entry.uncompressedSize, compressedSize: entry.compressedSize, mtime: d.toISOString() };
}

/** Declared sizes an entry must pass before it is inflated; `total` is the sum of the entries read so far. */
function checkDeclared(file: string, entry: yauzl.Entry, take: ZipTake, total: number): void {
  const over = (limit: keyof typeof LIMITS, message: string): never => {
    throw new InputLimitError(file, limit, `${entry.fileName}: ${message} (a zip bomb or a damaged zip; not read)`);
  };
  const size = entry.uncompressedSize;
  const cap = Math.max(LIMITS['cpio.ratio-floor'], LIMITS['zip.ratio'] * entry.compressedSize);
  if (entry.compressionMethod !== 0 && size > cap) over('zip.ratio', `declares ${byteText(size)} from ${byteText(entry.compressedSize)} compressed: over the limit of ${LIMITS['zip.ratio']} times its compressed size`);
  if (take === 'memory' && size > LIMITS['zip.entry-bytes']) over('zip.entry-bytes', `declares ${byteText(size)}: over the limit of ${byteText(LIMITS['zip.entry-bytes'])} read into memory`);
  if (total + size > LIMITS['zip.total-bytes']) over('zip.total-bytes', `the entries read add up to more than ${byteText(LIMITS['zip.total-bytes'])}: over the limit`);
}

/** Stored as is: no compression, no encryption, the same size both ways (its bytes can be read in place). */
function isStored(entry: yauzl.Entry): boolean {
  return entry.compressionMethod === 0 && !entry.isEncrypted() && entry.compressedSize === entry.uncompressedSize;
}

function openEntry(zf: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => zf.openReadStream(entry, (err, rs) => (err || !rs ? reject(err ?? new Error(`cannot read ${entry.fileName}`)) : resolve(rs))));
}

/** Read one entry's bytes as `take` says, never past its declared size. */
async function readEntry(file: string, zf: yauzl.ZipFile, entry: yauzl.Entry, take: Exclude<ZipTake, 'skip'> | 'pass', hash: boolean): Promise<{ data?: Buffer; file?: string; sha256?: string }> {
  const rs = await openEntry(zf, entry);
  const sha = hash ? createHash('sha256') : undefined;
  const parts: Buffer[] = [];
  const out = typeof take === 'object' && 'file' in take ? createStagingStream(take.file, 0o600) : undefined;
  const sink = typeof take === 'object' && 'sink' in take ? take.sink : take === 'pass' ? () => undefined : undefined;
  let n = 0;
  try {
    for await (const chunk of rs as AsyncIterable<Buffer>) {
      n += chunk.length;
      if (n > entry.uncompressedSize) throw new InputLimitError(file, 'zip.ratio', `${entry.fileName}: inflates to more than the ${entry.uncompressedSize} bytes it declares: over the limit (a zip bomb or a damaged zip; not read further)`);
      sha?.update(chunk);
      if (out) await writeChunk(out, chunk);
      else if (sink) await sink(chunk);
      else parts.push(chunk);
    }
    if (n !== entry.uncompressedSize) throw new Error(`${entry.fileName}: inflates to ${n} bytes, not the ${entry.uncompressedSize} it declares`);
  } finally {
    rs.destroy();
    if (out) await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }
  const where = out ? { file: (take as { file: string }).file } : sink ? {} : { data: Buffer.concat(parts) };
  return { ...where, ...(sha ? { sha256: sha.digest('hex') } : {}) };
}

/**
 * Read every entry of a zip: its listing, and the bytes of the entries `take` asks for (`withData` as a predicate:
 * those in memory). Limits of src/formats/limits.ts → InputLimitError naming `file`; other damage → Error.
 */
export async function readZip(input: string | NamedSource, withData: ((name: string) => boolean) | ZipReadOptions = () => false): Promise<ZipReadEntry[]> {
  const o: ZipReadOptions = typeof withData === 'function' ? { take: (e) => (withData(e.name) ? 'memory' : 'skip') } : withData;
  const max = o.maxEntries ?? LIMITS['zip.entries'];
  const file = typeof input === 'string' ? input : input.name;
  const zf = await openZip(input);
  const whole = typeof input === 'string' ? fileSource(input, zf.fileSize) : input.source;
  const out: ZipReadEntry[] = [];
  let total = 0;
  try {
    if (zf.entryCount > max) throw new InputLimitError(file, 'zip.entries', `${zf.entryCount} entries: over the limit of ${max} (a hostile or damaged zip; not read)`);
    await new Promise<void>((resolve, reject) => {
      zf.on('error', reject);
      zf.on('end', () => resolve());
      zf.on('entry', (entry: yauzl.Entry) => {
        const info: ZipReadEntry = entryInfo(entry);
        const index = out.length;
        out.push(info);
        const asked = o.take?.(info, index) ?? 'skip';
        const inPlace = typeof asked === 'object' && 'window' in asked && isStored(entry);
        const take = typeof asked === 'object' && 'window' in asked ? asked.otherwise : asked;
        if (take === 'skip' && !inPlace) return zf.readEntry();
        (async () => {
          checkDeclared(file, entry, inPlace ? 'skip' : take, total);
          total += entry.uncompressedSize;
          Object.assign(info, await readEntry(file, zf, entry, inPlace ? 'pass' : (take as Exclude<ZipTake, 'skip'>), o.sha256 === true));
          if (inPlace) info.source = windowSource(whole, (await zf.readLocalFileHeaderPromise(entry, { minimal: true })).fileDataStart, entry.uncompressedSize);
        })().then(() => zf.readEntry(), reject);
      });
      zf.readEntry();
    });
  } finally {
    zf.close();
  }
  return out;
}

/**
 * The release zip: a deterministic writer and a reader (over yauzl) for verify/inspect.
 *
 * Entries are DEFLATEd at level 6 unless the caller says they are compressed already (the pkg: its Payload is gzip,
 * so deflating it again costs a full pass over the largest file for a gain of well under 1%).
 * Determinism: entries in the order given (the release plan sorts them), a fixed mode per entry, every mtime the
 * same SOURCE_DATE_EPOCH instant as a DOS date and time of its UTC calendar fields (a DOS time has no zone, so this is
 * what makes two machines in different zones write the same bytes; no extended-timestamp field), DEFLATE at a fixed
 * level. DOS times start in 1980: an earlier SOURCE_DATE_EPOCH is clamped to 1980-01-01 00:00.
 *
 * Writing is hand-written (the layout yazl writes for in-memory entries: UTF-8 names, version made by Unix 6.3, no
 * extra fields) because the release's largest entry, the pkg, is best stored with the CRC-32 its writer computed
 * natively on the way (`known`): it is then copied once, its CRC re-checked natively, instead of passing yazl's
 * JavaScript CRC-32 and four stream stages (docs/benchmarks.md). A file entry without `known` is CRC'd natively
 * first; a DEFLATEd file entry is streamed with a data descriptor. A zip that would need zip64 (4 GiB or more,
 * 65,535 entries or more) is still written by yazl.
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
import { stat } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { InputFileError } from '../errors.js';
import { createStagingStream } from '../io/fs.js';
import { byteText, InputLimitError, LIMITS } from './limits.js';
import { fileSource, windowSource, type NamedSource, type RandomAccessSource } from './source.js';
import { fileRange, writeChunk } from './byte-stream.js';

/** A file's size and CRC-32 (zlib's), when its writer computed them on the way. */
export interface ZipKnownCrc {
  size: number;
  crc32: number;
}

export interface ZipEntryInput {
  /** Path inside the zip, `/`-separated, no leading slash. */
  name: string;
  /** Unix permission bits (0o644, 0o755). */
  mode: number;
  /**
   * In memory, a file, or bytes read by `open` (stored entries only, with their size and CRC-32 known: the release's
   * pkg, laid out but never written as a file of its own).
   */
  source: { bytes: Uint8Array } | { file: string; known?: ZipKnownCrc } | { open: () => AsyncIterable<Uint8Array>; known: ZipKnownCrc };
  /** DEFLATE the entry (default true); false stores it, for data that is compressed already (the .pkg). */
  compress?: boolean;
}

/** A Date whose local calendar fields are the UTC fields of `epochSeconds` (see header). */
export function dosDateFor(epochSeconds: number): Date {
  const ms = Math.max(epochSeconds, 315532800) * 1000;
  const utc = new Date(ms);
  return new Date(utc.getUTCFullYear(), utc.getUTCMonth(), utc.getUTCDate(), utc.getUTCHours(), utc.getUTCMinutes(), utc.getUTCSeconds());
}

/** The DOS time and date words of the UTC calendar fields of `epochSeconds`, clamped to 1980 … 2107. */
function dosTimeDate(epochSeconds: number): { time: number; date: number } {
  const d = new Date(Math.min(Math.max(epochSeconds, 315532800), 4354819198) * 1000);
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

const ZIP32_LIMIT = 0xfffffffe;
const MAX_ENTRIES_32 = 0xffff;
const FLAG_UTF8 = 1 << 11;
const FLAG_DESCRIPTOR = 1 << 3;
const VERSION_MADE_BY = (3 << 8) | 63;
const VERSION_NEEDED = 20;

interface Placed {
  name: Buffer;
  mode: number;
  method: 0 | 8;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  offset: number;
}

/** Largest DEFLATE output of `n` bytes (zlib's deflateBound, rounded up). */
const deflateBound = (n: number): number => n + (n >> 12) + (n >> 14) + (n >> 25) + 64;

function localHeader(p: Placed, when: { time: number; date: number }): Buffer {
  const b = Buffer.alloc(30 + p.name.length);
  const known = (p.flags & FLAG_DESCRIPTOR) === 0;
  b.writeUInt32LE(0x04034b50, 0);
  b.writeUInt16LE(VERSION_NEEDED, 4);
  b.writeUInt16LE(p.flags, 6);
  b.writeUInt16LE(p.method, 8);
  b.writeUInt16LE(when.time, 10);
  b.writeUInt16LE(when.date, 12);
  b.writeUInt32LE(known ? p.crc : 0, 14);
  b.writeUInt32LE(known ? p.compressedSize : 0, 18);
  b.writeUInt32LE(known ? p.size : 0, 22);
  b.writeUInt16LE(p.name.length, 26);
  p.name.copy(b, 30);
  return b;
}

function dataDescriptor(p: Placed): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(0x08074b50, 0);
  b.writeUInt32LE(p.crc, 4);
  b.writeUInt32LE(p.compressedSize, 8);
  b.writeUInt32LE(p.size, 12);
  return b;
}

function centralRecord(p: Placed, when: { time: number; date: number }): Buffer {
  const b = Buffer.alloc(46 + p.name.length);
  b.writeUInt32LE(0x02014b50, 0);
  b.writeUInt16LE(VERSION_MADE_BY, 4);
  b.writeUInt16LE(VERSION_NEEDED, 6);
  b.writeUInt16LE(p.flags, 8);
  b.writeUInt16LE(p.method, 10);
  b.writeUInt16LE(when.time, 12);
  b.writeUInt16LE(when.date, 14);
  b.writeUInt32LE(p.crc, 16);
  b.writeUInt32LE(p.compressedSize, 20);
  b.writeUInt32LE(p.size, 24);
  b.writeUInt16LE(p.name.length, 28);
  b.writeUInt32LE(((0o100000 | p.mode) << 16) >>> 0, 38);
  b.writeUInt32LE(p.offset, 42);
  p.name.copy(b, 46);
  return b;
}

function endRecord(count: number, size: number, offset: number): Buffer {
  const b = Buffer.alloc(22);
  b.writeUInt32LE(0x06054b50, 0);
  b.writeUInt16LE(count, 8);
  b.writeUInt16LE(count, 10);
  b.writeUInt32LE(size, 12);
  b.writeUInt32LE(offset, 16);
  return b;
}

/**
 * Copy `size` bytes of `file` to `out` (or only read them when `out` is undefined) in 64 KiB chunks, as the xar
 * writer does (1 MiB chunks waiting in the output buffer outlive young collections: +30 MiB peak RSS on a 256 MiB
 * build, measured). Returns their CRC-32; a file of another size is an InputFileError.
 */
async function copyFile(file: string, size: number, write: Write | undefined, what: string): Promise<number> {
  return copySource(file, fileRange(file), size, write, what);
}

/** Where a zip writer's bytes go, in order: resolves once the chunk is accepted (see writeChunk). */
type Write = (chunk: Uint8Array) => Promise<void>;

/** {@link copyFile} of any source; `file` names it in messages. */
async function copySource(file: string, source: AsyncIterable<Uint8Array>, size: number, write: Write | undefined, what: string): Promise<number> {
  let crc = 0;
  let at = 0;
  const chunks = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      // Only a read fails as the input's problem; a write error (a full disk) propagates as it is.
      const next = await chunks.next().catch((e: unknown) => {
        throw new InputFileError(file, `${what}: cannot read (${(e as Error).message})`, { cause: e });
      });
      if (next.done) break;
      crc = zlib.crc32(next.value, crc);
      at += next.value.length;
      if (at > size) break;
      if (write) await write(next.value);
    }
  } finally {
    await chunks.return?.();
  }
  if (at !== size) throw new InputFileError(file, `${what}: changed while the zip was written (expected ${size} bytes, read ${at > size ? 'more' : at})`);
  return crc >>> 0;
}

/** DEFLATE `file` into `out`; returns its CRC-32, size and compressed size. */
async function deflateFile(file: string, write: Write): Promise<{ crc: number; size: number; compressedSize: number }> {
  let crc = 0;
  let size = 0;
  let compressedSize = 0;
  const input = createReadStream(file, { highWaterMark: 1 << 16 });
  input.on('data', (chunk) => {
    crc = zlib.crc32(chunk as Buffer, crc);
    size += chunk.length;
  });
  const deflate = zlib.createDeflateRaw({ level: 6 });
  const writing = (async () => {
    for await (const chunk of deflate as AsyncIterable<Buffer>) {
      compressedSize += chunk.length;
      await write(chunk);
    }
  })();
  await Promise.all([pipeline(input, deflate), writing]);
  return { crc: crc >>> 0, size, compressedSize };
}

/** Sizes of the file entries (as `known` says, checked against the file, or as it is on disk). */
async function fileSizes(entries: readonly ZipEntryInput[]): Promise<number[]> {
  return Promise.all(
    entries.map(async (e) => {
      if ('bytes' in e.source) return e.source.bytes.length;
      if ('open' in e.source) return e.source.known.size;
      const { file, known } = e.source;
      const size = await stat(file).then(
        (st) => st.size,
        (err: unknown) => {
          throw new InputFileError(file, `zip entry ${e.name}: cannot read (${(err as Error).message})`, { cause: err });
        },
      );
      if (known && known.size !== size) throw new InputFileError(file, `zip entry ${e.name}: is ${size} bytes, its writer said ${known.size}: changed since it was written`);
      return size;
    }),
  );
}

/** The CRC-32 read while copying must be the one given up front (in the local header already). */
function checkCrc(file: string, what: string, crc: number, expected: number): void {
  if (crc !== expected) throw new InputFileError(file, `${what}: changed while the zip was written (CRC-32 ${crc.toString(16)}, expected ${expected.toString(16)})`);
}

/** Bytes a zip of these entries can take at most (headers twice, descriptors, stored or deflated data), plus `extra`. */
function zipBound(entries: readonly ZipEntryInput[], sizes: readonly number[], extra: number): number {
  return entries.reduce((n, e, i) => n + 76 + 2 * Buffer.byteLength(e.name) + 16 + (e.compress === false ? sizes[i]! : deflateBound(sizes[i]!)), extra);
}

/** Write one entry at `offset` through `put`: its local header and data. Returns what it placed, for the central directory. */
async function putEntry(
  e: ZipEntryInput,
  size: number,
  offset: number,
  when: { time: number; date: number },
  put: Write,
): Promise<Placed> {
  const method = e.compress === false ? 0 : 8;
  const p: Placed = { name: Buffer.from(e.name, 'utf8'), mode: e.mode, method, flags: FLAG_UTF8, crc: 0, compressedSize: 0, size, offset };
  const s = e.source;
  if ('bytes' in s) {
    const data = method === 8 ? zlib.deflateRawSync(s.bytes, { level: 6 }) : s.bytes;
    Object.assign(p, { crc: zlib.crc32(s.bytes) >>> 0, compressedSize: data.length });
    await put(localHeader(p, when));
    await put(data);
  } else if ('open' in s) {
    if (method !== 0) throw new Error(`internal: zip entry ${e.name}: a streamed entry must be stored`);
    const what = `zip entry ${e.name}`;
    Object.assign(p, { crc: s.known.crc32 >>> 0, compressedSize: p.size });
    await put(localHeader(p, when));
    checkCrc(e.name, what, await copySource(e.name, s.open(), p.size, put, what), p.crc);
  } else if (method === 0) {
    const what = `zip entry ${e.name}`;
    p.crc = s.known ? s.known.crc32 >>> 0 : await copyFile(s.file, p.size, undefined, what);
    p.compressedSize = p.size;
    await put(localHeader(p, when));
    checkCrc(s.file, what, await copyFile(s.file, p.size, put, what), p.crc);
  } else {
    p.flags |= FLAG_DESCRIPTOR;
    await put(localHeader(p, when));
    const r = await deflateFile(s.file, put);
    if (r.size !== p.size) throw new InputFileError(s.file, `zip entry ${e.name}: changed while the zip was written (expected ${p.size} bytes, read ${r.size})`);
    Object.assign(p, { crc: r.crc, compressedSize: r.compressedSize });
    await put(dataDescriptor(p));
  }
  return p;
}

/** Write a deterministic zip of `entries` to `out`. Resolves when everything has been written. */
export async function writeZip(entries: readonly ZipEntryInput[], epochSeconds: number, out: Writable): Promise<void> {
  const sizes = await fileSizes(entries);
  if (zipBound(entries, sizes, 22) > ZIP32_LIMIT || entries.length >= MAX_ENTRIES_32) return writeZipWithYazl(entries, epochSeconds, out);
  const when = dosTimeDate(epochSeconds);
  const placed: Placed[] = [];
  let cursor = 0;
  const put = async (b: Uint8Array): Promise<void> => {
    await writeChunk(out, b);
    cursor += b.length;
  };
  for (const [i, e] of entries.entries()) placed.push(await putEntry(e, sizes[i]!, cursor, when, put));
  const start = cursor;
  for (const p of placed) await put(centralRecord(p, when));
  await put(endRecord(placed.length, cursor - start, start));
}

/** A stored entry streamed from `open`, its size and CRC-32 known before its bytes are read. */
export type ZipLeadEntry = Omit<ZipEntryInput, 'source' | 'compress'> & { source: { open: () => AsyncIterable<Uint8Array>; known: ZipKnownCrc } };

/**
 * Write a deterministic zip whose `lead` entry's bytes come first, hashed (SHA-256) as they are copied, and whose
 * other entries are made from that hash (`rest`): the release's README.txt, manifest.json and SHA256SUMS hold the
 * pkg's SHA-256, and this way the pkg is read once, not once to hash and once to copy. The central directory lists
 * every entry in name order, as {@link writeZip} does (readers list and extract from it); only the order of the
 * entries' data differs. Stays below zip64: a lead of 2 GiB or more, or more than 65,534 entries, is an error here
 * (the caller writes such a zip with {@link writeZip}).
 */
export async function writeZipLeading(
  lead: ZipLeadEntry,
  rest: (leadSha256: string) => Promise<readonly ZipEntryInput[]>,
  epochSeconds: number,
  out: Writable,
): Promise<void> {
  if (lead.source.known.size >= ZIP_LEAD_LIMIT) throw new Error(`internal: zip lead entry ${lead.name} of ${lead.source.known.size} bytes needs zip64; use writeZip`);
  const when = dosTimeDate(epochSeconds);
  let cursor = 0;
  const put = async (b: Uint8Array): Promise<void> => {
    await writeChunk(out, b);
    cursor += b.length;
  };
  const { open, known } = lead.source;
  const sha = createHash('sha256');
  const first = await putEntry({ ...lead, source: { open: () => hashed(open(), sha), known }, compress: false }, known.size, 0, when, put);
  const others = await rest(sha.digest('hex'));
  if (others.length + 1 >= MAX_ENTRIES_32) throw new Error(`internal: ${others.length + 1} zip entries need zip64; use writeZip`);
  const sizes = await fileSizes(others);
  if (zipBound(others, sizes, cursor + 22 + 46 + first.name.length) > ZIP32_LIMIT) throw new Error('internal: the zip needs zip64; use writeZip');
  const placed: Placed[] = [first];
  for (const [i, e] of others.entries()) placed.push(await putEntry(e, sizes[i]!, cursor, when, put));
  const start = cursor;
  for (const p of [...placed].sort((a, b) => Buffer.compare(a.name, b.name))) await put(centralRecord(p, when));
  await put(endRecord(placed.length, cursor - start, start));
}

/** Below this size a lead entry keeps the whole zip far from zip32's 4 GiB (the other entries are documents). */
export const ZIP_LEAD_LIMIT = 2 * 1024 * 1024 * 1024;

/** Pass `source` through, feeding each chunk to `sha` first. */
async function* hashed(source: AsyncIterable<Uint8Array>, sha: ReturnType<typeof createHash>): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    sha.update(chunk);
    yield chunk;
  }
}

/** The zip64 case (4 GiB or more, or 65,535 entries or more): yazl, with the same fields otherwise. */
async function writeZipWithYazl(entries: readonly ZipEntryInput[], epochSeconds: number, out: Writable): Promise<void> {
  const zip = new yazl.ZipFile();
  const mtime = dosDateFor(epochSeconds);
  for (const e of entries) {
    const compression = e.compress === false ? { compress: false } : { compress: true, compressionLevel: 6 };
    const opts = { mtime, mode: 0o100000 | e.mode, ...compression, forceDosTimestamp: true };
    if ('bytes' in e.source) zip.addBuffer(Buffer.from(e.source.bytes), e.name, opts);
    else if ('open' in e.source) zip.addReadStream(Readable.from(e.source.open(), { objectMode: false }), e.name, opts);
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

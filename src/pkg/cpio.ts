/**
 * cpio "odc" (POSIX.1 portable ASCII, magic `070707`): the archive format of a flat package's Payload and Scripts
 * (reference §4.1, §4.2), written as a stream and read back by `verify`/`inspect`.
 *
 * Covers: writing a PayloadEntry list (directories, files, symlinks) with 76-byte octal headers, no alignment
 * padding, file data read from disk in chunks (memory does not grow with the payload), deterministic inode numbers
 * (entry index + 1), dev/rdev 0, the `TRAILER!!!` entry (zero fields, nlink 1) and zero padding of the whole archive
 * to a multiple of 512 bytes as pkgbuild does; reading any odc archive (ours, GNU `cpio -o -H odc`, pkgbuild's)
 * entry by entry with the POSIX cksum of each entry's data computed on the fly, within the limits of limits.ts
 * (entry count, name length, data held in memory), each entry's data kept, streamed to a caller's sink, or only
 * checksummed, as the caller decides from its header.
 * Does not cover: the newc/crc (`070701`/`070702`) or binary cpio variants (Installer wants odc; they are
 * rejected by name), hard-link reassembly, device nodes, files of 8 GiB or more (11 octal digits).
 *
 * Hand-written because no maintained npm package writes odc as a stream from a prepared entry list.
 */
import { promises as fsp } from 'node:fs';
import { InputFileError } from '../errors.js';
import { Cksum } from '../formats/cksum.js';
import { ByteReader } from '../formats/byte-reader.js';
import { byteText, InputLimitError, LIMITS } from '../formats/limits.js';
import type { PayloadEntry, PayloadKind } from './payload.js';

const MAGIC = '070707';
const HEADER_SIZE = 76;
const TRAILER = 'TRAILER!!!';
const BLOCK = 512;
const MAX_6 = 0o777777;
const TYPE_BITS: Record<PayloadKind, number> = { dir: 0o040000, file: 0o100000, symlink: 0o120000 };
const S_IFMT = 0o170000;

export interface CpioWriteOptions {
  /** Bytes read from a source file at a time; default 1 MiB. */
  chunkSize?: number;
  /** Zero-pad the archive to a multiple of 512 bytes (pkgbuild does); default true. */
  pad?: boolean;
  /** If given, receives path → POSIX cksum of each file's and symlink's data, computed during this one pass. */
  checksums?: Map<string, number>;
  /**
   * Read file data into one buffer reused for every chunk, so a large payload leaves no garbage behind: each chunk
   * is then valid only until the next one is requested (for consumers that copy at once, like gzipParallel).
   * Default false.
   */
  reuseChunks?: boolean;
}

interface HeaderFields {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  name: Buffer;
  fileSize: number;
}

function octal(value: number, width: number, field: string): string {
  const text = value.toString(8);
  if (!Number.isSafeInteger(value) || value < 0 || text.length > width) {
    throw new RangeError(`cpio odc: ${field} ${value} does not fit in ${width} octal digits`);
  }
  return text.padStart(width, '0');
}

/** Header (76 ASCII bytes) followed by the NUL-terminated name, as one buffer. */
function encodeHeader(h: HeaderFields): Buffer {
  const nameSize = h.name.length + 1;
  const text =
    MAGIC +
    octal(0, 6, 'dev') +
    octal(h.ino, 6, 'ino') +
    octal(h.mode, 6, 'mode') +
    octal(h.uid, 6, 'uid') +
    octal(h.gid, 6, 'gid') +
    octal(h.nlink, 6, 'nlink') +
    octal(0, 6, 'rdev') +
    octal(h.mtime, 11, 'mtime') +
    octal(nameSize, 6, 'namesize') +
    octal(h.fileSize, 11, 'filesize');
  const out = Buffer.alloc(HEADER_SIZE + nameSize);
  out.write(text, 0, 'latin1');
  h.name.copy(out, HEADER_SIZE);
  return out;
}

/** Stream a file's `size` bytes in chunks; a file that shrank or grew since planning is an InputFileError. */
async function* readFileChunks(file: string, size: number, chunkSize: number, scratch?: Buffer, tap?: (chunk: Uint8Array) => void): AsyncGenerator<Buffer> {
  const fh = await fsp.open(file, 'r').catch((e: unknown) => {
    throw new InputFileError(file, `cannot open for the payload (${(e as Error).message})`, { cause: e });
  });
  try {
    let done = 0;
    while (done < size) {
      const n = Math.min(chunkSize, size - done);
      const chunk = scratch ? scratch.subarray(0, n) : Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < chunk.length) {
        const { bytesRead } = await fh.read(chunk, filled, chunk.length - filled, done + filled);
        if (bytesRead === 0) throw new InputFileError(file, `changed while packaging: expected ${size} bytes, it ended at ${done + filled}`);
        filled += bytesRead;
      }
      done += filled;
      tap?.(chunk);
      yield chunk;
    }
    const { bytesRead } = await fh.read(Buffer.alloc(1), 0, 1, size);
    if (bytesRead !== 0) throw new InputFileError(file, `changed while packaging: grew beyond the planned ${size} bytes`);
  } finally {
    await fh.close();
  }
}

/** The data of one entry: nothing for directories, the target for symlinks, the bytes of a file. */
async function* entryData(e: PayloadEntry, chunkSize: number, scratch?: Buffer): AsyncGenerator<Buffer> {
  if (e.kind === 'symlink') {
    yield Buffer.from(e.linkTarget ?? '', 'utf8');
  } else if (e.kind === 'file' && e.source) {
    if ('bytes' in e.source) {
      if (e.source.bytes.length !== e.size) throw new RangeError(`cpio odc: ${e.path}: source has ${e.source.bytes.length} bytes, entry says ${e.size}`);
      for (let at = 0; at < e.size; at += chunkSize) yield Buffer.from(e.source.bytes.subarray(at, at + chunkSize));
    } else {
      yield* readFileChunks(e.source.file, e.size, chunkSize, scratch, e.source.tap);
    }
  }
}

/**
 * Stream the odc archive of `entries` (already in payload order, see planPayload). Yields buffers; pull-driven, so
 * a slow consumer (gzip) holds at most one read chunk from this side.
 */
export async function* writeCpio(entries: readonly PayloadEntry[], opts: CpioWriteOptions = {}): AsyncGenerator<Buffer> {
  const chunkSize = opts.chunkSize ?? 1 << 20;
  const scratch = opts.reuseChunks ? Buffer.allocUnsafeSlow(chunkSize) : undefined;
  let written = 0;
  for (const [i, e] of entries.entries()) {
    const dataSize = e.kind === 'dir' ? 0 : e.size;
    const name = Buffer.from(e.path, 'utf8');
    const head = encodeHeader({ ino: (i % MAX_6) + 1, mode: TYPE_BITS[e.kind] | e.mode, uid: e.uid, gid: e.gid, nlink: e.nlink, mtime: e.mtime, name, fileSize: dataSize });
    written += head.length;
    yield head;
    const sum = new Cksum();
    for await (const chunk of entryData(e, chunkSize, scratch)) {
      sum.update(chunk);
      written += chunk.length;
      yield chunk;
    }
    if (e.kind !== 'dir') opts.checksums?.set(e.path, sum.digest());
  }
  const trailer = encodeHeader({ ino: 0, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, name: Buffer.from(TRAILER, 'latin1'), fileSize: 0 });
  written += trailer.length;
  const padding = opts.pad === false ? 0 : (BLOCK - (written % BLOCK)) % BLOCK;
  yield padding > 0 ? Buffer.concat([trailer, Buffer.alloc(padding)]) : trailer;
}

/** One entry read back from an odc archive. */
export interface CpioEntry {
  /** Name as stored (`.`, `./usr/…`, or whatever another writer used). */
  path: string;
  kind: PayloadKind | 'other';
  /** Full st_mode, type bits included. */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  dev: number;
  ino: number;
  rdev: number;
  /** Data bytes stored after the name (file length, symlink target length). */
  size: number;
  /** POSIX cksum of the data (what the Bom should record for files and symlinks). */
  cksum: number;
  linkTarget?: string;
  /** The data, only when `keepData` asked for it. */
  data?: Buffer;
}

/** What a reader knows of an entry before its data: for deciding what to do with the data. */
export interface CpioEntryHead {
  path: string;
  kind: CpioEntry['kind'];
  mode: number;
  size: number;
}

/** Receives an entry's data in pieces (views valid only during the call); awaited before the next piece. */
export type CpioDataSink = (chunk: Buffer) => void | Promise<void>;

export interface CpioReadOptions {
  /** Names the archive in errors (e.g. `x.pkg:Payload`); default `"cpio archive"`. */
  what?: string;
  /** Keep the data of every entry (true) or of those the predicate accepts; default none (only cksums). */
  keepData?: boolean | ((path: string, head: CpioEntryHead) => boolean);
  /** Stream the data of the entries it returns a sink for (instead of keeping it); called before `keepData`. */
  sinkFor?: (head: CpioEntryHead) => CpioDataSink | undefined;
  /** Most entries read (default LIMITS['cpio.entries']). */
  maxEntries?: number;
  /** Most data bytes kept in memory over the whole archive, symlink targets included (default LIMITS['cpio.kept-bytes']). */
  maxKeptBytes?: number;
}

function kindOf(mode: number): CpioEntry['kind'] {
  const t = mode & S_IFMT;
  return t === 0o040000 ? 'dir' : t === 0o100000 ? 'file' : t === 0o120000 ? 'symlink' : 'other';
}

function parseHeader(head: Buffer, fail: (m: string) => never): Omit<CpioEntry, 'path' | 'kind' | 'cksum'> & { nameSize: number } {
  const magic = head.toString('latin1', 0, 6);
  if (magic !== MAGIC) {
    if (magic === '070701' || magic === '070702') fail(`is a newc/crc cpio archive (magic ${magic}); expected odc (070707)`);
    fail(`bad cpio header magic ${JSON.stringify(magic)}; expected odc "070707"`);
  }
  const field = (at: number, len: number, name: string): number => {
    const text = head.toString('latin1', at, at + len);
    if (!/^[0-7]+$/.test(text)) fail(`cpio header field ${name} is not octal: ${JSON.stringify(text)}`);
    return parseInt(text, 8);
  };
  return {
    dev: field(6, 6, 'dev'),
    ino: field(12, 6, 'ino'),
    mode: field(18, 6, 'mode'),
    uid: field(24, 6, 'uid'),
    gid: field(30, 6, 'gid'),
    nlink: field(36, 6, 'nlink'),
    rdev: field(42, 6, 'rdev'),
    mtime: field(48, 11, 'mtime'),
    nameSize: field(59, 6, 'namesize'),
    size: field(65, 11, 'filesize'),
  };
}

/**
 * Read an odc archive entry by entry (stops at `TRAILER!!!`; trailing padding is ignored). Data is streamed
 * through the cksum, so memory stays bounded unless `keepData` asks for the bytes. Malformed input → InputFileError.
 */
export async function* readCpio(source: Uint8Array | AsyncIterable<Uint8Array>, opts: CpioReadOptions = {}): AsyncGenerator<CpioEntry> {
  const what = opts.what ?? 'cpio archive';
  const fail = (message: string): never => {
    throw new InputFileError(what, message);
  };
  const limit = (name: keyof typeof LIMITS, message: string): never => {
    throw new InputLimitError(what, name, `${message} (a hostile or damaged archive; not read further)`);
  };
  const maxEntries = opts.maxEntries ?? LIMITS['cpio.entries'];
  const maxKept = opts.maxKeptBytes ?? LIMITS['cpio.kept-bytes'];
  let kept = 0;
  const reader = new ByteReader(source, (needed, got, at) => fail(`truncated at byte ${at}: needed ${needed} more bytes, got ${got}`));
  for (let count = 0; ; count++) {
    if (await reader.atEnd()) fail(`ends without a ${TRAILER} entry`);
    const h = parseHeader(await reader.readExact(HEADER_SIZE), fail);
    if (h.nameSize < 1) fail('cpio entry has namesize 0');
    // "./" + PATH_MAX + NUL; TRAILER!!! is shorter.
    if (h.nameSize > LIMITS['path.bytes'] + 3) limit('path.bytes', `entry ${count + 1} has a name of ${h.nameSize - 1} bytes: over the limit of ${LIMITS['path.bytes']}`);
    const nameBytes = await reader.readExact(h.nameSize);
    if (nameBytes[h.nameSize - 1] !== 0) fail('cpio entry name is not NUL-terminated');
    const path = nameBytes.toString('utf8', 0, h.nameSize - 1);
    if (path === TRAILER) return;
    if (count >= maxEntries) limit('cpio.entries', `more than ${maxEntries} entries: over the limit`);
    const { nameSize: _n, ...fields } = h;
    const kind = kindOf(h.mode);
    const head: CpioEntryHead = { path, kind, mode: h.mode, size: h.size };
    const sink = opts.sinkFor?.(head);
    const wanted = !sink && (typeof opts.keepData === 'function' ? opts.keepData(path, head) : opts.keepData === true);
    const keep = wanted || kind === 'symlink';
    if (keep) {
      kept += h.size;
      if (kept > maxKept) limit('cpio.kept-bytes', `${path}: holding its ${byteText(h.size)} would put more than ${byteText(maxKept)} of entry data in memory: over the limit`);
    }
    const parts: Buffer[] = [];
    const sum = new Cksum();
    await reader.consume(h.size, async (chunk) => {
      sum.update(chunk);
      if (keep) parts.push(Buffer.from(chunk));
      else if (sink) await sink(chunk);
    });
    const entry: CpioEntry = { path, kind, ...fields, cksum: sum.digest() };
    const data = keep ? Buffer.concat(parts) : undefined;
    if (kind === 'symlink') entry.linkTarget = data!.toString('utf8');
    if (wanted) entry.data = data;
    yield entry;
  }
}

/** Read a whole (small) archive into an array; convenient for tests and `inspect`. */
export async function readCpioEntries(source: Uint8Array | AsyncIterable<Uint8Array>, opts: CpioReadOptions = {}): Promise<CpioEntry[]> {
  const out: CpioEntry[] = [];
  for await (const e of readCpio(source, opts)) out.push(e);
  return out;
}

/** `cpio -tv`-like text, one line per entry: octal mode, uid/gid, size, mtime, cksum, path [-> target]. */
export function formatCpioListing(entries: readonly CpioEntry[]): string {
  return entries
    .map((e) => {
      const link = e.linkTarget !== undefined ? ` -> ${e.linkTarget}` : '';
      return `${e.mode.toString(8).padStart(6, '0')}\t${e.uid}/${e.gid}\t${e.size}\t${e.mtime}\t${e.kind === 'dir' ? '-' : e.cksum}\t${e.path}${link}`;
    })
    .join('\n')
    .concat(entries.length > 0 ? '\n' : '');
}

/**
 * One sequential pass over a Mach-O file (thin or universal) for the release check: the headers, load commands and
 * code signatures are read by range (macho.ts readMachOFile), then the file is read once, 1 MiB at a time into one
 * reused buffer, to compute its SHA-256 and, for each signed slice, every code-page hash (hash-stream.ts) — or the
 * bytes are fed by a reader that goes through the file anyway ({@link startMachOScan}: the build's cpio writer).
 * Memory stays at a few chunks plus the signature areas, whatever the binary's size.
 *
 * Covers: what a file that is not Mach-O is (from its first 64 KiB: ELF, PE, script, archive …), format errors as
 * {@link MachOFormatError}, a file that changes size while it is read (InputFileError).
 * Does not cover: deciding what is acceptable (src/sign/binary-check.ts does), CMS or certificate validation.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { InputFileError } from '../errors.js';
import { checkInputFile } from '../io/fs.js';
import { CodeDirectoryHasher, verifyImage, type StreamVerdict } from './hash-stream.js';
import { isFatMagic, parseMachO, readMachOFile, thinMagic, type MachOFile, type MachOSlice } from './macho.js';

const CHUNK = 1024 * 1024;
/** Enough of the file to tell ELF/PE/scripts/archives apart (a PE header may sit a little after the MZ stub). */
const HEAD = 64 * 1024;

export interface MachOScan {
  /** The first bytes of the file (up to 64 KiB), for describing a file that is not Mach-O. */
  head: Uint8Array;
  size: number;
  sha256: string;
  /** Parsed structure; undefined when `head` is not a Mach-O/universal magic (the caller describes it). */
  parsed?: MachOFile;
  /** Per slice (same order as parsed.slices): the CodeDirectory verdict, or undefined when there is none. */
  verdicts: Array<StreamVerdict | undefined>;
}

const isMachO = (head: Uint8Array): boolean => thinMagic(head) !== undefined || isFatMagic(head);

/** A hasher for a slice's CodeDirectory, given the slice's signature area. */
function hasherFor(slice: MachOSlice, sigArea: Uint8Array): CodeDirectoryHasher | undefined {
  const cs = slice.codeSignature;
  if (!cs?.codeDirectory) return undefined;
  return new CodeDirectoryHasher(sigArea, cs, cs.codeDirectory, slice.size);
}

async function readExactly(fh: FileHandle, offset: number, length: number, file: string): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, offset);
  if (bytesRead !== length) throw new InputFileError(file, `changed while it was read (could read only ${bytesRead} of ${length} bytes at ${offset})`);
  return buf;
}

/** Feed `chunk` (at file offset `at`) to every slice whose range it overlaps. */
function feed(chunk: Uint8Array, at: number, slices: readonly MachOSlice[], hashers: ReadonlyArray<CodeDirectoryHasher | undefined>): void {
  slices.forEach((s, i) => {
    const h = hashers[i];
    if (!h) return;
    const from = Math.max(at, s.offset);
    const to = Math.min(at + chunk.length, s.offset + s.size);
    if (from < to) h.update(chunk.subarray(from - at, to - at));
  });
}

/**
 * A scan in two halves: the headers, load commands and code signatures read by range now; the file's bytes fed in
 * order by whoever reads the file anyway (the build's cpio writer, so the binary is read once), then the verdict.
 */
export interface MachOScanFeed {
  /** The first bytes of the file (up to 64 KiB). */
  readonly head: Uint8Array;
  readonly size: number;
  /** Undefined when the file is not Mach-O (then `update` only counts and `finish` gives no hashes). */
  readonly parsed?: MachOFile;
  /** The next bytes of the file, in order from offset 0; each chunk is consumed before this returns. */
  update(chunk: Uint8Array): void;
  /** After the whole file: the scan; a file of another size than at the start is an InputFileError. */
  finish(): MachOScan;
}

/**
 * Start a scan of a Mach-O file on disk: everything read by range (see {@link MachOScanFeed}). `what` names the input
 * in messages. Missing, unreadable and folder paths are InputFileErrors; malformed structures MachOFormatErrors.
 */
export async function startMachOScan(file: string, what: string): Promise<MachOScanFeed> {
  await checkInputFile(file, what);
  const fh = await open(file, 'r');
  let head: Buffer;
  let size: number;
  let parsed: MachOFile | undefined;
  const hashers: Array<CodeDirectoryHasher | undefined> = [];
  try {
    size = (await fh.stat()).size;
    head = await readExactly(fh, 0, Math.min(size, HEAD), file);
    if (isMachO(head)) {
      parsed = await readMachOFile(file, { what });
      for (const s of parsed.slices) {
        const cs = s.codeSignature;
        hashers.push(cs ? hasherFor(s, await readExactly(fh, s.offset + cs.dataoff, cs.datasize, file)) : undefined);
      }
    }
  } finally {
    await fh.close();
  }
  const sha = parsed ? createHash('sha256') : undefined;
  let at = 0;
  return {
    head,
    size,
    parsed,
    update(chunk: Uint8Array): void {
      if (parsed) {
        sha!.update(chunk);
        feed(chunk, at, parsed.slices, hashers);
      }
      at += chunk.length;
    },
    finish(): MachOScan {
      if (at !== size) throw new InputFileError(file, `${what}: changed while it was read (${size} bytes, then ${at})`);
      if (!parsed) return { head, size, sha256: '', verdicts: [] };
      return { head, size, sha256: sha!.digest('hex'), parsed, verdicts: hashers.map((h) => h?.finish()) };
    },
  };
}

/**
 * Scan a Mach-O file on disk in one sequential pass after the ranged reads. `what` names the input in messages
 * ("--binary"). Missing, unreadable and folder paths are InputFileErrors; malformed Mach-O structures are
 * {@link MachOFormatError}s.
 */
export async function scanMachOFile(file: string, what: string): Promise<MachOScan> {
  const scan = await startMachOScan(file, what);
  if (!scan.parsed) return { head: scan.head, size: scan.size, sha256: '', verdicts: [] };
  const fh = await open(file, 'r');
  try {
    // One buffer, reused for every chunk: hashing consumes it before the next read, and no garbage piles up.
    const buf = Buffer.allocUnsafeSlow(CHUNK);
    for (let at = 0; ; ) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, at);
      if (bytesRead === 0) break;
      scan.update(buf.subarray(0, bytesRead));
      at += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return scan.finish();
}

/** The same scan over bytes already in memory; `name` is used in messages. */
export function scanMachOBytes(data: Uint8Array, name: string): MachOScan {
  const head = data.subarray(0, HEAD);
  const sha256 = createHash('sha256').update(data).digest('hex');
  if (!isMachO(head)) return { head, size: data.length, sha256, verdicts: [] };
  const parsed = parseMachO(data, { name });
  const verdicts = parsed.slices.map((s) => {
    const cs = s.codeSignature;
    if (!cs?.codeDirectory) return undefined;
    const image = data.subarray(s.offset, s.offset + s.size);
    return verifyImage(image, image.subarray(cs.dataoff, cs.dataoff + cs.datasize), cs, cs.codeDirectory);
  });
  return { head, size: data.length, sha256, parsed, verdicts };
}

/**
 * One sequential pass over a Mach-O file (thin or universal) for the release check: the headers, load commands and
 * code signatures are read by range (macho.ts readMachOFile), then the file is read once, 1 MiB at a time into one
 * reused buffer, to
 * compute its SHA-256 and, for each signed slice, every code-page hash (macho-hash-stream.ts). Memory stays at a
 * few chunks plus the signature areas, whatever the binary's size.
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
function feed(chunk: Buffer, at: number, slices: readonly MachOSlice[], hashers: ReadonlyArray<CodeDirectoryHasher | undefined>): void {
  slices.forEach((s, i) => {
    const h = hashers[i];
    if (!h) return;
    const from = Math.max(at, s.offset);
    const to = Math.min(at + chunk.length, s.offset + s.size);
    if (from < to) h.update(chunk.subarray(from - at, to - at));
  });
}

/**
 * Scan a Mach-O file on disk. `what` names the input in messages ("--binary"). Missing, unreadable and folder paths
 * are InputFileErrors; malformed Mach-O structures are MachOFormatErrors.
 */
export async function scanMachOFile(file: string, what: string): Promise<MachOScan> {
  await checkInputFile(file, what);
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const head = await readExactly(fh, 0, Math.min(size, HEAD), file);
    if (!isMachO(head)) return { head, size, sha256: '', verdicts: [] };
    const parsed = await readMachOFile(file, { what });
    const hashers: Array<CodeDirectoryHasher | undefined> = [];
    for (const s of parsed.slices) {
      const cs = s.codeSignature;
      hashers.push(cs ? hasherFor(s, await readExactly(fh, s.offset + cs.dataoff, cs.datasize, file)) : undefined);
    }
    const sha = createHash('sha256');
    // One buffer, reused for every chunk: hashing consumes it before the next read, and no garbage piles up.
    const buf = Buffer.allocUnsafeSlow(CHUNK);
    let at = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, at);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      sha.update(chunk);
      feed(chunk, at, parsed.slices, hashers);
      at += bytesRead;
    }
    if (at !== size) throw new InputFileError(file, `${what}: changed while it was read (${size} bytes, then ${at})`);
    return { head, size, sha256: sha.digest('hex'), parsed, verdicts: hashers.map((h) => h?.finish()) };
  } finally {
    await fh.close();
  }
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

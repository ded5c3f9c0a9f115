/**
 * The Mach-O facts a Bom records per file, as pkgbuild does (reference §3.2, architecture 0x200F): for each payload
 * file that is a Mach-O image, thin or universal, its slices in file order with cputype, cpusubtype, size and the
 * POSIX cksum of the slice's bytes.
 *
 * Covers: telling Mach-O files from others by their magic (thin MH_MAGIC/MH_CIGAM, 32 and 64 bit; FAT_MAGIC and
 * FAT_MAGIC_64), reading the slices from the header or the fat table (src/macho/macho.ts, which checks the table:
 * ranges inside the file, no overlap, at most 30 arches), and the slice cksums: a thin file's one slice is the whole
 * file, so its cksum is the file's (already computed); a universal file's slices are cksummed by range (a second
 * read of those bytes — the payload writer's pass does not split them).
 * A file that starts like Mach-O but whose headers do not parse gets a plain record: pkgbuild cannot know slices
 * it cannot read either, and the release binary check (src/sign/binary-check.ts) is where a bad binary is refused.
 * Does not cover: writing the record (bom.ts), reading it back (bom-reader.ts).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { InputFileError } from '../errors.js';
import { cksum, cksumStream } from '../formats/cksum.js';
import { isFatMagic, isMachOFormatError, parseMachO, readMachOFile, thinMagic, type MachOFile } from '../macho/macho.js';
import type { PayloadEntry } from './payload.js';

/** One per-slice record of a Mach-O file's PathInfo2. */
export interface BomSlice {
  cputype: number;
  /** As the header or fat_arch holds it (capability bits included, e.g. 0x80000002 for arm64e). */
  cpusubtype: number;
  /** Bytes of the slice (the whole file for a thin file). */
  size: number;
  /** POSIX cksum of the slice's bytes. */
  cksum: number;
}

const isMachOMagic = (head: Uint8Array): boolean => thinMagic(head) !== undefined || isFatMagic(head);

async function firstBytes(file: string, n: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** The parsed Mach-O structure of a payload file, or undefined when it is not (or not readable as) Mach-O. */
async function parseEntry(e: PayloadEntry): Promise<MachOFile | undefined> {
  const src = e.source;
  if (!src) return undefined;
  try {
    if ('bytes' in src) return isMachOMagic(src.bytes) ? parseMachO(src.bytes, { name: e.path }) : undefined;
    return isMachOMagic(await firstBytes(src.file, 4)) ? await readMachOFile(src.file, { what: e.path }) : undefined;
  } catch (err) {
    if (isMachOFormatError(err)) return undefined;
    throw new InputFileError('file' in src ? src.file : e.path, `cannot read for the Bom (${(err as Error).message})`, { cause: err });
  }
}

/** POSIX cksum of `size` bytes at `offset` of a payload file. */
async function rangeCksum(e: PayloadEntry, offset: number, size: number): Promise<number> {
  const src = e.source!;
  if ('bytes' in src) return cksum(src.bytes.subarray(offset, offset + size));
  if (size === 0) return cksum(new Uint8Array(0));
  const got = await cksumStream(createReadStream(src.file, { start: offset, end: offset + size - 1 }) as AsyncIterable<Buffer>);
  if (got.size !== size) throw new InputFileError(src.file, `changed while packaging: slice at ${offset} should have ${size} bytes, read ${got.size}`);
  return got.cksum;
}

/**
 * path → slices of every Mach-O file among `entries` (files listed in `known` are taken as given). `sums` holds
 * each file's cksum (a thin file's slice cksum).
 */
export async function machOSlicesOf(
  entries: readonly PayloadEntry[],
  sums: ReadonlyMap<string, number>,
  known: ReadonlyMap<string, readonly BomSlice[]> = new Map(),
): Promise<Map<string, readonly BomSlice[]>> {
  const out = new Map(known);
  for (const e of entries) {
    if (e.kind !== 'file' || out.has(e.path)) continue;
    const parsed = await parseEntry(e);
    if (!parsed) continue;
    if (parsed.size !== e.size) throw new InputFileError(e.path, `changed while packaging: planned ${e.size} bytes, now ${parsed.size}`);
    const slices: BomSlice[] = [];
    for (const s of parsed.slices) {
      const whole = parsed.kind === 'thin';
      const sum = whole ? sums.get(e.path) : await rangeCksum(e, s.offset, s.size);
      if (sum === undefined) throw new RangeError(`Bom: no cksum for ${e.path}`);
      slices.push({ cputype: s.cputype, cpusubtype: s.cpusubtype, size: whole ? e.size : s.size, cksum: sum });
    }
    out.set(e.path, slices);
  }
  return out;
}

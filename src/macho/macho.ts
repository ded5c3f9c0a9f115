/**
 * Mach-O reader: thin images (32/64-bit, either byte order) and universal ("fat") files with FAT_MAGIC or
 * FAT_MAGIC_64 headers, from a buffer or — reading only the ranges it needs — from a file.
 *
 * For each slice: architecture name as lipo prints it, file type, header flags, a load-command summary
 * (macho-loadcommands.ts) and the embedded code signature (macho-codesign.ts: identifier, team, flags, hash type,
 * CMS presence, entitlements, requirements). {@link describeMachO} (macho-describe.ts) renders this for `inspect`.
 *
 * Robustness: every structure is bounds-checked; anything malformed or truncated is a {@link MachOFormatError}
 * (an InputFileError, exit 3) naming the input, the slice and the structure — never a RangeError.
 * Does not cover: archives (static libraries), symbol tables, relocations; verifying CMS chains.
 *
 * Hand-written because no maintained npm package reads Mach-O code signatures; facts from Apple's public
 * <mach-o/loader.h>, <mach-o/fat.h> and xnu's cs_blobs.h.
 */
import { LIMITS } from '../formats/limits.js';
import { open } from 'node:fs/promises';
import { checkInputFile } from '../io/fs.js';
import { ByteView, fail, hex, MachOFormatError, type ReadContext } from './bytes.js';
import { decodeCodeSignature } from './codesign.js';
import {
  archName,
  fileTypeConstant,
  fileTypeDescription,
  FAT_MAGIC,
  FAT_MAGIC_64,
  headerFlagNames,
  MH_CIGAM,
  MH_CIGAM_64,
  MH_MAGIC,
  MH_MAGIC_64,
} from './constants.js';
import { readLoadCommands } from './loadcommands.js';
import type { MachOFile, MachOSlice } from './model.js';

export { MachOFormatError } from './bytes.js';
export type { CodeSignatureInfo, CodeDirectoryInfo, RequirementInfo, SignatureBlob } from './codesign.js';
export type { Segment, Section, LoadCommand, BuildVersion, DylibRef, EntryPoint } from './loadcommands.js';
export { describeMachO } from './describe.js';
export type { MachOFile, MachOSlice } from './model.js';

/**
 * More architectures than this in a fat header means it is not one: Java class files share 0xcafebabe and have their
 * major version (45 and up) where nfat_arch would be; file(1) draws the line at 30 too.
 */
export const MAX_FAT_ARCHES = LIMITS['macho.fat-arches'];
/** Larger load-command areas and code signatures than these are refused rather than read into memory (limits.ts). */
export const MAX_LOAD_COMMANDS_SIZE = LIMITS['macho.load-commands-bytes'];
export const MAX_SIGNATURE_SIZE = LIMITS['macho.signature-bytes'];

export interface FatEntry {
  cputype: number;
  cpusubtype: number;
  arch: string;
  offset: number;
  size: number;
  align: number;
}

/** The 4 magic bytes as a thin Mach-O header, or undefined. */
export function thinMagic(b: Uint8Array): { bits: 32 | 64; littleEndian: boolean } | undefined {
  if (b.length < 4) return undefined;
  const le = new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
  if (le === MH_MAGIC_64) return { bits: 64, littleEndian: true };
  if (le === MH_CIGAM_64) return { bits: 64, littleEndian: false };
  if (le === MH_MAGIC) return { bits: 32, littleEndian: true };
  if (le === MH_CIGAM) return { bits: 32, littleEndian: false };
  return undefined;
}

/** True when the first bytes are a fat header magic (FAT_MAGIC or FAT_MAGIC_64, always big-endian). */
export function isFatMagic(b: Uint8Array): boolean {
  if (b.length < 4) return false;
  const m = new DataView(b.buffer, b.byteOffset, 4).getUint32(0, false);
  return m === FAT_MAGIC || m === FAT_MAGIC_64;
}

function notMachO(b: Uint8Array, ctx: ReadContext): never {
  const first = Buffer.from(b.subarray(0, 4)).toString('hex').replace(/(..)(?=.)/g, '$1 ');
  return fail(ctx, b.length < 4 ? `is ${b.length} bytes long, too short to be a Mach-O file` : `is not a Mach-O file (starts with ${first}; expected a Mach-O or universal binary magic)`);
}

/** Parse the fat header and arch table (`table` holds at least the header; the file is `fileSize` bytes). */
export function parseFatTable(table: Uint8Array, fileSize: number, ctx: ReadContext): { magic: 'FAT_MAGIC' | 'FAT_MAGIC_64'; entries: FatEntry[] } {
  const v = new ByteView(table, false, ctx, 'the universal header');
  const is64 = v.u32(0, 'fat magic') === FAT_MAGIC_64;
  const n = v.u32(4, 'nfat_arch');
  if (n === 0) v.fail('is a universal binary with no architectures (nfat_arch 0)');
  if (n > MAX_FAT_ARCHES) v.fail(`fat header claims ${n} architectures (more than ${MAX_FAT_ARCHES}): not a universal binary (a Java class file also starts with 0xcafebabe)`);
  const entrySize = is64 ? 32 : 20;
  const tableEnd = 8 + n * entrySize;
  const entries: FatEntry[] = [];
  for (let i = 0; i < n; i++) {
    const at = 8 + i * entrySize;
    const cputype = v.u32(at, 'fat_arch cputype');
    const cpusubtype = v.u32(at + 4, 'fat_arch cpusubtype');
    const e: FatEntry = {
      cputype,
      cpusubtype,
      arch: archName(cputype, cpusubtype),
      offset: is64 ? v.u64n(at + 8, 'fat_arch offset') : v.u32(at + 8, 'fat_arch offset'),
      size: is64 ? v.u64n(at + 16, 'fat_arch size') : v.u32(at + 12, 'fat_arch size'),
      align: v.u32(is64 ? at + 24 : at + 16, 'fat_arch align'),
    };
    checkFatEntry(e, entries, tableEnd, fileSize, v);
    entries.push(e);
  }
  return { magic: is64 ? 'FAT_MAGIC_64' : 'FAT_MAGIC', entries };
}

function checkFatEntry(e: FatEntry, before: FatEntry[], tableEnd: number, fileSize: number, v: ByteView): void {
  const what = `fat entry for ${e.arch}`;
  if (e.align > 15) v.fail(`${what} has alignment 2^${e.align}; lipo never uses more than 2^15`);
  if (e.offset < tableEnd) v.fail(`${what} starts at ${hex(e.offset)}, inside the universal header (which ends at ${hex(tableEnd)})`);
  if (e.offset % 2 ** e.align !== 0) v.fail(`${what} starts at ${hex(e.offset)}, not aligned to its 2^${e.align} alignment`);
  if (e.offset + e.size > fileSize) v.fail(`${what} (offset ${hex(e.offset)}, ${e.size} bytes) runs past the end of the file (${fileSize} bytes): truncated file?`);
  for (const o of before) {
    if (o.cputype === e.cputype && o.arch === e.arch) v.fail(`has two slices for architecture ${e.arch}`);
    if (e.offset < o.offset + o.size && o.offset < e.offset + e.size) v.fail(`${what} overlaps the slice for ${o.arch}`);
  }
}

/** Bytes needed to read a thin header: 28 (32-bit) or 32 (64-bit). */
function headerSize(bits: 32 | 64): number {
  return bits === 64 ? 32 : 28;
}

/**
 * Parse one thin image's header and load commands from `head` (which holds at least the header and load-command
 * area) for an image `size` bytes long starting at file offset `offset`.
 */
export function parseThinHeaders(head: Uint8Array, size: number, offset: number, ctx: ReadContext): MachOSlice {
  const m = thinMagic(head);
  if (!m) notMachO(head, ctx);
  const v = new ByteView(head, m.littleEndian, ctx, 'the Mach-O header and load commands');
  const hs = headerSize(m.bits);
  v.need(0, hs, 'Mach-O header');
  const cputype = v.u32(4, 'cputype');
  const cpusubtype = v.u32(8, 'cpusubtype');
  const fileType = v.u32(12, 'filetype');
  const ncmds = v.u32(16, 'ncmds');
  const sizeofcmds = v.u32(20, 'sizeofcmds');
  const flags = v.u32(24, 'flags');
  checkSizeofcmds(sizeofcmds, hs, size, ctx);
  if (ncmds * 8 > sizeofcmds) v.fail(`${ncmds} load commands cannot fit in ${sizeofcmds} bytes`);
  const lc = readLoadCommands(v, hs, ncmds, sizeofcmds, m.bits === 64, size);
  return {
    ...lc,
    arch: archName(cputype, cpusubtype),
    cputype,
    cpusubtype,
    bits: m.bits,
    littleEndian: m.littleEndian,
    offset,
    size,
    fileType,
    fileTypeName: fileTypeConstant(fileType),
    fileTypeDescription: fileTypeDescription(fileType),
    flags,
    flagNames: headerFlagNames(flags),
    ncmds,
    sizeofcmds,
  };
}

function checkSizeofcmds(sizeofcmds: number, hs: number, size: number, ctx: ReadContext): void {
  if (sizeofcmds > MAX_LOAD_COMMANDS_SIZE) fail(ctx, `load commands claim ${sizeofcmds} bytes, more than the ${MAX_LOAD_COMMANDS_SIZE} this reader accepts`);
  if (hs + sizeofcmds > size) fail(ctx, `load commands (${sizeofcmds} bytes) run past the end of the image (${size} bytes): truncated file?`);
}

function checkSignatureSize(datasize: number, ctx: ReadContext): void {
  if (datasize > MAX_SIGNATURE_SIZE) fail(ctx, `code signature claims ${datasize} bytes, more than the ${MAX_SIGNATURE_SIZE} this reader accepts`);
}

function sliceContext(name: string, arch: string): ReadContext {
  return { name, where: `slice ${arch}` };
}

function checkSliceMatchesEntry(slice: MachOSlice, e: FatEntry, ctx: ReadContext): void {
  if (slice.cputype !== e.cputype) fail(ctx, `the universal header says ${e.arch} but the slice's own header says ${slice.arch}`);
}

/** Parse a thin or universal Mach-O held in memory. `name` is used in error messages. */
export function parseMachO(data: Uint8Array, opts: { name?: string } = {}): MachOFile {
  const name = opts.name ?? 'Mach-O input';
  const ctx: ReadContext = { name };
  const file: MachOFile = { name, size: data.length, kind: 'thin', slices: [] };
  if (isFatMagic(data)) {
    const { magic, entries } = parseFatTable(data, data.length, ctx);
    file.kind = 'fat';
    file.fatMagic = magic;
    for (const e of entries) {
      const sctx = sliceContext(name, e.arch);
      const image = data.subarray(e.offset, e.offset + e.size);
      if (isFatMagic(image)) fail(sctx, 'is itself a universal binary (nested fat files are not valid)');
      const slice = parseThinImage(image, e.offset, sctx);
      checkSliceMatchesEntry(slice, e, sctx);
      file.slices.push({ ...slice, align: e.align });
    }
    return file;
  }
  file.slices.push(parseThinImage(data, 0, ctx));
  return file;
}

function parseThinImage(image: Uint8Array, offset: number, ctx: ReadContext): MachOSlice {
  const slice = parseThinHeaders(image, image.length, offset, ctx);
  const sctx = ctx.where ? ctx : sliceContext(ctx.name, slice.arch);
  const r = slice.codeSignatureRange;
  if (r) {
    checkSignatureSize(r.datasize, sctx);
    slice.codeSignature = decodeCodeSignature(image.subarray(r.dataoff, r.dataoff + r.datasize), r.dataoff, sctx);
  }
  return slice;
}

/** Read a range of a file; a short read means the file changed or is truncated. */
async function readRange(fh: import('node:fs/promises').FileHandle, offset: number, length: number, ctx: ReadContext): Promise<Uint8Array> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, offset);
  if (bytesRead !== length) fail(ctx, `could read only ${bytesRead} of ${length} bytes at ${hex(offset)}`);
  return buf;
}

/**
 * Read a Mach-O file from disk, touching only the headers, load commands and code signatures (not the code).
 * Missing/unreadable paths become an InputFileError naming `what` (default "Mach-O file").
 */
export async function readMachOFile(file: string, opts: { what?: string } = {}): Promise<MachOFile> {
  await checkInputFile(file, opts.what ?? 'Mach-O file');
  const ctx: ReadContext = { name: file };
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const first = await readRange(fh, 0, Math.min(size, 8), ctx);
    const out: MachOFile = { name: file, size, kind: 'thin', slices: [] };
    if (!isFatMagic(first)) {
      out.slices.push(await readThinFromFile(fh, 0, size, ctx));
      return out;
    }
    if (first.length < 8) fail(ctx, `is ${size} bytes long, too short for a universal (fat) header`);
    const n = new DataView(first.buffer, first.byteOffset).getUint32(4, false);
    const tableLen = Math.min(size, 8 + Math.min(n, MAX_FAT_ARCHES + 1) * 32);
    const { magic, entries } = parseFatTable(await readRange(fh, 0, tableLen, ctx), size, ctx);
    out.kind = 'fat';
    out.fatMagic = magic;
    for (const e of entries) {
      const sctx = sliceContext(file, e.arch);
      const slice = await readThinFromFile(fh, e.offset, e.size, sctx);
      checkSliceMatchesEntry(slice, e, sctx);
      out.slices.push({ ...slice, align: e.align });
    }
    return out;
  } finally {
    await fh.close();
  }
}

async function readThinFromFile(fh: import('node:fs/promises').FileHandle, offset: number, size: number, ctx: ReadContext): Promise<MachOSlice> {
  const probe = await readRange(fh, offset, Math.min(size, 32), ctx);
  const m = thinMagic(probe);
  if (!m) {
    if (isFatMagic(probe) && ctx.where) fail(ctx, 'is itself a universal binary (nested fat files are not valid)');
    notMachO(probe, ctx);
  }
  if (probe.length < headerSize(m.bits)) fail(ctx, `is ${size} bytes long, too short for a ${m.bits}-bit Mach-O header`);
  const sizeofcmds = new DataView(probe.buffer, probe.byteOffset).getUint32(20, m.littleEndian);
  checkSizeofcmds(sizeofcmds, headerSize(m.bits), size, ctx);
  const slice = parseThinHeaders(await readRange(fh, offset, headerSize(m.bits) + sizeofcmds, ctx), size, offset, ctx);
  const sctx = ctx.where ? ctx : sliceContext(ctx.name, slice.arch);
  const r = slice.codeSignatureRange;
  if (r) {
    checkSignatureSize(r.datasize, sctx);
    slice.codeSignature = decodeCodeSignature(await readRange(fh, offset + r.dataoff, r.datasize, sctx), r.dataoff, sctx);
  }
  return slice;
}

/**
 * What {@link readMachOFile} reads by range for a thin file, from its first bytes instead (a file that streams past
 * once: src/macho/stream-scan.ts): the header and load commands, with the same checks and messages. Undefined when
 * `head` is too short to hold them; throws {@link MachOFormatError} as the file reader does. The code signature, if
 * the load commands place one, is decoded afterwards with {@link decodeThinSignature}.
 */
export function parseThinHead(head: Uint8Array, size: number, name: string): MachOSlice | undefined {
  const ctx: ReadContext = { name };
  const probe = head.subarray(0, Math.min(size, 32));
  const m = thinMagic(probe);
  if (!m) notMachO(probe, ctx);
  if (probe.length < headerSize(m.bits)) fail(ctx, `is ${size} bytes long, too short for a ${m.bits}-bit Mach-O header`);
  const sizeofcmds = new DataView(probe.buffer, probe.byteOffset).getUint32(20, m.littleEndian);
  checkSizeofcmds(sizeofcmds, headerSize(m.bits), size, ctx);
  if (head.length < headerSize(m.bits) + sizeofcmds) return undefined;
  const slice = parseThinHeaders(head.subarray(0, headerSize(m.bits) + sizeofcmds), size, 0, ctx);
  if (slice.codeSignatureRange) checkSignatureSize(slice.codeSignatureRange.datasize, sliceContext(name, slice.arch));
  return slice;
}

/** Decode the code signature of a slice from {@link parseThinHead}, given the bytes of its signature area. */
export function decodeThinSignature(slice: MachOSlice, sig: Uint8Array, name: string): void {
  const r = slice.codeSignatureRange;
  if (r) slice.codeSignature = decodeCodeSignature(sig, r.dataoff, sliceContext(name, slice.arch));
}

export function isMachOFormatError(e: unknown): e is MachOFormatError {
  return e instanceof MachOFormatError;
}

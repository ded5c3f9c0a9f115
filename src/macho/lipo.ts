/**
 * Universal ("fat") binaries the way Apple's lipo(1) writes them: `lipo -create` and `lipo -thin`.
 *
 * Layout, as cctools' lipo.c (cctools-1035) does it:
 * - a big-endian fat_header (FAT_MAGIC, or FAT_MAGIC_64 on request / when an offset or size needs 64 bits is refused
 *   without it, as lipo refuses), then one fat_arch per slice;
 * - slices sorted with lipo's comparator: the same CPU type by subtype; any arm64-family slice after all others
 *   ("force arm64-family to follow after all other slices"); all other CPU types by alignment, smallest first;
 * - each slice at the next multiple of 2^align, the gaps zero-filled;
 * - the alignment is libstuff's get_seg_align(): for every segment, the largest power of two dividing its vmaddr
 *   (vmaddr 0 counts as 2^15), the smallest of those, clamped to [2^3, 2^15] for 64-bit images ([2^2, 2^15] for
 *   32-bit). ld64 aligns segments to the page size, so this gives 2^14 for arm64 (16 KiB pages) and 2^12 for x86_64
 *   (4 KiB pages) — the values `lipo -detailed_info` shows for Xcode-built binaries.
 * Refused: object files (lipo aligns MH_OBJECT to the *build host's* page size, which is not reproducible), two
 * slices of the same architecture, inputs of different file types (an executable and a dylib), non-Mach-O inputs.
 * Universal inputs are expanded into their slices, as lipo does.
 *
 * Hand-written because lipo exists only on macOS; `llvm-lipo -create` (same rules) is the test oracle.
 */
import { InputFileError, UsageError } from '../errors.js';
import { hex } from './bytes.js';
import { CPU_SUBTYPE_MASK, CPU_TYPE_ARM64, FAT_MAGIC, FAT_MAGIC_64, MH_OBJECT } from './constants.js';
import { parseMachO, type MachOSlice } from './macho.js';

/** lipo's MAXSEGALIGN: 2^15. */
export const MAX_SEG_ALIGN = 15;

export interface LipoInput {
  /** Name for messages (the file path). */
  name: string;
  data: Uint8Array;
}

export interface CreateUniversalOptions {
  /** Write FAT_MAGIC_64 headers (lipo -fat64). Default false: FAT_MAGIC, offsets and sizes must fit 32 bits. */
  fat64?: boolean;
}

interface Thin {
  name: string;
  bytes: Uint8Array;
  slice: MachOSlice;
  align: number;
  offset: number;
}

/** The largest power of two dividing `vmaddr`, clamped to [min, 2^15]; vmaddr 0 gives 2^15 (cctools guess_align). */
function guessAlign(vmaddr: bigint, min: number): number {
  if (vmaddr === 0n) return MAX_SEG_ALIGN;
  let align = 0;
  while (((vmaddr >> BigInt(align)) & 1n) === 0n) align++;
  return Math.min(MAX_SEG_ALIGN, Math.max(min, align));
}

/** The alignment (a power of two) lipo chooses for a thin image that is not an object file. */
export function lipoAlignment(slice: MachOSlice): number {
  const min = slice.bits === 64 ? 3 : 2;
  return slice.segments.reduce((cur, s) => Math.min(cur, guessAlign(s.vmaddr, min)), MAX_SEG_ALIGN);
}

function subtype(s: MachOSlice): number {
  return (s.cpusubtype & ~CPU_SUBTYPE_MASK) >>> 0;
}

/** lipo.c cmp_qsort. */
function compareThin(a: Thin, b: Thin): number {
  if (a.slice.cputype === b.slice.cputype) return subtype(a.slice) - subtype(b.slice);
  if (a.slice.cputype === CPU_TYPE_ARM64) return 1;
  if (b.slice.cputype === CPU_TYPE_ARM64) return -1;
  return a.align - b.align;
}

function expand(input: LipoInput): Thin[] {
  const file = parseMachO(input.data, { name: input.name });
  return file.slices.map((slice) => {
    if (slice.fileType === MH_OBJECT) {
      throw new InputFileError(input.name, `is an object file (MH_OBJECT); lipo aligns those to the build host's page size, so they are not supported here: link it first`);
    }
    const name = file.kind === 'fat' ? `${input.name} (${slice.arch} slice)` : input.name;
    return { name, bytes: input.data.subarray(slice.offset, slice.offset + slice.size), slice, align: lipoAlignment(slice), offset: 0 };
  });
}

function checkCompatible(thins: Thin[]): void {
  for (let i = 0; i < thins.length; i++) {
    const a = thins[i]!;
    for (const b of thins.slice(0, i)) {
      if (a.slice.cputype === b.slice.cputype && subtype(a.slice) === subtype(b.slice)) {
        throw new InputFileError(a.name, `has architecture ${a.slice.arch}, which ${b.name} already provides; a universal binary holds each architecture once`);
      }
      if (a.slice.fileType !== b.slice.fileType) {
        throw new InputFileError(a.name, `is a Mach-O ${a.slice.fileTypeDescription} (${a.slice.fileTypeName}) but ${b.name} is a Mach-O ${b.slice.fileTypeDescription} (${b.slice.fileTypeName}); a universal binary holds one program built for several architectures`);
      }
    }
  }
}

/** Assign offsets in sorted order; refuse 32-bit overflows unless fat64. */
function place(thins: Thin[], fat64: boolean): number {
  let offset = 8 + thins.length * (fat64 ? 32 : 20);
  for (const t of thins) {
    const unit = 2 ** t.align;
    offset = Math.ceil(offset / unit) * unit;
    if (!fat64 && (offset > 0xffffffff || t.bytes.length > 0xffffffff)) {
      throw new InputFileError(t.name, `does not fit a 32-bit universal header (offset ${hex(offset)}, ${t.bytes.length} bytes); use fat64`);
    }
    t.offset = offset;
    offset += t.bytes.length;
  }
  return offset;
}

/** `lipo -create`: one universal binary from thin (or universal) Mach-O inputs. */
export function createUniversal(inputs: LipoInput[], opts: CreateUniversalOptions = {}): Buffer {
  if (inputs.length === 0) throw new UsageError('lipo: no input files to merge');
  const fat64 = opts.fat64 ?? false;
  const thins = inputs.flatMap(expand);
  checkCompatible(thins);
  thins.sort(compareThin);
  const out = Buffer.alloc(place(thins, fat64));
  out.writeUInt32BE(fat64 ? FAT_MAGIC_64 : FAT_MAGIC, 0);
  out.writeUInt32BE(thins.length, 4);
  thins.forEach((t, i) => {
    const at = 8 + i * (fat64 ? 32 : 20);
    out.writeUInt32BE(t.slice.cputype >>> 0, at);
    out.writeUInt32BE(t.slice.cpusubtype >>> 0, at + 4);
    if (fat64) {
      out.writeBigUInt64BE(BigInt(t.offset), at + 8);
      out.writeBigUInt64BE(BigInt(t.bytes.length), at + 16);
      out.writeUInt32BE(t.align, at + 24);
    } else {
      out.writeUInt32BE(t.offset, at + 8);
      out.writeUInt32BE(t.bytes.length, at + 12);
      out.writeUInt32BE(t.align, at + 16);
    }
    out.set(t.bytes, t.offset);
  });
  return out;
}

/** `lipo -thin ARCH`: the bytes of one architecture's slice (a thin input of that architecture is returned as is). */
export function extractSlice(data: Uint8Array, arch: string, opts: { name?: string } = {}): Buffer {
  const name = opts.name ?? 'Mach-O input';
  const file = parseMachO(data, { name });
  const hit = file.slices.find((s) => s.arch === arch);
  if (!hit) {
    const have = file.slices.map((s) => s.arch).join(', ');
    throw new InputFileError(name, file.kind === 'fat' ? `has no ${arch} slice (it has ${have})` : `is a thin ${have} binary, it has no ${arch} slice`);
  }
  return Buffer.from(data.subarray(hit.offset, hit.offset + hit.size));
}

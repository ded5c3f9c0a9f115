/**
 * The Mach-O model the reader (macho.ts) produces and the describer (describe.ts), the file scan and the release
 * binary check consume: one file, thin or universal, and its slices. Types only, so both sides import it without
 * importing each other.
 */
import type { CodeSignatureInfo } from './codesign.js';
import type { LoadCommandSummary } from './loadcommands.js';

export interface MachOSlice extends LoadCommandSummary {
  /** Architecture as lipo names it: arm64, arm64e, x86_64, x86_64h, i386 … */
  arch: string;
  cputype: number;
  cpusubtype: number;
  bits: 32 | 64;
  littleEndian: boolean;
  /** Where the slice starts in the file and how long it is (0 and the file size for a thin file). */
  offset: number;
  size: number;
  /** The fat_arch alignment (a power of two), for slices of a universal file. */
  align?: number;
  fileType: number;
  /** MH_EXECUTE, MH_DYLIB … */
  fileTypeName: string;
  /** "executable", "bundle" … as `file` says it. */
  fileTypeDescription: string;
  flags: number;
  flagNames: string[];
  ncmds: number;
  sizeofcmds: number;
  codeSignature?: CodeSignatureInfo;
}

export interface MachOFile {
  name: string;
  size: number;
  kind: 'thin' | 'fat';
  fatMagic?: 'FAT_MAGIC' | 'FAT_MAGIC_64';
  slices: MachOSlice[];
}

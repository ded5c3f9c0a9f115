/**
 * Mach-O load commands: walk the load-command area of one thin image and summarise what `inspect` and the release
 * check need — segments and sections, UUID, build version / minimum OS, entry point, dylinker, linked dylibs,
 * rpaths and where LC_CODE_SIGNATURE points.
 *
 * Covers: 32- and 64-bit images of either byte order; every command's cmd/cmdsize is validated (at least 8 bytes,
 * a multiple of 4, inside `sizeofcmds`), and every offset a command carries into the file (segments, the code
 * signature) is checked against the image size, so a truncated file is reported as such.
 * Does not cover: symbol tables, dyld fixups, thread states (LC_UNIXTHREAD is recognised, not decoded).
 */
import { ByteView, hex } from './bytes.js';
import {
  LC_BUILD_VERSION,
  LC_CODE_SIGNATURE,
  LC_ID_DYLIB,
  LC_LOAD_DYLIB,
  LC_LOAD_DYLINKER,
  LC_LOAD_WEAK_DYLIB,
  LC_MAIN,
  LC_REEXPORT_DYLIB,
  LC_RPATH,
  LC_SEGMENT,
  LC_SEGMENT_64,
  LC_UNIXTHREAD,
  LC_UUID,
  LC_VERSION_MIN_MACOSX,
  loadCommandName,
  PLATFORM_MACOS,
  PLATFORMS,
} from './constants.js';

export interface Section {
  name: string;
  segment: string;
  addr: bigint;
  size: bigint;
  /** File offset within the image (0 for zero-fill sections). */
  offset: number;
  /** Alignment as a power of two. */
  align: number;
  flags: number;
}

export interface Segment {
  name: string;
  vmaddr: bigint;
  vmsize: bigint;
  fileoff: number;
  filesize: number;
  maxprot: number;
  initprot: number;
  flags: number;
  sections: Section[];
}

export interface LoadCommand {
  index: number;
  cmd: number;
  name: string;
  /** Offset of the command within the image. */
  offset: number;
  size: number;
}

export interface BuildVersion {
  platform: number;
  platformName: string;
  /** "11.0", "14.2.1" */
  minos: string;
  sdk: string;
}

export interface DylibRef {
  kind: 'load' | 'weak' | 'reexport' | 'id';
  name: string;
  currentVersion: string;
  compatibilityVersion: string;
}

export type EntryPoint = { kind: 'main'; entryoff: number; stacksize: number } | { kind: 'unixthread' };

/** What the load commands of one image say. */
export interface LoadCommandSummary {
  loadCommands: LoadCommand[];
  segments: Segment[];
  uuid?: string;
  buildVersion?: BuildVersion;
  entryPoint?: EntryPoint;
  dylinker?: string;
  dylibs: DylibRef[];
  rpaths: string[];
  /** Where LC_CODE_SIGNATURE points, relative to the image. */
  codeSignatureRange?: { dataoff: number; datasize: number };
}

/** "X.Y.Z" from a packed nibble version xxxx.yy.zz (trailing .0 of the patch dropped, as otool prints). */
export function packedVersion(v: number): string {
  const major = v >>> 16;
  const minor = (v >>> 8) & 0xff;
  const patch = v & 0xff;
  return patch ? `${major}.${minor}.${patch}` : `${major}.${minor}`;
}

/** Dylib current/compatibility versions: a.b.c packed as 16.8.8 bits. */
function dylibVersion(v: number): string {
  return `${v >>> 16}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

function uuidString(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex').toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** An lc_str: an offset from the start of the command to a NUL-terminated string inside the command. */
function lcString(v: ByteView, cmdOff: number, cmdSize: number, field: number, what: string): string {
  const rel = v.u32(cmdOff + field, `${what} string offset`);
  if (rel < field + 4 || rel >= cmdSize) v.fail(`${what} string offset ${rel} lies outside its ${cmdSize}-byte command`);
  return v.cstr(cmdOff + rel, cmdOff + cmdSize, `${what} string`);
}

function readSegment(v: ByteView, off: number, size: number, is64: boolean, imageSize: number): Segment {
  const head = is64 ? 72 : 56;
  const sectSize = is64 ? 80 : 68;
  if (size < head) v.fail(`segment command at ${hex(off)} is ${size} bytes, shorter than ${head}`);
  const name = v.fixedName(off + 8, 16, 'segment name');
  const num = (at: number, what: string): number => (is64 ? v.u64n(off + at, what) : v.u32(off + at, what));
  const big = (at: number, what: string): bigint => (is64 ? v.u64(off + at, what) : BigInt(v.u32(off + at, what)));
  const w = is64 ? 8 : 4;
  const seg: Segment = {
    name,
    vmaddr: big(24, 'segment vmaddr'),
    vmsize: big(24 + w, 'segment vmsize'),
    fileoff: num(24 + 2 * w, 'segment fileoff'),
    filesize: num(24 + 3 * w, 'segment filesize'),
    maxprot: v.u32(24 + 4 * w + off, 'segment maxprot'),
    initprot: v.u32(28 + 4 * w + off, 'segment initprot'),
    flags: v.u32(36 + 4 * w + off, 'segment flags'),
    sections: [],
  };
  const nsects = v.u32(32 + 4 * w + off, 'segment nsects');
  if (head + nsects * sectSize > size) v.fail(`segment ${name} claims ${nsects} sections, more than its ${size}-byte command holds`);
  if (seg.fileoff + seg.filesize > imageSize) {
    v.fail(`segment ${name} (file offset ${hex(seg.fileoff)}, ${seg.filesize} bytes) extends past the end of the image (${imageSize} bytes): truncated file?`);
  }
  for (let i = 0; i < nsects; i++) seg.sections.push(readSection(v, off + head + i * sectSize, is64));
  return seg;
}

function readSection(v: ByteView, off: number, is64: boolean): Section {
  const w = is64 ? 8 : 4;
  return {
    name: v.fixedName(off, 16, 'section name'),
    segment: v.fixedName(off + 16, 16, 'section segment name'),
    addr: is64 ? v.u64(off + 32, 'section addr') : BigInt(v.u32(off + 32, 'section addr')),
    size: is64 ? v.u64(off + 32 + w, 'section size') : BigInt(v.u32(off + 32 + w, 'section size')),
    offset: v.u32(off + 32 + 2 * w, 'section offset'),
    align: v.u32(off + 36 + 2 * w, 'section align'),
    flags: v.u32(off + 48 + 2 * w, 'section flags'),
  };
}

const DYLIB_KINDS: Record<number, DylibRef['kind']> = {
  [LC_LOAD_DYLIB]: 'load',
  [LC_LOAD_WEAK_DYLIB]: 'weak',
  [LC_REEXPORT_DYLIB]: 'reexport',
  [LC_ID_DYLIB]: 'id',
};

interface CommandInput {
  v: ByteView;
  off: number;
  size: number;
  is64: boolean;
  imageSize: number;
  out: LoadCommandSummary;
}

function need(c: CommandInput, min: number): void {
  if (c.size < min) c.v.fail(`${loadCommandName(c.v.u32(c.off, 'cmd'))} at ${hex(c.off)} is ${c.size} bytes, shorter than ${min}`);
}

/** Decoders for the commands we summarise, keyed by cmd. */
const DECODERS: Record<number, (c: CommandInput) => void> = {
  [LC_SEGMENT]: (c) => void c.out.segments.push(readSegment(c.v, c.off, c.size, false, c.imageSize)),
  [LC_SEGMENT_64]: (c) => void c.out.segments.push(readSegment(c.v, c.off, c.size, true, c.imageSize)),
  [LC_UUID]: (c) => {
    need(c, 24);
    c.out.uuid = uuidString(c.v.sub(c.off + 8, 16, 'LC_UUID'));
  },
  [LC_BUILD_VERSION]: (c) => {
    need(c, 24);
    const platform = c.v.u32(c.off + 8, 'platform');
    c.out.buildVersion = {
      platform,
      platformName: PLATFORMS[platform] ?? `platform ${platform}`,
      minos: packedVersion(c.v.u32(c.off + 12, 'minos')),
      sdk: packedVersion(c.v.u32(c.off + 16, 'sdk')),
    };
  },
  [LC_VERSION_MIN_MACOSX]: (c) => {
    need(c, 16);
    c.out.buildVersion ??= {
      platform: PLATFORM_MACOS,
      platformName: 'macos',
      minos: packedVersion(c.v.u32(c.off + 8, 'version')),
      sdk: packedVersion(c.v.u32(c.off + 12, 'sdk')),
    };
  },
  [LC_MAIN]: (c) => {
    need(c, 24);
    c.out.entryPoint = { kind: 'main', entryoff: c.v.u64n(c.off + 8, 'entryoff'), stacksize: c.v.u64n(c.off + 16, 'stacksize') };
  },
  [LC_UNIXTHREAD]: (c) => void (c.out.entryPoint = { kind: 'unixthread' }),
  [LC_LOAD_DYLINKER]: (c) => {
    need(c, 12);
    c.out.dylinker = lcString(c.v, c.off, c.size, 8, 'LC_LOAD_DYLINKER');
  },
  [LC_RPATH]: (c) => {
    need(c, 12);
    c.out.rpaths.push(lcString(c.v, c.off, c.size, 8, 'LC_RPATH'));
  },
  [LC_CODE_SIGNATURE]: (c) => {
    need(c, 16);
    const dataoff = c.v.u32(c.off + 8, 'LC_CODE_SIGNATURE dataoff');
    const datasize = c.v.u32(c.off + 12, 'LC_CODE_SIGNATURE datasize');
    if (dataoff + datasize > c.imageSize) {
      c.v.fail(`LC_CODE_SIGNATURE points past the end of the image (dataoff ${hex(dataoff)}, datasize ${datasize}, image ${c.imageSize} bytes): truncated file?`);
    }
    c.out.codeSignatureRange = { dataoff, datasize };
  },
};
for (const cmd of [LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB, LC_ID_DYLIB]) {
  DECODERS[cmd] = (c) => {
    need(c, 24);
    c.out.dylibs.push({
      kind: DYLIB_KINDS[cmd]!,
      name: lcString(c.v, c.off, c.size, 8, loadCommandName(cmd)),
      currentVersion: dylibVersion(c.v.u32(c.off + 16, 'current_version')),
      compatibilityVersion: dylibVersion(c.v.u32(c.off + 20, 'compatibility_version')),
    });
  };
}

/**
 * Walk `ncmds` load commands starting at `start` in `v` (which holds at least the header and the load-command
 * area, `sizeofcmds` bytes) of an image `imageSize` bytes long.
 */
export function readLoadCommands(
  v: ByteView,
  start: number,
  ncmds: number,
  sizeofcmds: number,
  is64: boolean,
  imageSize: number,
): LoadCommandSummary {
  const out: LoadCommandSummary = { loadCommands: [], segments: [], dylibs: [], rpaths: [] };
  const end = start + sizeofcmds;
  let off = start;
  for (let index = 0; index < ncmds; index++) {
    if (off + 8 > end) v.fail(`load command ${index} of ${ncmds} starts at ${hex(off)}, past the ${sizeofcmds}-byte load-command area`);
    const cmd = v.u32(off, 'cmd');
    const size = v.u32(off + 4, 'cmdsize');
    const name = loadCommandName(cmd);
    if (size < 8 || size % 4 !== 0) v.fail(`load command ${index} (${name}) has cmdsize ${size}; expected a multiple of 4, at least 8`);
    if (off + size > end) v.fail(`load command ${index} (${name}, ${size} bytes at ${hex(off)}) runs past the ${sizeofcmds}-byte load-command area`);
    out.loadCommands.push({ index, cmd, name, offset: off, size });
    DECODERS[cmd]?.({ v, off, size, is64, imageSize, out });
    off += size;
  }
  return out;
}

/**
 * Layout of a tiny macOS executable (MH_EXECUTE, 64-bit little-endian), shaped like ld64's output for a program
 * whose main returns 0: __PAGEZERO, __TEXT with one __text section, __LINKEDIT (a string table, then the code
 * signature), LC_SYMTAB/LC_DYSYMTAB (no symbols), LC_LOAD_DYLINKER /usr/lib/dyld, LC_UUID, LC_BUILD_VERSION
 * (macOS 11.0, SDK 14.0), LC_MAIN, LC_LOAD_DYLIB libSystem and LC_CODE_SIGNATURE.
 * Segments are aligned to the architecture's page (16 KiB arm64, 4 KiB x86_64), as ld64 does, which is also what
 * makes lipo choose 2^14 and 2^12 for them. Erasable TypeScript: node runs it directly.
 */

export type DemoArch = 'arm64' | 'x86_64';

const ARCH = {
  arm64: { cputype: 0x0100000c, cpusubtype: 0, page: 0x4000, textAlign: 2, code: Buffer.from('00008052c0035fd6', 'hex') }, // mov w0, #0; ret
  x86_64: { cputype: 0x01000007, cpusubtype: 0x80000003, page: 0x1000, textAlign: 4, code: Buffer.from('31c0c3', 'hex') }, // xor eax, eax; ret  (subtype: ALL | CPU_SUBTYPE_LIB64)
} as const;

const MH_MAGIC_64 = 0xfeedfacf;
const MH_EXECUTE = 2;
const MH_FLAGS = 0x1 | 0x4 | 0x80 | 0x200000; // NOUNDEFS | DYLDLINK | TWOLEVEL | PIE
const VM_BASE = 0x100000000;
const STRTAB = Buffer.from(' \0\0\0\0\0\0\0', 'latin1');

export interface ImageLayout {
  /** The whole file, with the code-signature area (if any) zero-filled. */
  bytes: Buffer;
  /** Offset and size of the code-signature area (LC_CODE_SIGNATURE dataoff/datasize); 0/0 when unsigned. */
  sigOffset: number;
  sigSize: number;
  /** __TEXT file range: the CodeDirectory's exec segment. */
  textFileSize: number;
}

/** A little-endian byte builder for Mach-O structures (also used by scripts/make-bench-binary.ts). */
export class Writer {
  private parts: Buffer[] = [];
  u32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n >>> 0);
    this.parts.push(b);
    return this;
  }
  u64(n: number): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    this.parts.push(b);
    return this;
  }
  name16(s: string): this {
    const b = Buffer.alloc(16);
    b.write(s, 'latin1');
    this.parts.push(b);
    return this;
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const roundUp = (n: number, a: number): number => Math.ceil(n / a) * a;

interface Section { name: string; addr: number; size: number; offset: number; align: number }
interface Seg { name: string; vmaddr: number; vmsize: number; fileoff: number; filesize: number; prot: number; section?: Section }
/** Placeholders with the right shape, to measure the load commands before the layout is known. */
const EMPTY: Seg = { name: '', vmaddr: 0, vmsize: 0, fileoff: 0, filesize: 0, prot: 0 };
const EMPTY_SECTION: Section = { name: '', addr: 0, size: 0, offset: 0, align: 0 };

function segment(s: Seg): Buffer {
  const w = new Writer().u32(0x19).u32(s.section ? 152 : 72).name16(s.name).u64(s.vmaddr).u64(s.vmsize).u64(s.fileoff).u64(s.filesize);
  w.u32(s.prot).u32(s.prot).u32(s.section ? 1 : 0).u32(0);
  if (s.section) {
    const c = s.section;
    w.name16(c.name).name16(s.name).u64(c.addr).u64(c.size).u32(c.offset).u32(c.align).u32(0).u32(0);
    w.u32(0x80000400).u32(0).u32(0).u32(0); // S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS
  }
  return w.done();
}

/** A command carrying one lc_str at offset `strOffset`, padded to a multiple of 8 bytes. */
function strCommand(cmd: number, fixed: (w: Writer) => void, strOffset: number, s: string): Buffer {
  const str = Buffer.from(`${s}\0`, 'utf8');
  const size = roundUp(strOffset + str.length, 8);
  const w = new Writer().u32(cmd).u32(size).u32(strOffset);
  fixed(w);
  return Buffer.concat([w.done(), str, Buffer.alloc(size - strOffset - str.length)]);
}

function loadCommands(l: { text: Seg; linkedit: Seg; entry: number; sigOffset: number; sigSize: number; uuid: Buffer }): Buffer[] {
  const cmds = [
    segment({ name: '__PAGEZERO', vmaddr: 0, vmsize: VM_BASE, fileoff: 0, filesize: 0, prot: 0 }),
    segment(l.text),
    segment(l.linkedit),
    new Writer().u32(0x2).u32(24).u32(0).u32(0).u32(l.linkedit.fileoff).u32(STRTAB.length).done(), // LC_SYMTAB
    new Writer().u32(0xb).u32(80).raw(Buffer.alloc(72)).done(), // LC_DYSYMTAB, all empty
    strCommand(0xe, () => undefined, 12, '/usr/lib/dyld'), // LC_LOAD_DYLINKER
    new Writer().u32(0x1b).u32(24).raw(l.uuid).done(), // LC_UUID
    new Writer().u32(0x32).u32(24).u32(1).u32(0x000b0000).u32(0x000e0000).u32(0).done(), // LC_BUILD_VERSION macos 11.0 sdk 14.0
    new Writer().u32(0x80000028).u32(24).u64(l.entry).u64(0).done(), // LC_MAIN
    strCommand(0xc, (w) => w.u32(2).u32(1351 << 16).u32(0x10000), 24, '/usr/lib/libSystem.B.dylib'), // LC_LOAD_DYLIB
  ];
  if (l.sigSize) cmds.push(new Writer().u32(0x1d).u32(16).u32(l.sigOffset).u32(l.sigSize).done()); // LC_CODE_SIGNATURE
  return cmds;
}

/** Lay out the image for `arch` with `sigSize` bytes reserved for the code signature (0: unsigned). */
export function layoutImage(arch: DemoArch, sigSize: number, uuid: Buffer): ImageLayout {
  const a = ARCH[arch];
  const probe = loadCommands({ text: { ...EMPTY, section: EMPTY_SECTION }, linkedit: EMPTY, entry: 0, sigOffset: 0, sigSize, uuid });
  const sizeofcmds = probe.reduce((n, b) => n + b.length, 0);
  const textOff = roundUp(32 + sizeofcmds, 16);
  const linkeditOff = a.page;
  const sigOffset = sigSize ? roundUp(linkeditOff + STRTAB.length, 16) : 0;
  const end = sigSize ? sigOffset + sigSize : linkeditOff + STRTAB.length;
  const text: Seg = {
    name: '__TEXT', vmaddr: VM_BASE, vmsize: a.page, fileoff: 0, filesize: a.page, prot: 5,
    section: { name: '__text', addr: VM_BASE + textOff, size: a.code.length, offset: textOff, align: a.textAlign },
  };
  const linkedit: Seg = { name: '__LINKEDIT', vmaddr: VM_BASE + a.page, vmsize: roundUp(end - linkeditOff, a.page), fileoff: linkeditOff, filesize: end - linkeditOff, prot: 1 };
  const cmds = loadCommands({ text, linkedit, entry: textOff, sigOffset, sigSize, uuid });
  const header = new Writer().u32(MH_MAGIC_64).u32(a.cputype).u32(a.cpusubtype).u32(MH_EXECUTE).u32(cmds.length).u32(sizeofcmds).u32(MH_FLAGS).u32(0).done();
  const bytes = Buffer.alloc(end);
  Buffer.concat([header, ...cmds]).copy(bytes, 0);
  a.code.copy(bytes, textOff);
  STRTAB.copy(bytes, linkeditOff);
  return { bytes, sigOffset, sigSize, textFileSize: a.page };
}

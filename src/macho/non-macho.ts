/**
 * What a file that is not a Mach-O is, in words, from its first bytes: ELF (bits and machine), PE (machine), a script
 * (its #! line), xar, zip, gzip, an ar archive, or the magic in hex. Used by the release binary check
 * (src/sign/binary-check.ts), `sign-binary` and `inspect`.
 */
import { isFatMagic, thinMagic } from './macho.js';

const ELF_MACHINES: Record<number, string> = { 0x03: 'i386', 0x28: 'ARM', 0x3e: 'x86-64', 0xb7: 'AArch64', 0xf3: 'RISC-V' };
const PE_MACHINES: Record<number, string> = { 0x14c: 'i386', 0x8664: 'x86-64', 0xaa64: 'ARM64', 0x1c4: 'ARM' };

function elfText(b: Buffer): string {
  const bits = b[4] === 2 ? '64-bit' : b[4] === 1 ? '32-bit' : '';
  const machine = b.length >= 20 ? (b[5] === 2 ? b.readUInt16BE(18) : b.readUInt16LE(18)) : -1;
  return `an ELF ${bits} ${ELF_MACHINES[machine] ?? 'binary'} file (Linux/Unix, not macOS)`.replace(/ {2,}/g, ' ');
}

function peText(b: Buffer): string {
  const at = b.length >= 0x40 ? b.readUInt32LE(0x3c) : -1;
  if (at < 0 || at + 6 > b.length || b.toString('latin1', at, at + 4) !== 'PE\0\0') return 'an MS-DOS/Windows executable (MZ header)';
  return `a Windows PE executable (${PE_MACHINES[b.readUInt16LE(at + 4)] ?? 'unknown machine'})`;
}

/** What a file that is not a Mach-O is, in words ("an ELF 64-bit x86-64 file …"), or undefined if it may be Mach-O. */
export function describeNonMachO(data: Uint8Array): string | undefined {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length === 0) return 'is empty (0 bytes)';
  if (thinMagic(b) || isFatMagic(b)) return undefined;
  const ascii = b.toString('latin1', 0, Math.min(b.length, 8));
  if (ascii.startsWith('\x7fELF')) return `is ${elfText(b)}`;
  if (ascii.startsWith('MZ')) return `is ${peText(b)}`;
  if (ascii.startsWith('#!')) {
    const line = b.toString('utf8', 0, Math.min(b.length, 200)).split('\n')[0]!.trim();
    return `is a script (${line.length > 60 ? `${line.slice(0, 60)}…` : line}), not a compiled program`;
  }
  if (ascii.startsWith('xar!')) return 'is a xar archive (a flat .pkg?), not the agent binary';
  if (ascii.startsWith('PK\x03\x04')) return 'is a zip archive, not the agent binary';
  if (ascii.startsWith('\x1f\x8b')) return 'is gzip-compressed data, not the agent binary';
  if (ascii === '!<arch>\n') return 'is a static library (ar archive), not an executable';
  return `is not a Mach-O file (it starts with ${b.subarray(0, 4).toString('hex').replace(/(..)(?=.)/g, '$1 ')})`;
}

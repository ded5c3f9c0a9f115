/**
 * pkgbuild's Mach-O records in the Bom (architecture 0x200F, a slice count, then cputype/cpusubtype/size/cksum per
 * slice) and BomInfo's per-CPU-type rows, for thin and universal binaries.
 *
 * Oracles:
 * - Apple's published sample Bom (test/fixtures/bom/python-applications.bom, from indygreg/apple-platform-rs
 *   apple-bom/src/testdata; see test/fixtures/bom/README.md): its block 95 is the 72-byte record of
 *   "Python Launcher" (a 2-slice universal binary). Our encoder, given that file's fields, must produce those 72
 *   bytes exactly; our reader must read the sample's numbers (hand-checked below from the hex dump).
 * - llvm-objdump (llvm-14) for the slices' cputype, cpusubtype, offset and size; coreutils `cksum` over `dd` of
 *   each slice's byte range for the slice cksums, and over the whole file for the file cksum.
 * `lsbom` is macOS-only, so no third reader of the Bom itself exists on Linux.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputFileError } from '../../src/errors.js';
import { InputLimitError } from '../../src/formats/limits.js';
import { BOM_MACHO_ARCH, machORecord, writeBom } from '../../src/pkg/bom.js';
import { readBom, readBomStructure } from '../../src/pkg/bom-reader.js';
import { createUniversal } from '../../src/macho/lipo.js';
import { planPayload, type PayloadEntry } from '../../src/pkg/payload.js';
import { describeWithTools } from '../helpers/tools.js';
import { demoArm64, demoArm64Path, demoX8664, demoX8664Path, llvmTool } from './macho-helpers.js';

const MTIME = 1_700_000_000;
const SAMPLE = path.join(import.meta.dirname, '..', 'fixtures', 'bom', 'python-applications.bom');
const work = mkdtempSync(path.join(tmpdir(), 'bom-macho-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * Block 95 of Apple's sample, as `xxd` shows it (hand-split into fields):
 *   01 01 200f 81ed 00000000 00000000 60902ed0 000337e0 01 8a763b72   type 1, 1, arch 0x200F, mode 0100755, uid 0,
 *                                                                    gid 0, mtime 1620061904, size 210912, 1, cksum
 *   01 00000002                                                      flag 1, 2 slices
 *   01000007 00000003 00013a20 58ceb338                              x86_64 (0x01000007), subtype 3, 80416 B, cksum
 *   0100000c 00000000 0001b7e0 f38b440b                              arm64 (0x0100000C), subtype 0, 112608 B, cksum
 *   00000000 00000000                                                8 zero bytes
 */
const APPLE_RECORD_HEX =
  '0101200f81ed000000000000000060902ed0000337e0018a763b72' + '0100000002' + '010000070000000300013a2058ceb338' + '0100000c000000000001b7e0f38b440b' + '0000000000000000';
const APPLE_SLICES = [
  { cputype: 0x01000007, cpusubtype: 3, size: 80416, cksum: 0x58ceb338 },
  { cputype: 0x0100000c, cpusubtype: 0, size: 112608, cksum: 0xf38b440b },
];

describe("Apple's sample Bom (pkgbuild, 2021)", () => {
  const sample = readFileSync(SAMPLE);

  it('is the file the fixture README names', () => {
    expect(createHash('sha256').update(sample).digest('hex')).toBe('0daa0308f57adf99d567497825fec54d9010ccf0f70c1d8bca52c7eab2cb09a4');
    const st = readBomStructure(sample);
    const b95 = st.blocks[95]!;
    expect(sample.subarray(b95.address, b95.address + b95.length).toString('hex')).toBe(APPLE_RECORD_HEX);
  });

  it('our reader reads its Mach-O record and BomInfo rows with the hand-checked numbers', () => {
    const bom = readBom(sample, 'python-applications.bom');
    expect(bom.problems).toEqual([]);
    const machO = bom.entries.filter((e) => e.slices);
    expect(machO.map((e) => e.path)).toEqual(['./Python 3.9/Python Launcher.app/Contents/MacOS/Python Launcher']);
    expect(machO[0]).toMatchObject({ architecture: BOM_MACHO_ARCH, mode: 0o100755, size: 210912, cksum: 0x8a763b72, slices: APPLE_SLICES });
    expect(machO[0]!.linkTarget).toBeUndefined();
    // cpu 0: 614680 file + 92 symlink bytes − 210912 Mach-O file bytes; slice bytes per CPU type (the 17888 bytes of
    // fat header and alignment padding are counted in no row).
    expect(bom.info.arch).toEqual([
      { cpuType: 0, bytes: 403860 },
      { cpuType: 0x01000007, bytes: 80416 },
      { cpuType: 0x0100000c, bytes: 112608 },
    ]);
  });

  it('our encoder writes the same 72 bytes for the same file', () => {
    const e: PayloadEntry = { path: './Python Launcher', kind: 'file', mode: 0o755, uid: 0, gid: 0, size: 210912, mtime: 1620061904, nlink: 1 };
    expect(machORecord(e, 0x8a763b72, APPLE_SLICES).toString('hex')).toBe(APPLE_RECORD_HEX);
  });
});

async function bomFor(binary: string): Promise<{ entries: PayloadEntry[]; bom: ReturnType<typeof readBom>; bytes: Buffer }> {
  const entries = await planPayload(
    [
      { path: '/usr/local/lib/runlayer/aiwatch/aiwatch', mode: 0o755, source: { file: binary } },
      { path: '/Library/LaunchAgents/com.runlayer.aiwatch.plist', mode: 0o644, source: { bytes: Buffer.from('<plist/>\n') } },
    ],
    { mtime: MTIME },
  );
  const bytes = await writeBom(entries);
  return { entries, bom: readBom(bytes, 'test.bom'), bytes };
}

const BINARY = './usr/local/lib/runlayer/aiwatch/aiwatch';

describeWithTools([llvmTool('llvm-objdump'), 'cksum', 'dd'], 'our Mach-O records against llvm-objdump and cksum(1)', () => {
  const objdump = llvmTool('llvm-objdump');
  const posixCksum = (file: string, skip?: number, count?: number): number => {
    const cmd = skip === undefined ? 'cksum < "$1"' : 'dd if="$1" bs=1 skip="$2" count="$3" status=none | cksum';
    return Number(execFileSync('sh', ['-c', cmd, 'sh', file, String(skip ?? ''), String(count ?? '')], { encoding: 'utf8' }).split(' ')[0]);
  };
  /** Slices as llvm-objdump --non-verbose prints them: cputype, cpusubtype | capabilities << 24, offset, size. */
  const objdumpSlices = (file: string): Array<{ cputype: number; cpusubtype: number; offset: number; size: number }> => {
    const out = execFileSync(objdump, ['--macho', '--universal-headers', '--non-verbose', file], { encoding: 'utf8' });
    return [...out.matchAll(/cputype (\d+)\n\s+cpusubtype (\d+)\n\s+capabilities 0x([0-9a-f]+)\n\s+offset (\d+)\n\s+size (\d+)/g)].map((m) => ({
      cputype: Number(m[1]),
      cpusubtype: (Number(m[2]) | (parseInt(m[3]!, 16) << 24)) >>> 0,
      offset: Number(m[4]),
      size: Number(m[5]),
    }));
  };

  it('thin arm64: one slice, the whole file, cputype from the Mach-O header; BomInfo rows cpu 0 and arm64', async () => {
    const { bom, entries } = await bomFor(demoArm64Path);
    const header = execFileSync(objdump, ['--macho', '--private-header', '--non-verbose', demoArm64Path], { encoding: 'utf8' }).trim().split('\n').at(-1)!.trim().split(/\s+/);
    const [cputype, cpusubtype] = [Number(header[1]), Number(header[2])];
    expect([cputype, cpusubtype]).toEqual([0x0100000c, 0]);
    const size = readFileSync(demoArm64Path).length;
    const fileSum = posixCksum(demoArm64Path);
    const e = bom.entries.find((x) => x.path === BINARY)!;
    expect(e).toMatchObject({ architecture: BOM_MACHO_ARCH, size, cksum: fileSum, slices: [{ cputype, cpusubtype, size, cksum: fileSum }] });
    expect(bom.entries.filter((x) => x.path !== BINARY).every((x) => x.architecture === 0x000f && x.slices === undefined)).toBe(true);
    const plain = entries.filter((x) => x.kind !== 'dir' && x.path !== BINARY).reduce((n, x) => n + x.size, 0);
    expect(bom.info.arch).toEqual([
      { cpuType: 0, bytes: plain },
      { cpuType: 0x0100000c, bytes: size },
    ]);
  });

  it('universal x86_64 + arm64: slices in file order with llvm-objdump numbers and dd | cksum checksums', async () => {
    const fat = path.join(work, 'aiwatch-universal');
    writeFileSync(fat, createUniversal([{ name: demoArm64Path, data: demoArm64() }, { name: demoX8664Path, data: demoX8664() }]));
    const { bom, entries, bytes } = await bomFor(fat);
    const want = objdumpSlices(fat);
    expect(want.map((s) => s.cputype)).toEqual([0x01000007, 0x0100000c]);
    expect(want[0]!.cpusubtype).toBe(0x80000003); // x86_64 ALL with the LIB64 capability bit, as the header holds it
    const e = bom.entries.find((x) => x.path === BINARY)!;
    expect(e.cksum).toBe(posixCksum(fat));
    expect(e.slices).toEqual(want.map((s) => ({ cputype: s.cputype, cpusubtype: s.cpusubtype, size: s.size, cksum: posixCksum(fat, s.offset, s.size) })));
    const plain = entries.filter((x) => x.kind !== 'dir' && x.path !== BINARY).reduce((n, x) => n + x.size, 0);
    expect(bom.info.arch).toEqual([
      { cpuType: 0, bytes: plain },
      { cpuType: 0x01000007, bytes: want[0]!.size },
      { cpuType: 0x0100000c, bytes: want[1]!.size },
    ]);
    // The record itself, by hand: 32 + 2 × 16 + 8 bytes, flag 1 and count 2 at 27/28, 8 zero bytes at the end.
    const st = readBomStructure(bytes);
    const record = st.blocks.map((b) => bytes.subarray(b.address, b.address + b.length)).find((b) => b.length === 72 && b.readUInt16BE(2) === BOM_MACHO_ARCH)!;
    expect(record.readUInt8(27)).toBe(1);
    expect(record.readUInt32BE(28)).toBe(2);
    expect(record.subarray(64).equals(Buffer.alloc(8))).toBe(true);
  });
});

describe('Mach-O records: what is not Mach-O, and hostile counts', () => {
  it('a file that only starts with a Mach-O magic gets a plain record', async () => {
    const fake = path.join(work, 'fake');
    writeFileSync(fake, Buffer.concat([Buffer.from('cffaedfe', 'hex'), Buffer.alloc(10)]));
    const e = (await bomFor(fake)).bom.entries.find((x) => x.path === BINARY)!;
    expect(e.architecture).toBe(0x000f);
    expect(e.slices).toBeUndefined();
  });

  /** A Bom of the thin demo binary with its Mach-O record's slice count replaced. */
  async function withCount(count: number): Promise<Buffer> {
    const { bytes } = await bomFor(demoArm64Path);
    const st = readBomStructure(bytes);
    const b = st.blocks.find((x) => x.length === 56 && bytes.readUInt16BE(x.address + 2) === BOM_MACHO_ARCH)!;
    const out = Buffer.from(bytes);
    out.writeUInt32BE(count, b.address + 28);
    return out;
  }

  it('a count the record cannot hold is an unreadable file; a count over 30 slices is a limit hit', async () => {
    expect(() => readBom(Buffer.alloc(0), 'x')).toThrow(InputFileError);
    const tooMany = await withCount(2);
    expect(() => readBom(tooMany, 'x.pkg:Bom')).toThrow(/x\.pkg:Bom: PathInfo2 block \d+ declares 2 Mach-O slices but holds 56 bytes \(64 needed\)/);
    const hostile = await withCount(0xffffffff);
    const e = (() => {
      try {
        readBom(hostile, 'x.pkg:Bom');
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(InputLimitError);
    expect((e as InputLimitError).limit).toBe('macho.fat-arches');
    expect((e as Error).message).toMatch(/declares 4294967295 Mach-O slices: over the limit of 30/);
  });
});

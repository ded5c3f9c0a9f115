/**
 * lipo -create / -thin in TypeScript: the layout is compared byte for byte with llvm-lipo (which implements
 * cctools' rules), read back by llvm-lipo, file(1) and our reader, and every refusal has its message checked.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputFileError, UsageError } from '../../src/errors.js';
import { createUniversal, extractSlice, lipoAlignment } from '../../src/macho/lipo.js';
import { parseMachO } from '../../src/macho/macho.js';
import { buildDemoBinary } from '../../scripts/demo-binary/build.js';
import { describeWithTools, run } from '../helpers/tools.js';
import { demoArm64, demoArm64Path, demoX8664, demoX8664Path, llvmTool, thin32, treeSitterPrebuild } from './macho-helpers.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'lipo-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const inputs = () => [
  { name: 'aiwatch-arm64', data: demoArm64() },
  { name: 'aiwatch-x86_64', data: demoX8664() },
];

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('alignment (cctools get_seg_align)', () => {
  it('2^14 for arm64 and 2^12 for x86_64 executables laid out like ld64', () => {
    expect(lipoAlignment(parseMachO(demoArm64()).slices[0]!)).toBe(14);
    expect(lipoAlignment(parseMachO(demoX8664()).slices[0]!)).toBe(12);
  });

  it('the same for real ld64 output (tree-sitter-powershell bundles, __TEXT at vmaddr 0)', () => {
    expect(lipoAlignment(parseMachO(readFileSync(treeSitterPrebuild('darwin-arm64'))).slices[0]!)).toBe(14);
    expect(lipoAlignment(parseMachO(readFileSync(treeSitterPrebuild('darwin-x64'))).slices[0]!)).toBe(12);
  });

  it('the smallest power of two dividing a segment vmaddr, clamped to [2^2, 2^15] for 32-bit images', () => {
    // thin32 has one segment at vmaddr 0x1000.
    expect(lipoAlignment(parseMachO(thin32({ littleEndian: true, cputype: 7, cpusubtype: 3, code: Buffer.from('c3', 'hex') })).slices[0]!)).toBe(12);
  });
});

describe('createUniversal', () => {
  it('lays out the demo pair like lipo: x86_64 first at 2^12, arm64 last at 2^14, zero gaps', () => {
    const fat = createUniversal(inputs());
    expect(fat.readUInt32BE(0)).toBe(0xcafebabe);
    expect(fat.readUInt32BE(4)).toBe(2);
    const f = parseMachO(fat);
    expect(f.slices.map((s) => [s.arch, s.offset, s.size, s.align])).toEqual([
      ['x86_64', 0x1000, 6560, 12],
      ['arm64', 0x4000, 18944, 14],
    ]);
    for (const s of f.slices) expect(s.offset % 2 ** s.align!).toBe(0);
    expect(fat.subarray(f.slices[0]!.offset, f.slices[0]!.offset + 6560).equals(demoX8664())).toBe(true);
    expect(fat.subarray(0x4000).equals(demoArm64())).toBe(true);
    expect(fat.subarray(48, 0x1000).every((b) => b === 0)).toBe(true);
    expect(fat.subarray(0x1000 + 6560, 0x4000).every((b) => b === 0)).toBe(true);
    expect(fat.length).toBe(0x4000 + 18944);
  });

  it('does not depend on the order of the inputs', () => {
    expect(createUniversal(inputs().reverse()).equals(createUniversal(inputs()))).toBe(true);
  });

  it('expands universal inputs into their slices', () => {
    const fat = createUniversal(inputs());
    expect(createUniversal([{ name: 'fat', data: fat }]).equals(fat)).toBe(true);
  });

  it('writes FAT_MAGIC_64 on request, readable by our reader', () => {
    const fat = createUniversal(inputs(), { fat64: true });
    expect(fat.readUInt32BE(0)).toBe(0xcafebabf);
    const f = parseMachO(fat);
    expect(f.fatMagic).toBe('FAT_MAGIC_64');
    expect(f.slices.map((s) => [s.arch, s.offset, s.align])).toEqual([['x86_64', 0x1000, 12], ['arm64', 0x4000, 14]]);
    expect(fat.subarray(0x4000).equals(demoArm64())).toBe(true);
  });

  it('puts every arm64-family slice after the others, arm64 before arm64e (lipo order)', () => {
    const arm64e = Buffer.from(demoArm64());
    arm64e.writeUInt32LE(0x80000002, 8); // CPU_SUBTYPE_ARM64E | PTRAUTH_ABI
    const i386 = thin32({ littleEndian: true, cputype: 7, cpusubtype: 3, code: Buffer.from('c3', 'hex') });
    const fat = createUniversal([{ name: 'e', data: arm64e }, ...inputs(), { name: 'i', data: i386 }]);
    expect(parseMachO(fat).slices.map((s) => s.arch)).toEqual(['x86_64', 'i386', 'arm64', 'arm64e']);
  });

  const refusals: [string, () => unknown, RegExp | string, unknown][] = [
    ['no inputs', () => createUniversal([]), 'lipo: no input files to merge', UsageError],
    ['the same architecture twice', () => createUniversal([...inputs(), { name: 'again-arm64', data: buildDemoBinary({ arch: 'arm64', signature: 'adhoc' }) }]),
      'again-arm64: has architecture arm64, which aiwatch-arm64 already provides; a universal binary holds each architecture once', InputFileError],
    ['an executable and a bundle', () => createUniversal([{ name: 'aiwatch-arm64', data: demoArm64() }, { name: 'plugin.node', data: readFileSync(treeSitterPrebuild('darwin-x64')) }]),
      'plugin.node: is a Mach-O bundle (MH_BUNDLE) but aiwatch-arm64 is a Mach-O executable (MH_EXECUTE); a universal binary holds one program built for several architectures', InputFileError],
    ['an object file', () => createUniversal([{ name: 'main.o', data: Buffer.from(demoArm64()).fill(1, 12, 13) }]), /^main\.o: is an object file \(MH_OBJECT\)/, InputFileError],
    ['not Mach-O', () => createUniversal([{ name: 'aiwatch.exe', data: readFileSync(treeSitterPrebuild('win32-x64')) }]), /^aiwatch\.exe: is not a Mach-O file \(starts with 4d 5a/, InputFileError],
  ];
  for (const [label, fn, message, type] of refusals) {
    it(`refuses ${label}`, () => {
      const e = thrown(fn);
      expect(e).toBeInstanceOf(type as typeof Error);
      if (typeof message === 'string') expect(e.message).toBe(message);
      else expect(e.message).toMatch(message);
    });
  }
});

describe('extractSlice (lipo -thin)', () => {
  it('gives back each input byte for byte', () => {
    const fat = createUniversal(inputs());
    expect(extractSlice(fat, 'arm64').equals(demoArm64())).toBe(true);
    expect(extractSlice(fat, 'x86_64').equals(demoX8664())).toBe(true);
    expect(extractSlice(demoX8664(), 'x86_64').equals(demoX8664())).toBe(true);
  });

  it('says which slices there are when the one asked for is missing', () => {
    const fat = createUniversal(inputs());
    expect(thrown(() => extractSlice(fat, 'arm64e', { name: 'aiwatch' })).message).toBe('aiwatch: has no arm64e slice (it has x86_64, arm64)');
    expect(thrown(() => extractSlice(demoX8664(), 'arm64', { name: 'aiwatch' })).message).toBe('aiwatch: is a thin x86_64 binary, it has no arm64 slice');
  });
});

describeWithTools([llvmTool('llvm-lipo'), 'file'], 'interop with llvm-lipo and file', () => {
  const lipo = llvmTool('llvm-lipo');

  it('byte-identical to llvm-lipo -create (demo pair, and real ld64 bundles)', () => {
    const ts = [treeSitterPrebuild('darwin-arm64'), treeSitterPrebuild('darwin-x64')];
    for (const [a, b] of [[demoArm64Path, demoX8664Path], ts] as const) {
      const out = path.join(tmp, 'llvm-fat');
      run(lipo, ['-create', a!, b!, '-output', out]);
      const ours = createUniversal([a!, b!].map((p) => ({ name: p, data: readFileSync(p) })));
      expect(ours.equals(readFileSync(out)), `${a} + ${b}`).toBe(true);
    }
  });

  it('llvm-lipo reads our universal binary and extracts identical slices', () => {
    const fat = path.join(tmp, 'ours-fat');
    writeFileSync(fat, createUniversal(inputs()));
    expect(run(lipo, ['-archs', fat]).trim()).toBe('x86_64 arm64');
    expect(run(lipo, ['-info', fat]).trim()).toBe(`Architectures in the fat file: ${fat} are: x86_64 arm64`);
    for (const [arch, data] of [['arm64', demoArm64()], ['x86_64', demoX8664()]] as const) {
      const out = path.join(tmp, `thin-${arch}`);
      run(lipo, [fat, '-thin', arch, '-output', out]);
      expect(readFileSync(out).equals(data)).toBe(true);
    }
  });

  it('file(1) sees a universal binary with both executables', () => {
    const fat = path.join(tmp, 'ours-fat-file');
    writeFileSync(fat, createUniversal(inputs()));
    const text = run('file', ['-b', fat]);
    expect(text).toMatch(/^Mach-O universal binary with 2 architectures: \[x86_64:/);
    expect(text).toContain('Mach-O 64-bit arm64 executable');
    expect(text).toContain('Mach-O 64-bit x86_64 executable');
  });
});

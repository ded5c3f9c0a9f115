/**
 * The Mach-O reader, checked against readers nobody here wrote (llvm-otool, llvm-objdump, `file`, openssl cms), real
 * linker output (tree-sitter-powershell's darwin prebuilds: a linker-signed arm64 bundle and an unsigned x86_64
 * one, values hand-checked against a hex dump), the demo fixtures, hand-built 32-bit / big-endian images, and a
 * fuzzer that feeds truncated and corrupted files and accepts nothing but MachOFormatError.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyCodeDirectory } from '../../src/macho/codesign.js';
import { decompileRequirement } from '../../src/macho/requirement.js';
import { describeMachO, MachOFormatError, parseMachO, readMachOFile, type MachOFile } from '../../src/macho/macho.js';
import { createUniversal } from '../../src/macho/lipo.js';
import { buildDemoBinary } from '../../scripts/demo-binary/build.js';
import { developerIdRequirement } from '../../scripts/demo-binary/code-signature.js';
import { describeWithTools, run, tryRun } from '../helpers/tools.js';
import { demoArm64, demoArm64Path, demoX8664, demoX8664Path, llvmTool, parseOtoolL, thin32, treeSitterPrebuild } from './macho-helpers.js';

/** reference/mdm-payloads.md §2.1, the canonical Developer ID designated requirement, verbatim. */
const CANONICAL_DR =
  'identifier "com.runlayer.aiwatch" and anchor apple generic and certificate 1[field.1.2.840.113635.100.6.2.6] /* exists */ and certificate leaf[field.1.2.840.113635.100.6.1.13] /* exists */ and certificate leaf[subject.OU] = AF2M8HC7A2';

const tmp = mkdtempSync(path.join(tmpdir(), 'macho-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const jsonable = (f: MachOFile): unknown => JSON.parse(JSON.stringify(f, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)));

function sigBytes(data: Buffer, f: MachOFile, i = 0): Buffer {
  const s = f.slices[i]!;
  const sig = s.codeSignature!;
  return data.subarray(s.offset + sig.dataoff, s.offset + sig.dataoff + sig.datasize);
}

describe('demo fixtures', () => {
  for (const [arch, load, pages, size] of [['arm64', demoArm64, 5, 18944], ['x86_64', demoX8664, 2, 6560]] as const) {
    it(`${arch}: header, load commands and Developer-ID-shaped signature`, () => {
      const data = load();
      const f = parseMachO(data, { name: arch });
      expect(f.kind).toBe('thin');
      expect(f.size).toBe(size);
      const s = f.slices[0]!;
      expect([s.arch, s.bits, s.littleEndian, s.fileTypeName]).toEqual([arch, 64, true, 'MH_EXECUTE']);
      expect(s.flagNames).toEqual(['NOUNDEFS', 'DYLDLINK', 'TWOLEVEL', 'PIE']);
      expect(s.segments.map((g) => g.name)).toEqual(['__PAGEZERO', '__TEXT', '__LINKEDIT']);
      expect(s.loadCommands.map((l) => l.name)).toEqual([
        'LC_SEGMENT_64', 'LC_SEGMENT_64', 'LC_SEGMENT_64', 'LC_SYMTAB', 'LC_DYSYMTAB', 'LC_LOAD_DYLINKER', 'LC_UUID',
        'LC_BUILD_VERSION', 'LC_MAIN', 'LC_LOAD_DYLIB', 'LC_CODE_SIGNATURE',
      ]);
      expect(s.buildVersion).toEqual({ platform: 1, platformName: 'macos', minos: '11.0', sdk: '14.0' });
      expect(s.dylinker).toBe('/usr/lib/dyld');
      expect(s.dylibs.map((d) => d.name)).toEqual(['/usr/lib/libSystem.B.dylib']);
      const sig = s.codeSignature!;
      const cd = sig.codeDirectory!;
      expect(cd).toMatchObject({ version: 0x20500, identifier: 'com.runlayer.aiwatch', teamId: 'AF2M8HC7A2', flags: 0x10000, hashTypeName: 'sha256', hashSize: 32, pageSize: 4096, nSpecialSlots: 2, nCodeSlots: pages });
      expect(cd.flagNames).toEqual(['runtime']);
      expect(cd.codeLimit).toBe(sig.dataoff);
      expect(cd.execSeg).toEqual({ base: 0, limit: s.segments[1]!.filesize, flags: 1 });
      expect(sig.blobs.map((b) => b.slotName)).toEqual(['CodeDirectory', 'Requirements', 'CMS signature']);
      expect(sig.adhoc).toBe(false);
      expect(sig.cms!.size).toBeGreaterThan(1000);
      expect(sig.cms!.summary).toMatchObject({ parsed: true, signingTime: '2025-01-01T00:00:00.000Z', messageDigest: { algorithm: 'sha256' } });
      expect(sig.cms!.digestMatches).toBe(true);
      expect(sig.cms!.summary!.certificates[0]).toMatchObject({ organizationalUnit: 'AF2M8HC7A2', commonName: expect.stringContaining('NOT Apple-issued') });
      expect(sig.requirements).toEqual([{ type: 3, typeName: 'designated', text: CANONICAL_DR }]);
      expect(verifyCodeDirectory(data, sigBytes(data, f), sig, cd)).toEqual([]);
      // cdhash = first 20 bytes of SHA-256 over the CodeDirectory blob.
      const cdBlob = sigBytes(data, f).subarray(cd.offset, cd.offset + cd.length);
      expect(cd.cdhash).toBe(createHash('sha256').update(cdBlob).digest('hex').slice(0, 40));
    });
  }

  it('readMachOFile (ranges only) sees exactly what parseMachO sees', async () => {
    for (const p of [demoArm64Path, demoX8664Path, treeSitterPrebuild('darwin-arm64'), treeSitterPrebuild('darwin-x64')]) {
      const fromFile = await readMachOFile(p);
      expect(jsonable(fromFile)).toEqual(jsonable(parseMachO(readFileSync(p), { name: p })));
    }
  });

  it('entitlements and alternate variants are decoded', () => {
    const xml = '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict><key>com.apple.security.cs.disable-library-validation</key><true/></dict></plist>\n';
    const data = buildDemoBinary({ arch: 'arm64', entitlements: xml });
    const f = parseMachO(data);
    const sig = f.slices[0]!.codeSignature!;
    expect(sig.entitlements).toBe(xml);
    expect(sig.codeDirectory!.nSpecialSlots).toBe(5);
    expect(verifyCodeDirectory(data, sigBytes(data, f), sig, sig.codeDirectory!)).toEqual([]);
    const adhoc = parseMachO(buildDemoBinary({ arch: 'x86_64', signature: 'adhoc' })).slices[0]!.codeSignature!;
    expect([adhoc.adhoc, adhoc.cms?.size, adhoc.codeDirectory!.teamId, adhoc.requirements]).toEqual([true, 0, undefined, []]);
    expect(parseMachO(buildDemoBinary({ arch: 'x86_64', signature: 'none' })).slices[0]!.codeSignature).toBeUndefined();
  });

  it('a changed byte in the signed range is caught by the page hashes', () => {
    const data = demoArm64();
    data[0x261]! ^= 1; // inside __text
    const f = parseMachO(data);
    const sig = f.slices[0]!.codeSignature!;
    expect(verifyCodeDirectory(data, sigBytes(data, f), sig, sig.codeDirectory!).map((m) => m.what)).toEqual(['page 0']);
  });
});

describe('real linker output (tree-sitter-powershell 0.26.4 darwin prebuilds)', () => {
  it('arm64 bundle: ad-hoc linker signature, hand-checked fields, all 257 page hashes match', () => {
    const p = treeSitterPrebuild('darwin-arm64');
    const data = readFileSync(p);
    // Pinned so a dependency update fails here, loudly, instead of silently testing other bytes.
    expect(createHash('sha256').update(data).digest('hex')).toBe('fa23409e5694a63a43f4be829b36754579667a56c6e150c5c9c0539d87c56ed5');
    const f = parseMachO(data, { name: p });
    const s = f.slices[0]!;
    expect([s.arch, s.fileTypeName, s.ncmds, s.sizeofcmds]).toEqual(['arm64', 'MH_BUNDLE', 15, 1544]);
    // Hand-checked with `xxd -s 1048656`: fade0cc0 … fade0c02, version 00020400, flags 00020002, hashOffset 0x7c,
    // identOffset 0x58, nSpecialSlots 0, nCodeSlots 0x101, codeLimit 0x100050, hashSize 0x20, hashType 2, page 0x0c.
    expect(s.codeSignatureRange).toEqual({ dataoff: 1048656, datasize: 8368 });
    const cd = s.codeSignature!.codeDirectory!;
    expect(cd).toMatchObject({ version: 0x20400, flags: 0x20002, hashOffset: 0x7c, nSpecialSlots: 0, nCodeSlots: 257, codeLimit: 0x100050, hashSize: 32, hashType: 2, pageSize: 4096 });
    expect(cd.identifier).toBe('tree_sitter_powershell_binding.node');
    expect(cd.flagNames).toEqual(['adhoc', 'linker-signed']);
    expect(cd.teamId).toBeUndefined();
    expect(cd.execSeg).toEqual({ base: 0, limit: 0x5c244, flags: 0 });
    expect(s.codeSignature!.adhoc).toBe(true);
    expect(s.codeSignature!.cms).toBeUndefined();
    expect(verifyCodeDirectory(data, sigBytes(data, f), s.codeSignature!, cd)).toEqual([]);
  });

  it('x86_64 bundle: unsigned, LC_VERSION_MIN_MACOSX 10.7', () => {
    const f = parseMachO(readFileSync(treeSitterPrebuild('darwin-x64')));
    const s = f.slices[0]!;
    expect([s.arch, s.fileTypeName, s.codeSignature, s.buildVersion?.minos]).toEqual(['x86_64', 'MH_BUNDLE', undefined, '10.7']);
  });
});

describe('32-bit and big-endian images', () => {
  it('i386 (little-endian) and ppc (big-endian) thin images', () => {
    const i386 = parseMachO(thin32({ littleEndian: true, cputype: 7, cpusubtype: 3, code: Buffer.from('31c0c3', 'hex') })).slices[0]!;
    expect([i386.arch, i386.bits, i386.littleEndian, i386.uuid]).toEqual(['i386', 32, true, '00112233-4455-6677-8899-AABBCCDDEEFF']);
    expect(i386.segments[0]).toMatchObject({ name: '__TEXT', vmaddr: 0x1000n, filesize: 0x1000 });
    expect(i386.segments[0]!.sections[0]).toMatchObject({ name: '__text', offset: 0x200, size: 3n, align: 2 });
    const ppc = parseMachO(thin32({ littleEndian: false, cputype: 18, cpusubtype: 0, code: Buffer.from('4e800020', 'hex') })).slices[0]!;
    expect([ppc.arch, ppc.bits, ppc.littleEndian, ppc.segments[0]!.sections[0]!.addr]).toEqual(['ppc', 32, false, 0x1200n]);
  });
});

describeWithTools([llvmTool('llvm-otool'), llvmTool('llvm-objdump'), 'file'], 'cross-checked with llvm-otool, llvm-objdump and file', () => {
  const otool = llvmTool('llvm-otool');
  const inputs = (): [string, string][] => {
    const i386 = path.join(tmp, 'i386');
    writeFileSync(i386, thin32({ littleEndian: true, cputype: 7, cpusubtype: 3, code: Buffer.from('31c0c3', 'hex') }));
    const ppc = path.join(tmp, 'ppc');
    writeFileSync(ppc, thin32({ littleEndian: false, cputype: 18, cpusubtype: 0, code: Buffer.from('4e800020', 'hex') }));
    return [['demo arm64', demoArm64Path], ['demo x86_64', demoX8664Path], ['tree-sitter arm64', treeSitterPrebuild('darwin-arm64')], ['tree-sitter x86_64', treeSitterPrebuild('darwin-x64')], ['i386', i386], ['ppc', ppc]];
  };

  it('load commands, segments and LC_CODE_SIGNATURE agree with llvm-otool -l', () => {
    for (const [label, p] of inputs()) {
      const theirs = parseOtoolL(run(otool, ['-l', p]));
      const ours = parseMachO(readFileSync(p)).slices[0]!;
      expect(ours.loadCommands.map((l) => [l.name, l.size]), label).toEqual(theirs.map((t) => [t.cmd, t.cmdsize]));
      const segs = theirs.filter((t) => t.cmd.startsWith('LC_SEGMENT'));
      expect(ours.segments.map((g) => [g.name, g.vmaddr, g.vmsize, g.fileoff, g.filesize]), label).toEqual(
        segs.map((t) => [t.fields.segname, BigInt(t.fields.vmaddr!), BigInt(t.fields.vmsize!), Number(t.fields.fileoff), Number(t.fields.filesize)]),
      );
      const cs = theirs.find((t) => t.cmd === 'LC_CODE_SIGNATURE');
      expect(ours.codeSignatureRange, label).toEqual(cs ? { dataoff: Number(cs.fields.dataoff), datasize: Number(cs.fields.datasize) } : undefined);
    }
  });

  it('header fields agree with llvm-otool -hv', () => {
    for (const [label, p] of inputs()) {
      const line = run(otool, ['-hv', p]).trim().split('\n').at(-1)!.trim().split(/\s+/);
      const ours = parseMachO(readFileSync(p)).slices[0]!;
      // magic cputype cpusubtype caps filetype ncmds sizeofcmds flags…
      expect([line[4], Number(line[5]), Number(line[6]), line.slice(7)], label).toEqual([
        ours.fileTypeName.replace('MH_', ''), ours.ncmds, ours.sizeofcmds, ours.flagNames,
      ]);
    }
  });

  it('file(1) names the same architecture, type and flags', () => {
    for (const [p, arch] of [[demoArm64Path, 'arm64'], [demoX8664Path, 'x86_64']] as const) {
      const ours = parseMachO(readFileSync(p)).slices[0]!;
      expect(run('file', ['-b', p]).trim()).toBe(`Mach-O 64-bit ${arch} executable, flags:<${ours.flagNames.join('|')}>`);
    }
  });

  it('llvm-objdump disassembles the demo __text at the offset we read', () => {
    const arm = run(llvmTool('llvm-objdump'), ['--macho', '-d', demoArm64Path]);
    const text = parseMachO(demoArm64()).slices[0]!.segments[1]!.sections[0]!;
    expect(arm).toMatch(new RegExp(`${text.addr.toString(16)}:\\s+00 00 80 52\\s+mov\\s+w0, #0`));
    expect(arm).toMatch(/c0 03 5f d6\s+ret/);
    expect(run(llvmTool('llvm-objdump'), ['--macho', '-d', demoX8664Path])).toMatch(/31 c0\s+xorl\s+%eax, %eax[\s\S]*c3\s+retq/);
  });
});

describeWithTools(['openssl'], 'the demo CMS signature verifies with openssl', () => {
  it('signs exactly the CodeDirectory (and fails when it changes)', () => {
    for (const [arch, data] of [['arm64', demoArm64()], ['x86_64', demoX8664()]] as const) {
      const f = parseMachO(data);
      const sig = sigBytes(data, f);
      const info = f.slices[0]!.codeSignature!;
      const cms = info.blobs.find((b) => b.slotName === 'CMS signature')!;
      const cd = info.codeDirectory!;
      const cmsPath = path.join(tmp, `${arch}.cms`);
      const cdPath = path.join(tmp, `${arch}.cd`);
      writeFileSync(cmsPath, sig.subarray(cms.offset + 8, cms.offset + cms.length));
      writeFileSync(cdPath, sig.subarray(cd.offset, cd.offset + cd.length));
      const ok = tryRun('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', cmsPath, '-content', cdPath, '-noverify', '-out', '/dev/null']);
      expect(ok.stderr).toContain('Verification successful');
      const tampered = Buffer.from(sig.subarray(cd.offset, cd.offset + cd.length));
      tampered[tampered.length - 1]! ^= 1;
      writeFileSync(cdPath, tampered);
      expect(tryRun('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', cmsPath, '-content', cdPath, '-noverify', '-out', '/dev/null']).status).not.toBe(0);
    }
  });
});

describe('describeMachO', () => {
  it('renders the arm64 demo binary (golden)', async () => {
    await expect(describeMachO(await readMachOFile(demoArm64Path)).replace(demoArm64Path, 'fixtures/demo/aiwatch-arm64')).toMatchFileSnapshot('../fixtures/macho/describe-aiwatch-arm64.txt');
  });

  it('renders a universal binary slice by slice', () => {
    const fat = parseMachO(createUniversal([{ name: 'a', data: demoArm64() }, { name: 'x', data: demoX8664() }]), { name: 'aiwatch' });
    const text = describeMachO(fat);
    expect(text.split('\n')[0]).toBe('aiwatch: universal binary (FAT_MAGIC) with 2 architectures: x86_64 arm64, 35328 bytes');
    expect(text.match(/Identifier=com\.runlayer\.aiwatch/g)).toHaveLength(2);
    expect(text).toContain('x86_64: Mach-O 64-bit executable (MH_EXECUTE), little-endian, 6560 bytes at offset 0x1000, align 2^12');
  });
});

/** Expect `fn` to throw a MachOFormatError whose message contains `text`. */
function rejects(fn: () => unknown, text: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected an error containing: ${text}`).toBeInstanceOf(MachOFormatError);
  expect((err as Error).message).toContain(text);
}

describe('malformed input: one clear MachOFormatError', () => {
  const x = (): Buffer => demoX8664();
  const patch = (b: Buffer, off: number, v: number, be = false): Buffer => {
    if (be) b.writeUInt32BE(v >>> 0, off);
    else b.writeUInt32LE(v >>> 0, off);
    return b;
  };
  const fat = (): Buffer => createUniversal([{ name: 'a', data: demoArm64() }, { name: 'x', data: demoX8664() }]);
  // Demo x86_64 layout: header 32 bytes, load commands 0x20..0x260, LC_CODE_SIGNATURE at 0x250, signature at 0x1010.
  const SIG = 0x1010;

  const cases: [string, () => Buffer, string][] = [
    ['empty', () => Buffer.alloc(0), 'input: is 0 bytes long, too short to be a Mach-O file'],
    ['text', () => Buffer.from('hello world'), 'is not a Mach-O file (starts with 68 65 6c 6c'],
    ['truncated header', () => x().subarray(0, 20), 'Mach-O header at offset 0x0 (32 bytes) runs past the end'],
    ['truncated load commands', () => x().subarray(0, 300), 'load commands (576 bytes) run past the end of the image (300 bytes): truncated file?'],
    ['truncated __LINKEDIT', () => x().subarray(0, 0x1000), 'segment __LINKEDIT (file offset 0x1000, 2464 bytes) extends past the end of the image (4096 bytes): truncated file?'],
    ['cmdsize 0', () => patch(x(), 0x24, 0), 'load command 0 (LC_SEGMENT_64) has cmdsize 0; expected a multiple of 4, at least 8'],
    ['cmdsize too large', () => patch(x(), 0x24, 0x10000), 'load command 0 (LC_SEGMENT_64, 65536 bytes at 0x20) runs past the 576-byte load-command area'],
    ['ncmds too large', () => patch(x(), 16, 1000), '1000 load commands cannot fit in 576 bytes'],
    ['sizeofcmds absurd', () => patch(x(), 20, 0x7fffffff), 'load commands claim 2147483647 bytes, more than the 16777216 this reader accepts'],
    ['nsects too large', () => patch(x(), 0x68 + 64, 9), 'segment __TEXT claims 9 sections, more than its 152-byte command holds'],
    ['code signature past the end', () => patch(x(), 0x25c, 0x100000), 'LC_CODE_SIGNATURE points past the end of the image (dataoff 0x1010, datasize 1048576'],
    ['bad super-blob magic', () => patch(x(), SIG, 0x12345678, true), 'code signature at 0x1010 starts with 0x12345678, expected the embedded-signature magic 0xfade0cc0'],
    ['super-blob count', () => patch(x(), SIG + 8, 0x7fffffff, true), 'super-blob declares'],
    ['blob offset outside', () => patch(x(), SIG + 16, 0x7fff0000, true), 'CodeDirectory blob magic at offset 0x7fff0000 (4 bytes) runs past the end'],
    ['identifier offset outside', () => patch(x(), SIG + 0x24 + 20, 0xffff, true), 'CodeDirectory identifier at offset 0xffff'],
    ['hash slots outside', () => patch(x(), SIG + 0x24 + 28, 0xffffff, true), 'CodeDirectory hash slots'],
    ['fat with no architectures', () => patch(fat(), 4, 0, true), 'is a universal binary with no architectures (nfat_arch 0)'],
    ['java class file', () => Buffer.from('cafebabe00000034', 'hex'), 'fat header claims 52 architectures (more than 30): not a universal binary (a Java class file also starts with 0xcafebabe)'],
    ['fat slice past the end', () => fat().subarray(0, 20000), 'fat entry for arm64 (offset 0x4000, 18944 bytes) runs past the end of the file (20000 bytes): truncated file?'],
    ['fat slice misaligned', () => patch(fat(), 8 + 8, 0x1001, true), 'fat entry for x86_64 starts at 0x1001, not aligned to its 2^12 alignment'],
    ['fat slice inside header', () => patch(fat(), 8 + 8, 0, true), 'fat entry for x86_64 starts at 0x0, inside the universal header'],
    ['fat duplicate', () => patch(patch(fat(), 28, 0x01000007, true), 32, 3, true), 'has two slices for architecture x86_64'],
    ['fat slices overlap', () => patch(fat(), 8 + 12, 0x4000, true), 'fat entry for arm64 overlaps the slice for x86_64'],
    ['fat header lies about cputype', () => patch(patch(fat(), 8, 0x0100000c, true), 12, 2, true), "slice arm64e: the universal header says arm64e but the slice's own header says x86_64"],
    ['fat alignment > 2^15', () => patch(fat(), 8 + 16, 16, true), 'fat entry for x86_64 has alignment 2^16'],
  ];

  for (const [label, make, text] of cases) {
    it(label, () => rejects(() => parseMachO(make(), { name: 'input' }), text));
  }

  it('names the input file and is an InputFileError with exit code 3', () => {
    try {
      parseMachO(Buffer.from('#!/bin/sh\n'), { name: 'dist/aiwatch' });
    } catch (e) {
      expect(e).toMatchObject({ exitCode: 3, kind: 'input-file', file: 'dist/aiwatch' });
      expect((e as Error).message).toMatch(/^dist\/aiwatch: is not a Mach-O file \(starts with 23 21 2f 62/);
      return;
    }
    throw new Error('no error');
  });

  it('readMachOFile reports the same problems, and missing files as InputFileError', async () => {
    const p = path.join(tmp, 'truncated');
    writeFileSync(p, demoX8664().subarray(0, 300));
    await expect(readMachOFile(p)).rejects.toThrow(`${p}: load commands (576 bytes) run past the end of the image (300 bytes)`);
    writeFileSync(p, fat().subarray(0, 20000));
    await expect(readMachOFile(p)).rejects.toThrow('fat entry for arm64 (offset 0x4000, 18944 bytes) runs past the end of the file');
    await expect(readMachOFile(path.join(tmp, 'nope'), { what: '--binary' })).rejects.toThrow('--binary: no such file');
  });
});

describe('fuzz: truncated, corrupted and random input never crashes the reader', () => {
  const samples = [demoArm64(), demoX8664(), createUniversal([{ name: 'a', data: demoArm64() }, { name: 'x', data: demoX8664() }]), readFileSync(treeSitterPrebuild('darwin-arm64')).subarray(0, 0x1000)];

  /** Parse; success must give a describable result, failure must be a MachOFormatError. */
  function survive(data: Uint8Array): void {
    let f: MachOFile;
    try {
      f = parseMachO(data, { name: 'fuzz' });
    } catch (e) {
      if (!(e instanceof MachOFormatError)) throw e;
      return;
    }
    describeMachO(f);
    for (const s of f.slices) {
      const sig = s.codeSignature;
      if (!sig?.codeDirectory) continue;
      const image = data.subarray(s.offset, s.offset + s.size);
      verifyCodeDirectory(image, image.subarray(sig.dataoff, sig.dataoff + sig.datasize), sig, sig.codeDirectory);
    }
  }

  it('every truncation', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: samples.length - 1 }), fc.nat(), (i, n) => survive(samples[i]!.subarray(0, n % (samples[i]!.length + 1)))), { numRuns: 500 });
  });

  it('byte corruption in headers, load commands and signatures', () => {
    const edit = fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }), zone: fc.constantFrom('head', 'sig', 'any') });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: samples.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 8 }), (i, edits) => {
        const b = Buffer.from(samples[i]!);
        const sigStart = i === 1 ? 0x1010 : i === 0 ? 0x4010 : 0;
        for (const e of edits) {
          const span = e.zone === 'head' ? Math.min(0x300, b.length) : e.zone === 'sig' && sigStart ? b.length - sigStart : b.length;
          b[(e.zone === 'sig' ? sigStart : 0) + (e.at % span)] = e.value;
        }
        survive(b);
      }),
      { numRuns: 600 },
    );
  });

  it('random bytes behind each magic', () => {
    const magic = fc.constantFrom('cffaedfe', 'feedfacf', 'cefaedfe', 'feedface', 'cafebabe', 'cafebabf');
    fc.assert(fc.property(magic, fc.uint8Array({ maxLength: 600 }), (m, rest) => survive(Buffer.concat([Buffer.from(m, 'hex'), rest]))), { numRuns: 1500 });
  });

  it('readMachOFile on a fat magic with no room for its count (found by the fuzz below: seed -2049316903)', async () => {
    const p = path.join(tmp, 'short-fat');
    writeFileSync(p, Buffer.from(samples[2]!.subarray(0, 4)));
    await expect(readMachOFile(p)).rejects.toThrow(/is 4 bytes long, too short for a universal \(fat\) header/);
  });

  it('readMachOFile on truncated and corrupted files', async () => {
    const p = path.join(tmp, 'fuzz-file');
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 }), fc.nat(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), async (i, cut, edits) => {
        const b = Buffer.from(samples[i]!.subarray(0, cut % (samples[i]!.length + 1)));
        for (const [at, v] of edits) if (b.length) b[at % Math.min(b.length, 0x400)] = v;
        writeFileSync(p, b);
        try {
          await readMachOFile(p);
        } catch (e) {
          if (!(e instanceof MachOFormatError)) throw e;
        }
      }),
      { numRuns: 200 },
    );
  });

  it('random 32-bit words in the requirement and CodeDirectory blobs', () => {
    const base = demoX8664();
    const f = parseMachO(base);
    const sig = f.slices[0]!.codeSignature!;
    const req = sig.blobs.find((b) => b.slotName === 'Requirements')!;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 0xffffffff })), { minLength: 1, maxLength: 6 }), (edits) => {
        const b = Buffer.from(base);
        for (const [at, v] of edits) b.writeUInt32BE(v, sig.dataoff + ((req.offset + 8 + ((at * 4) % (req.length - 8))) & ~3));
        survive(b);
      }),
      { numRuns: 300 },
    );
  });
});

describe('requirement decompiler', () => {
  /** A requirement blob from 32-bit words and length-prefixed strings. */
  function req(...parts: (number | string)[]): Buffer {
    const body = Buffer.concat(
      parts.map((p) => {
        if (typeof p === 'number') return Buffer.from([p >>> 24, (p >>> 16) & 0xff, (p >>> 8) & 0xff, p & 0xff]);
        const s = Buffer.from(p, 'latin1');
        const len = Buffer.alloc(4);
        len.writeUInt32BE(s.length);
        return Buffer.concat([len, s, Buffer.alloc((4 - (s.length % 4)) % 4)]);
      }),
    );
    const head = Buffer.alloc(12);
    head.writeUInt32BE(0xfade0c00, 0);
    head.writeUInt32BE(12 + body.length, 4);
    head.writeUInt32BE(1, 8);
    return Buffer.concat([head, body]);
  }

  it('prints the canonical Developer ID requirement; a team starting with a digit is quoted (reference §2.1)', () => {
    expect(decompileRequirement(developerIdRequirement('com.runlayer.aiwatch', 'AF2M8HC7A2'))).toBe(CANONICAL_DR);
    expect(decompileRequirement(developerIdRequirement('com.runlayer.aiwatch', '483DWKW443'))).toBe(CANONICAL_DR.replace('= AF2M8HC7A2', '= "483DWKW443"'));
  });

  it('parenthesises or inside and, prints not, entitlements, info keys, prefixes and hashes', () => {
    // anchor apple generic and (identifier a or identifier "b.c")
    expect(decompileRequirement(req(6, 15, 7, 2, 'a', 2, 'b.c'))).toBe('anchor apple generic and (identifier a or identifier "b.c")');
    // (x or y) or z stays flat; ! applies to a primary
    expect(decompileRequirement(req(7, 7, 2, 'x', 2, 'y', 9, 3))).toBe('identifier x or identifier y or ! anchor apple');
    expect(decompileRequirement(req(16, 'com.apple.security.app-sandbox', 0))).toBe('entitlement["com.apple.security.app-sandbox"] /* exists */');
    expect(decompileRequirement(req(16, 'com.apple.developer.team', 14))).toBe('entitlement[com.apple.developer.team] absent');
    expect(decompileRequirement(req(22, 0, '\x2a\x86\x48\x86\xf7\x63\x64\x06\x01\x0d', 13, 0, 700000000))).toBe('certificate leaf[timestamp.1.2.840.113635.100.6.1.13] >= <700000000>');
    expect(decompileRequirement(req(2, '\x01\x02'))).toBe('identifier 0x0102');
    expect(decompileRequirement(req(10, 'CFBundleVersion', 3, '1.'))).toBe('info[CFBundleVersion] = "1."*');
    expect(decompileRequirement(req(8, 'ab'))).toBe('cdhash H"6162"');
    expect(decompileRequirement(req(11, -1 >>> 0, 'subject.CN', 1, 'say "hi"'))).toBe('certificate root[subject.CN] = "say \\"hi\\""');
    expect(decompileRequirement(req(21))).toBe('notarized');
    expect(decompileRequirement(req(2, 'and'))).toBe('identifier "and"');
  });

  it('never throws on nonsense: it says what it could not read', () => {
    expect(decompileRequirement(req(99))).toBe('<unreadable: unknown operator 99>');
    expect(decompileRequirement(req(11, 0, 'subject.CN', 77))).toBe('<unreadable: unknown match operator 77>');
    expect(decompileRequirement(req(6, 2))).toBe('<unreadable: truncated>');
    expect(decompileRequirement(req(...Array(5000).fill(9), 1))).toBe('<unreadable: nested deeper than 200 levels>');
    const k = req(1);
    k.writeUInt32BE(2, 8);
    expect(decompileRequirement(k)).toBe('<unreadable: requirement kind 2, expected 1 (expression)>');
  });
});

describe('readMachOFile reads only the ranges it needs', () => {
  it('a 4 GiB sparse FAT_MAGIC_64 file with its slice beyond 2^32 (too big for a Buffer-based reader)', async () => {
    const p = path.join(tmp, 'sparse-fat64');
    const slice = demoArm64();
    const offset = 2 ** 32; // a multiple of 2^14
    const head = Buffer.alloc(8 + 32);
    head.writeUInt32BE(0xcafebabf, 0);
    head.writeUInt32BE(1, 4);
    head.writeUInt32BE(0x0100000c, 8);
    head.writeUInt32BE(0, 12);
    head.writeBigUInt64BE(BigInt(offset), 16);
    head.writeBigUInt64BE(BigInt(slice.length), 24);
    head.writeUInt32BE(14, 32);
    const fd = openSync(p, 'w');
    try {
      writeSync(fd, head, 0, head.length, 0);
      writeSync(fd, slice, 0, slice.length, offset);
    } finally {
      closeSync(fd);
    }
    const f = await readMachOFile(p);
    expect([f.kind, f.fatMagic, f.size]).toEqual(['fat', 'FAT_MAGIC_64', offset + slice.length]);
    expect(f.slices[0]).toMatchObject({ arch: 'arm64', offset, size: slice.length, align: 14 });
    expect(f.slices[0]!.codeSignature!.codeDirectory!.identifier).toBe('com.runlayer.aiwatch');
    rmSync(p);
  });
});

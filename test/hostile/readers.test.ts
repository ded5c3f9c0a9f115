/**
 * Each reader's limits (src/formats/limits.ts), in process and one at a time: just under a limit reads, just over it is
 * an InputLimitError naming the file and the limit — never a RangeError, a stack overflow or an allocation the size
 * of what the file claims. The attacks are varied with the corpus's own builders (scripts/make-hostile.mjs);
 * test/hostile/hostile.test.ts runs the corpus through the CLI under a memory cap.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { build } from '../../scripts/make-hostile.mjs';
import { InputFileError } from '../../src/errors.js';
import { readBom } from '../../src/pkg/bom-reader.js';
import { readCpioEntries } from '../../src/pkg/cpio.js';
import { InputLimitError, LIMITS, readInputFileWithin } from '../../src/formats/limits.js';
import { readPlist } from '../../src/formats/plist-read.js';
import { checkAsn1Nesting } from '../../src/formats/asn1-bounds.js';
import { readSignedData } from '../../src/sign/cms-read.js';
import { parserBudget, parserMemoryBytes, PsParseLimit, psSyntaxIssues } from '../../src/read/ps-parse.js';
import { parseMachO } from '../../src/macho/macho.js';
import { openXar } from '../../src/pkg/xar-reader.js';
import { machoIdentity } from '../../src/macho/identity.js';
import { readPkg } from '../../src/read/pkg-read.js';
import { benchBinary } from '../../scripts/make-bench-binary.js';
import { verifyXar } from '../../src/pkg/xar-verify.js';

const dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-readers-'));
let n = 0;
function file(bytes: Buffer, ext = '.pkg'): string {
  const f = path.join(dir, `f${n++}${ext}`);
  writeFileSync(f, bytes);
  return f;
}

/** The error `fn` throws (or rejects with). */
async function caught(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

async function expectLimit(fn: () => unknown, limit: string, message: RegExp): Promise<void> {
  const e = await caught(fn);
  expect(e).toBeInstanceOf(InputLimitError);
  expect((e as InputLimitError).limit).toBe(limit);
  expect((e as Error).message).toMatch(message);
}

describe('xar TOC limits', () => {
  const files = (k: number): string => Array.from({ length: k }, (_, i) => `<file id="${i + 1}"><name>f${i}</name><type>file</type></file>`).join('');
  const nested = (k: number): string => `${Array.from({ length: k }, (_, i) => `<file id="${i + 1}"><name>d</name><type>directory</type>`).join('')}${'</file>'.repeat(k)}`;

  it('10,000 <file> entries read; 10,001 are refused, in openXar (inspect) and as verify\'s one problem', async () => {
    expect((await openXar(file(build.xarBytes(files(10_000))))).entries).toHaveLength(10_000);
    const over = file(build.xarBytes(files(10_001)));
    await expectLimit(() => openXar(over), 'xar.entries', /xar TOC not read: more than 10000 <file> entries: over the limit/);
    expect(await verifyXar(over)).toEqual([{ where: over, message: expect.stringMatching(/^xar TOC not read: more than 10000 <file> entries: over the limit/) }]);
  });

  it('directories nest 64 deep at most; a path is at most 1024 bytes', async () => {
    expect((await openXar(file(build.xarBytes(nested(64))))).entries).toHaveLength(64);
    await expectLimit(() => openXar(file(build.xarBytes(nested(65)))), 'xar.depth', /nest deeper than 64 levels/);
    const long = `<file id="1"><name>${'n'.repeat(1025)}</name><type>file</type></file>`;
    await expectLimit(() => openXar(file(build.xarBytes(long))), 'path.bytes', /a path of more than 1024 bytes/);
  });

  it('a TOC inflating past 8 MiB stops at 8 MiB', async () => {
    const f = file(build.xarBytes(`<!--${' '.repeat(LIMITS['xar.toc-bytes'])}-->`));
    await expectLimit(() => openXar(f), 'xar.toc-bytes', /xar TOC: inflates to more than 8 MiB: over the limit of 8 MiB/);
  });

  it('a zlib member is not inflated past its TOC <size>, nor at all when <size> is a bomb', async () => {
    const ok = build.pkgBytes([{ path: 'Distribution', bytes: Buffer.from('<a/>'), zlib: true }]);
    expect(await verifyXar(file(ok))).toEqual([]);
    // Rewrite <size>4</size> (the declared decoded size) as 2 and as 10 GiB: same length, so the heap offsets hold.
    const toc = (b: Buffer): string => zlib.inflateSync(b.subarray(28, 28 + Number(b.readBigUInt64BE(8)))).toString();
    const withSize = (size: string): Buffer => {
      const xml = toc(ok).replace('<size>4</size>', `<size>${size}</size>`);
      const heap = ok.subarray(28 + Number(ok.readBigUInt64BE(8)) + 20);
      return build.xarBytes(xml.slice(xml.indexOf('<file'), xml.lastIndexOf('</file>') + 7), heap);
    };
    expect(await verifyXar(file(withSize('2')))).toEqual([{ where: expect.stringMatching(/:Distribution$/), message: 'decodes to more than the 2 bytes its TOC <size> says; not decoded further' }]);
    expect(await verifyXar(file(withSize(String(10 * 1024 ** 3))))).toEqual([
      { where: expect.stringMatching(/:Distribution$/), message: expect.stringMatching(/inflates to 10 GiB from 12 bytes: over the limit of 256 times its stored size \(a decompression bomb\); not decoded/) },
    ]);
  });
});

describe('Bom limits', () => {
  it('one leaf listed under two block ids (an alias) is refused before its entries are read', async () => {
    await expectLimit(() => readBom(build.bomAliasedLeaf(2), 'x.bom'), 'bom.block-uses', /^x\.bom: blocks \d+ \(Paths node\) and \d+ \(Paths node\) share their bytes at offset \d+: aliased blocks or a cycle/);
  });

  it('a branch that points to itself (a cycle) and a record used twice are refused', async () => {
    const b = new build.BomBuilder();
    const rec = b.record(1, 0, '.', { dir: true });
    const branch = b.node(false, []);
    b.blocks[branch] = { bytes: Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.alloc(8), Buffer.from([0, 0, 0, branch]), Buffer.from(rec.slice(1).map((k) => [0, 0, 0, k]).flat()), Buffer.alloc(4084)]) };
    await expectLimit(() => readBom(b.bytes(branch, 1), 'cycle.bom'), 'bom.block-uses', /block \d+ is used twice \(as Paths node and as Paths node\)/);
    const twice = new build.BomBuilder();
    const r = twice.record(1, 0, '.', { dir: true });
    await expectLimit(() => readBom(twice.bytes(twice.node(true, [r, r]), 2), 'twice.bom'), 'bom.block-uses', /used twice \(as Paths key \(File\) and as Paths key \(File\)\)/);
  });

  it('two blocks whose bytes overlap (a partial alias) are refused', async () => {
    const bom = build.bomTwoFiles(1);
    // Block table: u32 count, then {address, length} per id. PathInfo2 of ./b is block 7, of ./a block 4.
    const index = bom.readUInt32BE(16);
    const entry = (id: number): number => index + 4 + 8 * id;
    bom.writeUInt32BE(bom.readUInt32BE(entry(4)) + 1, entry(7));
    await expectLimit(() => readBom(bom, 'overlap.bom'), 'bom.block-uses', /blocks 4 \(PathInfo2\) and 7 \(PathInfo2\) overlap at offset \d+: aliased blocks/);
  });

  it('more than 100,000 listed paths are refused before any record is read', async () => {
    const b = new build.BomBuilder();
    const rec = b.record(1, 0, '.', { dir: true });
    const leaves = [b.node(true, Array(65_535).fill(rec)), b.node(true, Array(65_535).fill(rec))];
    const root = b.node(false, leaves.map((l) => [l, rec[1]] as [number, number]));
    await expectLimit(() => readBom(b.bytes(root, 131_070), 'many.bom'), 'bom.paths', /Paths tree lists more than 100000 entries: over the limit of 100000/);
  });

  it('a Paths tree deeper than 32 levels is refused', async () => {
    const b = new build.BomBuilder();
    const rec = b.record(1, 0, '.', { dir: true });
    let node = b.node(true, [rec]);
    for (let i = 0; i < 34; i++) node = b.node(false, [[node, rec[1]]]);
    await expectLimit(() => readBom(b.bytes(node, 1), 'deep.bom'), 'bom.tree-depth', /Paths tree deeper than 32 levels/);
  });

  it('paths are built iteratively up to 1024 bytes; one byte more is refused', () => {
    const chain = (names: string[]): Buffer => {
      const b = new build.BomBuilder();
      const pairs = [b.record(1, 0, '.', { dir: true }), ...names.map((nm, i) => b.record(i + 2, i + 1, nm, { dir: true }))];
      return b.bytes(b.node(true, pairs, 0, 0, 12 + 8 * pairs.length), pairs.length);
    };
    // "." + 4 × "/<254 bytes>" = 1 + 4 × 255 = 1021, then "/ab" = 1024.
    const names = [...Array(4).fill('n'.repeat(254)), 'ab'];
    expect(readBom(chain(names), 'ok.bom').entries.at(-1)!.path).toHaveLength(1024);
    expect(() => readBom(chain([...names.slice(0, 4), 'abc']), 'long.bom')).toThrow(/the path of entry id 6 is longer than 1024 bytes: over the limit of 1024/);
  });

  it('a Bom of more than 32 MiB is refused unread', async () => {
    await expectLimit(() => readBom(Buffer.alloc(LIMITS['bom.bytes'] + 1), 'big.bom'), 'bom.bytes', /^big\.bom: 33554433 bytes: over the limit of 33554432/);
  });
});

describe('cpio limits', () => {
  const archive = (...parts: Buffer[]): Buffer => Buffer.concat([...parts, build.cpioTrailer()]);

  it('entries past the limit, a name past PATH_MAX, data held past the budget: each an InputLimitError naming the archive', async () => {
    const three = archive(build.cpioHeader('.', 0, 0o040755), build.cpioHeader('./a', 0), build.cpioHeader('./b', 0));
    expect(await readCpioEntries(three, { maxEntries: 3 })).toHaveLength(3);
    await expectLimit(() => readCpioEntries(three, { maxEntries: 2, what: 'x:Payload' }), 'cpio.entries', /^x:Payload: more than 2 entries: over the limit/);
    const long = archive(build.cpioHeader(`./${'n'.repeat(1025)}`, 0));
    await expectLimit(() => readCpioEntries(long), 'path.bytes', /entry 1 has a name of 1027 bytes: over the limit of 1024/);
    const data = archive(build.cpioHeader('./a', 3), Buffer.from('abc'), build.cpioHeader('./b', 3), Buffer.from('def'));
    expect((await readCpioEntries(data, { keepData: true, maxKeptBytes: 6 })).map((e) => e.data?.toString())).toEqual(['abc', 'def']);
    await expectLimit(() => readCpioEntries(data, { keepData: true, maxKeptBytes: 5 }), 'cpio.kept-bytes', /\.\/b: holding its 3 bytes would put more than 5 bytes of entry data in memory/);
  });

  it('a sink receives the data of the entries it asks for, which are then not kept', async () => {
    const data = archive(build.cpioHeader('./a', 3), Buffer.from('abc'), build.cpioHeader('./b', 3), Buffer.from('def'));
    const got: string[] = [];
    const entries = await readCpioEntries(data, { keepData: true, sinkFor: (h) => (h.path === './b' ? async (c) => void got.push(c.toString()) : undefined) });
    expect(entries.map((e) => e.data?.toString())).toEqual(['abc', undefined]);
    expect(got.join('')).toBe('def');
    expect(entries[1]!.cksum).toBe(entries[1]!.cksum >>> 0);
  });

  it('an InputLimitError is an InputFileError (exit 3 in inspect, a problem in verify)', () => {
    expect(new InputLimitError('f', 'cpio.entries', 'm')).toBeInstanceOf(InputFileError);
  });
});

describe('Payload programs', () => {
  const pkgWith = (bin: Buffer): string =>
    file(build.productPkg({ payload: zlib.gzipSync(Buffer.concat([build.cpioHeader('.', 0, 0o040755), build.cpioHeader('./aiwatch', bin.length, 0o100755), bin, build.cpioTrailer()])) }));

  it('a program over 1 MiB is streamed to a temporary file and scanned there: the same identity as read in memory, a changed page still caught', async () => {
    const bin = benchBinary(3 * 1024 * 1024);
    const [prog] = (await readPkg(pkgWith(bin))).components[0]!.programs;
    expect(prog).toMatchObject({ path: './aiwatch', size: bin.length });
    expect(prog!.identity).toEqual(machoIdentity(parseMachO(bin), bin));
    expect(prog!.identity!.slices[0]!.hashesMatch).toBe(true);
    const changed = Buffer.from(bin);
    changed[10 * 4096 + 7]! ^= 0xff;
    const [bad] = (await readPkg(pkgWith(changed))).components[0]!.programs;
    expect(bad!.identity).toEqual(machoIdentity(parseMachO(changed), changed));
    expect(bad!.identity!.slices[0]).toMatchObject({ hashesMatch: false, mismatches: ['page 10'] });
  });
});

describe('plist and CMS limits', () => {
  it('a profile nesting 300 arrays is not read, its one problem naming the depth limit', () => {
    const r = readPlist(build.deepProfile(300), 'deep.mobileconfig');
    expect(r).toEqual({ problems: [{ where: 'deep.mobileconfig', message: expect.stringMatching(/^not read: elements nest deeper than 256 levels: over the limit/) }], limit: 'xml.depth' });
    expect(readPlist(build.deepProfile(250), 'ok.mobileconfig').root?.type).toBe('dict');
  });

  it('a file over its kind\'s size limit is refused from its size, unread', async () => {
    const big = file(Buffer.alloc(LIMITS['plist.bytes'] + 1), '.mobileconfig');
    await expectLimit(() => readInputFileWithin(big, 'verify', 'plist.bytes'), 'plist.bytes', /verify: 16777217 bytes: over the limit of 16 MiB for this kind of file \(not read\)/);
  });

  it('ASN.1 nesting is walked iteratively: 64 levels pass, 65 (DER or BER indefinite) are refused before asn1js sees them', () => {
    expect(() => checkAsn1Nesting(build.cmsDeepNesting(61))).not.toThrow(); // + ContentInfo, [0] = 63 levels
    expect(() => checkAsn1Nesting(build.cmsDeepNesting(63))).toThrow(/ASN\.1 values nest deeper than 64 levels: over the limit/);
    const ber = Buffer.concat([Buffer.alloc(2 * 65).fill(Buffer.from([0x30, 0x80])), Buffer.alloc(2 * 65)]);
    expect(() => checkAsn1Nesting(ber)).toThrow(/deeper than 64 levels/);
    expect(() => readSignedData(build.cmsDeepNesting(20_000))).toThrow(/ASN\.1 values nest deeper than 64 levels/);
    expect(() => checkAsn1Nesting(Buffer.alloc(LIMITS['cms.bytes'] + 1))).toThrow(/over the limit of 16 MiB for a CMS signature/);
  });
});

describe('PowerShell parser memory', () => {
  it('a script may take 48 MiB + 128 bytes per byte of parser memory, 80 MiB at most', () => {
    expect(parserBudget(0)).toBe(48 << 20);
    expect(parserBudget(200 * 1024)).toBe((48 << 20) + 128 * 200 * 1024);
    expect(parserBudget(300_000)).toBe(80 << 20);
  });

  it('a parse outgrowing its budget is cancelled (PsParseLimit), and the parser still serves the next script', async () => {
    const nested = `$x = ${'('.repeat(60_000)}1${')'.repeat(60_000)}\r\n`;
    await expect(psSyntaxIssues(nested)).rejects.toThrow(PsParseLimit);
    await expect(psSyntaxIssues(nested)).rejects.toThrow(/parsing it needs more than the \d+ MiB of parser memory a script of its size may take: over the limit/);
    expect(parserMemoryBytes()).toBeLessThanOrEqual((80 + 64) << 20);
    expect(await psSyntaxIssues("Write-Output 'ok'\r\ntry {\r\n  1\r\n}\r\n")).toEqual([{ line: 2, column: 1, kind: 'try' }]);
  });

  it('syntax errors are listed up to 50, then counted', async () => {
    const issues = await psSyntaxIssues('@@ ;\r\n'.repeat(200));
    expect(issues).toHaveLength(51);
    expect(issues.slice(0, 50).every((i) => i.kind === 'error')).toBe(true);
    expect(issues.at(-1)).toEqual({ line: 0, column: 0, kind: 'more', count: 350 });
  });
});

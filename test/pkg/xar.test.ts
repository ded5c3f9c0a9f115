import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputFileError, UsageError } from '../../src/errors.js';
import { layoutXar, writeXar, resolveCreationTime, type XarInput } from '../../src/pkg/xar.js';
import zlib from 'node:zlib';
import { encodeStapleTrailer } from '../../src/pkg/xar-header.js';
import { findXarEntry, openXar, readXarEntry, readXarEntryBytes } from '../../src/pkg/xar-reader.js';
import { verifyXar } from '../../src/pkg/xar-verify.js';
import { Writable } from 'node:stream';
import { describeWithTools, run, tryRun } from '../helpers/tools.js';
import { CREATION, rawXar, sampleInputs, sha1, tempDir, writeXarFile, type Sample } from './xar-helpers.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/xar');
const EXPECTED_PATHS = ['Distribution', 'Resources', 'aiwatch.pkg', 'aiwatch.pkg/Bom', 'aiwatch.pkg/PackageInfo', 'aiwatch.pkg/Payload', 'aiwatch.pkg/Scripts'];

let dir: string;
let sample: Sample;
let archive: string;

beforeAll(async () => {
  dir = tempDir('xar');
  sample = sampleInputs(dir);
  archive = path.join(dir, 'product.pkg');
  await writeXarFile(archive, sample.inputs);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of the archive with one byte flipped at `offset`. */
function flipped(name: string, offset: number): string {
  const out = path.join(dir, name);
  const b = readFileSync(archive);
  b[offset] = b[offset]! ^ 0xff;
  writeFileSync(out, b);
  return out;
}

describe('xar writer layout', () => {
  it('writes the 28-byte big-endian header, a zlib TOC and its SHA-1 at heap offset 0', () => {
    const x = rawXar(archive);
    expect(x.bytes.subarray(0, 4).toString('latin1')).toBe('xar!');
    expect(x.headerSize).toBe(28);
    expect(x.bytes.readUInt16BE(6)).toBe(1);
    expect(x.alg).toBe(1);
    expect(x.tocCompressed[0]).toBe(0x78); // zlib CMF byte
    expect(x.bytes.subarray(x.heapStart, x.heapStart + 20).toString('hex')).toBe(sha1(x.tocCompressed));
  });

  it('sorts entries byte-wise, numbers them depth-first and stores Payload/Scripts raw, small XML zlib', async () => {
    const a = await openXar(archive);
    expect(a.entries.map((e) => e.path)).toEqual(EXPECTED_PATHS);
    expect(a.entries.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const enc = Object.fromEntries(a.entries.filter((e) => e.data).map((e) => [e.path, e.data!.encoding]));
    expect(enc).toEqual({
      Distribution: 'application/x-gzip',
      'aiwatch.pkg/Bom': 'application/x-gzip',
      'aiwatch.pkg/PackageInfo': 'application/x-gzip',
      'aiwatch.pkg/Payload': 'application/octet-stream',
      'aiwatch.pkg/Scripts': 'application/octet-stream',
    });
    const payload = findXarEntry(a, 'aiwatch.pkg/Payload')!;
    expect(payload.data!.length).toBe(sample.files['aiwatch.pkg/Payload']!.length);
    expect(payload.data!.archivedChecksum).toEqual({ style: 'sha1', hex: sha1(sample.files['aiwatch.pkg/Payload']!) });
    // heap follows id order, contiguous from offset 20
    let next = 20;
    for (const e of a.entries.filter((x) => x.data)) {
      expect(e.data!.offset).toBe(next);
      next += e.data!.length;
    }
    expect(a.heapEnd).toBe(a.fileSize);
    expect(findXarEntry(a, 'Resources')).toMatchObject({ type: 'directory', mode: 0o700, uid: 0, gid: 0 });
    expect(a.creationTime).toBe('2024-05-06T07:08:09');
  });

  it('reads every member back, bytes equal to the inputs, and verifies clean', async () => {
    const a = await openXar(archive);
    for (const [p, bytes] of Object.entries(sample.files)) expect(sha1(await readXarEntryBytes(a, p))).toBe(sha1(bytes));
    expect(await verifyXar(archive)).toEqual([]);
  });

  it('is deterministic: same inputs and clock → identical bytes; SOURCE_DATE_EPOCH is the default clock', async () => {
    const again = path.join(dir, 'again.pkg');
    await writeXarFile(again, sampleInputs(tempDir('again')).inputs);
    expect(sha1(readFileSync(again))).toBe(sha1(readFileSync(archive)));
    const sde = path.join(dir, 'sde.pkg');
    const r = await writeXarFile(sde, sample.inputs, { env: { SOURCE_DATE_EPOCH: String(CREATION.getTime() / 1000) } });
    expect(readFileSync(sde).equals(readFileSync(archive))).toBe(true);
    expect(r.tocXml).toContain('<creation-time>2024-05-06T07:08:09</creation-time>');
    expect(resolveCreationTime(undefined, {}).toISOString()).toBe('1970-01-01T00:00:00.000Z');
    expect(() => resolveCreationTime(undefined, { SOURCE_DATE_EPOCH: 'yesterday' })).toThrow(/SOURCE_DATE_EPOCH: must be whole seconds.*"yesterday"/);
  });

  it('TOC XML of a small archive matches the golden file', async () => {
    const small = path.join(dir, 'small.xar');
    const r = await writeXarFile(small, [
      { path: 'b.pkg/PackageInfo', source: { bytes: Buffer.from('<pkg-info/>') }, encoding: 'zlib' },
      { path: 'b.pkg/Payload', source: { bytes: Buffer.from('payload bytes') } },
      { path: 'Distribution', source: { bytes: Buffer.from('<installer-gui-script/>') }, encoding: 'zlib' },
    ]);
    await expect(r.tocXml).toMatchFileSnapshot('../golden/xar/small-toc.xml');
    expect((await openXar(small)).tocXml).toBe(r.tocXml);
    const sha256 = createHash('sha256').update(readFileSync(small)).digest('hex');
    await expect(`${sha256}  small.xar\n`).toMatchFileSnapshot('../golden/xar/small.xar.sha256');
  });
});

describeWithTools(['bsdtar', '7z'], 'xar interop with bsdtar and 7z', () => {
  it('bsdtar -tf and 7z l -txar list every entry', () => {
    expect(run('bsdtar', ['-tf', archive]).trim().split('\n').sort()).toEqual(EXPECTED_PATHS);
    const listing = run('7z', ['l', '-txar', '-slt', archive]);
    // 7z shows the TOC itself as a pseudo-entry "[TOC].xml"
    const names = [...listing.matchAll(/^Path = (.+)$/gm)].map((m) => m[1]!).filter((p) => p !== archive && p !== '[TOC].xml');
    expect(names.sort()).toEqual(EXPECTED_PATHS);
  });

  it('bsdtar -xf and 7z x extract bytes equal to the inputs', () => {
    for (const [tool, args] of [['bsdtar', ['-xf', archive, '-C']], ['7z', ['x', '-txar', archive, '-y']]] as const) {
      const out = tempDir(`x-${tool}`);
      if (tool === 'bsdtar') run(tool, [...args, out]);
      else run(tool, [...args, `-o${out}`]);
      for (const [p, bytes] of Object.entries(sample.files)) expect(sha1(readFileSync(path.join(out, p))), `${tool} ${p}`).toBe(sha1(bytes));
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('a flipped byte inside the compressed TOC is rejected by bsdtar and by our reader', async () => {
    const bad = flipped('toc-flip.pkg', 28 + 40);
    expect(tryRun('bsdtar', ['-tf', bad]).status).not.toBe(0);
    await expect(openXar(bad)).rejects.toThrow(InputFileError);
    expect((await verifyXar(bad)).length).toBeGreaterThan(0);
  });

  it('a flipped stored TOC checksum is rejected by bsdtar ("Sumcheck") and by our reader', async () => {
    const bad = flipped('cksum-flip.pkg', rawXar(archive).heapStart + 3);
    const r = tryRun('bsdtar', ['-tf', bad]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/sumcheck/i);
    await expect(openXar(bad)).rejects.toThrow(/TOC checksum mismatch/);
    const problems = await verifyXar(bad);
    expect(problems).toEqual([expect.objectContaining({ where: `${bad}:TOC`, message: expect.stringMatching(/^TOC checksum mismatch/) })]);
  });

  it('bsdtar still reads an archive with a stapled ticket trailer', () => {
    const stapled = path.join(dir, 'stapled-bsdtar.pkg');
    copyFileSync(archive, stapled);
    const ticket = Buffer.concat([Buffer.from('s8ch'), Buffer.alloc(60, 7)]);
    appendFileSync(stapled, Buffer.concat([encodeStapleTrailer(1, 0), ticket, encodeStapleTrailer(2, ticket.length)]));
    expect(run('bsdtar', ['-tf', stapled]).trim().split('\n').sort()).toEqual(EXPECTED_PATHS);
  });

  it('reads a xar written by bsdtar (an independent writer): zlib members, nesting, checksums', async () => {
    const f = path.join(FIXTURES, 'bsdtar-small.xar');
    const a = await openXar(f);
    expect(a.entries.map((e) => `${e.path}:${e.type}`)).toEqual(['hello.txt:file', 'dir:directory', 'dir/numbers.txt:file']);
    expect((await readXarEntryBytes(a, 'hello.txt')).toString()).toBe('hello from bsdtar\n');
    const numbers = Array.from({ length: 2000 }, (_, i) => `${i + 1}\n`).join('');
    expect((await readXarEntryBytes(a, 'dir/numbers.txt')).toString()).toBe(numbers);
    // libarchive 3.6's xar writer appends a copy of the first 20 compressed-TOC bytes after the heap (see README)
    const bytes = readFileSync(f);
    expect(bytes.subarray(-20).equals(bytes.subarray(28, 48))).toBe(true);
    expect(await verifyXar(f)).toEqual([{ where: f, message: '20 bytes after the heap (from offset 4894) are neither heap data nor a stapled ticket' }]);
  });
});

describe('xar verification', () => {
  it('reports every flipped heap byte: one problem per damaged member, nothing else', async () => {
    const a = await openXar(archive);
    const payload = findXarEntry(a, 'aiwatch.pkg/Payload')!.data!;
    const bom = findXarEntry(a, 'aiwatch.pkg/Bom')!.data!;
    const bad = flipped('heap-flip.pkg', a.heapStart + payload.offset + 12345);
    const b = readFileSync(bad);
    b[a.heapStart + bom.offset + bom.length - 3]! ^= 0x01;
    writeFileSync(bad, b);
    const problems = await verifyXar(bad);
    expect(problems.map((p) => p.where)).toEqual([`${bad}:aiwatch.pkg/Bom`, `${bad}:aiwatch.pkg/Payload`]);
    expect(problems[1]!.message).toMatch(/^archived-checksum mismatch: TOC says [0-9a-f]{40}, the stored bytes hash to [0-9a-f]{40}$/);
    await expect(openXar(bad)).resolves.toBeDefined(); // the TOC itself is intact
  });

  it('detects stapled tickets after the heap, and reports unexplained trailing bytes', async () => {
    const stapled = path.join(dir, 'stapled.pkg');
    copyFileSync(archive, stapled);
    const ticket = Buffer.concat([Buffer.from('s8ch'), Buffer.alloc(60, 7)]);
    appendFileSync(stapled, Buffer.concat([encodeStapleTrailer(1, 0), ticket, encodeStapleTrailer(2, ticket.length)]));
    const a = await openXar(stapled);
    const size = readFileSync(archive).length;
    expect(a.staples).toEqual([{ offset: size + 16, length: 64, version: 1, startsWithS8ch: true }]);
    expect(a.trailing).toBeUndefined();
    expect(await verifyXar(stapled)).toEqual([]);

    const junk = path.join(dir, 'junk.pkg');
    copyFileSync(archive, junk);
    appendFileSync(junk, Buffer.from('not a ticket'));
    expect(await verifyXar(junk)).toEqual([{ where: junk, message: `12 bytes after the heap (from offset ${size}) are neither heap data nor a stapled ticket` }]);
  });

  it('a file that is not a xar is one problem, not a crash', async () => {
    const f = path.join(dir, 'not.xar');
    writeFileSync(f, 'hello, this is not a xar archive at all');
    expect(await verifyXar(f)).toEqual([{ where: f, message: expect.stringMatching(/^not a xar archive: magic is 0x68656c6c/) }]);
    await expect(verifyXar(path.join(dir, 'missing.xar'))).rejects.toThrow(InputFileError);
  });

  it('streams an entry raw or decoded', async () => {
    const a = await openXar(archive);
    const chunks: Buffer[] = [];
    for await (const c of readXarEntry(a, 'Distribution', { raw: true })) chunks.push(Buffer.from(c));
    const raw = Buffer.concat(chunks);
    expect(raw[0]).toBe(0x78);
    expect(sha1(raw)).toBe(findXarEntry(a, 'Distribution')!.data!.archivedChecksum!.hex);
    await expect(readXarEntryBytes(a, 'aiwatch.pkg/Payload', 1024)).rejects.toThrow(/more than 1024 bytes/);
    expect(() => readXarEntry(a, 'aiwatch.pkg')).toThrow(/is a directory, not a file/);
  });
});

describe('xar layout: the CRC-32 known without reading', () => {
  async function bytesOf(inputs: XarInput[]): Promise<{ crc32?: number; bytes: Buffer }> {
    const layout = await layoutXar(inputs, { creationTime: CREATION });
    const parts: Buffer[] = [];
    for await (const c of layout.bytes()) parts.push(Buffer.from(c));
    return { crc32: layout.crc32, bytes: Buffer.concat(parts) };
  }

  it('equals zlib.crc32 of the bytes when every file or stream member comes with its CRC-32', async () => {
    const s = sampleInputs(tempDir('crc'));
    const payload = s.files['aiwatch.pkg/Payload']!;
    const scripts = s.files['aiwatch.pkg/Scripts']!;
    const known = (b: Buffer) => ({ size: b.length, sha1: sha1(b), crc32: zlib.crc32(b) >>> 0 });
    const inputs = s.inputs.map((i): XarInput => {
      if (!('source' in i)) return i;
      if (i.path === 'aiwatch.pkg/Payload' && 'file' in i.source) return { ...i, source: { file: i.source.file, known: known(payload) } };
      if (i.path === 'aiwatch.pkg/Scripts' && 'open' in i.source) return { ...i, source: { open: i.source.open, known: known(scripts) } };
      return i;
    });
    const r = await bytesOf(inputs);
    expect(r.crc32).toBe(zlib.crc32(r.bytes) >>> 0);
  });

  it('is undefined when a member read from a file has no CRC-32 given (the caller reads the archive for it)', async () => {
    const s = sampleInputs(tempDir('crc-none'));
    expect((await bytesOf(s.inputs)).crc32).toBeUndefined();
  });
});

describe('xar streaming', () => {
  it('memory does not grow with member size: 256 MiB stored member, peak RSS growth well under the member size', async () => {
    const big = path.join(dir, 'big.bin');
    const size = 256 * 1024 * 1024;
    writeFileSync(big, '');
    truncateSync(big, size); // sparse zeros: the test measures our buffering, not the disk
    const out = path.join(dir, 'big.pkg');
    const base = process.memoryUsage().rss;
    let peak = base;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      await writeXarFile(out, [{ path: 'p.pkg/Payload', source: { file: big } }, { path: 'p.pkg/PackageInfo', source: { bytes: Buffer.from('<pkg-info/>') }, encoding: 'zlib' }]);
      const a = await openXar(out);
      expect(findXarEntry(a, 'p.pkg/Payload')!.data!.length).toBe(size);
      expect(await verifyXar(a)).toEqual([]);
    } finally {
      clearInterval(timer);
      rmSync(big, { force: true });
      rmSync(out, { force: true });
    }
    // Measured ~70 MiB for 64 MiB, 256 MiB and 1 GiB members alike (unreclaimed 1 MiB read chunks); buffering
    // the member would add at least its 256 MiB.
    expect(peak - base).toBeLessThan(128 * 1024 * 1024);
  });
});

describe('xar writer input checks', () => {
  const sink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });

  it('refuses bad paths, duplicates, zlib Payload/Scripts — all at once', async () => {
    const b = { bytes: Buffer.from('x') };
    const err = await writeXar(sink(), [
      { path: '/abs', source: b },
      { path: 'a/../b', source: b },
      { path: 'p.pkg/Payload', source: b, encoding: 'zlib' },
      { path: 'x', source: b, mode: 0o10000 },
    ]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).problems).toEqual([
      'xar entry "/abs": expected a relative path of non-empty names without "." or ".." (e.g. "aiwatch.pkg/Payload")',
      'xar entry "a/../b": expected a relative path of non-empty names without "." or ".." (e.g. "aiwatch.pkg/Payload")',
      'xar entry "p.pkg/Payload": Payload must be stored (application/octet-stream); Installer rejects it zlib-encoded',
      'xar entry "x": mode 4096 is not a permission value (0 … 0o7777)',
    ]);
    await expect(writeXar(sink(), [{ path: 'a', source: b }, { path: 'a', source: b }])).rejects.toThrow(/"a": listed twice/);
    await expect(writeXar(sink(), [{ path: 'a', source: b }, { path: 'a/b', source: b }])).rejects.toThrow(/"a": is a file and also a folder/);
  });

  it('writes an archive of directories only: heap = the checksum', async () => {
    const f = path.join(dir, 'dirs.xar');
    await writeXarFile(f, [{ path: 'a/b', directory: true, mode: 0o755 }]);
    const a = await openXar(f);
    expect(a.entries.map((e) => [e.path, e.type, e.mode])).toEqual([['a', 'directory', 0o700], ['a/b', 'directory', 0o755]]);
    expect(a.fileSize).toBe(a.heapStart + 20);
    expect(await verifyXar(a)).toEqual([]);
  });

  it('names a missing member file, and refuses a member that changes between passes', async () => {
    await expect(writeXar(sink(), [{ path: 'P', source: { file: path.join(dir, 'nope') } }])).rejects.toThrow(/nope: xar entry "P": no such file/);
    let n = 0;
    const open = () => (async function* () { n += 1; yield Buffer.from(n === 1 ? 'first' : 'second'); })();
    await expect(writeXar(sink(), [{ path: 'P', source: { open } }])).rejects.toThrow(/xar entry "P": changed while the archive was written/);
  });

  it('reads a stored member once when its size and sha1 are known, and checks them while copying', async () => {
    let opens = 0;
    const data = Buffer.from('known payload');
    const open = () => (async function* () { opens += 1; yield data; })();
    const out: Buffer[] = [];
    const collect = new Writable({ write: (c, _e, cb) => (out.push(c), cb()) });
    await writeXar(collect, [{ path: 'Payload', source: { open, known: { size: data.length, sha1: sha1(data) } } }], { creationTime: CREATION });
    expect(opens).toBe(1);
    const wrong = { size: data.length, sha1: sha1(Buffer.from('other')) };
    await expect(writeXar(sink(), [{ path: 'Payload', source: { open, known: wrong } }])).rejects.toThrow(/changed while the archive was written/);
  });
});

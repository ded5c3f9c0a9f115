import { mkdtempSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { dosDateFor, readZip, writeZip, writeZipLeading, type ZipEntryInput } from '../../src/formats/zip.js';
import { describeWithTools, run } from '../helpers/tools.js';

const dir = mkdtempSync(path.join(tmpdir(), 'zip-test-'));
const EPOCH = 1700000000; // 2023-11-14T22:13:20Z

async function make(name: string, entries: ZipEntryInput[], epoch = EPOCH): Promise<string> {
  const file = path.join(dir, name);
  const out = createWriteStream(file);
  await writeZip(entries, epoch, out);
  out.end();
  await finished(out);
  return file;
}

const big = path.join(dir, 'big.bin');
writeFileSync(big, Buffer.alloc(300_000, 7));
const entries: ZipEntryInput[] = [
  { name: 'aiwatch-1.0.0-macos-arm64.pkg', mode: 0o644, source: { file: big } },
  { name: 'cleanup-runlayer-scan.sh', mode: 0o755, source: { bytes: Buffer.from('#!/bin/sh\nexit 0\n') } },
  { name: 'README.txt', mode: 0o644, source: { bytes: Buffer.from('hello\n') } },
];

describe('release zip', () => {
  it('stores the UTC calendar time of the epoch whatever the local time zone', async () => {
    const saved = process.env.TZ;
    try {
      process.env.TZ = 'UTC';
      const a = readFileSync(await make('a.zip', entries));
      process.env.TZ = 'Pacific/Auckland';
      const b = readFileSync(await make('b.zip', entries));
      process.env.TZ = 'America/Los_Angeles';
      const c = readFileSync(await make('c.zip', entries));
      expect(b.equals(a)).toBe(true);
      expect(c.equals(a)).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
    const listed = await readZip(path.join(dir, 'a.zip'));
    expect(listed.map((e) => [e.name, e.mode, e.mtime])).toEqual([
      ['aiwatch-1.0.0-macos-arm64.pkg', 0o644, '2023-11-14T22:13:20.000Z'],
      ['cleanup-runlayer-scan.sh', 0o755, '2023-11-14T22:13:20.000Z'],
      ['README.txt', 0o644, '2023-11-14T22:13:20.000Z'],
    ]);
  });

  it('clamps epochs before 1980 to the DOS minimum', () => {
    const d = dosDateFor(0);
    expect([d.getFullYear(), d.getMonth(), d.getDate(), d.getHours()]).toEqual([1980, 0, 1, 0]);
  });
});

describeWithTools(['unzip', 'bsdtar'], 'release zip read by independent readers', () => {
  it('unzip -t passes and bsdtar extracts identical bytes with modes', async () => {
    const file = await make('r.zip', entries);
    expect(run('unzip', ['-t', file])).toMatch(/No errors detected/);
    const listing = run('unzip', ['-Z', '-l', file]);
    expect(listing).toMatch(/-rwxr-xr-x.*cleanup-runlayer-scan\.sh/);
    const x = mkdtempSync(path.join(dir, 'x-'));
    run('bsdtar', ['-xf', file, '-C', x]);
    expect(readFileSync(path.join(x, 'aiwatch-1.0.0-macos-arm64.pkg')).equals(readFileSync(big))).toBe(true);
    expect(readFileSync(path.join(x, 'README.txt'), 'utf8')).toBe('hello\n');
  });
});

describe('release zip: a stored file with the CRC-32 its writer computed', () => {
  const crc = zlib.crc32(readFileSync(big)) >>> 0;
  const stored = (known?: { size: number; crc32: number }): ZipEntryInput[] => [
    { name: 'a.pkg', mode: 0o644, source: known ? { file: big, known } : { file: big }, compress: false },
    { name: 'b.txt', mode: 0o644, source: { bytes: Buffer.from('b\n') } },
  ];

  it('writes the same bytes as when the zip computes it, and unzip -t agrees with the CRC', async () => {
    const a = readFileSync(await make('known.zip', stored({ size: 300_000, crc32: crc })));
    const b = readFileSync(await make('unknown.zip', stored()));
    expect(a.equals(b)).toBe(true);
    expect(a.readUInt32LE(14)).toBe(crc); // the local header carries it: no data descriptor
    expect(a.readUInt16LE(6) & 8).toBe(0);
  });

  it('refuses a file whose bytes no longer match the CRC-32 given (changed since it was written)', async () => {
    await expect(make('stale.zip', stored({ size: 300_000, crc32: (crc ^ 1) >>> 0 }))).rejects.toThrow(/changed while the zip was written \(CRC-32/);
    await expect(make('short.zip', stored({ size: 299_999, crc32: crc }))).rejects.toThrow(/is 300000 bytes, its writer said 299999/);
  });

  // The release's pkg when it is only laid out (no notarize/staple step): its bytes come from a reader, in pieces.
  const pieces = (): AsyncIterable<Uint8Array> =>
    (async function* () {
      const all = readFileSync(big);
      for (let at = 0; at < all.length; at += 70_001) yield all.subarray(at, at + 70_001);
    })();

  it('a streamed stored entry gives the same bytes as the same data from a file', async () => {
    const a = readFileSync(await make('open.zip', [{ ...stored()[0]!, source: { open: pieces, known: { size: 300_000, crc32: crc } } }, stored()[1]!]));
    expect(a.equals(readFileSync(await make('file.zip', stored())))).toBe(true);
  });

  it('refuses a streamed entry whose bytes do not match its CRC-32 or size', async () => {
    const entry = (known: { size: number; crc32: number }): ZipEntryInput[] => [{ name: 'a.pkg', mode: 0o644, source: { open: pieces, known }, compress: false }];
    await expect(make('open-crc.zip', entry({ size: 300_000, crc32: (crc ^ 1) >>> 0 }))).rejects.toThrow(/zip entry a\.pkg: changed while the zip was written \(CRC-32/);
    await expect(make('open-size.zip', entry({ size: 300_001, crc32: crc }))).rejects.toThrow(/changed while the zip was written \(expected 300001 bytes, read 300000\)/);
  });
});

describeWithTools(['unzip'], 'release zip with a known CRC read by unzip', () => {
  it('unzip -t passes', async () => {
    const file = await make('known-t.zip', [{ name: 'a.pkg', mode: 0o644, source: { file: big, known: { size: 300_000, crc32: zlib.crc32(readFileSync(big)) >>> 0 } }, compress: false }]);
    expect(run('unzip', ['-t', file])).toMatch(/No errors detected/);
  });
});

describe('release zip with its pkg first (writeZipLeading)', () => {
  const data = readFileSync(big);
  const crc = zlib.crc32(data) >>> 0;
  const sha = createHash('sha256').update(data).digest('hex');
  const pieces = (): AsyncIterable<Uint8Array> =>
    (async function* () {
      for (let at = 0; at < data.length; at += 65_537) yield data.subarray(at, at + 65_537);
    })();
  const lead = (known = { size: data.length, crc32: crc }) => ({ name: 'aiwatch-1.0.0-macos-arm64.pkg', mode: 0o644, source: { open: pieces, known } });
  const docs = (pkgSha: string): ZipEntryInput[] => [
    { name: 'SHA256SUMS', mode: 0o644, source: { bytes: Buffer.from(`${pkgSha}  aiwatch-1.0.0-macos-arm64.pkg\n`) } },
    { name: 'cleanup-runlayer-scan.sh', mode: 0o755, source: { bytes: Buffer.from('#!/bin/sh\nexit 0\n') } },
    { name: 'README.txt', mode: 0o644, source: { bytes: Buffer.from(`pkg ${pkgSha}\n`) } },
  ];

  async function makeLeading(name: string, known?: { size: number; crc32: number }): Promise<{ file: string; given: string[] }> {
    const file = path.join(dir, name);
    const out = createWriteStream(file);
    const given: string[] = [];
    await writeZipLeading(lead(known), async (h) => (given.push(h), docs(h)), EPOCH, out);
    out.end();
    await finished(out);
    return { file, given };
  }

  it("hands the pkg's SHA-256 to the entries after it; the central directory is in name order, the pkg's bytes first", async () => {
    const { file, given } = await makeLeading('lead.zip');
    expect(given).toEqual([sha]);
    const z = readFileSync(file);
    expect(z.readUInt32LE(0)).toBe(0x04034b50);
    expect(z.toString('utf8', 30, 30 + 29)).toBe('aiwatch-1.0.0-macos-arm64.pkg'); // first local entry
    expect(z.readUInt32LE(14)).toBe(crc); // its CRC-32 in the local header: no data descriptor
    const listed = (await readZip(file)).map((e) => e.name);
    expect(listed).toEqual(['README.txt', 'SHA256SUMS', 'aiwatch-1.0.0-macos-arm64.pkg', 'cleanup-runlayer-scan.sh']);
    const read = await readZip(file, () => true);
    expect(read.find((e) => e.name === 'README.txt')!.data!.toString()).toBe(`pkg ${sha}\n`);
    expect(read.find((e) => e.name.endsWith('.pkg'))!.data!.equals(data)).toBe(true);
  });

  it('the same entries, written pkg first or in name order, list alike and extract to the same bytes', async () => {
    const a = await readZip((await makeLeading('lead2.zip')).file, () => true);
    const byName = [...docs(sha), { ...lead(), compress: false }].sort((x, y) => (x.name < y.name ? -1 : 1));
    const b = await readZip(await make('ordered.zip', byName), () => true);
    const strip = (es: typeof a) => es.map((e) => ({ name: e.name, mode: e.mode, size: e.size, data: e.data!.toString('hex') }));
    expect(strip(a)).toEqual(strip(b));
  });

  it('refuses a pkg whose bytes do not match the CRC-32 or size it was laid out with', async () => {
    await expect(makeLeading('lead-crc.zip', { size: data.length, crc32: (crc ^ 1) >>> 0 })).rejects.toThrow(/zip entry aiwatch-1\.0\.0-macos-arm64\.pkg: changed while the zip was written \(CRC-32/);
    await expect(makeLeading('lead-size.zip', { size: data.length + 1, crc32: crc })).rejects.toThrow(/changed while the zip was written \(expected 300001 bytes, read 300000\)/);
  });
});

describeWithTools(['unzip', 'bsdtar', '7z'], 'release zip with its pkg first, read by independent readers', () => {
  it('unzip -t and 7z t pass, unzip lists in name order, bsdtar extracts identical bytes', async () => {
    const data = readFileSync(big);
    const file = path.join(dir, 'lead-tools.zip');
    const out = createWriteStream(file);
    await writeZipLeading(
      { name: 'b.pkg', mode: 0o644, source: { open: async function* () { yield data; }, known: { size: data.length, crc32: zlib.crc32(data) >>> 0 } } },
      async (h) => [{ name: 'a.txt', mode: 0o644, source: { bytes: Buffer.from(h) } }],
      EPOCH,
      out,
    );
    out.end();
    await finished(out);
    expect(run('unzip', ['-t', file])).toMatch(/No errors detected/);
    expect(run('7z', ['t', file])).toMatch(/Everything is Ok/);
    expect(run('unzip', ['-Z1', file]).trim().split('\n')).toEqual(['a.txt', 'b.pkg']);
    const x = mkdtempSync(path.join(dir, 'xl-'));
    run('bsdtar', ['-xf', file, '-C', x]);
    expect(readFileSync(path.join(x, 'b.pkg')).equals(data)).toBe(true);
    expect(readFileSync(path.join(x, 'a.txt'), 'utf8')).toBe(createHash('sha256').update(data).digest('hex'));
  });
});

describe('release zip: a failing output', () => {
  it('a write error (a full disk) is reported as it is, not as a problem of the input file', async () => {
    const full = new Writable({
      highWaterMark: 1,
      write(_chunk, _encoding, done) {
        done(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
      },
    });
    full.on('error', () => undefined);
    const entry: ZipEntryInput = { name: 'a.pkg', mode: 0o644, source: { file: big, known: { size: 300_000, crc32: zlib.crc32(readFileSync(big)) >>> 0 } }, compress: false };
    const err = await writeZip([entry], EPOCH, full).then(() => undefined, (e: unknown) => e as NodeJS.ErrnoException);
    expect(err?.code).toBe('ENOSPC');
  });
});

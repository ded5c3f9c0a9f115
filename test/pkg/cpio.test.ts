import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputFileError } from '../../src/errors.js';
import { cksum } from '../../src/formats/cksum.js';
import { formatCpioListing, readCpioEntries, writeCpio } from '../../src/pkg/cpio.js';
import { gzipParallel } from '../../src/formats/gzip.js';
import { planPayload, planScripts, type InstallFile, type PayloadEntry } from '../../src/pkg/payload.js';
import { describeWithTools, run } from '../helpers/tools.js';

const MTIME = 1_700_000_000;
const work = mkdtempSync(path.join(tmpdir(), 'cpio-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function collect(gen: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of gen) parts.push(b);
  return Buffer.concat(parts);
}

/** Pseudo-random bytes (deterministic). */
function noise(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

// Names with spaces, quotes, a backslash, and non-ASCII given precomposed (the payload stores NFD).
const ODD = [`Application Support/it's "quoted"`, 'caf\u00e9/na\u00efve \u65e5\u672c.txt', 'back\\slash'];
const bigFile = path.join(work, 'big.bin');
const bigData = noise(300_000, 3);
writeFileSync(bigFile, bigData);

const install: InstallFile[] = [
  { path: '/usr/local/lib/runlayer/aiwatch/aiwatch', mode: 0o755, source: { file: bigFile } },
  { path: '/usr/local/bin/aiwatch', kind: 'symlink', mode: 0o755, linkTarget: '../lib/runlayer/aiwatch/aiwatch' },
  { path: `/Library/${ODD[0]}/file`, mode: 0o644, source: { bytes: Buffer.from('quoted\n') } },
  { path: `/Library/${ODD[1]}`, mode: 0o600, source: { bytes: Buffer.from('unicode\n') } },
  { path: `/Library/${ODD[2]}`, mode: 0o644, source: { bytes: Buffer.alloc(0) } },
  { path: '/Library/Empty', kind: 'dir', mode: 0o700 },
];

let entries: PayloadEntry[];
let archive: Buffer;
const checksums = new Map<string, number>();
beforeAll(async () => {
  entries = await planPayload(install, { mtime: MTIME });
  archive = await collect(writeCpio(entries, { chunkSize: 4096, checksums }));
  writeFileSync(path.join(work, 'payload.cpio'), archive);
});

/** The bytes each payload path should hold (files and symlink targets). */
function expectedData(e: PayloadEntry): Buffer | undefined {
  if (e.kind === 'symlink') return Buffer.from(e.linkTarget!);
  if (e.kind !== 'file') return undefined;
  return 'bytes' in e.source! ? Buffer.from(e.source.bytes) : readFileSync(e.source!.file);
}

describe('cpio odc writer', () => {
  it('starts with a hand-checked header for "."', () => {
    // magic, dev 0, ino 1, mode 040755, uid 0, gid 0, nlink 2 + 2 children, rdev 0, mtime, namesize 2, filesize 0
    const mtime = MTIME.toString(8).padStart(11, '0');
    const fields = ['070707', '000000', '000001', '040755', '000000', '000000', '000004', '000000', mtime, '000002', '00000000000'];
    expect(archive.toString('latin1', 0, 78)).toBe(`${fields.join('')}.\0`);
  });

  it('ends with TRAILER!!! and zero padding to a multiple of 512', () => {
    expect(archive.length % 512).toBe(0);
    const at = archive.lastIndexOf('TRAILER!!!\0');
    // all zero but nlink 1 and namesize 11 (octal 13)
    const fields = ['070707', '000000', '000000', '000000', '000000', '000000', '000001', '000000', '00000000000', '000013', '00000000000'];
    expect(archive.toString('latin1', at - 76, at)).toBe(fields.join(''));
    expect(archive.subarray(at + 11).every((b) => b === 0)).toBe(true);
  });

  it('is deterministic and streams files in chunks no larger than chunkSize', async () => {
    let biggest = 0;
    const parts: Buffer[] = [];
    for await (const b of writeCpio(entries, { chunkSize: 4096 })) {
      if (!b.includes('070707')) biggest = Math.max(biggest, b.length);
      parts.push(b);
    }
    expect(Buffer.concat(parts).equals(archive)).toBe(true);
    expect(biggest).toBeLessThanOrEqual(4096);
    expect(parts.length).toBeGreaterThan(300_000 / 4096);
  });

  it('reuseChunks: the same archive, file data read into one buffer reused for every chunk', async () => {
    const parts: Buffer[] = [];
    const seen = new Set<ArrayBufferLike>();
    for await (const b of writeCpio(entries, { chunkSize: 4096, reuseChunks: true })) {
      if (b.length === 4096) seen.add(b.buffer);
      parts.push(Buffer.from(b)); // a copy: the chunk is only valid until the next one is requested
    }
    expect(Buffer.concat(parts).equals(archive)).toBe(true);
    expect(seen.size).toBe(1);
  });

  it('reports path → cksum of every file and symlink while streaming', () => {
    for (const e of entries) {
      const data = expectedData(e);
      expect(checksums.get(e.path)).toBe(data ? cksum(data) : undefined);
    }
  });

  it('round-trips through our reader, entry for entry', async () => {
    const back = await readCpioEntries(archive, { keepData: true });
    expect(back.map((e) => e.path)).toEqual(entries.map((e) => e.path));
    back.forEach((r, i) => {
      const e = entries[i]!;
      const typeBits = { dir: 0o040000, file: 0o100000, symlink: 0o120000 }[e.kind];
      expect(r).toMatchObject({ kind: e.kind, mode: typeBits | e.mode, uid: 0, gid: 0, mtime: MTIME, ino: i + 1, nlink: e.nlink });
      const data = expectedData(e);
      expect(r.size).toBe(data?.length ?? 0);
      if (data) expect(r.data!.equals(data)).toBe(true);
      if (data) expect(r.cksum).toBe(cksum(data));
      if (e.kind === 'symlink') expect(r.linkTarget).toBe(e.linkTarget);
    });
  });

  it('reads from a stream of arbitrary chunk boundaries, keeping only what was asked', async () => {
    async function* dribble() {
      for (let i = 0; i < archive.length; i += 777) yield archive.subarray(i, i + 777);
    }
    const back = await readCpioEntries(dribble(), { keepData: (p) => p.endsWith('.txt') });
    expect(back.filter((e) => e.data).map((e) => e.path)).toEqual([`./Library/${ODD[1]!.normalize('NFD')}`]);
    expect(back.find((e) => e.kind === 'symlink')!.linkTarget).toBe('../lib/runlayer/aiwatch/aiwatch');
    expect(formatCpioListing(back)).toContain(`100755\t0/0\t300000\t${MTIME}\t${cksum(bigData)}\t./usr/local/lib/runlayer/aiwatch/aiwatch\n`);
  });

  it('a source file that changed size since planning is an InputFileError', async () => {
    const f = path.join(work, 'shrinks');
    writeFileSync(f, Buffer.alloc(10_000, 1));
    const planned = await planPayload([{ path: 'x', mode: 0o644, source: { file: f } }], { mtime: 0 });
    truncateSync(f, 5000);
    await expect(collect(writeCpio(planned))).rejects.toThrow(InputFileError);
    await expect(collect(writeCpio(planned))).rejects.toThrow(/changed while packaging: expected 10000 bytes/);
    writeFileSync(f, Buffer.alloc(10_001, 1));
    await expect(collect(writeCpio(planned))).rejects.toThrow(/grew beyond the planned 10000 bytes/);
  });

  it('reader: clear errors for newc, garbage, truncation and a missing trailer', async () => {
    const newc = Buffer.from('070701' + '0'.repeat(200));
    await expect(readCpioEntries(newc, { what: 'x.pkg:Payload' })).rejects.toThrow(/x\.pkg:Payload: is a newc\/crc cpio archive \(magic 070701\); expected odc/);
    await expect(readCpioEntries(Buffer.from('hello world, not cpio at all, padding padding padding padding padding padding'))).rejects.toThrow(
      /bad cpio header magic "hello "/,
    );
    await expect(readCpioEntries(archive.subarray(0, 5000))).rejects.toThrow(/truncated at byte/);
    const noTrailer = archive.subarray(0, archive.lastIndexOf('TRAILER!!!') - 76);
    await expect(readCpioEntries(noTrailer)).rejects.toThrow(/ends without a TRAILER!!! entry/);
  });

  it('scripts archive: ./preinstall and ./postinstall 0755', async () => {
    const scripts = await planScripts([{ name: 'postinstall', source: { bytes: Buffer.from('#!/bin/sh\nexit 0\n') } }], { mtime: MTIME });
    const back = await readCpioEntries(await collect(writeCpio(scripts)));
    expect(back.map((e) => [e.path, e.mode.toString(8), e.size])).toEqual([
      ['.', '40755', 0],
      ['./postinstall', '100755', 17],
    ]);
  });
});

describeWithTools(['cpio'], 'cpio odc: GNU cpio reads ours, we read GNU cpio', () => {
  it('cpio -tv lists every entry with root ownership', () => {
    const listing = run('cpio', ['-tv', '--quiet', '-F', path.join(work, 'payload.cpio')]);
    const lines = listing.trim().split('\n');
    expect(lines).toHaveLength(entries.length);
    for (const line of lines) expect(line).toMatch(/^[-dl]r[-w][-x][-r][-w][-x][-r][-w][-x]\s+\d+\s+root\s+root\s/);
    expect(listing).toContain('./usr/local/bin/aiwatch -> ../lib/runlayer/aiwatch/aiwatch');
    expect(listing).toContain(`./Library/${ODD[0]}/file`);
  });

  it('cpio -idm extracts bytes, modes and link targets equal to the inputs', () => {
    const dest = path.join(work, 'gnu-x');
    mkdirSync(dest);
    run('cpio', ['-idm', '--quiet', '--no-absolute-filenames', '-F', path.join(work, 'payload.cpio')], { cwd: dest });
    for (const e of entries) {
      const p = path.join(dest, e.path);
      const st = lstatSync(p);
      if (e.kind !== 'symlink') expect(st.mode & 0o7777, e.path).toBe(e.mode); // Linux symlinks are always 0777
      if (e.kind === 'file') expect(readFileSync(p).equals(expectedData(e)!), e.path).toBe(true);
      if (e.kind === 'symlink') expect(readlinkSync(p)).toBe(e.linkTarget);
      if (e.kind === 'file') expect(Math.floor(st.mtimeMs / 1000), e.path).toBe(MTIME);
    }
  });

  it('our reader reads what `cpio -o -H odc` writes', async () => {
    const src = path.join(work, 'gnu-src');
    mkdirSync(path.join(src, 'sub dir', 'caf\u00e9'), { recursive: true });
    writeFileSync(path.join(src, 'sub dir', 'caf\u00e9', `it's "x"`), noise(70_000, 9));
    writeFileSync(path.join(src, 'empty'), '');
    symlinkSync('sub dir', path.join(src, 'link'));
    const list = ['.', './empty', './link', './sub dir', './sub dir/caf\u00e9', `./sub dir/caf\u00e9/it's "x"`];
    const gnu = Buffer.from(run('sh', ['-c', 'cpio -o -H odc --quiet | base64 -w0'], { cwd: src, input: list.join('\n') + '\n' }), 'base64');
    const back = await readCpioEntries(gnu, { keepData: true });
    // GNU cpio drops the leading "./" of the names it is given.
    expect(back.map((e) => e.path)).toEqual(list.map((p) => (p === '.' ? p : p.slice(2))));
    const file = back.at(-1)!;
    expect(file).toMatchObject({ kind: 'file', size: 70_000, cksum: cksum(noise(70_000, 9)) });
    expect(file.data!.equals(noise(70_000, 9))).toBe(true);
    expect(back[2]).toMatchObject({ kind: 'symlink', linkTarget: 'sub dir' });
    expect(back[0]!.kind).toBe('dir');
  });
});

describeWithTools(['bsdtar'], 'cpio odc: libarchive reads ours', () => {
  it('bsdtar -tvf lists it and -x extracts equal bytes', () => {
    const file = path.join(work, 'payload.cpio');
    const listing = run('bsdtar', ['-tvf', file]);
    expect(listing.trim().split('\n')).toHaveLength(entries.length);
    expect(listing).toMatch(/-rwxr-xr-x\s+1 0\s+0\s+300000 .* \.\/usr\/local\/lib\/runlayer\/aiwatch\/aiwatch/);
    const dest = path.join(work, 'bsdtar-x');
    mkdirSync(dest);
    run('bsdtar', ['-xpf', file, '-C', dest]);
    for (const e of entries) {
      if (e.kind === 'file') expect(readFileSync(path.join(dest, e.path)).equals(expectedData(e)!), e.path).toBe(true);
      if (e.kind === 'symlink') expect(readlinkSync(path.join(dest, e.path))).toBe(e.linkTarget);
    }
  });
});

describeWithTools(['bsdtar'], 'Payload = cpio odc | parallel gzip', () => {
  it('bsdtar reads the gzip-compressed archive; our reader reads it back through gunzip', async () => {
    const file = path.join(work, 'Payload');
    writeFileSync(file, await collect(gzipParallel(writeCpio(entries), { workers: 2, segmentSize: 64 * 1024 })));
    const listing = run('bsdtar', ['-tvf', file]);
    expect(listing.trim().split('\n')).toHaveLength(entries.length);
    const back = await readCpioEntries(Readable.from([readFileSync(file)]).pipe(createGunzip()));
    expect(back.map((e) => e.path)).toEqual(entries.map((e) => e.path));
    expect(back.find((e) => e.path.endsWith('/aiwatch/aiwatch'))!.cksum).toBe(cksum(bigData));
  });
});

/**
 * Random-access sources (src/formats/source.ts) and what reads through them: a zip read from memory, a stored zip
 * entry handed out as a window of the zip, and a xar / flat package read in place from that window — the same
 * archive as read from its own file, with problems named `zip:entry`, never a temporary path.
 */
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { describe, expect, it, onTestFinished } from 'vitest';
import { bufferSource, fileSource, handleSource, windowSource } from '../../src/formats/source.js';
import { readZip, writeZip, type ZipEntryInput } from '../../src/formats/zip.js';
import { openXar, readXarEntryBytes } from '../../src/pkg/xar-reader.js';
import { verifyXar } from '../../src/pkg/xar-verify.js';
import { readPkg } from '../../src/read/pkg-read.js';
import { sampleInputs, tempDir, writeXarFile } from '../pkg/xar-helpers.js';

const dir = tempDir('zip-source');

async function makeZip(name: string, entries: ZipEntryInput[]): Promise<string> {
  const file = path.join(dir, name);
  const out = createWriteStream(file);
  await writeZip(entries, 1700000000, out);
  out.end();
  await finished(out);
  return file;
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

describe('random-access sources', () => {
  const bytes = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));

  it('a buffer, a file, a file handle and a window read and stream the same ranges, clamped at the end', async () => {
    const file = path.join(dir, 'bytes.bin');
    writeFileSync(file, bytes);
    const fh = await open(file, 'r');
    onTestFinished(() => fh.close());
    for (const s of [bufferSource(bytes), fileSource(file, bytes.length), handleSource(fh, bytes.length)]) {
      expect(s.size).toBe(bytes.length);
      expect(await s.read(1000, 70_000)).toEqual(bytes.subarray(1000, 71_000));
      expect(await s.read(199_990, 100)).toEqual(bytes.subarray(199_990));
      expect(await collect(s.stream(5, 150_000))).toEqual(bytes.subarray(5, 150_005));
      const w = windowSource(s, 100, 100_000);
      expect(w.size).toBe(100_000);
      expect(await w.read(99_990, 50)).toEqual(bytes.subarray(100_090, 100_100));
      expect(await collect(w.stream(0, 200_000))).toEqual(bytes.subarray(100, 100_100));
    }
  });

  it('a window outside its parent is refused', () => {
    expect(() => windowSource(bufferSource(bytes), 199_999, 2)).toThrow(/outside a source of 200000 bytes/);
  });
});

describe('a zip read from a source; a stored entry read in place', () => {
  it('readZip over the zip bytes in memory lists and reads what it reads from the path', async () => {
    const zip = await makeZip('plain.zip', [
      { name: 'a.txt', mode: 0o644, source: { bytes: Buffer.from('alpha\n'.repeat(1000)) } },
      { name: 'b.bin', mode: 0o755, source: { bytes: Buffer.alloc(5000, 3) }, compress: false },
    ]);
    const byPath = await readZip(zip, { sha256: true, take: () => 'memory' });
    const fromMemory = await readZip({ name: zip, source: bufferSource(readFileSync(zip)) }, { sha256: true, take: () => 'memory' });
    expect(fromMemory).toEqual(byPath);
    expect(fromMemory[0]!.data!.toString()).toBe('alpha\n'.repeat(1000));
  });

  it('a window take hands out a stored entry as a window of the zip (hashed on the way) and reads a deflated one as asked', async () => {
    const stored = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
    const zip = await makeZip('window.zip', [
      { name: 'small.txt', mode: 0o644, source: { bytes: Buffer.from('deflated text\n'.repeat(50)) } },
      { name: 'stored.bin', mode: 0o644, source: { bytes: stored }, compress: false },
    ]);
    const entries = await readZip(zip, { sha256: true, take: () => ({ window: true, otherwise: 'memory' }) });
    const [small, win] = entries;
    expect(small!.source).toBeUndefined();
    expect(small!.data!.toString()).toBe('deflated text\n'.repeat(50));
    expect(win!.data).toBeUndefined();
    expect(win!.file).toBeUndefined();
    expect(win!.source!.size).toBe(stored.length);
    expect(await collect(win!.source!.stream(0, stored.length))).toEqual(stored);
    expect(win!.sha256).toBe((await readZip(zip, { sha256: true, take: () => 'memory' }))[1]!.sha256);
  });
});

describe('a pkg stored in a zip, read in place', () => {
  const inputs = sampleInputs(dir, 300_000);

  async function pkgAndZip(pkgBytes?: (b: Buffer) => Buffer): Promise<{ pkg: string; zip: string }> {
    const pkg = path.join(dir, 'sample.pkg');
    await writeXarFile(pkg, inputs.inputs);
    if (pkgBytes) writeFileSync(pkg, pkgBytes(readFileSync(pkg)));
    const zip = await makeZip('release.zip', [
      { name: 'manifest.json', mode: 0o644, source: { bytes: Buffer.from('{}\n') } },
      { name: 'sample.pkg', mode: 0o644, source: { file: pkg }, compress: false },
    ]);
    return { pkg, zip };
  }

  async function nested(zip: string): Promise<{ name: string; source: NonNullable<Awaited<ReturnType<typeof readZip>>[number]['source']> }> {
    const e = (await readZip(zip, { take: (x) => (x.name.endsWith('.pkg') ? { window: true, otherwise: 'skip' } : 'skip') })).find((x) => x.name === 'sample.pkg')!;
    return { name: `${zip}:sample.pkg`, source: e.source! };
  }

  it('opens as the same archive as from its own file, members and all', async () => {
    const { pkg, zip } = await pkgAndZip();
    const inPlace = await openXar(await nested(zip));
    const own = await openXar(pkg);
    expect(inPlace.file).toBe(`${zip}:sample.pkg`);
    expect({ ...inPlace, file: '', source: undefined }).toEqual({ ...own, file: '', source: undefined });
    expect(await readXarEntryBytes(inPlace, 'aiwatch.pkg/Scripts')).toEqual(inputs.files['aiwatch.pkg/Scripts']);
    expect(await verifyXar(inPlace)).toEqual([]);
    const read = await readPkg(await nested(zip));
    const ownRead = await readPkg(pkg);
    expect(read.file).toBe(`${zip}:sample.pkg`);
    expect(read.components.map((c) => c.errors)).toEqual(ownRead.components.map((c) => c.errors));
  });

  it('a damaged member is named zip:entry:member, and a pkg that is not a xar zip:entry', async () => {
    const scriptsAt = (b: Buffer): number => b.indexOf(inputs.files['aiwatch.pkg/Scripts']!.subarray(0, 64));
    const { zip } = await pkgAndZip((b) => {
      const c = Buffer.from(b);
      c[scriptsAt(c) + 10]! ^= 0xff;
      return c;
    });
    const problems = await verifyXar(await nested(zip));
    expect(problems.map((p) => p.where)).toEqual([`${zip}:sample.pkg:aiwatch.pkg/Scripts`]);
    expect(problems[0]!.message).toMatch(/checksum/);
    const { zip: notXar } = await pkgAndZip((b) => Buffer.concat([Buffer.from('nope'), b.subarray(4)]));
    const [p] = await verifyXar(await nested(notXar));
    expect(p!.where).toBe(`${notXar}:sample.pkg`);
    expect(p!.message).toMatch(/^not a xar archive/);
  });
});

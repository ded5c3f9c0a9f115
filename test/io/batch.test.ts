/**
 * The batch writer (src/io/batch.ts) keeps the promises of the per-file writer (fs.ts writeFileAtomic): exact modes
 * whatever the umask, a link to a regular file followed (its target replaced, the link kept), devices, FIFOs,
 * sockets, folders and dangling links refused with the same OutputError, word for word — and a refused destination
 * leaves the whole group unwritten; a failure leaves no temporary sibling, and every file written before it whole.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OutputError } from '../../src/errors.js';
import { BatchWriter } from '../../src/io/batch.js';
import { writeFileAtomic } from '../../src/io/fs.js';
import { closeSockets, describeAsRoot, isStill, KIND_WORDS, makeSpecial, SPECIAL_KINDS } from './special-files.js';

const base = mkdtempSync(path.join(tmpdir(), 'aiwatch-io-batch-'));
let n = 0;
function fresh(): string {
  n += 1;
  const d = path.join(base, `case-${n}`);
  mkdirSync(d);
  return d;
}
afterAll(async () => {
  await closeSockets();
  rmSync(base, { recursive: true, force: true });
});

const bytes = (s: string): Uint8Array => Buffer.from(s, 'utf8');

/** Every name under `dir`, recursively, sorted (temporary siblings included). */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

async function batch(files: Array<{ target: string; data: string; mode: number }>): Promise<unknown> {
  const w = new BatchWriter();
  try {
    await w.writeAll(files.map((f) => ({ ...f, data: bytes(f.data) })));
    await w.finish();
    return undefined;
  } catch (e) {
    await w.finish().catch(() => undefined);
    return e;
  }
}

/** What writeFileAtomic says about `target`, for comparison. */
async function perFileError(target: string): Promise<OutputError> {
  const e = await writeFileAtomic(target, 'x').then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(OutputError);
  return e as OutputError;
}

describe('BatchWriter', () => {
  it('writes many files in new folders with their exact modes (umask 077 too), content whole, no sibling left', async () => {
    const dir = fresh();
    const old = process.umask(0o077);
    try {
      const files = Array.from({ length: 40 }, (_, i) => [
        { target: path.join(dir, `t${i}`, 'a.mobileconfig'), data: `secret ${i}\n`, mode: 0o600 },
        { target: path.join(dir, `t${i}`, 'b.json'), data: `{"i":${i}}\n`.repeat(i + 1), mode: 0o644 },
      ]);
      const w = new BatchWriter();
      for (const group of files) await w.writeAll(group.map((f) => ({ ...f, data: bytes(f.data) })));
      await w.finish();
      for (const f of files.flat()) {
        expect(readFileSync(f.target, 'utf8')).toBe(f.data);
        expect(statSync(f.target).mode & 0o777).toBe(f.mode);
      }
      expect(tree(dir).filter((p) => p.includes('.partial-'))).toEqual([]);
      expect(readdirSync(dir)).toHaveLength(40);
    } finally {
      process.umask(old);
    }
  });

  it('replaces an existing file, and follows a link to a regular file (the link stays a link)', async () => {
    const dir = fresh();
    const real = path.join(dir, 'elsewhere', 'real.plist');
    mkdirSync(path.dirname(real));
    writeFileSync(real, 'old');
    mkdirSync(path.join(dir, 't'));
    symlinkSync(real, path.join(dir, 't', 'b.plist'));
    writeFileSync(path.join(dir, 't', 'a.mobileconfig'), 'old a');
    expect(await batch([
      { target: path.join(dir, 't', 'a.mobileconfig'), data: 'new a', mode: 0o600 },
      { target: path.join(dir, 't', 'b.plist'), data: 'new b', mode: 0o600 },
    ])).toBeUndefined();
    expect(readFileSync(path.join(dir, 't', 'a.mobileconfig'), 'utf8')).toBe('new a');
    expect(readFileSync(real, 'utf8')).toBe('new b');
    expect(lstatSync(path.join(dir, 't', 'b.plist')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(path.join(dir, 't', 'b.plist'))).toBe(real);
    expect(tree(dir).filter((p) => p.includes('.partial-'))).toEqual([]);
  });

  it.each([
    ['a folder', (p: string) => mkdirSync(p)],
    ['a dangling link', (p: string) => symlinkSync(path.join(path.dirname(p), 'nowhere'), p)],
    ['a link to a folder', (p: string) => (mkdirSync(`${p}.d`), symlinkSync(`${p}.d`, p))],
  ])('refuses %s at one destination with the per-file message, and writes none of the group', async (_what, make) => {
    const dir = fresh();
    const bad = path.join(dir, 't', 'b.plist');
    mkdirSync(path.dirname(bad));
    make(bad);
    const before = tree(dir);
    const e = await batch([
      { target: path.join(dir, 't', 'a.mobileconfig'), data: 'a', mode: 0o600 },
      { target: bad, data: 'b', mode: 0o600 },
    ]);
    expect(e).toBeInstanceOf(OutputError);
    expect((e as OutputError).exitCode).toBe(3);
    expect((e as OutputError).message).toBe((await perFileError(bad)).message);
    expect(tree(dir)).toEqual(before);
  });

  it('a failure mid-batch stops it: what was written before is whole, nothing half-written or temporary stays', async () => {
    const dir = fresh();
    writeFileSync(path.join(dir, 'blocker'), 'a file where a folder should be');
    const e = await batch([
      { target: path.join(dir, 'ok', 'a.mobileconfig'), data: 'whole', mode: 0o600 },
      { target: path.join(dir, 'blocker', 'x', 'b.plist'), data: 'never', mode: 0o600 },
      { target: path.join(dir, 'later', 'c.plist'), data: 'never', mode: 0o600 },
    ]);
    expect(e).toBeInstanceOf(OutputError);
    expect((e as OutputError).message).toMatch(/cannot create the output folder: a parent of this path is not a folder/);
    expect(readFileSync(path.join(dir, 'ok', 'a.mobileconfig'), 'utf8')).toBe('whole');
    expect(tree(dir)).toEqual(['blocker', 'ok', path.join('ok', 'a.mobileconfig')]);
  });
});

describeAsRoot('BatchWriter refuses special files as the per-file writer does', () => {
  for (const kind of SPECIAL_KINDS) {
    it(`refuses ${KIND_WORDS[kind]} (directly and through a link), word for word, and leaves the group unwritten`, async () => {
      const dir = fresh();
      const special = path.join(dir, 'special');
      await makeSpecial(kind, special);
      const via = path.join(dir, 'via-link');
      symlinkSync(special, via);
      for (const target of [special, via]) {
        const before = tree(dir);
        const e = await batch([
          { target: path.join(dir, 'first'), data: 'a', mode: 0o644 },
          { target, data: 'the org key', mode: 0o600 },
        ]);
        expect(e).toBeInstanceOf(OutputError);
        expect((e as OutputError).message).toBe((await perFileError(target)).message);
        expect(tree(dir)).toEqual(before);
      }
      expect(isStill(kind, special)).toBe(true);
    });
  }
});

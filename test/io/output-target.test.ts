/**
 * Outputs never destroy (src/io): an existing output path that is a device, a FIFO, a socket or a symbolic link to
 * one of those (or to nothing) is refused with an OutputError (exit 3) naming the path and what it is — by the early
 * check the commands call (checkOutputTarget) and by every writer (writeFileAtomic, writeStreamAtomic,
 * moveIntoPlace), also when the path turns into a device while the output is being produced. A symbolic link to a
 * regular file is followed: its target is replaced atomically from its own folder and the link stays a link.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { OutputError } from '../../src/errors.js';
import { moveIntoPlace, writeFileAtomic, writeStreamAtomic } from '../../src/io/fs.js';
import { checkOutputTarget, type OutputKind } from '../../src/io/output-target.js';
import { closeSockets, describeAsRoot, isStill, KIND_WORDS, link, makeSpecial, regular, snapshot, SPECIAL_KINDS } from './special-files.js';

const base = mkdtempSync(path.join(tmpdir(), 'aiwatch-io-target-'));
let n = 0;
/** A fresh empty folder for one case. */
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

async function refused(p: Promise<unknown>, pattern: RegExp): Promise<OutputError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'expected an OutputError').toBeInstanceOf(OutputError);
  expect((e as OutputError).exitCode).toBe(3);
  expect((e as OutputError).message).toMatch(pattern);
  return e as OutputError;
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describeAsRoot('outputs never destroy: src/io', () => {
  for (const kind of SPECIAL_KINDS) {
    for (const outKind of ['file', 'folder'] as OutputKind[]) {
      it(`checkOutputTarget (${outKind}) refuses ${KIND_WORDS[kind]}, and a link to one`, async () => {
        const dir = fresh();
        const special = path.join(dir, 'special');
        await makeSpecial(kind, special);
        await refused(checkOutputTarget(special, '--out', outKind), new RegExp(`^${esc(special)}: --out: is ${esc(KIND_WORDS[kind])}`));
        const via = link(special, path.join(dir, 'via-link'));
        await refused(checkOutputTarget(via, '--out', outKind), new RegExp(`^${esc(via)}: --out: is a symbolic link to ${esc(special)}, which is ${esc(KIND_WORDS[kind])}`));
        const chain = link('via-link', path.join(dir, 'chain'));
        await refused(checkOutputTarget(chain, '--out', outKind), new RegExp(`which is ${esc(KIND_WORDS[kind])}`));
        expect(isStill(kind, special)).toBe(true);
        expect(lstatSync(via).isSymbolicLink()).toBe(true);
      });
    }

    it(`every writer refuses ${KIND_WORDS[kind]} (directly and through a link) and leaves nothing`, async () => {
      const dir = fresh();
      const special = path.join(dir, 'special');
      await makeSpecial(kind, special);
      const via = link(special, path.join(dir, 'via-link'));
      const source = regular(path.join(base, `source-${n}`), 'the new content\n');
      const before = snapshot(dir);
      for (const target of [special, via]) {
        const words = target === via ? `is a symbolic link to ${esc(special)}, which is ${esc(KIND_WORDS[kind])}` : `is ${esc(KIND_WORDS[kind])}`;
        const pattern = new RegExp(`^${esc(target)}: ${words}; refusing to write over it`);
        await refused(writeFileAtomic(target, 'the org key'), pattern);
        let produced = false;
        await refused(writeStreamAtomic(target, async (out) => void ((produced = true), out.write('x'))), pattern);
        expect(produced, 'produce() must not run for a refused target').toBe(false);
        await refused(moveIntoPlace(source, target), pattern);
        expect(readFileSync(source, 'utf8'), 'the source of a refused move stays').toBe('the new content\n');
      }
      expect(isStill(kind, special)).toBe(true);
      expect(snapshot(dir)).toEqual(before);
    });
  }

  it('a dangling link is refused (file and folder outputs, and every writer); nothing is created at its target', async () => {
    const dir = fresh();
    const dangling = link('nowhere/target.txt', path.join(dir, 'dangling'));
    for (const k of ['file', 'folder'] as OutputKind[]) {
      await refused(checkOutputTarget(dangling, '--out', k), new RegExp(`^${esc(dangling)}: --out: is a symbolic link to nowhere/target\\.txt, which does not exist`));
    }
    await refused(writeFileAtomic(dangling, 'x'), /is a symbolic link to nowhere\/target\.txt, which does not exist/);
    expect(existsSync(path.join(dir, 'nowhere'))).toBe(false);
    expect(snapshot(dir)).toEqual(['l dangling']);
  });

  it('a link to a regular file: its target is replaced atomically in its own folder, the link stays a link', async () => {
    const dir = fresh();
    mkdirSync(path.join(dir, 'real'));
    mkdirSync(path.join(dir, 'links'));
    const target = regular(path.join(dir, 'real', 'profile.mobileconfig'));
    chmodSync(target, 0o644);
    const l1 = link('../real/profile.mobileconfig', path.join(dir, 'links', 'one'));
    const l2 = link('one', path.join(dir, 'links', 'two'));
    await checkOutputTarget(l2, '--out', 'file');
    await writeFileAtomic(l2, 'secret v1', { mode: 0o600 });
    expect(readlinkSync(l1)).toBe('../real/profile.mobileconfig');
    expect(readlinkSync(l2)).toBe('one');
    expect(readFileSync(target, 'utf8')).toBe('secret v1');
    expect(statSync(target).mode & 0o777).toBe(0o600);
    await writeStreamAtomic(l1, async (out) => void out.write('v2'));
    expect(readFileSync(l2, 'utf8')).toBe('v2');
    const src = regular(path.join(dir, 'src.bin'), 'v3');
    await moveIntoPlace(src, l2, { mode: 0o640 });
    expect(readFileSync(target, 'utf8')).toBe('v3');
    expect(statSync(target).mode & 0o777).toBe(0o640);
    expect(snapshot(dir)).toEqual(['d links', 'l links/one', 'l links/two', 'd real', 'f real/profile.mobileconfig 2']);
  });

  it('accepts new paths, regular files, folders and links to folders; refuses a file for a folder and a folder for a file', async () => {
    const dir = fresh();
    await checkOutputTarget(path.join(dir, 'new', 'deeper', 'x.zip'), '--out', 'file');
    await checkOutputTarget(path.join(dir, 'new', 'deeper'), '--out', 'folder');
    const file = regular(path.join(dir, 'file.txt'));
    await checkOutputTarget(file, '--out', 'file');
    await refused(checkOutputTarget(file, '--out', 'folder'), new RegExp(`^${esc(file)}: --out: is a file, expected a folder`));
    await checkOutputTarget(dir, '--out', 'folder');
    await refused(checkOutputTarget(dir, '--out', 'file'), new RegExp(`^${esc(dir)}: --out: is a folder, expected a file`));
    const toDir = link(dir, path.join(base, `link-to-dir-${n}`));
    await checkOutputTarget(toDir, '--out', 'folder');
    await refused(checkOutputTarget(path.join(file, 'below'), '--out', 'folder'), /is a file, so no folder can be created under it/);
    expect(snapshot(dir)).toEqual(['f file.txt 12']);
  });

  it('a target that becomes a device while the output is produced is refused at the rename', async () => {
    const dir = fresh();
    const target = path.join(dir, 'out.zip');
    await refused(
      writeStreamAtomic(target, async (out) => {
        await makeSpecial('char', target);
        out.write('zip bytes');
      }),
      new RegExp(`^${esc(target)}: is a character device; refusing to write over it`),
    );
    expect(isStill('char', target)).toBe(true);
    expect(snapshot(dir)).toEqual(['c out.zip']);
  });
});

/**
 * Special files for the "outputs never destroy" tests: a character device (mknod c 1 3, the numbers of /dev/null,
 * so nothing can happen even if it were written), a block device (mknod b 7 250, an unused loop number), a FIFO
 * (mkfifo), a listening unix socket (net.Server), and symbolic links to each, to a regular file, to a folder and to
 * nothing. mknod needs root: as in CI (which runs as root) the tests run; under CI=true without root they fail;
 * otherwise they are skipped with a note.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'vitest';
import { inCI } from '../helpers/tools.js';

export const isRoot = process.getuid?.() === 0;

/** `describe` that needs root (mknod): runs as root; fails under CI=true without root; skipped otherwise. */
export function describeAsRoot(name: string, fn: () => void): void {
  if (isRoot) describe(name, fn);
  else if (inCI) describe(name, () => it('requires root (mknod), as CI runs', () => { throw new Error('not root under CI=true: mknod needs root'); }));
  else describe.skip(`${name} (needs root for mknod)`, fn);
}

export type SpecialKind = 'char' | 'block' | 'fifo' | 'socket';
export const SPECIAL_KINDS: readonly SpecialKind[] = ['char', 'block', 'fifo', 'socket'];
/** How the refusal names each kind. */
export const KIND_WORDS: Record<SpecialKind, string> = { char: 'a character device', block: 'a block device', fifo: 'a FIFO (named pipe)', socket: 'a socket' };

const servers: net.Server[] = [];

/** Close the sockets' servers (afterAll). */
export async function closeSockets(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
}

/** Make a special file of `kind` at `file`. */
export async function makeSpecial(kind: SpecialKind, file: string): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  if (kind === 'char') execFileSync('mknod', [file, 'c', '1', '3']);
  else if (kind === 'block') execFileSync('mknod', [file, 'b', '7', '250']);
  else if (kind === 'fifo') execFileSync('mkfifo', [file]);
  else {
    const server = net.createServer();
    servers.push(server);
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(file, resolve));
  }
}

/** Whether `file` is still (not through a link) the special file of `kind`. */
export function isStill(kind: SpecialKind, file: string): boolean {
  const st = lstatSync(file);
  return { char: st.isCharacterDevice(), block: st.isBlockDevice(), fifo: st.isFIFO(), socket: st.isSocket() }[kind];
}

/** A symbolic link at `link` pointing at `target` (relative targets stay relative). */
export function link(target: string, linkPath: string): string {
  symlinkSync(target, linkPath);
  return linkPath;
}

/** A regular file with some content. */
export function regular(file: string, text = 'old content\n'): string {
  writeFileSync(file, text);
  return file;
}

/** Every name in `dir` with its type letter (f regular, d folder, l link, c/b/p/s special), sorted. */
export function snapshot(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).map(String).sort().map((n) => {
    const st = lstatSync(path.join(dir, n));
    const t = st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : st.isDirectory() ? 'd' : st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : st.isFIFO() ? 'p' : 's';
    return `${t} ${n}${t === 'f' ? ` ${statSync(path.join(dir, n)).size}` : ''}`;
  });
}

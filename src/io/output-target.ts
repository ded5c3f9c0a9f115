/**
 * What may stand at an output path. We run as root in CI, where a rename over `/dev/full`, a FIFO or a socket would
 * replace the device node with our file, so an existing output must be a regular file (file outputs) or a folder
 * (folder outputs), or a symbolic link to one. Refused with an {@link OutputError} (exit 3) naming the path and what
 * it is: character and block devices, FIFOs, sockets, links to any of those, and dangling links (we will not create
 * a file wherever a link happens to point). A link to a regular file is followed: the writers in fs.ts replace its
 * real target from the target's own folder, and the link stays a link.
 *
 * {@link checkOutputTarget} is the early check a command runs on `--out` before any work; {@link writeDestination}
 * and {@link assertReplaceable} are what every writer runs before creating its temporary sibling and again just
 * before the rename. Between that last lstat and rename(2) a hostile process could still swap the path (there is no
 * portable "rename unless a device"); the window is one system call wide.
 */
import { lstatSync, promises as fsp, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { OutputError } from '../errors.js';
import { errno, explain } from './errno.js';

export type OutputKind = 'file' | 'folder';

/** "a character device", "a folder", … for a non-following stat. */
export function describeStat(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a folder';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fsp.lstat(p);
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** Where a link leads: its real path and what stands there, or undefined when it leads nowhere. */
async function followLink(p: string): Promise<{ real: string; st: Stats } | undefined> {
  try {
    const real = await fsp.realpath(p);
    return { real, st: await fsp.stat(real) };
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ELOOP' || errno(e) === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** The refusal for a link at `p`: dangling (`to` undefined) or leading to something that is not `wanted`. */
async function linkProblem(p: string, to: { real: string; st: Stats } | undefined): Promise<string> {
  if (!to) return `is a symbolic link to ${await fsp.readlink(p)}, which does not exist; refusing to write through a dangling link (remove it, or give the path of a regular file)`;
  return `is a symbolic link to ${to.real}, which is ${describeStat(to.st)}; refusing to write over it`;
}

const wrongKind = (st: Stats, kind: OutputKind): string =>
  kind === 'folder' ? (st.isFile() ? 'is a file, expected a folder to write into' : `is ${describeStat(st)}, expected a folder to write into`) : st.isDirectory() ? 'is a folder, expected a file' : `is ${describeStat(st)}; refusing to write over it (expected a regular file, or a path that does not exist yet)`;

const fits = (st: Stats, kind: OutputKind): boolean => (kind === 'folder' ? st.isDirectory() : st.isFile());

/**
 * Fail early (before a long build) when `dir` could not become an output folder: the nearest existing path on the
 * way must be a writable folder (links to folders count). Creates nothing. `what` names the option ("--out").
 */
export async function checkOutputDir(dir: string, what: string): Promise<void> {
  const abs = path.resolve(dir);
  for (let d = abs; ; d = path.dirname(d)) {
    let st;
    try {
      st = await fsp.stat(d);
    } catch (e) {
      if ((errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') && d !== path.dirname(d)) continue;
      throw new OutputError(dir, `${what}: cannot use this folder: ${explain(e)}`, { cause: e });
    }
    if (!st.isDirectory()) {
      throw new OutputError(dir, d === abs ? `${what}: ${wrongKind(st, 'folder')}` : `${what}: ${d} is ${st.isFile() ? 'a file' : describeStat(st)}, so no folder can be created under it`);
    }
    try {
      await fsp.access(d, fsp.constants.W_OK);
    } catch (e) {
      throw new OutputError(dir, `${what}: ${d === abs ? 'the folder' : d} is not writable (${explain(e)})`, { cause: e });
    }
    return;
  }
}

/**
 * The early check of an output path (`what` names the option, e.g. "--out"), before any work: an existing path must
 * be of `kind` (a regular file, or a folder) or a link to one; a new path needs a writable folder above it.
 */
export async function checkOutputTarget(target: string, what: string, kind: OutputKind): Promise<void> {
  const st = await lstatOrUndefined(target).catch((e: unknown) => {
    throw new OutputError(target, `${what}: cannot use this path: ${explain(e)}`, { cause: e });
  });
  if (!st) return checkOutputDir(kind === 'folder' ? target : path.dirname(path.resolve(target)), what);
  if (st.isSymbolicLink()) {
    const to = await followLink(target);
    if (!to || !fits(to.st, kind)) {
      throw new OutputError(target, `${what}: ${to && (to.st.isFile() || to.st.isDirectory()) ? `is a symbolic link to ${to.real}, which ${wrongKind(to.st, kind)}` : await linkProblem(target, to)}`);
    }
    return kind === 'folder' ? checkOutputDir(to.real, what) : checkOutputDir(path.dirname(to.real), what);
  }
  if (!fits(st, kind)) throw new OutputError(target, `${what}: ${wrongKind(st, kind)}`);
  if (kind === 'folder') await checkOutputDir(target, what);
}

/**
 * Where a write to the file `target` lands: `target` itself when it is new or a regular file, the real path when it
 * is a link to a regular file. Anything else is refused (see the module comment).
 */
export async function writeDestination(target: string): Promise<string> {
  const st = await lstatOrUndefined(target);
  if (!st || st.isFile()) return target;
  if (st.isSymbolicLink()) {
    const to = await followLink(target);
    if (to?.st.isFile()) return to.real;
    throw new OutputError(target, to?.st.isDirectory() ? `is a symbolic link to ${to.real}, a folder; a folder stands where the file should go` : await linkProblem(target, to));
  }
  if (st.isDirectory()) throw new OutputError(target, 'a folder stands where the file should go');
  throw new OutputError(target, `is ${describeStat(st)}; refusing to write over it`);
}

/**
 * Just before renaming onto `dest` (a {@link writeDestination} result): it must still be absent or a regular file.
 * `shown` is the path the caller asked for, for the message.
 */
export async function assertReplaceable(dest: string, shown: string): Promise<void> {
  const st = await lstatOrUndefined(dest);
  if (!st || st.isFile()) return;
  const where = dest === shown ? '' : ` (${dest})`;
  throw new OutputError(shown, `${st.isDirectory() ? 'a folder now stands where the file should go' : `is ${describeStat(st)}${where}; refusing to write over it`}`);
}

/** {@link lstatOrUndefined} without a promise, and without building an error for a path that does not exist. */
function lstatSyncOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p, { throwIfNoEntry: false });
  } catch (e) {
    if (errno(e) === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** {@link followLink}, synchronously. */
function followLinkSync(p: string): { real: string; st: Stats } | undefined {
  try {
    const real = realpathSync(p);
    return { real, st: statSync(real) };
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ELOOP' || errno(e) === 'ENOTDIR') return undefined;
    throw e;
  }
}

/**
 * {@link writeDestination} as one synchronous call (the batch writer of io/batch.ts): the same answers and
 * refusals, word for word.
 */
export function writeDestinationSync(target: string): string {
  const st = lstatSyncOrUndefined(target);
  if (!st || st.isFile()) return target;
  if (st.isSymbolicLink()) {
    const to = followLinkSync(target);
    if (to?.st.isFile()) return to.real;
    if (to?.st.isDirectory()) throw new OutputError(target, `is a symbolic link to ${to.real}, a folder; a folder stands where the file should go`);
    throw new OutputError(target, to ? `is a symbolic link to ${to.real}, which is ${describeStat(to.st)}; refusing to write over it` : `is a symbolic link to ${readlinkSync(target)}, which does not exist; refusing to write through a dangling link (remove it, or give the path of a regular file)`);
  }
  if (st.isDirectory()) throw new OutputError(target, 'a folder stands where the file should go');
  throw new OutputError(target, `is ${describeStat(st)}; refusing to write over it`);
}

/** {@link assertReplaceable} as one synchronous call. */
export function assertReplaceableSync(dest: string, shown: string): void {
  const st = lstatSyncOrUndefined(dest);
  if (!st || st.isFile()) return;
  const where = dest === shown ? '' : ` (${dest})`;
  throw new OutputError(shown, `${st.isDirectory() ? 'a folder now stands where the file should go' : `is ${describeStat(st)}${where}; refusing to write over it`}`);
}

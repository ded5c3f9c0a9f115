/**
 * The only place that writes files. Every output is written to a temporary sibling and renamed into place,
 * so `--out` never holds a half-written artifact: on any error (disk full, interrupt, bad stream) the temporary
 * file is removed and the error is rethrown as an {@link OutputError}. Files that hold a secret are created 0600.
 * No writer replaces a device, FIFO or socket, nor writes through a dangling link; a link to a regular file has its
 * target replaced (output-target.ts), checked again just before the rename.
 *
 * Reading inputs also lives here so that "missing / unreadable / a directory" becomes one {@link InputFileError}.
 */
import { createWriteStream, promises as fsp, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { InputFileError, OutputError } from '../errors.js';
import { partialName, tempDirPrefix } from './debris.js';
import { explain } from './errno.js';
import { assertReplaceable, writeDestination } from './output-target.js';

export { checkOutputDir, checkOutputTarget, type OutputKind } from './output-target.js';

let counter = 0;

/**
 * A unique temporary name in the same folder as `target` (same filesystem, so rename is atomic), carrying our PID so
 * that a later run can remove it if we are killed (debris.ts).
 */
export function tempSibling(target: string): string {
  counter += 1;
  return path.join(path.dirname(target), partialName(path.basename(target), counter));
}

export interface WriteOptions {
  /** File mode; default 0o644. Use 0o600 for anything holding a secret. */
  mode?: number;
}

/** Create `dir` (and parents); a clear OutputError if it cannot be. */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new OutputError(dir, `cannot create the output folder: ${explain(e)}`, { cause: e });
  }
}

/** Set a staged path's mode and its access and modification times (seconds since the epoch), e.g. for pkgbuild. */
export async function setModeAndTime(target: string, mode: number, epoch: number): Promise<void> {
  await fsp.chmod(target, mode);
  await fsp.utimes(target, epoch, epoch);
}

/** Write `data` to `target` atomically (temp sibling + fsync + rename). */
export async function writeFileAtomic(target: string, data: string | Uint8Array, opts: WriteOptions = {}): Promise<void> {
  await writeStreamAtomic(
    target,
    async (out) => {
      out.write(data);
    },
    opts,
  );
}

/** The write buffer of {@link writeStreamAtomic}'s stream. */
const WRITE_BUFFER = 1 << 20;

/**
 * Write a large output atomically: `produce` writes into the given stream (respecting backpressure as it wishes);
 * when it resolves the stream is closed, synced and renamed onto `target`. If `produce` throws, nothing is left.
 */
export async function writeStreamAtomic(
  target: string,
  produce: (out: WriteStream) => Promise<void>,
  opts: WriteOptions = {},
): Promise<void> {
  const mode = opts.mode ?? 0o644;
  const dest = await writeDestination(target);
  await ensureDir(path.dirname(dest));
  const tmp = tempSibling(dest);
  let out: WriteStream | undefined;
  try {
    // 1 MiB of buffer (64 KiB by default): a large copy (the release's pkg into its zip) keeps reading while the
    // disk takes the last chunks, instead of waiting for each 64 KiB write (zip step at 256 MiB: 0.40 → 0.33 s).
    out = createWriteStream(tmp, { mode, flags: 'wx', highWaterMark: WRITE_BUFFER });
    const failed = new Promise<never>((_, reject) => out!.once('error', reject));
    failed.catch(() => undefined);
    await Promise.race([produce(out), failed]);
    out.end();
    await Promise.race([finished(out), failed]);
    const fh = await fsp.open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.chmod(tmp, mode);
    await assertReplaceable(dest, target);
    await fsp.rename(tmp, dest);
  } catch (e) {
    if (out && !out.closed) {
      // Wait for the stream to let go: destroyed while its open() is still pending, it would create the file
      // after we removed it, leaving a partial file behind.
      const closed = new Promise((resolve) => out!.once('close', resolve));
      out.destroy();
      await closed;
    }
    await rm(tmp, { force: true });
    if (e instanceof OutputError) throw e;
    if ((e as NodeJS.ErrnoException)?.code) throw new OutputError(target, `cannot write: ${explain(e)}`, { cause: e });
    throw e;
  }
}

/** Move a finished file (e.g. built in a temp dir) onto `target` atomically; copies across filesystems. */
export async function moveIntoPlace(source: string, target: string, opts: WriteOptions = {}): Promise<void> {
  const dest = await writeDestination(target);
  await ensureDir(path.dirname(dest));
  const tmp = tempSibling(dest);
  try {
    try {
      await fsp.rename(source, tmp);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
      await fsp.copyFile(source, tmp);
      await fsp.rm(source, { force: true });
    }
    if (opts.mode !== undefined) await fsp.chmod(tmp, opts.mode);
    await assertReplaceable(dest, target);
    await fsp.rename(tmp, dest);
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof OutputError) throw e;
    throw new OutputError(target, `cannot write: ${explain(e)}`, { cause: e });
  }
}

/**
 * A private temporary work folder (0700) in TMPDIR, removed after `fn` whatever happens — except a SIGKILL: its name
 * `aiwatch-deploy-<purpose>-<pid>-XXXXXX` lets the next run remove it (debris.ts).
 */
export async function withTempDir<T>(purpose: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), tempDirPrefix(purpose)));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * As {@link withTempDir}, but the folder is made only when `fn` first asks for it (`dir()`), so a run that spills
 * nothing creates nothing; removed after `fn` when it was made.
 */
export async function withLazyTempDir<T>(purpose: string, fn: (dir: () => Promise<string>) => Promise<T>): Promise<T> {
  let made: Promise<string> | undefined;
  try {
    return await fn(() => (made ??= mkdtemp(path.join(tmpdir(), tempDirPrefix(purpose)))));
  } finally {
    const dir = await made?.catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/** Remove a file of our own (a temporary one that held a secret), if it is there. */
export async function removeFile(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** Stat an input path and insist it is a readable regular file. `what` names the input ("--binary"). */
export async function checkInputFile(file: string, what: string): Promise<void> {
  let st;
  try {
    st = await fsp.stat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputFileError(file, `${what}: ${code === 'ENOENT' ? 'no such file' : explain(e)}`, { cause: e });
  }
  if (st.isDirectory()) throw new InputFileError(file, `${what}: is a folder, expected a file`);
  if (!st.isFile()) throw new InputFileError(file, `${what}: is not a regular file`);
  try {
    await fsp.access(file, fsp.constants.R_OK);
  } catch (e) {
    throw new InputFileError(file, `${what}: not readable (${explain(e)})`, { cause: e });
  }
}

/** Read a whole input file, mapping every failure to an InputFileError naming `what`. */
export async function readInputFile(file: string, what: string): Promise<Buffer> {
  await checkInputFile(file, what);
  try {
    return await fsp.readFile(file);
  } catch (e) {
    throw new InputFileError(file, `${what}: cannot read (${explain(e)})`, { cause: e });
  }
}

/** Read a UTF-8 text input file. */
export async function readInputText(file: string, what: string): Promise<string> {
  return (await readInputFile(file, what)).toString('utf8');
}

/** SHA-256 (hex) and size of a file, streamed. */
export async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const { createHash } = await import('node:crypto');
  const { createReadStream } = await import('node:fs');
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), size };
}

/**
 * A write stream on a file in a private staging folder (made by {@link withTempDir}). Not atomic and not synced:
 * staging files are never seen by the user — the finished artifact reaches `--out` through
 * {@link writeStreamAtomic} or {@link moveIntoPlace}.
 */
export function createStagingStream(file: string, mode = 0o644): WriteStream {
  return createWriteStream(file, { mode });
}

/** Write a whole staging file (see {@link createStagingStream}). */
export async function writeStagingFile(file: string, data: Uint8Array, mode = 0o644): Promise<void> {
  await fsp.writeFile(file, data, { mode });
}

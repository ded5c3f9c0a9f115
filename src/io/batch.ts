/**
 * Many small outputs at once (`tenants`: 10,000 folders × a few files): the protocol of {@link writeFileAtomic}
 * (fs.ts) — temporary sibling, fsync, rename — kept file for file, but as synchronous system calls on the handle
 * already open:
 *
 *   lstat the destination (no error built for a path that does not exist) · mkdir the folder once ·
 *   open the sibling `wx` · write · fchmod · fsync (thread pool) · close · lstat again · rename
 *
 * against ~12 thread-pool round trips, three lstats that throw ENOENT and a second open for the fsync in the
 * per-file writer. Everything but the fsync runs on this thread; the fsyncs go to libuv's pool, 8 at a time: fsync
 * is the cost (each commits the file system's journal), and on a busy disk one at a time waits 3-4 × longer for
 * the same work than 8 in flight (docs/decisions.md "Batch writes").
 *
 * What a reader of the folder can see is what {@link writeFileAtomic} guarantees: a file is absent, the old
 * one, or the new one whole — never part of one — also after a power loss, since each file's data is on disk
 * before its rename. A killed run leaves `.<name>.partial-<pid>-<n>` siblings, which the next run's sweep removes
 * (debris.ts); any other failure removes the sibling it was writing and stops the batch with an OutputError
 * (what was renamed before stays: every file is whole).
 */
import { closeSync, fchmodSync, fsync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { OutputError } from '../errors.js';
import { explain } from './errno.js';
import { tempSibling } from './fs.js';
import { assertReplaceableSync, writeDestinationSync } from './output-target.js';

export interface BatchFile {
  /** Where the file goes (a link to a regular file is followed, as fs.ts does). */
  target: string;
  data: Uint8Array;
  /** File mode (0o600 for anything holding a secret). */
  mode: number;
}

/** fsyncs in flight at once: enough to hide the journal's latency on a busy disk (see the module comment). */
const IN_FLIGHT = 8;

/**
 * Writes files atomically and durably: the bytes with synchronous calls on this thread, then each file's fsync on
 * libuv's thread pool (up to {@link IN_FLIGHT} at once), its close and rename when that returns. Remembers which
 * folders it has made. Call {@link finish} once the last file is handed in, also after a failure.
 */
export class BatchWriter {
  readonly #made = new Set<string>();
  readonly #inFlight = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;

  /**
   * Hand in `files` (e.g. one tenant's). Every destination is checked first, so a refused one leaves all of them
   * unwritten; then each is written, in order. Resolves when they are on their way (it waits while too many fsyncs
   * are in flight); throws an OutputError naming the file, also one of an earlier file that failed since.
   */
  async writeAll(files: readonly BatchFile[]): Promise<void> {
    this.#rethrow();
    const dests = files.map((f) => writeDestinationSync(f.target));
    for (const [i, f] of files.entries()) {
      const synced = this.#write(f, dests[i]!);
      const job: Promise<void> = synced.then(
        () => void this.#inFlight.delete(job),
        (error: unknown) => {
          this.#inFlight.delete(job);
          this.#failure ??= { error };
        },
      );
      this.#inFlight.add(job);
      while (this.#inFlight.size >= IN_FLIGHT) await Promise.race(this.#inFlight);
      this.#rethrow();
    }
  }

  /** Wait until every file handed in is synced and renamed; throws the first failure. */
  async finish(): Promise<void> {
    await Promise.all(this.#inFlight);
    this.#rethrow();
  }

  #rethrow(): void {
    if (this.#failure) throw this.#failure.error;
  }

  #dir(dir: string): void {
    if (this.#made.has(dir)) return;
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new OutputError(dir, `cannot create the output folder: ${explain(e)}`, { cause: e });
    }
    this.#made.add(dir);
  }

  /** Writes the sibling now (throws if that fails); the promise settles once it is synced and renamed. */
  #write(f: BatchFile, dest: string): Promise<void> {
    this.#dir(path.dirname(dest));
    const tmp = tempSibling(dest);
    let fd: number | undefined;
    const fail = (e: unknown): OutputError => {
      if (fd !== undefined) {
        try {
          closeSync(fd);
        } catch {
          // the write's own error is the one to report
        }
      }
      rmSync(tmp, { force: true });
      return e instanceof OutputError ? e : new OutputError(f.target, `cannot write: ${explain(e)}`, { cause: e });
    };
    try {
      fd = openSync(tmp, 'wx', f.mode);
      for (let at = 0; at < f.data.length; ) at += writeSync(fd, f.data, at, f.data.length - at);
      fchmodSync(fd, f.mode); // the mode given to open is masked by the umask
    } catch (e) {
      throw fail(e);
    }
    const open = fd;
    return new Promise<void>((resolve, reject) => {
      fsync(open, (err) => {
        try {
          if (err) throw err;
          closeSync(open);
          fd = undefined;
          assertReplaceableSync(dest, f.target);
          renameSync(tmp, dest);
          resolve();
        } catch (e) {
          reject(fail(e));
        }
      });
    });
  }
}

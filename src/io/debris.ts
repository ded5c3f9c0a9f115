/**
 * What a killed run leaves, and removing it on the next run. SIGKILL (an OOM killer, a cancelled CI job) cannot be
 * caught, so a run that dies keeps its private temporary folder in TMPDIR (a build's staging: the whole pkg; a
 * signing folder: scripts holding keys) and a `.partial` file in the output folder. Every such name carries the PID
 * of the process that made it:
 *   TMPDIR/aiwatch-deploy-<purpose>-<pid>-XXXXXX          a private folder (mkdtemp, 0700)   {@link tempDirPrefix}
 *   <folder>/.<name>.partial-<pid>-<n>                    a file being written atomically    {@link partialName}
 * and {@link sweepStaleDebris} removes those whose PID is gone. It removes nothing else: only names of exactly these
 * forms, only a real folder (resp. regular file) — never through a link —, only entries owned by our own user, never
 * our own PID's, never one whose process is alive (`kill(pid, 0)` answers anything but ESRCH). PIDs are only
 * meaningful within one PID namespace: a TMPDIR shared by containers with separate PID namespaces must not be
 * shared by concurrent runs (docs/decisions.md).
 */
import { promises as fsp, type Dirent } from 'node:fs';
import path from 'node:path';

const TEMP_DIR = /^aiwatch-deploy-[a-z][a-z0-9-]*-([1-9][0-9]{0,9})-[A-Za-z0-9]{6}$/;
const PARTIAL = /^\..+\.partial-([1-9][0-9]{0,9})-[1-9][0-9]*$/;

/** The mkdtemp prefix of a private temporary folder for `purpose` (lower-case words joined by '-'). */
export function tempDirPrefix(purpose: string, pid = process.pid): string {
  return `aiwatch-deploy-${purpose}-${pid}-`;
}

/** The name of the temporary sibling through which `base` is written. */
export function partialName(base: string, n: number, pid = process.pid): string {
  return `.${base}.partial-${pid}-${n}`;
}

/** Whether process `pid` exists (a process we may not signal still exists: EPERM). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

export interface SweepOptions {
  /** Told one line per folder where something was removed. */
  report?: (line: string) => void;
  /** Default {@link pidAlive}. */
  isAlive?: (pid: number) => boolean;
}

export interface Removed {
  path: string;
  pid: number;
  bytes: number;
}

/** Bytes under `p` without following links (iterative; a folder of our own making, so shallow). */
async function sizeOf(p: string): Promise<number> {
  let total = 0;
  const stack = [p];
  while (stack.length > 0) {
    const cur = stack.pop()!;
    const st = await fsp.lstat(cur).catch(() => undefined);
    if (!st) continue;
    total += st.isDirectory() ? 0 : st.size;
    if (st.isDirectory()) for (const name of await fsp.readdir(cur).catch(() => [] as string[])) stack.push(path.join(cur, name));
  }
  return total;
}

/** The debris entry `e` of `dir` stands for, or undefined when it is not ours to remove. */
async function staleEntry(dir: string, e: Dirent, isAlive: (pid: number) => boolean): Promise<Removed | undefined> {
  const m = e.isDirectory() ? TEMP_DIR.exec(e.name) : e.isFile() ? PARTIAL.exec(e.name) : null;
  if (!m) return undefined;
  const pid = Number(m[1]);
  if (pid === process.pid || isAlive(pid)) return undefined;
  const p = path.join(dir, e.name);
  const st = await fsp.lstat(p).catch(() => undefined);
  if (!st || (e.isDirectory() ? !st.isDirectory() : !st.isFile())) return undefined;
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) return undefined;
  return { path: p, pid, bytes: await sizeOf(p) };
}

function describe(dir: string, removed: Removed[]): string {
  const bytes = removed.reduce((a, r) => a + r.bytes, 0);
  const pids = [...new Set(removed.map((r) => r.pid))].join(', ');
  const names = removed.map((r) => path.basename(r.path)).join(', ');
  return `note: removed ${removed.length} item(s), ${bytes} bytes, left in ${dir} by killed aiwatch-deploy run(s) (PID ${pids}): ${names}`;
}

/** `dir` and its direct subfolders (real folders, not links; at most `limit`): where a folder output writes. */
export async function withSubfolders(dir: string, limit = 10_000): Promise<string[]> {
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => [] as Dirent[]);
  return [dir, ...entries.filter((e) => e.isDirectory()).slice(0, limit).map((e) => path.join(dir, e.name))];
}

/**
 * Remove stale debris of killed runs from each folder of `dirs` (not below it). A folder that does not exist or
 * cannot be read is skipped; a removal that fails is skipped too (a sweep never fails the command). Returns what
 * was removed.
 */
export async function sweepStaleDebris(dirs: readonly string[], opts: SweepOptions = {}): Promise<Removed[]> {
  const isAlive = opts.isAlive ?? pidAlive;
  const all: Removed[] = [];
  for (const dir of [...new Set(dirs.map((d) => path.resolve(d)))]) {
    const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => [] as Dirent[]);
    const removed: Removed[] = [];
    for (const e of entries) {
      const r = await staleEntry(dir, e, isAlive);
      if (!r) continue;
      const ok = await fsp.rm(r.path, { recursive: e.isDirectory(), force: true }).then(() => true, () => false);
      if (ok) removed.push(r);
    }
    if (removed.length > 0) opts.report?.(describe(dir, removed));
    all.push(...removed);
  }
  return all;
}

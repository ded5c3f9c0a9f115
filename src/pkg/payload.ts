/**
 * The payload model shared by the cpio writer, the Bom writer and PackageInfo: one sorted list of entries from
 * which both the Payload archive and the Bom are generated, so the two can never disagree (reference §7 item 8).
 *
 * Covers: turning install files {path, mode, source} into entries — '.' first, every missing parent directory
 * synthesised (0755), NFD-normalised paths sorted byte-wise component by component (a directory comes right before
 * its contents, i.e. depth-first), uid/gid always 0 (never the build user's: aerospike-admin#533), one injected
 * mtime (SOURCE_DATE_EPOCH); the Scripts archive's flat layout (§4.2); `payloadStats` for PackageInfo.
 * Does not cover: walking a folder on disk (callers list what they install), hard links, device nodes, xattrs,
 * files of 4 GiB or more (the Bom stores sizes as u32).
 */
import { promises as fsp } from 'node:fs';
import { InputFileError, UsageError } from '../errors.js';
import { checkInputFile } from '../io/fs.js';

/**
 * Where a file's bytes come from: in memory, or a file read in chunks when the archive is written. `tap` sees every
 * chunk of the file in order as the cpio writer reads it (consumed before it returns): another check of the same
 * bytes rides on this one read (the release binary's page hashes and SHA-256).
 */
export type PayloadSource = { bytes: Uint8Array } | { file: string; tap?: (chunk: Uint8Array) => void };
export type PayloadKind = 'dir' | 'file' | 'symlink';

export interface PayloadEntry {
  /** `.` or `./usr/local/…`, NFD-normalised, no trailing slash. */
  path: string;
  kind: PayloadKind;
  /** Permission bits only (≤ 0o7777); the type bits are added by the cpio and Bom writers. */
  mode: number;
  uid: 0;
  gid: 0;
  /**
   * The size the Bom records: bytes of a file, UTF-8 bytes of a symlink's target, and for a directory the st_size
   * APFS reports (32 × nlink), which is what pkgbuild records and sums into installKBytes. Archived data size is
   * `size` for files and symlinks and 0 for directories.
   */
  size: number;
  /** Seconds since the epoch (the injected SOURCE_DATE_EPOCH), the same for every entry. */
  mtime: number;
  /** Directories: 2 + number of direct children (as APFS counts); files and symlinks: 1. */
  nlink: number;
  /** Files only. */
  source?: PayloadSource;
  /** Symlinks only: the target, stored as given (not normalised). */
  linkTarget?: string;
}

/** One thing to install, as the plan lists it. */
export interface InstallFile {
  /** Path under the install location, `/`-separated; a leading `/` or `./` is ignored (`/usr/local/bin/x`). */
  path: string;
  /** Default `'file'`. Directories listed here keep their mode; missing parents get 0755. */
  kind?: PayloadKind;
  /** Permission bits, 0…0o7777 (e.g. 0o755). */
  mode: number;
  /** Required for files. */
  source?: PayloadSource;
  /** Required for symlinks. */
  linkTarget?: string;
}

/** An InstallFile whose size is known (in-memory length, or stat of the source file). */
export interface SizedInstallFile extends InstallFile {
  size: number;
}

export interface PayloadOptions {
  /** mtime of every entry, seconds (SOURCE_DATE_EPOCH). Must fit the Bom's u32. */
  mtime: number;
  /** Names the input in error messages; default `"payload"`. */
  what?: string;
}

/** Largest file the Bom can describe (u32 size field). */
export const MAX_PAYLOAD_FILE_SIZE = 0xffffffff;
/** Mode of synthesised parent directories and of `.`. */
export const DEFAULT_DIR_MODE = 0o755;
const DIR_ST_SIZE_PER_LINK = 32;

/**
 * Sort key: the NFD path's UTF-8 bytes with `/` mapped to 0x00, so comparison is byte-wise per component and a
 * directory sorts right before its contents (`./a`, `./a/b`, `./a-b`), which is the depth-first order of §4.1.
 */
export function payloadSortKey(path: string): Buffer {
  const key = Buffer.from(path, 'utf8');
  for (let i = 0; i < key.length; i++) if (key[i] === 0x2f) key[i] = 0;
  return key;
}

/** Byte-wise, component-wise order of two NFD payload paths (the order of the payload and of Bom ids). */
export function comparePayloadPaths(a: string, b: string): number {
  return Buffer.compare(payloadSortKey(a), payloadSortKey(b));
}

/** Normalise an install path to `./a/b` (NFD), or return why it is not acceptable. */
export function normalisePayloadPath(raw: string): { path: string } | { problem: string } {
  if (typeof raw !== 'string' || raw === '') return { problem: 'path is empty' };
  if (raw.includes('\0')) return { problem: 'path contains a NUL byte' };
  const trimmed = raw.replace(/^\.?\/+/, '').replace(/\/+$/, '');
  if (trimmed === '' || trimmed === '.') return { problem: 'path names the install root itself' };
  const parts = trimmed.split('/');
  if (parts.some((p) => p === '')) return { problem: 'path has an empty component ("//")' };
  if (parts.some((p) => p === '.' || p === '..')) return { problem: 'path has a "." or ".." component' };
  return { path: `./${parts.join('/').normalize('NFD')}` };
}

function kindProblems(f: InstallFile): string[] {
  const kind = f.kind ?? 'file';
  const problems: string[] = [];
  if (!Number.isInteger(f.mode) || f.mode < 0 || f.mode > 0o7777) problems.push(`mode must be an integer 0…0o7777, got ${String(f.mode)}`);
  if (kind === 'file' && !f.source) problems.push('a file needs a source (bytes or file)');
  if (kind !== 'file' && f.source) problems.push(`a ${kind} cannot have a source`);
  if (kind === 'symlink' && (typeof f.linkTarget !== 'string' || f.linkTarget === '' || f.linkTarget.includes('\0'))) {
    problems.push('a symlink needs a non-empty link target without NUL');
  }
  if (kind !== 'symlink' && f.linkTarget !== undefined) problems.push(`a ${kind} cannot have a link target`);
  return problems;
}

function checkMtime(mtime: number, what: string): void {
  if (!Number.isInteger(mtime) || mtime < 0 || mtime > 0xffffffff) {
    throw new UsageError(`${what}: mtime (SOURCE_DATE_EPOCH) must be an integer 0…4294967295 seconds, got ${String(mtime)}`);
  }
}

function sizeOf(f: SizedInstallFile): number {
  const kind = f.kind ?? 'file';
  if (kind === 'symlink') return Buffer.byteLength(f.linkTarget ?? '', 'utf8');
  return kind === 'file' ? f.size : 0;
}

/** Validate, normalise and add the listed entries; returns them keyed by normalised path. */
function collectListed(files: readonly SizedInstallFile[], opts: PayloadOptions, problems: string[]): Map<string, PayloadEntry> {
  const byPath = new Map<string, PayloadEntry>();
  for (const f of files) {
    const norm = normalisePayloadPath(f.path);
    const label = `"${String(f.path)}"`;
    if ('problem' in norm) {
      problems.push(`${label}: ${norm.problem}`);
      continue;
    }
    const own = kindProblems(f);
    if (f.size > MAX_PAYLOAD_FILE_SIZE) own.push(`file is ${f.size} bytes; the Bom cannot describe files of 4 GiB or more`);
    if (byPath.has(norm.path)) own.push(`listed twice (after NFD normalisation: ${JSON.stringify(norm.path)})`);
    if (own.length > 0) {
      problems.push(...own.map((p) => `${label}: ${p}`));
      continue;
    }
    const kind = f.kind ?? 'file';
    const entry: PayloadEntry = { path: norm.path, kind, mode: f.mode, uid: 0, gid: 0, size: sizeOf(f), mtime: opts.mtime, nlink: kind === 'dir' ? 2 : 1 };
    if (f.source) entry.source = f.source;
    if (kind === 'symlink') entry.linkTarget = f.linkTarget!;
    byPath.set(norm.path, entry);
  }
  return byPath;
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '.';
}

/** Add '.' and every missing ancestor (0755); report any listed non-directory used as a parent. */
function synthesiseParents(byPath: Map<string, PayloadEntry>, mtime: number, problems: string[]): void {
  const dir = (path: string): PayloadEntry => ({ path, kind: 'dir', mode: DEFAULT_DIR_MODE, uid: 0, gid: 0, size: 0, mtime, nlink: 2 });
  if (!byPath.has('.')) byPath.set('.', dir('.'));
  for (const path of [...byPath.keys()]) {
    for (let p = parentOf(path); p !== '.'; p = parentOf(p)) {
      const existing = byPath.get(p);
      if (existing && existing.kind !== 'dir') {
        problems.push(`"${path}": its parent "${p}" is listed as a ${existing.kind}, not a directory`);
        break;
      }
      if (existing) break;
      byPath.set(p, dir(p));
    }
  }
}

/**
 * Pure core: lay out already-sized install files as the sorted payload entry list. Throws one UsageError listing
 * every problem (bad paths, modes, duplicates, files used as directories, oversized files, bad mtime).
 */
export function layoutPayload(files: readonly SizedInstallFile[], opts: PayloadOptions): PayloadEntry[] {
  const what = opts.what ?? 'payload';
  checkMtime(opts.mtime, what);
  const problems: string[] = [];
  const byPath = collectListed(files, opts, problems);
  synthesiseParents(byPath, opts.mtime, problems);
  if (problems.length > 0) throw new UsageError(problems.map((p) => `${what}: ${p}`));
  const keyed = [...byPath.values()].map((e) => ({ e, key: payloadSortKey(e.path) }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  const entries = keyed.map((k) => k.e);
  for (const e of entries) if (e.path !== '.') byPath.get(parentOf(e.path))!.nlink += 1;
  for (const e of entries) if (e.kind === 'dir') e.size = DIR_ST_SIZE_PER_LINK * e.nlink;
  return entries;
}

/** Size of each file source: byte length in memory, or stat of the file (missing/unreadable → InputFileError). */
async function sizeFiles(files: readonly InstallFile[], what: string): Promise<SizedInstallFile[]> {
  return Promise.all(
    files.map(async (f) => {
      const src = f.source;
      if (!src) return { ...f, size: 0 };
      if ('bytes' in src) return { ...f, size: src.bytes.length };
      await checkInputFile(src.file, `${what} file for ${f.path}`);
      try {
        return { ...f, size: (await fsp.stat(src.file)).size };
      } catch (e) {
        throw new InputFileError(src.file, `${what} file for ${f.path}: cannot stat (${(e as Error).message})`, { cause: e });
      }
    }),
  );
}

/** Install files → sorted payload entries (stats source files for their sizes). */
export async function planPayload(files: readonly InstallFile[], opts: PayloadOptions): Promise<PayloadEntry[]> {
  checkMtime(opts.mtime, opts.what ?? 'payload');
  return layoutPayload(await sizeFiles(files, opts.what ?? 'payload'), opts);
}

/** A script for the Scripts archive (§4.2): `preinstall`, `postinstall` or a helper they call. */
export interface ScriptFile {
  /** A plain file name (no `/`), e.g. `postinstall`. */
  name: string;
  source: PayloadSource;
  /** Default 0o755 (Installer runs preinstall/postinstall directly). */
  mode?: number;
}

/** Scripts → the entry list of the Scripts cpio archive: `.` then `./<name>` files, 0755 unless given. */
export async function planScripts(scripts: readonly ScriptFile[], opts: PayloadOptions): Promise<PayloadEntry[]> {
  const what = opts.what ?? 'scripts';
  const bad = scripts.filter((s) => typeof s.name !== 'string' || s.name === '' || s.name.includes('/') || s.name === '.' || s.name === '..');
  if (bad.length > 0) throw new UsageError(bad.map((s) => `${what}: script name must be a plain file name, got ${JSON.stringify(s.name)}`));
  return planPayload(
    scripts.map((s) => ({ path: s.name, mode: s.mode ?? 0o755, source: s.source })),
    { ...opts, what },
  );
}

export interface PayloadStats {
  /** Every entry except `.` (pkgbuild's count). */
  numberOfFiles: number;
  /** floor(Σ size of every entry except `.` / 1024), directories counted at their APFS st_size. */
  installKBytes: number;
}

/**
 * The `<payload numberOfFiles installKBytes>` numbers of PackageInfo, computed as pkgbuild does (reference §5.1:
 * N = entries excluding `.`, K = floor(Σ sizes / 1024)). Source for what "sizes" means: electron/osx-sign
 * `src/pkg-utils/pkg.ts` + `walk.ts`, byte-parity-tested against pkgbuild: the Bom sizes of all entries but the
 * root, directories at APFS st_size = 32 × (2 + children).
 */
export function payloadStats(entries: readonly PayloadEntry[]): PayloadStats {
  let numberOfFiles = 0;
  let bytes = 0;
  for (const e of entries) {
    if (e.path === '.') continue;
    numberOfFiles += 1;
    bytes += e.size;
  }
  return { numberOfFiles, installKBytes: Math.floor(bytes / 1024) };
}

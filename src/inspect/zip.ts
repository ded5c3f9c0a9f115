/**
 * `inspect` of a release zip (src/release/release.ts): the manifest summary, every entry (mode, sizes, time, sha256,
 * the role the manifest gives it), then each nested package (extracted to a private temporary folder and described
 * by src/inspect/pkg.ts) and each configuration profile (src/inspect/profile.ts).
 * Does not cover: zips that are not release zips beyond listing their entries (no manifest → no summary).
 *
 * Memory: entries are hashed as they stream; small ones (≤ 1 MiB, 32 MiB in all) are kept in memory, every other
 * entry and every nested .pkg is streamed to a private temporary folder ({@link withZipEntries}), so a release zip
 * holding a large agent is read in bounded memory. The zip reader's limits (src/formats/limits.ts) apply.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputFileError } from '../errors.js';
import { checkInputFile, withTempDir } from '../io/fs.js';
import type { ReleaseManifest } from '../release/release-docs.js';
import { byteText, InputLimitError, LIMITS } from '../formats/limits.js';
import { readZip, type ZipReadEntry } from '../formats/zip.js';
import { errorText } from '../read/streams.js';
import { heading, octalMode, rows, text } from './format.js';
import { inspectPkg, type PkgReport } from './pkg.js';
import { formatPkgReport } from './pkg-text.js';
import { formatProfileReport, profileReport, type ProfileReport } from './profile.js';

/** An entry of a zip being examined: its SHA-256, and its bytes in memory (`data`) or in a private file (`file`). */
export type ZipEntryData = ZipReadEntry & { sha256: string };

/** Entries kept in memory: each at most this big, and all of them together at most {@link MEMORY_BUDGET}. */
const IN_MEMORY_ENTRY = 1 << 20;
const MEMORY_BUDGET = 32 << 20;

export interface ZipEntryReport {
  name: string;
  mode: string;
  size: number;
  compressedSize: number;
  mtime: string;
  sha256: string;
  role?: string;
}

export interface ZipReport {
  kind: 'zip';
  file: string;
  manifest?: Omit<ReleaseManifest, 'files'>;
  manifestError?: string;
  entries: ZipEntryReport[];
  pkgs: PkgReport[];
  profiles: ProfileReport[];
}

export interface InspectZipOptions {
  name?: string;
  scripts?: boolean;
  secretKeys?: readonly string[];
}

/**
 * Every entry of the zip at `file`, hashed, small ones in memory and the rest (and any .pkg) streamed to files in
 * `dir`, named `<index>-<base name>` (the extension tells the nested verifiers the kind). Not a readable zip →
 * InputFileError; a limit of the zip reader → InputLimitError.
 */
export async function readZipEntries(file: string, dir: string): Promise<ZipEntryData[]> {
  await checkInputFile(file, 'zip');
  let budget = MEMORY_BUDGET;
  try {
    const entries = await readZip(file, {
      sha256: true,
      take: (e, i) => {
        if (e.name.endsWith('/')) return 'skip';
        if (!e.name.endsWith('.pkg') && e.size <= IN_MEMORY_ENTRY && e.size <= budget) {
          budget -= e.size;
          return 'memory';
        }
        return { file: path.join(dir, `${i}-${path.basename(e.name).replace(/^\.+/, '_')}`) };
      },
    });
    return entries.map((e) => ({ ...e, sha256: e.sha256 ?? '' }));
  } catch (e) {
    if (e instanceof InputFileError) throw e;
    throw new InputFileError(file, `not a readable zip archive (${(e as Error).message})`, { cause: e });
  }
}

/** Read a zip's entries into a private temporary folder, hand them to `fn`, then remove the folder. */
export async function withZipEntries<T>(file: string, fn: (entries: ZipEntryData[], dir: string) => Promise<T>): Promise<T> {
  return withTempDir('zip-entries', async (dir) => fn(await readZipEntries(file, dir), dir));
}

/** An entry's bytes: from memory, or read back from its file when at most `max` bytes (else an InputLimitError naming `zip`). */
export async function entryBytes(zip: string, e: ZipEntryData, max: number = LIMITS['plist.bytes']): Promise<Buffer | undefined> {
  if (e.data) return e.data;
  if (!e.file) return undefined;
  if (e.size > max) throw new InputLimitError(zip, 'plist.bytes', `${e.name}: ${byteText(e.size)}: over the limit of ${byteText(max)} for a file read whole`);
  return readFile(e.file);
}

/** An error of a nested file (named by its temporary path) as an error of `zip`'s entry `name`. */
export function nestedError(zip: string, name: string, e: unknown): unknown {
  if (e instanceof InputLimitError) return new InputLimitError(zip, e.limit, `${name}: ${errorText(e)}`);
  if (e instanceof InputFileError) return new InputFileError(zip, `${name}: ${errorText(e)}`, { cause: e });
  return e;
}

/** The parsed manifest.json of a release zip, or why it cannot be read. */
export function parseManifest(entries: readonly ZipEntryData[]): { manifest?: ReleaseManifest; error?: string } {
  const m = entries.find((e) => e.name === 'manifest.json');
  if (!m) return { error: 'the zip has no manifest.json' };
  if (!m.data) return { error: `manifest.json is ${byteText(m.size)}, over the ${byteText(IN_MEMORY_ENTRY)} a manifest may have` };
  try {
    const parsed: unknown = JSON.parse(m.data.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { error: 'manifest.json is not a JSON object' };
    return { manifest: parsed as ReleaseManifest };
  } catch (e) {
    return { error: `manifest.json is not valid JSON (${(e as Error).message})` };
  }
}

/** Describe the zip at `file`. */
export async function inspectZip(file: string, opts: InspectZipOptions = {}): Promise<ZipReport> {
  const name = opts.name ?? file;
  return withZipEntries(file, async (entries) => {
    const { manifest, error } = parseManifest(entries);
    const roles = new Map((Array.isArray(manifest?.files) ? manifest.files : []).map((f) => [f.name, f.role]));
    const report: ZipReport = {
      kind: 'zip',
      file: name,
      entries: entries.map((e) => ({ name: e.name, mode: octalMode(e.mode), size: e.size, compressedSize: e.compressedSize, mtime: e.mtime, sha256: e.sha256, ...(roles.has(e.name) ? { role: roles.get(e.name) } : {}) })),
      pkgs: [],
      profiles: [],
    };
    if (manifest) {
      const { files: _files, ...summary } = manifest;
      report.manifest = summary;
    } else report.manifestError = error;
    for (const e of entries) {
      const inner = `${name}:${e.name}`;
      try {
        if (e.name.endsWith('.pkg') && e.file) report.pkgs.push(await inspectPkg(e.file, { name: inner, scripts: opts.scripts }));
        else if (e.name.endsWith('.mobileconfig')) {
          const bytes = await entryBytes(file, e);
          if (bytes) report.profiles.push(await profileReport(bytes, { name: inner, secretKeys: opts.secretKeys }));
        }
      } catch (err) {
        throw nestedError(file, e.name, err);
      }
    }
    return report;
  });
}

function manifestLines(r: ZipReport): string[] {
  const m = r.manifest;
  if (!m) return [heading('manifest'), `  ${r.manifestError}`];
  const id = m.identifiers ?? {};
  const b = m.binary;
  return [
    heading('manifest'),
    ...rows([
      ['product', `${m.product} ${m.version} (${m.arch})`],
      ['builder', m.builder ? `${m.builder.name} ${m.builder.version}` : undefined],
      ['SOURCE_DATE_EPOCH', m.sourceDateEpoch],
      ['signing identifier', id.signingIdentifier],
      ['team', id.teamId],
      ['package identifier', id.packageIdentifier],
      ['preference domain', id.domain],
      ['launchd label prefix', id.labelPrefix],
      ['install path', m.installPath],
      ['binary', b ? `${(b.arches ?? []).join(', ')}; ${b.signature}${b.identifier ? `, identifier ${b.identifier}` : ''}${b.teamId ? `, team ${b.teamId}` : ''}${b.hardenedRuntime ? ', hardened runtime' : ''}${b.signer ? `, signer "${b.signer}"` : ''}` : undefined],
      ['pkg', m.pkg ? `${m.pkg.signed ? 'signed' : 'NOT signed'}, ${m.pkg.notarized ? 'notarized' : 'NOT notarized'}, ${m.pkg.stapled ? 'stapled' : 'not stapled'}` : undefined],
    ]),
    ...(m.warnings ?? []).map((w) => `  WARNING: ${w}`),
  ];
}

/** The text `inspect` prints for a zip, nested packages and profiles included. */
export function formatZipReport(r: ZipReport): string {
  const width = Math.max(0, ...r.entries.map((e) => e.name.length));
  const lines = [
    `${r.file}: zip archive, ${r.entries.length} entries`,
    '',
    ...manifestLines(r),
    '',
    heading('files'),
    ...r.entries.map((e) => `  ${e.name.padEnd(width)}  ${e.mode}  ${String(e.size).padStart(8)} bytes (${e.compressedSize} in the zip)  ${e.mtime}  sha256 ${e.sha256}${e.role ? `  [${e.role}]` : ''}`),
  ];
  const nested = [...r.pkgs.map(formatPkgReport), ...r.profiles.map(formatProfileReport)];
  return text(lines) + nested.map((t) => `\n${t}`).join('');
}

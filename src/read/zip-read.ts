/**
 * A release zip's entries, read once for `verify` and `inspect`: each hashed as it streams; small ones (≤ 1 MiB,
 * 32 MiB in all) kept in memory, a nested .pkg (stored in the zip) left in place as a window of the zip
 * (src/formats/source.ts) and every other entry streamed to a private temporary folder ({@link withZipEntries}),
 * so a release zip holding a large agent is read in bounded memory; and its manifest.json
 * parsed. The zip reader's limits (src/formats/limits.ts) apply.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputFileError } from '../errors.js';
import { checkInputFile, withTempDir } from '../io/fs.js';
import type { ReleaseManifest } from '../release/release-docs.js';
import { byteText, InputLimitError, LIMITS } from '../formats/limits.js';
import { readZip, type ZipReadEntry } from '../formats/zip.js';
import { errorText } from './streams.js';

/** An entry of a zip being examined: its SHA-256, and its bytes in memory (`data`) or in a private file (`file`). */
export type ZipEntryData = ZipReadEntry & { sha256: string };

/** Entries kept in memory: each at most this big, and all of them together at most {@link MEMORY_BUDGET}. */
const IN_MEMORY_ENTRY = 1 << 20;
const MEMORY_BUDGET = 32 << 20;

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
        const file = { file: path.join(dir, `${i}-${path.basename(e.name).replace(/^\.+/, '_')}`) };
        // A pkg is stored in the release zip (docs/decisions.md): read in place, no copy; else (deflated) to a file.
        return e.name.endsWith('.pkg') ? { window: true, otherwise: file } : file;
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

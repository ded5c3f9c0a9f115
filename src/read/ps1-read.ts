/**
 * Reading PowerShell scripts within Intune's 200 KB limit (LIMITS['ps1.bytes']): a `.ps1` file (its size is looked
 * at first, so an oversized script is never read), and the `.ps1` entries of a `.intunewin`'s decrypted inner zip
 * (others listed, not read). `verify` checks what this returns; `inspect` describes it.
 */
import { stat } from 'node:fs/promises';
import { checkInputFile, readInputFile } from '../io/fs.js';
import { INTUNE_SCRIPT_MAX_BYTES } from '../intune/intune-checks.js';
import { LIMITS } from '../formats/limits.js';
import { readZip, type ZipReadEntry } from '../formats/zip.js';
import type { NamedSource } from '../formats/source.js';

/** What a script over Intune's limit is: said from its size alone. */
export function oversizeText(size: number): string {
  return `${size} bytes is over Intune's ${INTUNE_SCRIPT_MAX_BYTES}-byte script limit (not read or parsed)`;
}

/** A script's bytes, or only its size when it is over Intune's limit (then it is not read). */
export async function readScriptFile(file: string, what: string): Promise<{ bytes: Buffer } | { size: number }> {
  await checkInputFile(file, what);
  const { size } = await stat(file);
  if (size > LIMITS['ps1.bytes']) return { size };
  return { bytes: await readInputFile(file, what) };
}

/** A decrypted inner zip's entries (from memory or its file), the `.ps1` ones within Intune's limit with their bytes. */
export function innerEntries(innerZip: string | NamedSource): Promise<ZipReadEntry[]> {
  return readZip(innerZip, { take: (e) => (/\.ps1$/i.test(e.name) && e.size <= LIMITS['ps1.bytes'] ? 'memory' : 'skip') });
}

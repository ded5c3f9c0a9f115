/**
 * `inspect` of a release zip (src/plan/release.ts): the manifest summary, every entry (mode, sizes, time, sha256,
 * the role the manifest gives it), then each nested package (extracted to a private temporary folder and described
 * by src/inspect/pkg.ts) and each configuration profile (src/inspect/profile.ts).
 * Does not cover: zips that are not release zips beyond listing their entries (no manifest → no summary).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { InputFileError } from '../errors.js';
import { checkInputFile, withTempDir, writeFileAtomic } from '../io/fs.js';
import type { ReleaseManifest } from '../plan/release-docs.js';
import { readZip, type ZipEntryInfo } from '../pkg/zip.js';
import { heading, octalMode, rows, text } from './format.js';
import { inspectPkg, type PkgReport } from './pkg.js';
import { formatPkgReport } from './pkg-text.js';
import { formatProfileReport, profileReport, type ProfileReport } from './profile.js';

export type ZipEntryData = ZipEntryInfo & { data?: Buffer };

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

/** Every entry of a zip with its bytes; a file that is not a readable zip is an InputFileError. */
export async function readZipEntries(file: string): Promise<ZipEntryData[]> {
  await checkInputFile(file, 'zip');
  try {
    return await readZip(file, () => true);
  } catch (e) {
    throw new InputFileError(file, `not a readable zip archive (${(e as Error).message})`, { cause: e });
  }
}

/** The parsed manifest.json of a release zip, or why it cannot be read. */
export function parseManifest(entries: readonly ZipEntryData[]): { manifest?: ReleaseManifest; error?: string } {
  const m = entries.find((e) => e.name === 'manifest.json');
  if (!m?.data) return { error: 'the zip has no manifest.json' };
  try {
    const parsed: unknown = JSON.parse(m.data.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { error: 'manifest.json is not a JSON object' };
    return { manifest: parsed as ReleaseManifest };
  } catch (e) {
    return { error: `manifest.json is not valid JSON (${(e as Error).message})` };
  }
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Describe the zip at `file`. */
export async function inspectZip(file: string, opts: InspectZipOptions = {}): Promise<ZipReport> {
  const name = opts.name ?? file;
  const entries = await readZipEntries(file);
  const { manifest, error } = parseManifest(entries);
  const roles = new Map((Array.isArray(manifest?.files) ? manifest.files : []).map((f) => [f.name, f.role]));
  const report: ZipReport = {
    kind: 'zip',
    file: name,
    entries: entries.map((e) => ({ name: e.name, mode: octalMode(e.mode), size: e.size, compressedSize: e.compressedSize, mtime: e.mtime, sha256: sha256(e.data ?? Buffer.alloc(0)), ...(roles.has(e.name) ? { role: roles.get(e.name) } : {}) })),
    pkgs: [],
    profiles: [],
  };
  if (manifest) {
    const { files: _files, ...summary } = manifest;
    report.manifest = summary;
  } else report.manifestError = error;
  await withTempDir('inspect', async (dir) => {
    for (const e of entries) {
      if (!e.data) continue;
      const inner = `${name}:${e.name}`;
      if (e.name.endsWith('.pkg')) {
        const tmp = path.join(dir, path.basename(e.name));
        await writeFileAtomic(tmp, e.data);
        report.pkgs.push(await inspectPkg(tmp, { name: inner, scripts: opts.scripts }));
      } else if (e.name.endsWith('.mobileconfig')) {
        report.profiles.push(await profileReport(e.data, { name: inner, secretKeys: opts.secretKeys }));
      }
    }
  });
  return report;
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

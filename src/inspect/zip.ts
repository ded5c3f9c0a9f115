/**
 * `inspect` of a release zip (src/release/release.ts): the manifest summary, every entry (mode, sizes, time, sha256,
 * the role the manifest gives it), then each nested package (extracted to a private temporary folder and described
 * by src/inspect/pkg.ts) and each configuration profile (src/inspect/profile.ts).
 * Does not cover: zips that are not release zips beyond listing their entries (no manifest → no summary).
 *
 * Memory: entries are hashed as they stream; small ones (≤ 1 MiB, 32 MiB in all) are kept in memory, every other
 * entry and every nested .pkg is streamed to a private temporary folder (src/read/zip-read.ts), so a release zip
 * holding a large agent is read in bounded memory. The zip reader's limits (src/formats/limits.ts) apply.
 */
import type { ReleaseManifest } from '../release/release-docs.js';
import { entryBytes, nestedError, parseManifest, withZipEntries } from '../read/zip-read.js';
import { heading, octalMode, rows, text } from './format.js';
import { inspectPkg, type PkgReport } from './pkg.js';
import { formatPkgReport } from './pkg-text.js';
import { formatProfileReport, profileReport, type ProfileReport } from './profile.js';

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
        // A stored pkg is read in place (a window of the zip, named zip:entry); a deflated one from its file.
        const pkg = e.source ? { name: `${file}:${e.name}`, source: e.source } : e.file;
        if (e.name.endsWith('.pkg') && pkg) report.pkgs.push(await inspectPkg(pkg, { name: inner, scripts: opts.scripts }));
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

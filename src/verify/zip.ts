/**
 * `verify` of a release zip (src/release/release.ts): the zip's own bookkeeping — entry names safe and unique,
 * `manifest.json` well-formed with every file's size, sha256 and mode matching the entry, every entry listed,
 * `SHA256SUMS` in `sha256sum -c` format matching every entry — then each nested artifact with its own verifier
 * (the pkg with src/verify/pkg.ts, profiles and the Jamf schema with whatever the registry detects), then the
 * cross-artifact rules (src/verify/cross.ts). Nested problems are named `zip:entry[:place]`.
 *
 * Nested checks use the `--spec` given, with the manifest's identifiers (signing identifier, team, install path,
 * package id, domain, label prefix) taking precedence when they differ, so a release built from a custom spec
 * verifies without it (a note says so).
 */
import type { DeploymentSpec } from '../config/spec-types.js';
import { InputFileError, type Problem } from '../errors.js';
import type { ReleaseManifest } from '../release/release-docs.js';
import { entryBytes, parseManifest, withZipEntries, type ZipEntryData } from '../read/zip-read.js';
import { readPlist } from '../formats/plist-read.js';
import { crossProblems, type ReleaseArtifacts } from './cross.js';
import { verifyPkgFile } from './pkg.js';
import { HEAD_BYTES, readHead } from '../read/kinds.js';
import type { VerifyContext } from './context.js';
import { ARTIFACT_VERIFIERS, detectVerifier } from './registry.js';

const OWN_FILES = new Set(['manifest.json', 'SHA256SUMS']);
/** An entry that was read (in memory or to a file): what the manifest and SHA256SUMS can be checked against. */
const wasRead = (e: ZipEntryData | undefined): e is ZipEntryData => e !== undefined && (e.data !== undefined || e.file !== undefined || e.source !== undefined);

function nameProblems(zip: string, entries: readonly ZipEntryData[]): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) out.push({ where: `${zip}:${e.name}`, message: 'appears twice in the zip (unzip keeps one of them)' });
    seen.add(e.name);
    if (e.name.startsWith('/') || e.name.split('/').includes('..') || e.name.includes('\\')) out.push({ where: `${zip}:${e.name}`, message: 'unsafe entry name (absolute, "..", or a backslash)' });
  }
  return out;
}

function manifestShape(m: ReleaseManifest, where: string): Problem[] {
  const out: Problem[] = [];
  const fail = (message: string): void => void out.push({ where, message });
  if (m.schemaVersion !== 1) fail(`schemaVersion is ${JSON.stringify(m.schemaVersion)}, expected 1`);
  for (const k of ['version', 'arch', 'installPath'] as const) if (typeof m[k] !== 'string' || m[k] === '') fail(`${k} is missing or not a string`);
  if (typeof m.identifiers !== 'object' || m.identifiers === null) fail('identifiers is missing');
  if (!Array.isArray(m.files)) fail('files is missing or not an array');
  else {
    m.files.forEach((f, i) => {
      const ok = f && typeof f.name === 'string' && typeof f.role === 'string' && Number.isSafeInteger(f.size) && typeof f.sha256 === 'string' && /^[0-9a-f]{64}$/.test(f.sha256) && Number.isInteger(f.mode);
      if (!ok) fail(`files[${i}] needs name, role, size, sha256 (64 hex digits) and mode`);
    });
    const pkgs = m.files.filter((f) => f?.role === 'pkg').length;
    if (pkgs !== 1) fail(`files lists ${pkgs} entries with role "pkg", expected exactly 1`);
  }
  return out;
}

function manifestFileProblems(zip: string, m: ReleaseManifest, entries: readonly ZipEntryData[]): Problem[] {
  const where = `${zip}:manifest.json`;
  const out = manifestShape(m, where);
  if (!Array.isArray(m.files)) return out;
  const byName = new Map(entries.map((e) => [e.name, e]));
  for (const f of m.files) {
    if (!f || typeof f.name !== 'string') continue;
    const e = byName.get(f.name);
    if (!wasRead(e)) {
      out.push({ where, message: `lists ${f.name}, which is missing from the zip` });
      continue;
    }
    const actual = e.sha256;
    if (f.sha256 !== actual) out.push({ where, message: `${f.name}: sha256 is ${f.sha256}, the zip entry hashes to ${actual}` });
    if (f.size !== e.size) out.push({ where, message: `${f.name}: size is ${f.size}, the zip entry has ${e.size} bytes` });
    if (f.mode !== e.mode) out.push({ where, message: `${f.name}: mode is ${(f.mode ?? 0).toString(8)}, the zip entry has ${e.mode.toString(8)}` });
  }
  const listed = new Set(m.files.map((f) => f?.name));
  for (const e of entries) if (!OWN_FILES.has(e.name) && !listed.has(e.name)) out.push({ where, message: `does not list ${e.name}, which is in the zip` });
  return out;
}

function sumsProblems(zip: string, entries: readonly ZipEntryData[]): Problem[] {
  const where = `${zip}:SHA256SUMS`;
  const sums = entries.find((e) => e.name === 'SHA256SUMS');
  if (!sums) return [{ where: zip, message: 'the zip has no SHA256SUMS' }];
  if (!sums.data) return [{ where: `${zip}:SHA256SUMS`, message: `${sums.size} bytes, over the 1 MiB a SHA256SUMS may have` }];
  const out: Problem[] = [];
  const byName = new Map(entries.map((e) => [e.name, e]));
  const listed = new Set<string>();
  sums.data.toString('utf8').split('\n').forEach((line, i) => {
    if (line === '') return;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m) return void out.push({ where: `${where}:${i + 1}`, message: `not a "<sha256>  <name>" line: ${JSON.stringify(line.slice(0, 80))}` });
    const [, hash, name] = m as unknown as [string, string, string];
    if (listed.has(name)) out.push({ where: `${where}:${i + 1}`, message: `${name} is listed twice` });
    listed.add(name);
    const e = byName.get(name);
    if (!wasRead(e)) out.push({ where: `${where}:${i + 1}`, message: `lists ${name}, which is missing from the zip` });
    else if (e.sha256 !== hash) out.push({ where: `${where}:${i + 1}`, message: `${name}: says ${hash}, the zip entry hashes to ${e.sha256} (sha256sum -c fails)` });
  });
  for (const e of entries) if (e.name !== 'SHA256SUMS' && !listed.has(e.name)) out.push({ where, message: `does not list ${e.name}` });
  return out;
}

/** Entries whose DOS time is not the manifest's SOURCE_DATE_EPOCH (2-second resolution, clamped to 1980): re-packed. */
function timeNote(m: ReleaseManifest | undefined, entries: readonly ZipEntryData[]): string | undefined {
  if (!Number.isSafeInteger(m?.sourceDateEpoch)) return undefined;
  const want = new Date(Math.floor(Math.max(m!.sourceDateEpoch, 315532800) / 2) * 2000).toISOString();
  const off = entries.filter((e) => e.mtime !== want).map((e) => `${e.name} (${e.mtime})`);
  if (off.length === 0) return undefined;
  return `entry times differ from the build's SOURCE_DATE_EPOCH ${m!.sourceDateEpoch} (${want}): ${off.join(', ')} — the zip was re-packed after the build`;
}

/** The spec nested checks use: `--spec`, with the manifest's identifiers where they differ. */
function releaseSpec(spec: DeploymentSpec, m: ReleaseManifest | undefined, note: (s: string) => void): DeploymentSpec {
  const id = m?.identifiers;
  if (!id || typeof m.installPath !== 'string') return spec;
  const merged: DeploymentSpec = { ...spec, identifier: id.signingIdentifier, teamId: id.teamId, packageIdentifier: id.packageIdentifier, domain: id.domain, labelPrefix: id.labelPrefix, installPath: m.installPath };
  const changed = (['identifier', 'teamId', 'packageIdentifier', 'domain', 'labelPrefix', 'installPath'] as const).filter((k) => merged[k] !== spec[k] && typeof merged[k] === 'string');
  if (changed.length === 0) return spec;
  note(`the release was built with other identifiers than the spec in use (${changed.join(', ')}): the manifest's were used for the nested checks`);
  return merged;
}

/** A member the zip reader streamed to the private file `file`: checked there, problems renamed to `zip:entry`. */
async function spilledChecks(zip: string, e: ZipEntryData, file: string, ctx: VerifyContext, art: ReleaseArtifacts): Promise<Problem[]> {
  const rename = (p: Problem): Problem => ({ where: p.where.startsWith(file) ? `${zip}:${e.name}${p.where.slice(file.length)}` : p.where, message: p.message });
  if (e.name.endsWith('.pkg')) {
    const r = await verifyPkgFile(file, ctx);
    r.notes.forEach(ctx.note);
    if (r.contents) art.pkg = { name: e.name, contents: { ...r.contents, file: e.name }, signature: r.signature };
    return r.problems.map(rename);
  }
  const v = detectVerifier(ARTIFACT_VERIFIERS, await readHead(file), file);
  return v ? (await v.check(file, ctx)).map(rename) : [];
}

async function nestedChecks(zip: string, entries: readonly ZipEntryData[], ctx: VerifyContext, art: ReleaseArtifacts): Promise<Problem[]> {
  const out: Problem[] = [];
  for (const e of entries) {
    if (!wasRead(e) || OWN_FILES.has(e.name) || e.name.includes('/')) continue;
    const note = (s: string): void => ctx.note(`${e.name}: ${s}`);
    if (e.name.endsWith('.pkg') && e.source) {
      // Stored in the zip (src/release/release.ts): read in place, as a window of the zip, named zip:entry.
      const r = await verifyPkgFile({ name: `${zip}:${e.name}`, source: e.source }, ctx);
      out.push(...r.problems);
      r.notes.forEach(note);
      if (r.contents) art.pkg = { name: e.name, contents: { ...r.contents, file: e.name }, signature: r.signature };
      continue;
    }
    if (e.file) {
      // Streamed to a private file by the reader (a deflated pkg, or a member too large to keep in memory): checked
      // there, its problems named zip:entry.
      out.push(...(await spilledChecks(zip, e, e.file, { ...ctx, note }, art)));
      continue;
    }
    // In memory: checked from its bytes, named zip:entry (the extension, or the bytes, tell its kind).
    const name = `${zip}:${e.name}`;
    const v = detectVerifier(ARTIFACT_VERIFIERS, e.data!.subarray(0, HEAD_BYTES), e.name);
    if (v) out.push(...(await v.check({ name, bytes: e.data! }, { ...ctx, note })));
  }
  return out;
}

async function collectArtifacts(zip: string, m: ReleaseManifest | undefined, entries: readonly ZipEntryData[], art: ReleaseArtifacts): Promise<void> {
  const files = Array.isArray(m?.files) ? m.files : [];
  const byRole = (role: string): ZipEntryData | undefined => entries.find((e) => e.name === files.find((f) => f?.role === role)?.name);
  for (const [role, key] of [['pppc-profile', 'pppc'], ['login-items-profile', 'loginItems']] as const) {
    const e = byRole(role);
    const bytes = e ? await entryBytes(zip, e) : undefined;
    const root = bytes ? readPlist(bytes, e!.name).root : undefined;
    if (e && root) art[key] = { name: e.name, root };
  }
  for (const [role, key] of [['uninstall-script', 'uninstall'], ['cleanup-script', 'cleanup']] as const) {
    const e = byRole(role);
    const bytes = e ? await entryBytes(zip, e) : undefined;
    if (e && bytes) art[key] = { name: e.name, text: bytes.toString('utf8') };
  }
  // The doctor first: cross-doctor-macos.ts reports a problem the inventory scripts share with it there.
  for (const role of ['doctor-script', 'jamf-extension-attribute', 'intune-attribute'] as const) {
    const e = byRole(role);
    const bytes = e ? await entryBytes(zip, e) : undefined;
    if (e && bytes) (art.doctor ??= []).push({ name: e.name, text: bytes.toString('utf8') });
  }
}

/** Every problem of the release zip at `file`. */
export async function verifyReleaseZip(file: string, ctx: VerifyContext): Promise<Problem[]> {
  try {
    return await withZipEntries(file, async (entries) => {
      const { manifest, error } = parseManifest(entries);
      const problems = [...nameProblems(file, entries), ...sumsProblems(file, entries)];
      if (manifest) problems.push(...manifestFileProblems(file, manifest, entries));
      else problems.push({ where: file, message: `${error}: not a release zip, or a damaged one` });
      const late = timeNote(manifest, entries);
      if (late) ctx.note(late);
      const art: ReleaseArtifacts = { zip: file, ...(manifest ? { manifest } : {}) };
      const spec = releaseSpec(ctx.spec, manifest, ctx.note);
      problems.push(...(await nestedChecks(file, entries, { ...ctx, spec }, art)));
      await collectArtifacts(file, manifest, entries, art);
      const cross = crossProblems(art);
      cross.notes.forEach(ctx.note);
      return [...problems, ...cross.problems];
    });
  } catch (e) {
    if (e instanceof InputFileError && e.file === file) return [{ where: file, message: e.message.slice(file.length + 2) }];
    throw e;
  }
}

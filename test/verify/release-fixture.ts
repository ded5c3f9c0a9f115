/**
 * Shared by the pkg/zip/cross verify tests and the inspect tests: the demo release built in-process with a fixed
 * SOURCE_DATE_EPOCH, and tools to make corrupted copies of it programmatically — re-packing a pkg's members with
 * writeXar (after replacing some), re-deriving a Bom from the payload, rebuilding the pkg from a changed spec or
 * another binary with buildFlatPackage, re-zipping with writeZip (optionally refreshing manifest.json and
 * SHA256SUMS so that only the planted fault remains), and a deterministic pkg signer over the published DEMO key.
 */
import { createHash, constants, privateEncrypt } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { main } from '../../src/cli/main.js';
import { loadSpec } from '../../src/config/spec.js';
import type { DeploymentSpec } from '../../src/config/spec-types.js';
import { readCpioEntries } from '../../src/pkg/cpio.js';
import { gunzipSource } from '../../src/read/streams.js';
import { writeStreamAtomic } from '../../src/io/fs.js';
import { renderMacosScripts } from '../../src/release/macos-scripts.js';
import { buildRelease } from '../../src/release/release.js';
import type { ReleaseManifest } from '../../src/release/release-docs.js';
import { writeBom } from '../../src/pkg/bom.js';
import { buildFlatPackage } from '../../src/release/package.js';
import type { PayloadEntry } from '../../src/pkg/payload.js';
import { openXar, readXarEntryBytes } from '../../src/pkg/xar-reader.js';
import { resignXar, writeXar, type XarInput, type XarSigner } from '../../src/pkg/xar.js';
import { readZip, writeZip } from '../../src/formats/zip.js';
import { createSignedData, encodeSignedData } from '../../src/sign/cms.js';
import { digestInfo } from '../../src/sign/pkg-signer.js';
import { demoSigner } from '../../scripts/demo-binary/demo-cms.js';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
export const EPOCH = 1700000000;
export const VERSION = '1.0.0';
export const ZIP_NAME = 'aiwatch-1.0.0-macos-arm64.zip';
export const PKG_NAME = 'aiwatch-1.0.0-macos-arm64.pkg';
export const COMP = 'aiwatch.pkg';
export const BINARY = './usr/local/lib/runlayer/aiwatch/aiwatch';
export const demoArm64 = path.join(repoRoot, 'fixtures/demo/aiwatch-arm64');

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `aiwatch-${prefix}-`));
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI in this process, output captured. */
export async function cli(argv: string[], cwd = repoRoot): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { ...process.env, SOURCE_DATE_EPOCH: undefined }, cwd, isTTY: false, signal: new AbortController().signal });
  return { code, stdout, stderr };
}

export interface DemoRelease {
  dir: string;
  zip: string;
  /** The pkg as extracted from the zip. */
  pkg: string;
  spec: DeploymentSpec;
  entries: Map<string, ZipFile>;
}

export interface ZipFile {
  data: Buffer;
  mode: number;
}

/** Build the demo release (arm64 demo binary, SOURCE_DATE_EPOCH 1700000000) into a fresh folder. */
export async function buildDemoRelease(): Promise<DemoRelease> {
  const dir = tempDir('verify-demo');
  const spec = await loadSpec(undefined);
  const r = await buildRelease({ spec, version: VERSION, arch: 'arm64', binary: demoArm64, outDir: dir, epoch: EPOCH, builderVersion: '0.1.0', developmentBuild: true, gzipWorkers: 0 });
  const entries = await zipEntries(r.zip);
  const pkg = path.join(dir, PKG_NAME);
  writeFileSync(pkg, entries.get(PKG_NAME)!.data);
  return { dir, zip: r.zip, pkg, spec, entries };
}

export async function zipEntries(file: string): Promise<Map<string, ZipFile>> {
  return new Map((await readZip(file, () => true)).map((e) => [e.name, { data: e.data!, mode: e.mode }]));
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Recompute manifest.json (sizes, hashes, modes of listed files) and SHA256SUMS from the entries. */
export function refreshDocs(entries: Map<string, ZipFile>): void {
  const m = JSON.parse(entries.get('manifest.json')!.data.toString('utf8')) as ReleaseManifest;
  m.files = m.files.filter((f) => entries.has(f.name)).map((f) => ({ ...f, size: entries.get(f.name)!.data.length, sha256: sha256(entries.get(f.name)!.data) }));
  entries.get('manifest.json')!.data = Buffer.from(`${JSON.stringify(m, null, 2)}\n`);
  const names = [...entries.keys()].filter((n) => n !== 'SHA256SUMS').sort();
  entries.set('SHA256SUMS', { data: Buffer.from(names.map((n) => `${sha256(entries.get(n)!.data)}  ${n}\n`).join('')), mode: 0o644 });
}

/** Write `entries` as a zip (sorted by name, fixed time) into `dir`/`name`. */
export async function writeZipFile(dir: string, name: string, entries: Map<string, ZipFile>): Promise<string> {
  const file = path.join(dir, name);
  const out = createWriteStream(file);
  const list = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([n, e]) => ({ name: n, mode: e.mode, source: { bytes: e.data } }));
  await writeZip(list, EPOCH, out);
  out.end();
  await finished(out);
  return file;
}

/** Every file member of a pkg, decoded, with the encoding it was stored with. */
export async function pkgMembers(file: string): Promise<Array<{ path: string; bytes: Buffer; zlib: boolean }>> {
  const a = await openXar(file);
  const out = [];
  for (const e of a.entries) if (e.type === 'file') out.push({ path: e.path, bytes: await readXarEntryBytes(a, e, 256 << 20), zlib: e.data?.encoding === 'application/x-gzip' });
  return out;
}

/** Re-pack a pkg's members (after `edit` changed some) into a new xar with writeXar. */
export async function repackPkg(src: string, out: string, edit: (members: Map<string, Buffer>) => void, signer?: XarSigner): Promise<string> {
  const members = await pkgMembers(src);
  const map = new Map(members.map((m) => [m.path, m.bytes]));
  edit(map);
  const inputs: XarInput[] = [{ path: 'Resources', directory: true }];
  for (const m of members) if (map.has(m.path)) inputs.push({ path: m.path, source: { bytes: map.get(m.path)! }, encoding: m.zlib ? 'zlib' : 'store' });
  for (const [p, bytes] of map) if (!members.some((m) => m.path === p)) inputs.push({ path: p, source: { bytes }, encoding: /(^|\/)(Payload|Scripts)$/.test(p) ? 'store' : 'zlib' });
  await writeStreamAtomic(out, async (s) => void (await writeXar(s, inputs, { creationTime: new Date(EPOCH * 1000), signer })));
  return out;
}

/** The payload entries (as the Bom writer takes them) and cksums, re-derived from a gzip'd cpio Payload. */
export async function payloadModel(payloadGz: Buffer): Promise<{ entries: PayloadEntry[]; sums: Map<string, number> }> {
  const cpio = await readCpioEntries(gunzipSource((async function* () { yield payloadGz; })()), { keepData: (_p, h) => h.kind === 'file' });
  const sums = new Map<string, number>();
  const entries = cpio.map((e): PayloadEntry => {
    if (e.kind !== 'dir') sums.set(e.path, e.cksum);
    const source = e.data ? { source: { bytes: e.data } } : {};
    return { path: e.path, kind: e.kind as PayloadEntry['kind'], mode: e.mode & 0o7777, uid: 0, gid: 0, size: e.kind === 'dir' ? 32 * e.nlink : e.size, mtime: e.mtime, nlink: e.nlink, ...source };
  });
  return { entries, sums };
}

/** A Bom for the payload (Mach-O files get their slice records), with `change` applied to the entries first. */
export async function bomFor(payloadGz: Buffer, change: (entries: PayloadEntry[]) => void = () => undefined): Promise<Buffer> {
  const { entries, sums } = await payloadModel(payloadGz);
  change(entries);
  return writeBom(entries, { checksums: sums });
}

/** Build only the pkg (no zip) from a spec and binary, as the release does. */
export async function buildPkg(out: string, spec: DeploymentSpec, binaryFile: string, hostArchitectures: Array<'arm64' | 'x86_64'> = ['arm64']): Promise<string> {
  const work = tempDir('pkg-work');
  await writeStreamAtomic(out, async (s) => {
    await buildFlatPackage({ spec, version: VERSION, hostArchitectures, binaryFile, scripts: renderMacosScripts(spec), epoch: EPOCH, generator: 'aiwatch-deploy 0.1.0', workDir: work, gzipWorkers: 0 }, s);
  });
  return out;
}

/** Flip one byte of a file at `offset`. */
export function flipByte(file: string, offset: number, out: string): string {
  const b = Buffer.from(readFileSync(file));
  b[offset] = b[offset]! ^ 0xff;
  writeFileSync(out, b);
  return out;
}

/** A deterministic pkg signer: the published DEMO key and self-signed certificate (not Apple's), fixed signing time. */
export function demoPkgSigner(signingTime = new Date('2025-01-01T00:00:00Z')): XarSigner {
  const s = demoSigner('AF2M8HC7A2');
  return {
    certificates: [s.certificate],
    rsaSignatureSize: 256,
    cmsReserve: 4096,
    signRsa: async (ck) => privateEncrypt({ key: s.privateKey, padding: constants.RSA_PKCS1_PADDING }, digestInfo(ck)),
    signCms: async (ck) => encodeSignedData(await createSignedData({ privateKey: s.privateKey, certificates: [s.certificate], content: ck, detached: true, signingTime })),
  };
}

/** A signed copy of `src` (resignXar with `signer`). */
export async function signPkg(src: string, out: string, signer: XarSigner = demoPkgSigner()): Promise<string> {
  await writeStreamAtomic(out, async (s) => void (await resignXar(src, s, signer)));
  return out;
}

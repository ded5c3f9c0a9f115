/**
 * `verify` of the release zip's own bookkeeping: the demo build passes (exit 0, also with the extracted pkg on the
 * same command line), and a wrong manifest hash, a wrong SHA256SUMS line, a missing file, an unlisted file and a
 * broken manifest are each reported precisely (exit 1). Corrupted zips are re-written with writeZip.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Problem } from '../../src/errors.js';
import { verifyReleaseZip } from '../../src/verify/zip.js';
import { buildRelease } from '../../src/release/release.js';
import { writeZip } from '../../src/formats/zip.js';
import { readZipEntries } from '../../src/read/zip-read.js';
import { buildDemoRelease, cli, demoArm64, PKG_NAME, refreshDocs, tempDir, writeZipFile, ZIP_NAME, type DemoRelease, type ZipFile } from './release-fixture.js';
import { describeWithTools, run, tryRun } from '../helpers/tools.js';

let demo: DemoRelease;
let dir: string;

beforeAll(async () => {
  demo = await buildDemoRelease();
  dir = tempDir('verify-zip');
}, 60_000);

async function problemsOf(file: string): Promise<Array<[string, string]>> {
  const notes: string[] = [];
  const problems: Problem[] = await verifyReleaseZip(file, { spec: demo.spec, env: process.env, note: (n) => notes.push(n) });
  return problems.map((p) => [p.where.startsWith(file) ? p.where.slice(file.length) : p.where, p.message]);
}

/** A copy of the demo entries, changed by `fn`, written as `name` (in its own folder, keeping the release file name). */
async function variant(name: string, fn: (e: Map<string, ZipFile>) => void, refresh = false): Promise<string> {
  const entries = new Map([...demo.entries].map(([k, v]) => [k, { data: Buffer.from(v.data), mode: v.mode }]));
  fn(entries);
  if (refresh) refreshDocs(entries);
  const sub = path.join(dir, name);
  mkdirSync(sub, { recursive: true });
  return writeZipFile(sub, ZIP_NAME, entries);
}

const replaceText = (e: Map<string, ZipFile>, name: string, from: string | RegExp, to: string): void => {
  const before = e.get(name)!.data.toString('utf8');
  const after = before.replace(from, to);
  if (after === before) throw new Error(`${name}: nothing replaced`);
  e.get(name)!.data = Buffer.from(after);
};

describe('verify release zip: the demo build', () => {
  it('passes with exit 0, the zip and the extracted pkg together; notes come from the nested checks', async () => {
    expect(await problemsOf(demo.zip)).toEqual([]);
    const r = await cli(['verify', demo.zip, demo.pkg]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok {6}.*\.zip \(release zip\)$/m);
    expect(r.stdout).toContain('note: aiwatch-1.0.0-macos-arm64.pkg: not signed');
    expect(r.stdout).toMatch(/2 ok, 0 with problems\n$/);
  });

  it('a zip re-written unchanged by the test helper still passes (so the variants below differ only by their fault)', async () => {
    expect(await problemsOf(await variant('unchanged', () => undefined))).toEqual([]);
    expect(await problemsOf(await variant('refreshed', () => undefined, true))).toEqual([]);
  });
});

describe('verify release zip: planted faults', () => {
  it('a wrong hash in manifest.json (SHA256SUMS refreshed, so only the manifest is wrong)', async () => {
    const bad = await variant('manifest-hash', (e) => {
      replaceText(e, 'manifest.json', '4c534bbb0a0e0fd32d90088831501f5446ff06212c5bc10ce9a023d625c3f55e', '0'.repeat(64));
      const sums = e.get('SHA256SUMS')!;
      const m = e.get('manifest.json')!.data;
      sums.data = Buffer.from(sums.data.toString().replace(/^[0-9a-f]{64}(?= {2}manifest\.json$)/m, createHash('sha256').update(m).digest('hex')));
    });
    expect(await problemsOf(bad)).toEqual([[':manifest.json', `README.txt: sha256 is ${'0'.repeat(64)}, the zip entry hashes to 4c534bbb0a0e0fd32d90088831501f5446ff06212c5bc10ce9a023d625c3f55e`]]);
    const r = await cli(['verify', '--json', bad]);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as { files: Array<{ problems: Problem[] }> }).files[0]!.problems).toEqual([
      { where: `${bad}:manifest.json`, message: `README.txt: sha256 is ${'0'.repeat(64)}, the zip entry hashes to 4c534bbb0a0e0fd32d90088831501f5446ff06212c5bc10ce9a023d625c3f55e` },
    ]);
  });

  it('a wrong line in SHA256SUMS', async () => {
    const bad = await variant('sums', (e) => replaceText(e, 'SHA256SUMS', /^016cb1b5/m, '116cb1b5'));
    expect(await problemsOf(bad)).toEqual([[':SHA256SUMS:6', 'cleanup-runlayer-scan.sh: says 116cb1b5af6dbd7bbb15d6d03535620202968f7de576ded63af9cbc614d8cf7f, the zip entry hashes to 016cb1b5af6dbd7bbb15d6d03535620202968f7de576ded63af9cbc614d8cf7f (sha256sum -c fails)']]);
  });

  it('a file missing from the zip (manifest and SHA256SUMS still list it)', async () => {
    const bad = await variant('missing', (e) => e.delete('uninstall-aiwatch.sh'));
    expect(await problemsOf(bad)).toEqual([
      [':SHA256SUMS:11', 'lists uninstall-aiwatch.sh, which is missing from the zip'],
      [':manifest.json', 'lists uninstall-aiwatch.sh, which is missing from the zip'],
    ]);
    expect((await cli(['verify', bad])).code).toBe(1);
  });

  it('an extra file nobody lists, a duplicate-free but malformed SHA256SUMS line, a mode change', async () => {
    const bad = await variant('extra', (e) => {
      e.set('notes.txt', { data: Buffer.from('hello\n'), mode: 0o644 });
      e.get('cleanup-runlayer-scan.sh')!.mode = 0o644;
      e.get('SHA256SUMS')!.data = Buffer.concat([e.get('SHA256SUMS')!.data, Buffer.from('not a checksum line\n')]);
    });
    expect(await problemsOf(bad)).toEqual([
      [':SHA256SUMS:12', 'not a "<sha256>  <name>" line: "not a checksum line"'],
      [':SHA256SUMS', 'does not list notes.txt'],
      [':manifest.json', 'cleanup-runlayer-scan.sh: mode is 755, the zip entry has 644'],
      [':manifest.json', 'does not list notes.txt, which is in the zip'],
    ]);
  });

  it('a manifest that is not JSON: one problem, and the nested artifacts are still checked', async () => {
    const bad = await variant('manifest-json', (e) => {
      e.get('manifest.json')!.data = Buffer.from('{ not json');
    });
    const problems = await problemsOf(bad);
    expect(problems).toContainEqual(['', expect.stringMatching(/^manifest\.json is not valid JSON \(.+\): not a release zip, or a damaged one$/)]);
    expect(problems).toContainEqual([':SHA256SUMS:10', expect.stringMatching(/^manifest\.json: says [0-9a-f]{64}, the zip entry hashes to/)]);
    expect(problems).toHaveLength(2);
  });

  it('a damaged pkg inside the zip is reported as zip:pkg:member (manifest refreshed, so only the xar check fails)', async () => {
    const bad = await variant('nested', (e) => {
      const pkg = e.get(PKG_NAME)!.data;
      pkg[pkg.length - 100] = pkg[pkg.length - 100]! ^ 0xff; // inside the last member (Scripts)
    }, true);
    expect(await problemsOf(bad)).toEqual([[`:${PKG_NAME}:aiwatch.pkg/Scripts`, expect.stringMatching(/^archived-checksum mismatch: TOC says [0-9a-f]{40}, the stored bytes hash to [0-9a-f]{40}$/)]]);
  });

  it('the same damaged pkg stored in the zip (read in place, a window of the zip) or deflated (read from a private file) gives the same problems', async () => {
    const entries = new Map([...demo.entries].map(([k, v]) => [k, { data: Buffer.from(v.data), mode: v.mode }]));
    const pkg = entries.get(PKG_NAME)!.data;
    pkg[pkg.length - 100] = pkg[pkg.length - 100]! ^ 0xff;
    refreshDocs(entries);
    const files = [...entries].sort(([a], [b]) => (a < b ? -1 : 1));
    const write = async (name: string, storePkg: boolean): Promise<string> => {
      const sub = path.join(dir, name);
      mkdirSync(sub, { recursive: true });
      const file = path.join(sub, ZIP_NAME);
      const out = createWriteStream(file);
      await writeZip(files.map(([n, e]) => ({ name: n, mode: e.mode, source: { bytes: e.data }, compress: !(storePkg && n === PKG_NAME) })), 1700000000, out);
      out.end();
      await finished(out);
      return file;
    };
    const inPlace = await write('pkg-stored', true);
    const viaFile = await write('pkg-deflated', false);
    const stored = (await readZipEntries(inPlace, dir)).find((e) => e.name === PKG_NAME)!;
    expect(stored.file).toBeUndefined();
    expect(stored.source?.size).toBe(pkg.length);
    expect((await readZipEntries(viaFile, path.join(dir, 'pkg-deflated'))).find((e) => e.name === PKG_NAME)!.source).toBeUndefined();
    const problems = await problemsOf(inPlace);
    expect(problems).toEqual([[`:${PKG_NAME}:aiwatch.pkg/Scripts`, expect.stringMatching(/^archived-checksum mismatch/)]]);
    expect(problems).toEqual(await problemsOf(viaFile));
  });

  it('a universal release (arm64 + x86_64 demo binaries merged) passes too', async () => {
    const out = path.join(dir, 'universal');
    mkdirSync(out, { recursive: true });
    const r = await buildRelease({ spec: demo.spec, version: '1.0.0', arch: 'universal', binary: demoArm64, binaryX86_64: demoArm64.replace('arm64', 'x86_64'), outDir: out, epoch: 1700000000, builderVersion: '0.1.0', developmentBuild: true, gzipWorkers: 0 });
    expect(await problemsOf(r.zip)).toEqual([]);
    expect((await cli(['inspect', r.zip])).stdout).toContain('hostArchitectures  arm64,x86_64');
  });

  it('entries re-packed with other times: a note (the content is still what the manifest says)', async () => {
    const entries = new Map([...demo.entries].map(([k, v]) => [k, { data: Buffer.from(v.data), mode: v.mode }]));
    const sub = path.join(dir, 'retimed');
    mkdirSync(sub, { recursive: true });
    const file = path.join(sub, ZIP_NAME);
    const out = createWriteStream(file);
    await writeZip([...entries].map(([name, e]) => ({ name, mode: e.mode, source: { bytes: e.data } })), 1700000000 + 3600, out);
    out.end();
    await finished(out);
    const notes: string[] = [];
    expect(await verifyReleaseZip(file, { spec: demo.spec, env: process.env, note: (n) => notes.push(n) })).toEqual([]);
    expect(notes).toContainEqual(expect.stringMatching(/^entry times differ from the build's SOURCE_DATE_EPOCH 1700000000 \(2023-11-14T22:13:20\.000Z\): README\.txt \(2023-11-14T23:13:20\.000Z\), .* — the zip was re-packed after the build$/));
    const demoNotes: string[] = [];
    await verifyReleaseZip(demo.zip, { spec: demo.spec, env: process.env, note: (n) => demoNotes.push(n) });
    expect(demoNotes.filter((n) => n.startsWith('entry times'))).toEqual([]);
  });

  it('a .zip that is not a zip archive is one problem, exit 1', async () => {
    const bad = path.join(dir, 'broken.zip');
    writeFileSync(bad, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(40)]));
    expect(await problemsOf(bad)).toEqual([['', expect.stringMatching(/^not a readable zip archive \(/)]]);
    expect((await cli(['verify', bad])).code).toBe(1);
  });
});

describeWithTools(['sha256sum', 'unzip'], 'SHA256SUMS as sha256sum reads it', () => {
  it('sha256sum -c accepts the demo SHA256SUMS and rejects the planted wrong line that verify reports', async () => {
    const good = path.join(dir, 'unzipped-good');
    run('unzip', ['-q', '-o', demo.zip, '-d', good]);
    expect(run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: good })).toMatch(/cleanup-runlayer-scan\.sh: OK/);
    const bad = await variant('sums-oracle', (e) => replaceText(e, 'SHA256SUMS', /^016cb1b5/m, '116cb1b5'));
    const x = path.join(dir, 'unzipped-bad');
    run('unzip', ['-q', '-o', bad, '-d', x]);
    const r = tryRun('sha256sum', ['-c', 'SHA256SUMS'], { cwd: x });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/cleanup-runlayer-scan\.sh: FAILED/);
  });
});

/**
 * Reproducibility and the real process: the same SOURCE_DATE_EPOCH gives a byte-identical zip (in this process, in
 * a spawned CLI, from another working directory), another epoch changes the bytes; the spawned CLI's exit codes;
 * an install path with spaces, quotes and a non-ASCII name survives the round trip into the Payload (NFD).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeWithTools, run } from '../helpers/tools.js';
import { cli, demoArm64Path, listTree, spawnCli, tempDir, unpackRelease } from './build-helpers.js';

const ZIP = 'aiwatch-1.0.0-macos-arm64.zip';
const sha256 = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
const epochEnv = (epoch: string): NodeJS.ProcessEnv => ({ ...process.env, SOURCE_DATE_EPOCH: epoch });

describe('reproducible builds', () => {
  it('the same SOURCE_DATE_EPOCH gives the same zip bytes; another epoch gives other bytes', async () => {
    const work = tempDir('repro');
    const build = async (name: string, epoch: string, cwd?: string): Promise<string> => {
      const out = path.join(work, name);
      const r = await cli(['build', '--demo', '--out', out], { env: epochEnv(epoch), cwd });
      expect(r.code).toBe(0);
      return sha256(path.join(out, ZIP));
    };
    const a = await build('a', '1700000000');
    const b = await build('b', '1700000000', work);
    const c = await build('c', '1700086400');
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it('the pkg inside differs with the epoch too (xar and cpio timestamps), and is stable otherwise', async () => {
    const work = tempDir('repro-pkg');
    const pkgHash = async (name: string, epoch: string): Promise<string> => {
      const r = await cli(['build', '--demo', '--out', path.join(work, name), '--json'], { env: epochEnv(epoch) });
      return (JSON.parse(r.stdout) as { manifest: { files: Array<{ role: string; sha256: string }> } }).manifest.files.find((f) => f.role === 'pkg')!.sha256;
    };
    const [x, y, z] = [await pkgHash('x', '1600000000'), await pkgHash('y', '1600000000'), await pkgHash('z', '1600000001')];
    expect(y).toBe(x);
    expect(z).not.toBe(x);
  });
});

describe('the real CLI process', () => {
  it('build --demo exits 0, writes the zip byte-identical to the in-process build, prints JSON', async () => {
    const work = tempDir('spawn');
    const r = await spawnCli(['build', '--demo', '--out', path.join(work, 'child'), '--json'], { env: epochEnv('1700000000') });
    expect([r.code, r.stderr]).toEqual([0, '']);
    const json = JSON.parse(r.stdout) as { ok: boolean; zip: string };
    expect(json).toMatchObject({ ok: true, zip: path.join(work, 'child', ZIP) });
    const here = await cli(['build', '--demo', '--out', path.join(work, 'here')], { env: epochEnv('1700000000') });
    expect(here.code).toBe(0);
    expect(sha256(json.zip)).toBe(sha256(path.join(work, 'here', ZIP)));
  });

  it('exit 2 for a bad --version, 3 for a missing --binary, with the input named on stderr', async () => {
    const work = tempDir('spawn-bad');
    const bad = await spawnCli(['build', '--demo', '--version', '1.0 beta', '--out', work]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--version "1.0 beta" is not a version');
    const missing = await spawnCli(['build', '--binary', path.join(work, 'nope'), '--version', '1.0.0', '--out', work]);
    expect(missing.code).toBe(3);
    expect(missing.stderr.split('\n').filter((l) => l.startsWith('aiwatch-deploy:'))).toEqual([`aiwatch-deploy: ${path.join(work, 'nope')}: --binary: no such file`]);
    expect(listTree(work)).toEqual([]);
  });
});

describeWithTools(['unzip', 'bsdtar', 'gzip', 'cpio', 'xmllint'], 'an install path with spaces, quotes and non-ASCII names', () => {
  it('survives into the Payload (NFD), the launchd plists and back out through cpio and bsdtar', async () => {
    const work = tempDir('paths');
    const installPath = '/usr/local/lib/run layer/it\'s "q"/aiwatch ü/aiwatch'; // ü composed (NFC) here
    const specFile = path.join(work, 'spec.json');
    writeFileSync(specFile, JSON.stringify({ installPath }));
    const r = await cli(['build', '--demo', '--spec', specFile, '--out', path.join(work, 'out')]);
    expect(r.code).toBe(0);
    const u = unpackRelease(path.join(work, 'out', ZIP), work);
    const nfd = installPath.normalize('NFD').slice(1);
    expect(nfd).not.toBe(installPath.slice(1));
    expect(readFileSync(path.join(u.payload, nfd)).equals(readFileSync(demoArm64Path))).toBe(true);
    const listed = run('sh', ['-c', 'bsdtar -xOf "$1" aiwatch.pkg/Payload | bsdtar -tf -', 'sh', path.join(u.release, 'aiwatch-1.0.0-macos-arm64.pkg')]);
    expect(listed.split('\n')).toContain(`./${nfd}`);
    expect(listed.split('\n')).not.toContain(`./${installPath.slice(1)}`);
    const detect = path.join(u.payload, 'Library/LaunchAgents/com.runlayer.aiwatch.plist');
    const program = run('xmllint', ['--xpath', 'string(//key[.="ProgramArguments"]/following-sibling::array[1]/string[1])', detect]).replace(/\n$/, '');
    expect(program.normalize('NFD')).toBe(installPath.normalize('NFD'));
  });
});

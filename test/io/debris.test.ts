/**
 * The sweep of killed runs' debris (src/io/debris.ts) removes exactly our temporary folders and partial files whose
 * PID is gone, and nothing else: not a live process's (ours, or a running child's), not a name of another form, not
 * a link (nor what it points to), not a folder where a file is expected or the reverse, not another user's entry.
 * It reports one line per folder with the count, the bytes and the names, and a second sweep finds nothing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partialName, sweepStaleDebris, tempDirPrefix } from '../../src/io/debris.js';
import { tempSibling, withTempDir } from '../../src/io/fs.js';
import { isRoot } from './special-files.js';

const base = mkdtempSync(path.join(tmpdir(), 'aiwatch-io-debris-'));
let live: ChildProcess;
let dead = 0;

beforeAll(() => {
  live = spawn('sleep', ['60'], { stdio: 'ignore' });
  dead = spawnSync('true').pid!;
});
afterAll(() => {
  live.kill('SIGKILL');
  rmSync(base, { recursive: true, force: true });
});

function tree(dir: string, files: Record<string, string>): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('names', () => {
  it('temporary folders and partial files carry our PID', async () => {
    expect(tempDirPrefix('build')).toBe(`aiwatch-deploy-build-${process.pid}-`);
    expect(partialName('a.zip', 3)).toBe(`.a.zip.partial-${process.pid}-3`);
    expect(path.basename(tempSibling('/x/out/a.zip'))).toMatch(new RegExp(`^\\.a\\.zip\\.partial-${process.pid}-\\d+$`));
    const seen = await withTempDir('verify-zip', async (d) => d);
    expect(path.basename(seen)).toMatch(new RegExp(`^aiwatch-deploy-verify-zip-${process.pid}-[A-Za-z0-9]{6}$`));
    expect(existsSync(seen)).toBe(false);
  });
});

describe('sweepStaleDebris', () => {
  it('removes only stale debris of our exact forms, reports it once, never follows a link', async () => {
    const dir = path.join(base, 'sweep');
    const outside = tree(path.join(base, 'outside'), { 'keep.txt': 'must survive' });
    const livePid = live.pid!;
    // removed: a dead PID's staging folder (with a link inside pointing outside) and its partial zip
    const staging = tree(path.join(dir, `aiwatch-deploy-build-${dead}-Ab3dEf`), { 'aiwatch.pkg': 'x'.repeat(1000), Payload: 'y'.repeat(24) });
    symlinkSync(outside, path.join(staging, 'link-out'));
    writeFileSync(path.join(dir, `.aiwatch-1.0.0-macos-arm64.zip.partial-${dead}-1`), 'z'.repeat(100));
    // kept
    const keep = [
      `aiwatch-deploy-build-${process.pid}-Kq9zzz`, // ours, running
      `aiwatch-deploy-authenticode-${livePid}-Lv1234`, // a live process
      'aiwatch-deploy-build-Old123', // an older form without PID
      `aiwatch-deploy-Build-${dead}-Upper1`, // not our exact form
      `aiwatch-deploy-build-${dead}-short`, // not our exact form
    ];
    for (const k of keep) tree(path.join(dir, k), { f: 'kept' });
    writeFileSync(path.join(dir, `.x.zip.partial-${livePid}-1`), 'live');
    writeFileSync(path.join(dir, `x.zip.partial-${dead}-1`), 'no leading dot');
    writeFileSync(path.join(dir, `aiwatch-deploy-verify-${dead}-File12`), 'a file named like a folder');
    tree(path.join(dir, `.y.zip.partial-${dead}-2`), { f: 'a folder named like a partial' });
    symlinkSync(outside, path.join(dir, `aiwatch-deploy-verify-zip-${dead}-Link12`));
    symlinkSync(path.join(outside, 'keep.txt'), path.join(dir, `.l.zip.partial-${dead}-1`));
    const kept = [...keep, `.x.zip.partial-${livePid}-1`, `x.zip.partial-${dead}-1`, `aiwatch-deploy-verify-${dead}-File12`, `.y.zip.partial-${dead}-2`, `aiwatch-deploy-verify-zip-${dead}-Link12`, `.l.zip.partial-${dead}-1`];
    if (isRoot) {
      const foreign = tree(path.join(dir, `aiwatch-deploy-build-${dead}-Other1`), { f: 'another user' });
      chownSync(foreign, 4242, 4242);
      kept.push(`aiwatch-deploy-build-${dead}-Other1`);
    }

    const lines: string[] = [];
    const removed = await sweepStaleDebris([dir, dir, path.join(base, 'missing')], { report: (l) => lines.push(l) });
    expect(removed.map((r) => path.basename(r.path)).sort()).toEqual([`.aiwatch-1.0.0-macos-arm64.zip.partial-${dead}-1`, `aiwatch-deploy-build-${dead}-Ab3dEf`]);
    expect(removed.every((r) => r.pid === dead)).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^note: removed 2 item\\(s\\), \\d+ bytes, left in ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} by killed aiwatch-deploy run\\(s\\) \\(PID ${dead}\\): `));
    const bytes = Number(/(\d+) bytes/.exec(lines[0]!)![1]);
    expect(bytes).toBeGreaterThanOrEqual(1124); // 1000 + 24 + 100, plus the link itself
    expect(readdirSync(dir).sort()).toEqual([...kept].sort());
    expect(readFileSync(path.join(outside, 'keep.txt'), 'utf8')).toBe('must survive');

    const again: string[] = [];
    expect(await sweepStaleDebris([dir], { report: (l) => again.push(l) })).toEqual([]);
    expect(again).toEqual([]);
  });
});

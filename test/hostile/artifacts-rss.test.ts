/**
 * Checking what we generate stays lean (issue 16 item 4): `verify` and `inspect` of every artifact of the demo
 * release and of `intune --intunewin` — the pkg, the release zip, both profiles, the five scripts and the .intunewin
 * — each in its own CLI process (dist/, built by test/global-setup.ts) under /usr/bin/time: at most 200 MiB peak RSS.
 * Before the fix a 10 KB script took 2.1 GB (V8's optimizing compiler on tree-sitter-powershell's lexer).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { describeWithTools } from '../helpers/tools.js';
import { buildDemoRelease, repoRoot, tempDir } from '../verify/release-fixture.js';
import { INTUNEWIN, makeWindowsFixture, SCRIPTS } from '../verify/windows-fixture.js';

const RSS_TARGET_KIB = 200 * 1024;

function measured(args: string[], dir: string): { code: number | null; out: string; rssKiB: number } {
  const report = path.join(dir, 'time.txt');
  const r = spawnSync('/usr/bin/time', ['-o', report, '-f', '%M', process.execPath, path.join(repoRoot, 'bin/aiwatch-deploy.js'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, LANG: 'C.UTF-8' },
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}`, rssKiB: Number(readFileSync(report, 'utf8').trim().split('\n').at(-1)) };
}

describeWithTools(['/usr/bin/time'], 'verify and inspect of every artifact we generate: at most 200 MiB peak RSS each', () => {
  const files: string[] = [];
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('artifacts-rss');
    const demo = await buildDemoRelease();
    const win = await makeWindowsFixture();
    files.push(demo.pkg, demo.zip);
    for (const name of ['com.runlayer.aiwatch.pppc.mobileconfig', 'com.runlayer.aiwatch.loginitems.mobileconfig']) {
      const f = path.join(dir, name);
      writeFileSync(f, demo.entries.get(name)!.data);
      files.push(f);
    }
    files.push(...SCRIPTS.map((s) => path.join(win.dir, win.plain, s)), path.join(win.dir, win.plain, INTUNEWIN));
  }, 120_000);

  it('pkg, zip, profiles, scripts and .intunewin', () => {
    const rows: string[] = [];
    for (const f of files) {
      for (const cmd of ['verify', 'inspect']) {
        const r = measured([cmd, f], dir);
        const show = `${cmd} ${path.basename(f)}: exit ${r.code}, ${Math.round(r.rssKiB / 1024)} MiB\n${r.out.slice(0, 2000)}`;
        rows.push(show.split('\n')[0]!);
        expect(cmd === 'verify' ? [0, 1] : [0], show).toContain(r.code);
        expect(r.out, show).not.toMatch(/internal error/);
        expect(r.rssKiB, show).toBeLessThanOrEqual(RSS_TARGET_KIB);
      }
    }
    expect(rows).toHaveLength(20);
  }, 180_000);
});

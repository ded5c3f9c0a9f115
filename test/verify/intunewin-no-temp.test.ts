/**
 * `verify` and `inspect` of a small `.intunewin` create nothing in TMPDIR: its decrypted content stays in memory, so
 * the private folder a large one spills to is never made. TMPDIR is an empty folder of the test's own, watched
 * (inotify) for any entry created in it during the run.
 */
import { mkdtempSync, readdirSync, watch } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, INTUNEWIN, makeWindowsFixture, run, type WindowsFixture } from './windows-fixture.js';

let f: WindowsFixture | undefined;
const savedTmp = process.env.TMPDIR;

beforeAll(async () => {
  f = await makeWindowsFixture();
}, 60_000);
afterAll(() => cleanup(f));
afterEach(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
});

describe('a small .intunewin: no temporary folder', () => {
  it.each([['verify'], ['inspect']])('%s creates no entry in TMPDIR', async (command) => {
    const tmp = mkdtempSync(path.join(f!.dir, 'tmp-'));
    const created: string[] = [];
    const watcher = watch(tmp, (_event, name) => void created.push(String(name)));
    try {
      process.env.TMPDIR = tmp;
      const r = await run(f!, [command, path.join(f!.plain, INTUNEWIN)]);
      expect(r.code, r.stderr).toBe(0);
      await sleep(200); // let inotify deliver what the run caused
    } finally {
      watcher.close();
    }
    expect(created).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  });
});

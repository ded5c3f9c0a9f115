/**
 * `verify` of a release zip writes no file: its members are checked where they are (the pkg as a window of the zip,
 * profiles, the Jamf schema, scripts and plists from the bytes in memory, named `zip:entry`), not copied to a
 * private temporary file first. Every write goes through src/io/fs.ts, so its writers are recorded during the run;
 * TMPDIR is an empty folder of the test's own, which must still be empty afterwards.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildDemoRelease, cli, tempDir, type DemoRelease } from './release-fixture.js';

const writes = vi.hoisted(() => [] as string[]);

vi.mock('../../src/io/fs.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/io/fs.js')>();
  return {
    ...real,
    writeFileAtomic: async (...a: Parameters<typeof real.writeFileAtomic>) => {
      writes.push(a[0]);
      return real.writeFileAtomic(...a);
    },
    writeStagingFile: async (...a: Parameters<typeof real.writeStagingFile>) => {
      writes.push(a[0]);
      return real.writeStagingFile(...a);
    },
  };
});

let demo: DemoRelease;
const savedTmp = process.env.TMPDIR;

beforeAll(async () => {
  demo = await buildDemoRelease();
}, 60_000);

afterEach(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
});

describe('verify release zip: no temporary copies', () => {
  it('passes the demo release zip without writing any file, and leaves TMPDIR empty', async () => {
    const tmp = mkdtempSync(path.join(tempDir('verify-zip-no-temp'), 'tmp-'));
    process.env.TMPDIR = tmp;
    writes.length = 0;
    const r = await cli(['verify', demo.zip]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(writes).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  });
});

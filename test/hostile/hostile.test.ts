/**
 * The hostile corpus (scripts/make-hostile.mjs) against the CLI as an admin runs it: `verify` and `inspect` of each
 * file in a child process (`node --max-old-space-size=256 bin/aiwatch-deploy.js …`, dist/ built by
 * test/global-setup.ts) under /usr/bin/time, with a 20 s cap. Each run must end with the expected exit code (1 for
 * verify's problems, 3 for inspect's refusal, unless the file is describable), a clear message naming the limit or
 * the fault, no internal error, no JavaScript error text, no stack trace, and a peak RSS under 256 MiB.
 *
 * The small files are committed under test/fixtures/hostile/ (and must still be what the script writes); the big
 * ones (a 9 MiB Payload, a 300 MB script, …) are generated into a temporary folder here, since their size is the
 * attack. Runs go two at a time (the CI machine has two cores); the whole file takes ~40 s.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE, makeHostile, type HostileFile as Hostile } from '../../scripts/make-hostile.mjs';
import { describeWithTools } from '../helpers/tools.js';

const corpus = HOSTILE;
const root = path.resolve(import.meta.dirname, '../..');
const committed = path.join(root, 'test/fixtures/hostile');
const TIME_CAP_MS = 20_000;
const RSS_CAP_KIB = 256 * 1024;

/** Expected outcome of one command: exit code and what the output must say. */
type Outcome = [code: number | number[], ...says: RegExp[]];
const limit = /over the limit/;

const EXPECT: Record<string, { verify: Outcome; inspect: Outcome }> = {
  'toc-4m-files.pkg': { verify: [1, /xar TOC: inflates to more than 8 MiB/, limit], inspect: [3, /xar TOC: inflates to more than 8 MiB/, limit] },
  'toc-5000-deep.pkg': { verify: [1, /xar TOC not read: elements nest deeper than 256 levels/, limit], inspect: [3, /nest deeper than 256 levels/, limit] },
  'bom-alias-20.pkg': { verify: [1, /x\.pkg\/Bom: cannot be read: blocks \d+ \(Paths node\) and \d+ \(Paths node\) share their bytes/, /aliased blocks/], inspect: [3, /x\.pkg\/Bom: .*aliased blocks/] },
  'bom-alias-500.pkg': { verify: [1, /x\.pkg\/Bom: cannot be read: .*aliased blocks/], inspect: [3, /x\.pkg\/Bom: .*aliased blocks/] },
  'bom-deep-chain.pkg': { verify: [1, /x\.pkg\/Bom: cannot be read: the path of entry id \d+ is longer than 1024 bytes/, limit], inspect: [3, /x\.pkg\/Bom: the path of entry id \d+ is longer than 1024 bytes/] },
  'payload-10g.pkg': { verify: [1, /x\.pkg\/Payload: cannot be read: inflates to more than 1 MiB: over the limit of the 2560 bytes the Bom declares/], inspect: [3, /x\.pkg\/Payload: inflates to more than 1 MiB/, limit] },
  'payload-3g-nobom.pkg': { verify: [1, /x\.pkg\/Payload: cannot be read: inflates to more than [\d.]+ MiB: over the limit of 256 times its/, /decompression bomb/], inspect: [3, /x\.pkg\/Payload: .*decompression bomb/] },
  'payload-200k-entries.pkg': { verify: [1, /x\.pkg\/Payload: cannot be read: more than 100000 entries: over the limit/], inspect: [3, /x\.pkg\/Payload: more than 100000 entries/] },
  // The containers are sound; the Mach-O reader refuses both programs, and inspect shows them as unreadable.
  'payload-hostile-macho.pkg': {
    verify: [1, /Payload:\.\/fat: starts like a Mach-O file but cannot be read: fat header claims 1048576 architectures \(more than 30\)/, /Payload:\.\/thin: .*load commands claim 4294967295 bytes, more than the 16777216/],
    inspect: [0, /Mach-O \.\/fat: unreadable[^]*PROBLEM: fat header claims 1048576 architectures/, /Mach-O \.\/thin: unreadable[^]*PROBLEM: load commands claim 4294967295 bytes/],
  },
  'fat-2p20-slices.bin': { verify: [1, /not a kind of file verify knows/], inspect: [3, /not a readable Mach-O file: fat header claims 1048576 architectures \(more than 30\)/] },
  'macho-sizeofcmds.bin': { verify: [1, /not a kind of file verify knows/], inspect: [3, /load commands claim 4294967295 bytes, more than the 16777216 this reader accepts/] },
  'zip-bomb-liar.zip': { verify: [1, /manifest\.json: inflates to more than the 1024 bytes it declares/], inspect: [3, /manifest\.json: inflates to more than the 1024 bytes it declares/] },
  'zip-bomb-honest.zip': { verify: [1, /aiwatch\.pkg: declares 1 GiB from [\d.]+ (MiB|KiB) compressed/, limit], inspect: [3, /aiwatch\.pkg: declares 1 GiB/, limit] },
  'zip-100k-entries.zip': { verify: [1, /100000 entries: over the limit of 10000/], inspect: [3, /100000 entries: over the limit of 10000/] },
  'plist-10k-deep.mobileconfig': { verify: [1, /nest deeper than 256 levels/, limit], inspect: [3, /nest deeper than 256 levels/, limit] },
  'huge-data.mobileconfig': { verify: [1, /\d+ bytes: over the limit of 16 MiB/], inspect: [3, /\d+ bytes: over the limit of 16 MiB/] },
  'cms-deep.mobileconfig': { verify: [1, /ASN\.1 .*nest deeper than 64 levels/, limit], inspect: [3, /ASN\.1 .*nest deeper than 64 levels/, limit] },
  'cms-deep-ber.mobileconfig': { verify: [1, /ASN\.1 .*nest deeper than 64 levels/, limit], inspect: [3, /ASN\.1 .*nest deeper than 64 levels/, limit] },
  // A size that disagrees with the content is a finding, not a reading limit: inspect describes it.
  'detection-huge-size.intunewin': { verify: [1, /UnencryptedContentSize is 1000000000000000000000000000000, the decrypted content is \d+ bytes/], inspect: [0, /PROBLEM: Detection\.xml: UnencryptedContentSize is 1000000000000000000000000000000/] },
  'intunewin-script-bomb.intunewin': { verify: [1, /Detect\.ps1: 268435456 bytes is over Intune's 204800-byte script limit/], inspect: [3, /Detect\.ps1: 268435456 bytes is over Intune's 204800-byte script limit/] },
  'intunewin-100k-entries.intunewin': { verify: [1, /100000 entries: over the limit of 10000/], inspect: [3, /100000 entries: over the limit of 10000/] },
  'over-200k.ps1': { verify: [1, /204801 bytes is over Intune's 204800-byte script limit/], inspect: [3, /204801 bytes is over Intune's 204800-byte script limit/] },
  'big-300m.ps1': { verify: [1, /\d{9} bytes is over Intune's 204800-byte script limit/], inspect: [3, /\d{9} bytes is over Intune's 204800-byte script limit/] },
  // Valid PowerShell nested 50,000 deep: its parse outgrows the memory a 100 KB script may take and is cancelled.
  'deep-parens.ps1': { verify: [1, /PowerShell syntax not checked: parsing it needs more than the 60 MiB of parser memory a script of its size may take: over the limit/], inspect: [0, /PowerShell script/] },
};

interface RunResult {
  code: number | null;
  out: string;
  ms: number;
  rssKiB: number;
  timedOut: boolean;
}

function runCli(args: string[], rssFile: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn('/usr/bin/time', ['-o', rssFile, '-f', '%M', process.execPath, '--max-old-space-size=256', path.join(root, 'bin/aiwatch-deploy.js'), ...args], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR ?? tmpdir(), LANG: 'C.UTF-8' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, TIME_CAP_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      let rssKiB = NaN;
      try {
        rssKiB = Number(readFileSync(rssFile, 'utf8').trim().split('\n').at(-1));
      } catch {
        // killed before /usr/bin/time wrote its report
      }
      resolve({ code, out, ms: Date.now() - t0, rssKiB, timedOut });
    });
  });
}

/** Run `jobs` at most `width` at a time. */
async function pool<T>(jobs: Array<() => Promise<T>>, width: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await jobs[i]!();
      }
    }),
  );
  return results;
}

describe('the hostile corpus', () => {
  it('every generated file has an expected outcome, and every expectation a file', () => {
    expect(corpus.map((h) => h.name).sort()).toEqual(Object.keys(EXPECT).sort());
  });

  it('the committed small files are what scripts/make-hostile.mjs writes (byte for byte)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-hostile-small-'));
    try {
      const small = corpus.filter((h) => h.small);
      expect(small.length).toBeGreaterThan(10);
      await makeHostile(dir);
      for (const h of small) expect(readFileSync(path.join(dir, h.name)).equals(readFileSync(path.join(committed, h.name))), h.name).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWithTools(['/usr/bin/time'], 'verify and inspect of each hostile file: bounded, clear, never an internal error', () => {
  let dir: string;
  const results = new Map<string, RunResult>();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-hostile-'));
    await makeHostile(dir, { only: corpus.filter((h) => !h.small).map((h) => h.name) });
    const fileOf = (h: Hostile): string => path.join(h.small ? committed : dir, h.name);
    const jobs = corpus.flatMap((h, i) =>
      (['verify', 'inspect'] as const).map((cmd) => async () => {
        const r = await runCli([cmd, fileOf(h)], path.join(dir, `time-${i}-${cmd}.txt`));
        results.set(`${h.name} ${cmd}`, r);
      }),
    );
    await pool(jobs, 2);
  }, 240_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const h of corpus) {
    for (const cmd of ['verify', 'inspect'] as const) {
      it(`${cmd} ${h.name}: ${h.about}`, () => {
        const r = results.get(`${h.name} ${cmd}`)!;
        const [code, ...says] = EXPECT[h.name]![cmd];
        const show = `${cmd} ${h.name} (exit ${r.code}, ${r.ms} ms, ${Math.round(r.rssKiB / 1024)} MiB):\n${r.out.slice(0, 3000)}`;
        expect(r.timedOut, `${show}\nran over ${TIME_CAP_MS} ms`).toBe(false);
        expect(Array.isArray(code) ? code : [code], show).toContain(r.code);
        for (const s of says) expect(r.out, show).toMatch(s);
        expect(r.out, show).not.toMatch(/internal error|RangeError|TypeError|Maximum call stack|FATAL ERROR|heap out of memory|Aborted\(\)/);
        expect(r.out, show).not.toMatch(/^\s+at .+[(:]\d+/m);
        expect(r.rssKiB, show).toBeLessThan(RSS_CAP_KIB);
      });
    }
  }
});

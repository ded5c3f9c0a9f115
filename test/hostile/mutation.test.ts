/**
 * Random damage to good artifacts — the demo release's pkg and zip, its PPPC profile, and an Intune .intunewin —
 * through `verify` and `inspect` as the CLI runs them (main() in process): byte flips, truncations, insertions,
 * deleted and overwritten runs. Whatever the damage, verify ends with 0 or 1 and inspect with 0 or 3, and neither
 * ever prints an internal error, a JavaScript error name or a stack trace (fast-check; one fixed seed under CI).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../cli/cli-helpers.js';
import { buildDemoRelease, tempDir, type DemoRelease } from '../verify/release-fixture.js';
import { INTUNEWIN, makeWindowsFixture, type WindowsFixture } from '../verify/windows-fixture.js';

type Edit = { kind: 'flip'; at: number; xor: number } | { kind: 'cut'; at: number } | { kind: 'insert'; at: number; bytes: Uint8Array } | { kind: 'delete'; at: number; n: number } | { kind: 'fill'; at: number; n: number; byte: number };

/** One to three edits, positions as fractions of the file so every region is reached whatever its size. */
const edits = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), xor: fc.integer({ min: 1, max: 255 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), n: fc.integer({ min: 1, max: 512 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('fill' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), n: fc.integer({ min: 1, max: 256 }), byte: fc.constantFrom(0x00, 0xff, 0x7f, 0x30) }) },
  ),
  { minLength: 1, maxLength: 3 },
);

function apply(bytes: Buffer, list: Array<{ kind: string; at: number; xor?: number; bytes?: Uint8Array; n?: number; byte?: number }>): Buffer {
  let b = Buffer.from(bytes);
  for (const e of list as Edit[]) {
    const at = Math.min(b.length, Math.floor(e.at * b.length));
    if (e.kind === 'flip' && at < b.length) b[at] = b[at]! ^ e.xor;
    else if (e.kind === 'cut') b = b.subarray(0, at);
    else if (e.kind === 'insert') b = Buffer.concat([b.subarray(0, at), e.bytes, b.subarray(at)]);
    else if (e.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.n)]);
    else if (e.kind === 'fill') b.fill(e.byte, at, Math.min(b.length, at + e.n));
  }
  return b;
}

const CRASH = /internal error|RangeError|TypeError|ReferenceError|SyntaxError: (?!.*XML)|Maximum call stack|Aborted\(\)|\n\s+at .+[(:]\d+/;

/** verify and inspect of `bytes` damaged by the arbitrary edits, `runs` times. */
async function damage(label: string, original: Buffer, name: string, runs: number): Promise<void> {
  const dir = tempDir(`mutate-${label}`);
  let n = 0;
  await fc.assert(
    fc.asyncProperty(edits, async (list) => {
      const sub = path.join(dir, String(n++));
      const file = path.join(sub, name);
      await import('node:fs/promises').then((fs) => fs.mkdir(sub, { recursive: true }));
      writeFileSync(file, apply(original, list));
      const v = await cli(['verify', file], { cwd: sub });
      expect([0, 1], `verify: ${v.stdout}${v.stderr}`).toContain(v.code);
      expect(v.stdout + v.stderr).not.toMatch(CRASH);
      const i = await cli(['inspect', file], { cwd: sub });
      expect([0, 3], `inspect: ${i.stderr}`).toContain(i.code);
      expect(i.stderr).not.toMatch(CRASH);
    }),
    { numRuns: runs },
  );
}

describe('random damage to good artifacts: verify and inspect never crash', () => {
  let demo: DemoRelease;
  let win: WindowsFixture;
  beforeAll(async () => {
    demo = await buildDemoRelease();
    win = await makeWindowsFixture();
  }, 120_000);

  it('the demo pkg (120 damaged copies)', async () => {
    await damage('pkg', readFileSync(demo.pkg), 'aiwatch.pkg', 120);
  }, 240_000);

  it('the demo release zip (100 damaged copies)', async () => {
    await damage('zip', readFileSync(demo.zip), 'aiwatch-1.0.0-macos-arm64.zip', 100);
  }, 240_000);

  it('the PPPC profile (150 damaged copies)', async () => {
    await damage('profile', demo.entries.get('com.runlayer.aiwatch.pppc.mobileconfig')!.data, 'com.runlayer.aiwatch.pppc.mobileconfig', 150);
  }, 240_000);

  it('the .intunewin (120 damaged copies)', async () => {
    await damage('intunewin', readFileSync(path.join(win.dir, win.plain, INTUNEWIN)), INTUNEWIN, 120);
  }, 240_000);
});

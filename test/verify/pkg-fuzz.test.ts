/**
 * Damage anywhere is reported, never thrown: every single-byte change of the (unsigned) demo pkg is covered by the
 * header, the TOC checksum or a member checksum, so verify must report at least one problem for each — and a
 * truncated file likewise — without an exception escaping (property tests, fixed seed).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyPkgFile } from '../../src/verify/pkg.js';
import { inspectFile } from '../../src/inspect/index.js';
import { buildDemoRelease, tempDir, type DemoRelease } from './release-fixture.js';

let demo: DemoRelease;
let bytes: Buffer;
let dir: string;

beforeAll(async () => {
  demo = await buildDemoRelease();
  bytes = readFileSync(demo.pkg);
  dir = tempDir('pkg-fuzz');
}, 60_000);

describe('verify pkg under random damage', () => {
  it('any single changed byte gives at least one problem, and inspect either describes or refuses with exit-3 errors', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 10_817 }), fc.integer({ min: 1, max: 255 }), async (offset, xor) => {
        const file = path.join(dir, `flip-${n++}.pkg`);
        const b = Buffer.from(bytes);
        b[offset % b.length] = b[offset % b.length]! ^ xor;
        writeFileSync(file, b);
        const r = await verifyPkgFile(file, { spec: demo.spec });
        expect(r.problems.length).toBeGreaterThan(0);
        await inspectFile(file).catch((e: unknown) => expect((e as { exitCode?: number }).exitCode).toBe(3));
      }),
      { numRuns: 60, seed: 20250101 },
    );
  });

  it('a truncated file gives at least one problem', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 10_817 }), async (len) => {
        const file = path.join(dir, `cut-${n++}.pkg`);
        writeFileSync(file, bytes.subarray(0, len));
        const r = await verifyPkgFile(file, { spec: demo.spec });
        expect(r.problems.length).toBeGreaterThan(0);
      }),
      { numRuns: 40, seed: 20250102 },
    );
  });
});

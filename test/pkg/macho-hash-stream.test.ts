/**
 * The streamed code-page check gives the same verdict as the whole-image check (verifyCodeDirectory) for any
 * chunking — on the demo binaries, on real linker output (tree-sitter's darwin-arm64 prebuild, 257 pages) and on
 * randomly damaged copies; and the file scan reads a large binary without holding it (peak RSS of a child process).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyCodeDirectory } from '../../src/macho/codesign.js';
import { scanMachOBytes, scanMachOFile } from '../../src/macho/file-scan.js';
import { CodeDirectoryHasher, MAX_REPORTED } from '../../src/macho/hash-stream.js';
import { createUniversal } from '../../src/macho/lipo.js';
import { parseMachO } from '../../src/macho/macho.js';
import { buildDemoBinary } from '../../scripts/demo-binary/build.js';
import { demoArm64, demoX8664, repoRoot, treeSitterPrebuild } from './macho-helpers.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'hash-stream-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Streamed verdict of the first slice of a thin image, fed in chunks of the given sizes (cycled). */
function streamed(data: Uint8Array, sizes: number[]): { whats: string[]; count: number } {
  const s = parseMachO(data).slices[0]!;
  const cs = s.codeSignature!;
  const h = new CodeDirectoryHasher(data.subarray(cs.dataoff, cs.dataoff + cs.datasize), cs, cs.codeDirectory!, data.length);
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]!);
    h.update(data.subarray(at, at + n));
    at += n;
  }
  const v = h.finish();
  return { whats: v.mismatches.map((m) => m.what), count: v.count };
}

function whole(data: Uint8Array): string[] {
  const s = parseMachO(data).slices[0]!;
  const cs = s.codeSignature!;
  return verifyCodeDirectory(data, data.subarray(cs.dataoff, cs.dataoff + cs.datasize), cs, cs.codeDirectory!).map((m) => m.what);
}

describe('CodeDirectoryHasher', () => {
  it('accepts intact images in any chunking: demo arm64/x86_64, entitlements, real linker output', () => {
    const real = readFileSync(treeSitterPrebuild('darwin-arm64'));
    const samples = [demoArm64(), demoX8664(), buildDemoBinary({ arch: 'arm64', entitlements: '<plist/>' }), real];
    for (const data of samples) {
      for (const sizes of [[data.length], [data.length > 100_000 ? 997 : 1], [4095, 4097], [1 << 20], [7, 100_000, 3]]) {
        expect(streamed(data, sizes)).toEqual({ whats: [], count: 0 });
      }
    }
    expect(parseMachO(real).slices[0]!.codeSignature!.codeDirectory!.nCodeSlots).toBe(257);
  });

  it('matches verifyCodeDirectory on randomly damaged images (pages, signature blobs, code limit)', () => {
    const base = demoArm64();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: base.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 4 }),
        (edits, sizes) => {
          const b = Buffer.from(base);
          for (const [at, x] of edits) b[at]! ^= x;
          let parsedOk: boolean;
          try {
            const cs = parseMachO(b).slices[0]!.codeSignature;
            parsedOk = cs?.codeDirectory !== undefined;
          } catch {
            parsedOk = false;
          }
          if (!parsedOk) return; // damaged headers are the parser's business, tested elsewhere
          const expected = whole(b);
          const got = streamed(b, sizes);
          expect(got.count).toBe(expected.length);
          expect(got.whats).toEqual(expected.slice(0, MAX_REPORTED));
        },
      ),
      { numRuns: 80 },
    );
  });

  it('counts every differing page but keeps only the first few', () => {
    const b = demoArm64();
    const cs = parseMachO(b).slices[0]!.codeSignature!;
    for (let at = 0x1000; at < cs.dataoff; at += 0x1000) b[at]! ^= 0xff; // every page but page 0
    const pages = cs.codeDirectory!.nCodeSlots;
    expect(whole(b)).toHaveLength(pages - 1);
    const got = streamed(b, [5000]);
    expect(got.count).toBe(pages - 1);
    expect(got.whats).toEqual(Array.from({ length: Math.min(MAX_REPORTED, pages - 1) }, (_, i) => `page ${i + 1}`));
  });
});

describe('scanMachOFile', () => {
  it('agrees with the in-memory scan for thin and universal files', async () => {
    const fat = createUniversal([{ name: 'a', data: demoArm64() }, { name: 'x', data: demoX8664() }]);
    const broken = demoX8664();
    broken[0x400]! ^= 1;
    for (const [name, data] of [['arm64', demoArm64()], ['fat', fat], ['broken', broken]] as const) {
      const p = path.join(tmp, name);
      writeFileSync(p, data);
      const a = await scanMachOFile(p, '--binary');
      const b = scanMachOBytes(data, p);
      expect(a.sha256).toBe(createHash('sha256').update(data).digest('hex'));
      expect([a.size, a.sha256, a.verdicts]).toEqual([b.size, b.sha256, b.verdicts]);
      expect(a.parsed!.slices.map((s) => s.arch)).toEqual(b.parsed!.slices.map((s) => s.arch));
    }
    expect((await scanMachOFile(path.join(tmp, 'broken'), '--binary')).verdicts[0]!.mismatches.map((m) => m.what)).toEqual(['page 0']);
  });

  it('does not return a parse for a file that is not Mach-O', async () => {
    const p = path.join(tmp, 'script');
    writeFileSync(p, '#!/bin/sh\n');
    const s = await scanMachOFile(p, '--binary');
    expect([s.parsed, Buffer.from(s.head).toString()]).toEqual([undefined, '#!/bin/sh\n']);
  });

  it('streams: the release check of a 96 MiB signed binary keeps the peak RSS far below its size', () => {
    // A child process (clean RSS): generate the binary with the bench generator, then check it.
    const big = path.join(tmp, 'big');
    const script = `
      const { benchBinary } = await import(${JSON.stringify(path.join(repoRoot, 'scripts/make-bench-binary.ts'))});
      const fs = await import('node:fs');
      fs.writeFileSync(${JSON.stringify(big)}, benchBinary(96 * 1024 * 1024));`;
    const gen = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(gen.stderr).toBe('');
    const check = `
      const { checkReleaseBinary } = await import(${JSON.stringify(path.join(repoRoot, 'dist/sign/binary-check.js'))});
      const before = process.memoryUsage().rss;
      const id = await checkReleaseBinary(${JSON.stringify(big)}, { arch: 'x86_64', identifier: 'com.runlayer.aiwatch', teamId: 'AF2M8HC7A2', allowUntrustedSigner: true });
      console.log(JSON.stringify({ signature: id.signature, size: id.size, before, maxRSS: process.resourceUsage().maxRSS * 1024 }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', check], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const m = JSON.parse(r.stdout) as { signature: string; size: number; before: number; maxRSS: number };
    expect(m.signature).toBe('signed');
    expect(m.size).toBeGreaterThan(96 * 1024 * 1024);
    expect(m.maxRSS - m.before).toBeLessThan(48 * 1024 * 1024);
  });
});

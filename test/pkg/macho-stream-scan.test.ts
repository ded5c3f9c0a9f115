/**
 * The streamed scan of a program inside a Payload (src/macho/stream-scan.ts) gives what the file scan gives — the
 * same SHA-256, headers, code signature and page verdict, for any chunking, intact or damaged — or says it cannot
 * (universal files, another page size, a damaged signature), never a guess; and `readPkg` then reads that program
 * again from the Payload and scans it from a file, with the same result as scanning the binary itself.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createStagingStream } from '../../src/io/fs.js';
import { scanMachOBytes } from '../../src/macho/file-scan.js';
import { createUniversal } from '../../src/macho/lipo.js';
import { machoIdentity } from '../../src/macho/identity.js';
import { parseMachO } from '../../src/macho/macho.js';
import { StreamedMachOScan } from '../../src/macho/stream-scan.js';
import { buildProductArchive } from '../../src/pkg/flat-package.js';
import { readPkg } from '../../src/read/pkg-read.js';
import { finished } from 'node:stream/promises';
import { benchBinary } from '../../scripts/make-bench-binary.js';
import { buildDemoBinary } from '../../scripts/demo-binary/build.js';
import { demoArm64, demoX8664, treeSitterPrebuild } from './macho-helpers.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'stream-scan-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Feed `data` in chunks of the given sizes (cycled). */
function streamed(data: Uint8Array, sizes: number[]): ReturnType<StreamedMachOScan['finish']> {
  const s = new StreamedMachOScan('prog', data.length);
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]!);
    s.update(data.subarray(at, at + n));
    at += n;
  }
  return s.finish();
}

/** What the file scan says, in the streamed scan's terms. */
function expected(data: Uint8Array): { sha256: string; verdict: unknown; slices: unknown } {
  const f = scanMachOBytes(data, 'prog');
  return { sha256: f.sha256, verdict: f.verdicts[0], slices: f.parsed!.slices };
}

function same(data: Uint8Array, sizes: number[]): void {
  const got = streamed(data, sizes);
  if (got === undefined || got === 'not Mach-O') throw new Error(`no streamed scan for chunks ${sizes.join(',')}`);
  expect(got.sha256).toBe(createHash('sha256').update(data).digest('hex'));
  expect({ sha256: got.sha256, verdict: got.verdict, slices: got.parsed.slices }).toEqual(expected(data));
}

const bench = benchBinary(3 * 1024 * 1024 + 12_345);

describe('StreamedMachOScan', () => {
  it('agrees with the file scan on intact binaries in any chunking (demo, ad hoc, linker-signed, real linker output, a 3 MiB bench binary)', () => {
    const samples = [demoArm64(), demoX8664(), buildDemoBinary({ arch: 'x86_64', signature: 'adhoc' }), buildDemoBinary({ arch: 'arm64', signature: 'linker-signed' }), treeSitterPrebuild('darwin-arm64'), bench];
    for (const data of samples.map((d) => (typeof d === 'string' ? readFileSync(d) : d))) {
      for (const sizes of [[data.length], [997], [4095, 4097], [65_536], [7, 100_000, 3], [1 << 20]]) same(data, sizes);
    }
    const v = streamed(bench, [65_536]);
    expect(v !== undefined && v !== 'not Mach-O' && v.verdict).toEqual({ mismatches: [], count: 0 });
  });

  it('an unsigned binary: headers and hash, no verdict (as the file scan)', () => {
    const data = buildDemoBinary({ arch: 'arm64', signature: 'none' });
    same(data, [1000]);
    expect(scanMachOBytes(data, 'prog').verdicts).toEqual([undefined]);
  });

  it('matches the file scan on randomly damaged copies, or gives up — never another verdict', () => {
    const base = bench;
    const cs = parseMachO(base).slices[0]!.codeSignature!;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: base.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }),
        fc.array(fc.integer({ min: 1, max: 300_000 }), { minLength: 1, maxLength: 3 }),
        (edits, sizes) => {
          const b = Buffer.from(base);
          for (const [at, x] of edits) b[at]! ^= x;
          let file: ReturnType<typeof scanMachOBytes> | 'error';
          try {
            file = scanMachOBytes(b, 'prog');
          } catch {
            file = 'error'; // the headers or signature do not parse
          }
          const got = streamed(b, sizes);
          // A format error must be the file scan's (its words): the streamed scan gives up and the caller scans the file.
          if (file === 'error') return void expect(got).toBeUndefined();
          if (!file.parsed) return void expect(got).toBe('not Mach-O');
          if (got === undefined) {
            // Allowed only when the damage is in the headers or the signature (what says how to check the pages).
            expect(edits.some(([at]) => at < 0x4000 || at >= cs.dataoff)).toBe(true);
            return;
          }
          if (got === 'not Mach-O') throw new Error('a Mach-O taken for something else');
          expect({ sha256: got.sha256, verdict: got.verdict, slices: got.parsed.slices }).toEqual({ sha256: file.sha256, verdict: file.verdicts[0], slices: file.parsed.slices });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a page changed after signing: the same mismatch as the file scan', () => {
    const b = Buffer.from(bench);
    b[0x10_000 + 5]! ^= 0x40;
    same(b, [65_536]);
    const v = streamed(b, [4096]);
    expect(v !== undefined && v !== 'not Mach-O' && v.verdict!.mismatches.map((m) => m.what)).toEqual(['page 16']);
  });

  it('gives up on a universal file and on a CodeDirectory with 16 KiB pages; says "not Mach-O" for a script', () => {
    const fat = createUniversal([{ name: 'a', data: demoArm64() }, { name: 'x', data: bench }]);
    expect(streamed(fat, [65_536])).toBeUndefined();
    const b = Buffer.from(bench);
    const slice = parseMachO(b).slices[0]!;
    const cs = slice.codeSignature!;
    b[cs.dataoff + cs.codeDirectory!.offset + 39] = 14; // pageSize: log2 → 16 KiB
    expect(streamed(b, [65_536])).toBeUndefined();
    expect(streamed(Buffer.from(`#!/bin/sh\n${'echo x\n'.repeat(300_000)}`), [65_536])).toBe('not Mach-O');
  });
});

describe('readPkg: programs over 1 MiB', () => {
  it('scans a thin one as it streams and reads a universal one again from the Payload: both as the file scan says', async () => {
    const fat = createUniversal([{ name: 'a', data: demoArm64() }, { name: 'x', data: bench }]);
    const damaged = Buffer.from(bench);
    damaged[0x20_000]! ^= 1;
    const pkg = path.join(tmp, 'two.pkg');
    const out = createStagingStream(pkg);
    await buildProductArchive(
      {
        packageIdentifier: 'com.example.two',
        componentName: 'two.pkg',
        title: 'two',
        minimumMacOS: '12.0',
        version: '1.0',
        hostArchitectures: ['arm64', 'x86_64'],
        files: [
          { path: '/usr/local/bin/thin', mode: 0o755, source: { bytes: damaged } },
          { path: '/usr/local/bin/fat', mode: 0o755, source: { bytes: fat } },
        ],
        scripts: { preinstall: '#!/bin/sh\nexit 0\n', postinstall: '#!/bin/sh\nexit 0\n' },
        epoch: 315532800,
        generator: 'test',
        workDir: tmp,
      },
      out,
    );
    out.end();
    await finished(out);
    const c = (await readPkg(pkg)).components[0]!;
    expect(c.errors).toEqual({});
    const byPath = new Map(c.programs.map((p) => [p.path, p]));
    for (const [p, data] of [['./usr/local/bin/thin', damaged], ['./usr/local/bin/fat', fat]] as const) {
      const prog = byPath.get(p)!;
      const file = scanMachOBytes(data, p);
      expect([prog.size, prog.sha256]).toEqual([data.length, file.sha256]);
      expect(prog.macho!.slices.map((s) => s.arch)).toEqual(file.parsed!.slices.map((s) => s.arch));
      expect(prog.identity).toEqual(machoIdentity(file.parsed!, { verdicts: file.verdicts }));
    }
    expect(byPath.get('./usr/local/bin/thin')!.identity!.slices[0]!.mismatches).toEqual(['page 32']);
    expect(byPath.get('./usr/local/bin/fat')!.identity!.slices.map((s) => s.hashesMatch)).toEqual([true, true]);
  });
});

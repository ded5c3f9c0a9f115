/**
 * verify's cross-check of the Bom's Mach-O slice records (pkgbuild's architecture 0x200F) and BomInfo's per-CPU
 * rows against the Payload's binary: the demo build (thin arm64) and a universal build pass; a pkg rebuilt with one
 * slice field of its Bom changed is reported with that field's message, and only it (plus the BomInfo row the size
 * feeds). The tampered Boms are edited in place at the record's documented offsets (src/pkg/bom.ts machORecord).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Problem } from '../../src/errors.js';
import { createUniversal } from '../../src/macho/lipo.js';
import { BOM_MACHO_ARCH } from '../../src/pkg/bom.js';
import { readBom, readBomStructure } from '../../src/pkg/bom-reader.js';
import { verifyPkgFile } from '../../src/verify/pkg.js';
import { BINARY, buildDemoRelease, buildPkg, COMP, demoArm64, pkgMembers, repackPkg, repoRoot, tempDir, type DemoRelease } from './release-fixture.js';

let demo: DemoRelease;
let dir: string;

beforeAll(async () => {
  demo = await buildDemoRelease();
  dir = tempDir('verify-bom-slices');
}, 60_000);

async function problemsOf(file: string): Promise<Array<[string, string]>> {
  const problems: Problem[] = (await verifyPkgFile(file, { spec: demo.spec })).problems;
  return problems.map((p) => [p.where.startsWith(file) ? p.where.slice(file.length) : p.where, p.message]);
}

/** The Bom with `edit` applied to the binary's Mach-O record (a Buffer view of that block). */
function editRecord(bom: Buffer, edit: (record: Buffer) => void): Buffer {
  const out = Buffer.from(bom);
  const st = readBomStructure(out);
  const block = st.blocks.find((b) => b.length >= 32 && out.readUInt16BE(b.address + 2) === BOM_MACHO_ARCH && out.readUInt8(b.address) === 1)!;
  edit(out.subarray(block.address, block.address + block.length));
  return out;
}

async function withBom(name: string, edit: (record: Buffer) => void): Promise<string> {
  const m = new Map((await pkgMembers(demo.pkg)).map((x) => [x.path, x.bytes]));
  const bom = editRecord(m.get(`${COMP}/Bom`)!, edit);
  return repackPkg(demo.pkg, path.join(dir, name), (mm) => mm.set(`${COMP}/Bom`, bom));
}

describe('verify: Bom Mach-O slice records ↔ Payload binary', () => {
  it('the demo build (thin arm64) has one slice record and passes', async () => {
    const m = new Map((await pkgMembers(demo.pkg)).map((x) => [x.path, x.bytes]));
    const bom = readBom(m.get(`${COMP}/Bom`)!);
    const size = readFileSync(demoArm64).length;
    expect(bom.entries.find((e) => e.path === BINARY)!.slices).toEqual([{ cputype: 0x0100000c, cpusubtype: 0, size, cksum: expect.any(Number) }]);
    expect(bom.info.arch.map((r) => r.cpuType)).toEqual([0, 0x0100000c]);
    expect(await problemsOf(demo.pkg)).toEqual([]);
  });

  it('a universal build (x86_64 + arm64) passes: both slices recorded, checksums checked from the kept bytes', async () => {
    const fat = path.join(dir, 'aiwatch-universal');
    writeFileSync(fat, createUniversal([{ name: 'arm64', data: readFileSync(demoArm64) }, { name: 'x86_64', data: readFileSync(path.join(repoRoot, 'fixtures/demo/aiwatch-x86_64')) }]));
    const pkg = await buildPkg(path.join(dir, 'universal.pkg'), demo.spec, fat, ['arm64', 'x86_64']);
    const m = new Map((await pkgMembers(pkg)).map((x) => [x.path, x.bytes]));
    expect(readBom(m.get(`${COMP}/Bom`)!).entries.find((e) => e.path === BINARY)!.slices!.map((s) => s.cputype)).toEqual([0x01000007, 0x0100000c]);
    expect(await problemsOf(pkg)).toEqual([]);
  });

  it('a slice size that differs: the slice and the BomInfo row it feeds', async () => {
    const size = readFileSync(demoArm64).length;
    const bad = await withBom('slice-size.pkg', (r) => r.writeUInt32BE(size + 1, 40));
    expect(await problemsOf(bad)).toEqual([
      [`:${COMP}/Bom`, `Bom and Payload disagree on ${BINARY}: slice 1 (arm64): size ${size + 1} (Bom) vs ${size} (Payload)`],
      [`:${COMP}/Bom`, `BomInfo the row of CPU type 0x0100000c holds ${size} bytes, expected ${size + 1} from the Bom's entries and slice records`],
    ]);
  });

  it('a slice cksum, a cputype and a slice count that differ', async () => {
    let sum = 0;
    const badSum = await withBom('slice-cksum.pkg', (r) => {
      sum = r.readUInt32BE(44);
      r.writeUInt32BE((sum ^ 1) >>> 0, 44);
    });
    expect(await problemsOf(badSum)).toEqual([[`:${COMP}/Bom`, `Bom and Payload disagree on ${BINARY}: slice 1 (arm64): cksum ${(sum ^ 1) >>> 0} (Bom) vs ${sum} (Payload)`]]);
    const badType = await withBom('slice-type.pkg', (r) => {
      r.writeUInt32BE(0x01000007, 32);
      r.writeUInt32BE(3, 36);
    });
    const typeProblems = await problemsOf(badType);
    expect(typeProblems[0]).toEqual([`:${COMP}/Bom`, `Bom and Payload disagree on ${BINARY}: slice 1 (arm64): cputype/cpusubtype 0x01000007/0x00000003 (x86_64, Bom) vs 0x0100000c/0x00000000 (Payload)`]);
    const badCount = await withBom('slice-count.pkg', (r) => r.writeUInt32BE(0, 28));
    expect((await problemsOf(badCount))[0]).toEqual([`:${COMP}/Bom`, `Bom and Payload disagree on ${BINARY}: 0 Mach-O slice records (Bom) vs 1 slices (Payload)`]);
  });

  it('a hostile slice count is a problem naming the Bom, not a crash', async () => {
    const bad = await withBom('slice-hostile.pkg', (r) => r.writeUInt32BE(0x7fffffff, 28));
    const problems = await problemsOf(bad);
    expect(problems).toEqual([[`:${COMP}/Bom`, expect.stringMatching(/declares 2147483647 Mach-O slices: over the limit of 30/)]]);
  });
});

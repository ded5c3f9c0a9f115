import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputFileError } from '../../src/errors.js';
import { BOM_VAR_NAMES, encodeBom, payloadChecksums, writeBom } from '../../src/pkg/bom.js';
import { formatLsbom, readBom, readBomStructure } from '../../src/pkg/bom-reader.js';
import { cksum } from '../../src/formats/cksum.js';
import { writeCpio } from '../../src/pkg/cpio.js';
import { layoutPayload, planPayload, type InstallFile, type PayloadEntry } from '../../src/pkg/payload.js';

const MTIME = 1_700_000_000;
const work = mkdtempSync(path.join(tmpdir(), 'bom-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** > 600 entries over nested folders, with odd and non-ASCII names, a symlink and a file on disk. */
function bigInstall(): InstallFile[] {
  const files: InstallFile[] = [];
  for (let d = 0; d < 12; d++) {
    for (let f = 0; f < 55; f++) {
      const name = f % 11 === 0 ? `Caf\u00e9 ${f} "q" it's` : `file-${String(f).padStart(3, '0')}.txt`;
      files.push({ path: `/Library/Dir ${d}/sub/${name}`, mode: f % 2 ? 0o644 : 0o755, source: { bytes: Buffer.from(`d${d}f${f}\n`.repeat(f)) } });
    }
  }
  const onDisk = path.join(work, 'binary');
  writeFileSync(onDisk, Buffer.alloc(70_000, 0x5a));
  files.push({ path: '/usr/local/lib/runlayer/aiwatch/aiwatch', mode: 0o755, source: { file: onDisk } });
  files.push({ path: '/usr/local/bin/aiwatch', kind: 'symlink', mode: 0o755, linkTarget: '../lib/runlayer/aiwatch/aiwatch' });
  return files;
}

let entries: PayloadEntry[];
let bom: Buffer;
beforeAll(async () => {
  entries = await planPayload(bigInstall(), { mtime: MTIME });
  bom = await writeBom(entries);
});

function dataOf(e: PayloadEntry): Buffer {
  if (e.kind === 'symlink') return Buffer.from(e.linkTarget!);
  if (e.source && 'bytes' in e.source) return Buffer.from(e.source.bytes);
  return Buffer.alloc(70_000, 0x5a);
}

describe('Bom round trip', () => {
  it('a > 600-entry payload reads back entry for entry', () => {
    expect(entries.length).toBeGreaterThan(600);
    const back = readBom(bom, 'test.bom');
    expect(back.problems).toEqual([]);
    expect(back.entries.map((e) => e.path)).toEqual(entries.map((e) => e.path));
    back.entries.forEach((b, i) => {
      const e = entries[i]!;
      const type = { dir: 0o040000, file: 0o100000, symlink: 0o120000 }[e.kind];
      expect(b, e.path).toMatchObject({ kind: e.kind, mode: type | e.mode, uid: 0, gid: 0, mtime: MTIME, size: e.size, id: i + 1, architecture: 0x0f });
      expect(b.cksum, e.path).toBe(e.kind === 'dir' ? 0 : cksum(dataOf(e)));
      expect(b.linkTarget).toBe(e.linkTarget);
    });
  });

  it('BomInfo: paths + 1, one row of non-directory bytes; Mach-O rows when given', () => {
    const fileBytes = entries.filter((e) => e.kind !== 'dir').reduce((a, e) => a + e.size, 0);
    expect(readBom(bom).info).toEqual({ version: 1, numberOfPaths: entries.length + 1, arch: [{ cpuType: 0, bytes: fileBytes }] });
    const sums = new Map(entries.filter((e) => e.kind !== 'dir').map((e) => [e.path, cksum(dataOf(e))]));
    const arch = { machOFileBytes: 70_000, archSizes: new Map([[0x0100000c, 40_000], [0x01000007, 29_000]]) };
    expect(readBom(encodeBom(entries, sums, arch)).info.arch).toEqual([
      { cpuType: 0, bytes: fileBytes - 70_000 },
      { cpuType: 0x01000007, bytes: 29_000 },
      { cpuType: 0x0100000c, bytes: 40_000 },
    ]);
  });

  it('uses the checksums the cpio writer computed, and they agree with its own', async () => {
    const fromCpio = new Map<string, number>();
    for await (const _ of writeCpio(entries, { checksums: fromCpio })) void _;
    expect(await payloadChecksums(entries)).toEqual(fromCpio);
    expect((await writeBom(entries, { checksums: fromCpio })).equals(bom)).toBe(true);
  });

  it('is deterministic', async () => {
    expect((await writeBom(await planPayload(bigInstall(), { mtime: MTIME }))).equals(bom)).toBe(true);
  });
});

describe('Bom structure', () => {
  const s = () => readBomStructure(bom);

  it('header, 512-byte header region, block table with null block 0, empty free list, vars', () => {
    const st = s();
    expect(bom.toString('latin1', 0, 8)).toBe('BOMStore');
    expect(st.version).toBe(1);
    expect(st.numberOfBlocks).toBe(st.blocks.length - 1);
    expect(st.blocks[0]).toEqual({ address: 0, length: 0 });
    expect(bom.subarray(32, 512).every((b) => b === 0)).toBe(true);
    expect(st.freeList).toEqual([]);
    expect(st.indexLength).toBe(4 + 8 * st.blocks.length + 4 + 16);
    expect(st.indexOffset + st.indexLength).toBe(bom.length);
    expect(st.vars.map((v) => v.name)).toEqual([...BOM_VAR_NAMES]);
    expect(st.varsLength).toBe(4 + BOM_VAR_NAMES.reduce((a, n) => a + 5 + n.length, 0));
  });

  it('blocks lie after the header, inside the file, without overlapping', () => {
    const used = s()
      .blocks.slice(1)
      .filter((b) => b.length > 0)
      .sort((a, b) => a.address - b.address);
    expect(used[0]!.address).toBeGreaterThanOrEqual(512);
    for (let i = 1; i < used.length; i++) expect(used[i]!.address).toBeGreaterThanOrEqual(used[i - 1]!.address + used[i - 1]!.length);
    expect(used.at(-1)!.address + used.at(-1)!.length).toBeLessThanOrEqual(s().varsOffset);
  });

  it('Paths is a multi-level B+tree: a branch over linked leaves of ≤ 256 entries, every node 4096 bytes', () => {
    const st = s();
    const block = (id: number) => bom.subarray(st.blocks[id]!.address, st.blocks[id]!.address + st.blocks[id]!.length);
    const paths = block(st.vars.find((v) => v.name === 'Paths')!.block);
    expect(paths.toString('latin1', 0, 4)).toBe('tree');
    expect([paths.length, paths.readUInt32BE(4), paths.readUInt32BE(12), paths.readUInt32BE(16)]).toEqual([21, 1, 4096, entries.length]);
    const root = block(paths.readUInt32BE(8));
    expect(root.readUInt16BE(0)).toBe(0); // branch
    const children = Array.from({ length: root.readUInt16BE(2) }, (_, i) => root.readUInt32BE(12 + 8 * i));
    expect(children).toHaveLength(Math.ceil(entries.length / 256));
    const leaves = children.map(block);
    leaves.forEach((leaf, i) => {
      expect(leaf.length).toBe(4096);
      expect(leaf.readUInt16BE(0)).toBe(1);
      expect(leaf.readUInt16BE(2)).toBeLessThanOrEqual(256);
      expect(leaf.readUInt32BE(4)).toBe(children[i + 1] ?? 0);
      expect(leaf.readUInt32BE(8)).toBe(children[i - 1] ?? 0);
      // the branch key of a child is the key of its last entry
      expect(root.readUInt32BE(16 + 8 * i)).toBe(leaf.readUInt32BE(12 + 8 * (leaf.readUInt16BE(2) - 1) + 4));
    });
    expect(leaves.reduce((a, l) => a + l.readUInt16BE(2), 0)).toBe(entries.length);
  });

  it('leaf keys are (parent id, name bytes) ordered leaf names, not paths; record sizes as Apple writes them', () => {
    const st = s();
    const block = (id: number) => bom.subarray(st.blocks[id]!.address, st.blocks[id]!.address + st.blocks[id]!.length);
    const root = block(block(st.vars.find((v) => v.name === 'Paths')!.block).readUInt32BE(8));
    const keys: { parent: number; name: Buffer; info2: Buffer }[] = [];
    for (let c = 0; c < root.readUInt16BE(2); c++) {
      const leaf = block(root.readUInt32BE(12 + 8 * c));
      for (let i = 0; i < leaf.readUInt16BE(2); i++) {
        const key = block(leaf.readUInt32BE(16 + 8 * i));
        const info2 = block(block(leaf.readUInt32BE(12 + 8 * i)).readUInt32BE(4));
        keys.push({ parent: key.readUInt32BE(0), name: key.subarray(4, key.length - 1), info2 });
        expect(key.at(-1)).toBe(0);
      }
    }
    for (let i = 1; i < keys.length; i++) {
      const [a, b] = [keys[i - 1]!, keys[i]!];
      expect(a.parent < b.parent || (a.parent === b.parent && Buffer.compare(a.name, b.name) < 0)).toBe(true);
    }
    expect(keys[0]).toMatchObject({ parent: 0, name: Buffer.from('.') });
    expect(keys.every((k) => !k.name.includes('/'))).toBe(true);
    const sizes = new Set(keys.map((k) => `${k.info2[0]}:${k.info2.length}`));
    // dir 31 bytes, file 31 + 4 trailing zeros, symlink 31 + target + NUL + 8 trailing zeros
    expect([...sizes].sort()).toEqual(['1:35', '2:31', `3:${31 + 31 + 1 + 8}`]);
  });

  it('HLIndex and Size64 are empty 4096 trees; VIndex points to an empty tree of 128-byte blocks', () => {
    const st = s();
    const block = (id: number) => bom.subarray(st.blocks[id]!.address, st.blocks[id]!.address + st.blocks[id]!.length);
    const byName = (n: string) => block(st.vars.find((v) => v.name === n)!.block);
    for (const n of ['HLIndex', 'Size64']) {
      const t = byName(n);
      expect([t.toString('latin1', 0, 4), t.readUInt32BE(12), t.readUInt32BE(16)]).toEqual(['tree', 4096, 0]);
      expect(block(t.readUInt32BE(8)).subarray(0, 12).toString('hex')).toBe('000100000000000000000000');
    }
    const v = byName('VIndex');
    expect([v.length, v.readUInt32BE(0), v.readUInt32BE(8), v[12]]).toEqual([13, 1, 0, 0]);
    const vt = block(v.readUInt32BE(4));
    expect([vt.toString('latin1', 0, 4), vt.readUInt32BE(12)]).toEqual(['tree', 128]);
    expect(block(vt.readUInt32BE(8)).length).toBe(128);
  });

  it('a three-level tree once there are more than 256 leaves', () => {
    const many = layoutPayload(
      Array.from({ length: 66_000 }, (_, i) => ({ path: `d${i % 7}/f${i}`, mode: 0o644, source: { bytes: new Uint8Array(0) }, size: 0 })),
      { mtime: 0 },
    );
    const sums = new Map(many.filter((e) => e.kind === 'file').map((e) => [e.path, 0xffffffff]));
    const big = encodeBom(many, sums);
    const back = readBom(big);
    expect(back.problems).toEqual([]);
    expect(back.entries).toHaveLength(many.length);
    const st = back.structure;
    const block = (id: number) => big.subarray(st.blocks[id]!.address, st.blocks[id]!.address + st.blocks[id]!.length);
    const root = block(block(st.vars[1]!.block).readUInt32BE(8));
    expect([root.readUInt16BE(0), root.readUInt16BE(2)]).toEqual([0, 2]);
    expect(block(root.readUInt32BE(12)).readUInt16BE(0)).toBe(0); // a branch under the root branch
  });
});

describe('Bom reader', () => {
  it('lsbom-style dump (golden) and sha256 of a small Bom', async () => {
    const small = await planPayload(
      [
        { path: '/usr/local/lib/runlayer/aiwatch/aiwatch', mode: 0o755, source: { bytes: Buffer.from('not really mach-o\n') } },
        { path: '/usr/local/bin/aiwatch', kind: 'symlink', mode: 0o755, linkTarget: '../lib/runlayer/aiwatch/aiwatch' },
        { path: '/Library/LaunchAgents/com.runlayer.aiwatch.plist', mode: 0o644, source: { bytes: Buffer.from('<plist/>\n') } },
        { path: '/Library/Application Support/Caf\u00e9/empty', mode: 0o600, source: { bytes: Buffer.alloc(0) } },
      ],
      { mtime: MTIME },
    );
    const b = await writeBom(small);
    const dump = `${formatLsbom(readBom(b).entries)}sha256 ${createHash('sha256').update(b).digest('hex')}\n`;
    await expect(dump).toMatchFileSnapshot('../fixtures/pkg/small.lsbom');
  });

  it('reports structural problems without throwing', () => {
    const broken = Buffer.from(bom);
    const st = readBomStructure(broken);
    const paths = st.blocks[st.vars[1]!.block]!;
    broken.writeUInt32BE(999, paths.address + 16); // pathCount
    const info = st.blocks[st.vars[0]!.block]!;
    broken.writeUInt32BE(3, info.address + 4); // numberOfPaths
    // swap the first two pairs of the first leaf
    const rootNode = st.blocks[broken.readUInt32BE(paths.address + 8)]!;
    const leaf = st.blocks[broken.readUInt32BE(rootNode.address + 12)]!;
    const first = Buffer.from(broken.subarray(leaf.address + 12, leaf.address + 20));
    broken.copy(broken, leaf.address + 12, leaf.address + 20, leaf.address + 28);
    first.copy(broken, leaf.address + 20);
    const problems = readBom(broken).problems;
    expect(problems).toContain(`Paths tree pathCount 999, but its leaves hold ${entries.length} entries`);
    expect(problems).toContain(`BomInfo numberOfPaths 3, expected entries + 1 = ${entries.length + 1}`);
    expect(problems.some((p) => p.startsWith('Paths keys out of (parent id, name) order at entry 1'))).toBe(true);
  });

  it('unreadable input is an InputFileError naming the file', () => {
    expect(() => readBom(Buffer.from('not a bom at all, not a bom at all'), 'x.pkg:Bom')).toThrow(InputFileError);
    expect(() => readBom(Buffer.from('not a bom at all, not a bom at all'), 'x.pkg:Bom')).toThrow(/x\.pkg:Bom: not a Bom: magic "not a bo"/);
    expect(() => readBom(bom.subarray(0, 2000), 'x.pkg:Bom')).toThrow(/lies outside the file/);
    const dangling = Buffer.from(bom);
    const st = readBomStructure(dangling);
    dangling.writeUInt32BE(st.blocks.length + 5, st.blocks[st.vars[1]!.block]!.address + 8);
    expect(() => readBom(dangling)).toThrow(/not in the block table/);
  });
});

/**
 * Bom ("BOMStore" bill of materials) writer: the `Bom` file of a component package, which Installer and `lsbom`
 * read to know what the Payload installs (reference §3, §7 items 6/8/12, §9).
 *
 * Covers: the 512-byte header region, blocks, the block table with an empty free list (count 0 + two zero pairs),
 * the vars `BomInfo Paths HLIndex VIndex Size64` (no NUL in names); the Paths B+tree with leaves of at most 256
 * (PathInfo1, File) pairs keyed by (parent id, NFD name bytes), forward/backward links between leaves and branch
 * levels above them (a branch entry names the last key of its child) as bomutils/ELECTRON do; every node padded to
 * its tree's block size (4096, VIndex 128) as Apple does, so none exceeds it; ids assigned depth-first with sorted
 * children (Apple's order, which is the payload order); PathInfo2 records with full st_mode, uid/gid, mtime, size,
 * POSIX cksum, link target and Apple's trailing zero bytes (4 for files, 8 for symlinks); Mach-O files (thin or
 * universal) with pkgbuild's per-slice record (architecture 0x200F, see {@link machORecord}); BomInfo with one
 * "non-Mach-O bytes" row plus one row per CPU type of the Mach-O slices. Checksums are streamed from the source
 * files (or taken from the map the cpio writer filled in the same pass); a thin file's one slice is the whole file,
 * so its slice cksum is the file's; a universal file's slices are read once more, by range.
 * Does not cover: hard links (HLIndex stays empty, like Apple's 2021 sample), files ≥ 4 GiB (Size64 stays
 * empty), byte parity with mkbom (the bar is identical `lsbom` output, §7 item 12).
 * The root `.` is recorded like any directory (mode 040755, the payload's mtime) rather than pkgbuild's mode-0
 * root, so Bom and Payload agree entry for entry.
 *
 * Hand-written: the only other TypeScript writer (ELECTRON) is not published as an API; RCS apple-bom is known
 * broken (§3.5). Written from the reference, not copied.
 */
import { InputFileError } from '../errors.js';
import { cksum, cksumFile } from '../formats/cksum.js';
import type { PayloadEntry, PayloadKind } from './payload.js';
import { machOSlicesOf, type BomSlice } from './bom-macho.js';

export type { BomSlice } from './bom-macho.js';

export const BOM_MAGIC = 'BOMStore';
export const BOM_HEADER_REGION = 512;
export const BOM_VAR_NAMES = ['BomInfo', 'Paths', 'HLIndex', 'VIndex', 'Size64'] as const;
export const BOM_TREE_BLOCK_SIZE = 4096;
export const BOM_VINDEX_BLOCK_SIZE = 128;
/** Pairs per Paths node before a new leaf (and a branch level) is started (bomutils, ELECTRON). */
export const BOM_MAX_NODE_ENTRIES = 256;
export const BOM_TYPE: Record<PayloadKind, number> = { file: 1, dir: 2, symlink: 3 };
export const BOM_ST_TYPE: Record<PayloadKind, number> = { file: 0o100000, dir: 0o040000, symlink: 0o120000 };
/** PathInfo2 `architecture` of plain entries in Apple's Boms. */
export const BOM_PLAIN_ARCH = 0x000f;
/** PathInfo2 `architecture` of a Mach-O file in pkgbuild's Boms: a slice count and per-slice records follow. */
export const BOM_MACHO_ARCH = 0x200f;
/** Bytes of one per-slice record: cputype, cpusubtype, size, cksum (u32 each). */
export const BOM_SLICE_RECORD = 16;
const NODE_HEADER = 12;
const TRAILING_ZEROS: Record<PayloadKind, number> = { file: 4, symlink: 8, dir: 0 };

/** Mach-O byte counts for BomInfo (from the Mach-O reader): total Mach-O file bytes and bytes per CPU type. */
export interface BomArchInfo {
  machOFileBytes: number;
  archSizes: ReadonlyMap<number, number>;
}

export interface BomOptions {
  /** path → POSIX cksum already computed (e.g. by writeCpio's `checksums`); missing ones are computed here. */
  checksums?: ReadonlyMap<string, number>;
  /** Per-CPU-type sizes for BomInfo; default derived from the Mach-O slices (cpu 0 row = all non-Mach-O bytes). */
  arch?: BomArchInfo;
  /**
   * path → Mach-O slices already known (e.g. from a pass that read the binary anyway); files not in it are
   * examined here (their header read, a universal file's slices cksummed by range).
   */
  slices?: ReadonlyMap<string, readonly BomSlice[]>;
}

/** Blocks in allocation order; id 0 is the null block. */
class BlockStore {
  readonly blocks: Buffer[] = [Buffer.alloc(0)];
  add(block: Buffer): number {
    this.blocks.push(block);
    return this.blocks.length - 1;
  }
  reserve(): number {
    return this.add(Buffer.alloc(0));
  }
  set(id: number, block: Buffer): void {
    this.blocks[id] = block;
  }
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
}

function treeBlock(child: number, blockSize: number, pathCount: number): Buffer {
  return Buffer.concat([Buffer.from('tree', 'latin1'), u32(1, child, blockSize, pathCount), Buffer.alloc(1)]);
}

/** A Paths-style node padded to `blockSize`. */
function node(isLeaf: boolean, pairs: readonly (readonly [number, number])[], forward: number, backward: number, blockSize: number): Buffer {
  const b = Buffer.alloc(blockSize);
  if (NODE_HEADER + 8 * pairs.length > blockSize) throw new RangeError(`Bom node of ${pairs.length} entries exceeds ${blockSize} bytes`);
  b.writeUInt16BE(isLeaf ? 1 : 0, 0);
  b.writeUInt16BE(pairs.length, 2);
  b.writeUInt32BE(forward, 4);
  b.writeUInt32BE(backward, 8);
  pairs.forEach(([a, k], i) => {
    b.writeUInt32BE(a, NODE_HEADER + 8 * i);
    b.writeUInt32BE(k, NODE_HEADER + 8 * i + 4);
  });
  return b;
}

function emptyTree(store: BlockStore, blockSize: number): number {
  const leaf = store.add(node(true, [], 0, 0, blockSize));
  return store.add(treeBlock(leaf, blockSize, 0));
}

/** Build leaves (linked) and branch levels over ordered (value, key) pairs; returns the root node's block. */
function buildTree(store: BlockStore, pairs: readonly (readonly [number, number])[]): number {
  if (pairs.length === 0) return store.add(node(true, [], 0, 0, BOM_TREE_BLOCK_SIZE));
  const chunks: (readonly (readonly [number, number])[])[] = [];
  for (let i = 0; i < pairs.length; i += BOM_MAX_NODE_ENTRIES) chunks.push(pairs.slice(i, i + BOM_MAX_NODE_ENTRIES));
  const ids = chunks.map(() => store.reserve());
  chunks.forEach((chunk, i) => store.set(ids[i]!, node(true, chunk, ids[i + 1] ?? 0, ids[i - 1] ?? 0, BOM_TREE_BLOCK_SIZE)));
  let level = chunks.map((chunk, i) => [ids[i]!, chunk.at(-1)![1]] as const);
  while (level.length > 1) {
    const next: (readonly [number, number])[] = [];
    for (let i = 0; i < level.length; i += BOM_MAX_NODE_ENTRIES) {
      const group = level.slice(i, i + BOM_MAX_NODE_ENTRIES);
      next.push([store.add(node(false, group, 0, 0, BOM_TREE_BLOCK_SIZE)), group.at(-1)![1]]);
    }
    level = next;
  }
  return level[0]![0];
}

function pathInfo2(e: PayloadEntry, sum: number, slices: readonly BomSlice[] | undefined): Buffer {
  if (e.kind === 'file' && slices && slices.length > 0) return machORecord(e, sum, slices);
  const target = e.kind === 'symlink' ? Buffer.from(e.linkTarget ?? '', 'utf8') : undefined;
  const linkLength = target ? target.length + 1 : 0;
  const b = Buffer.alloc(31 + linkLength + TRAILING_ZEROS[e.kind]);
  writeCommon(b, e, BOM_PLAIN_ARCH, e.kind === 'dir' ? 0 : sum);
  b.writeUInt32BE(linkLength, 27);
  target?.copy(b, 31);
  return b;
}

/** Bytes 0–26 of every PathInfo2: type, 1, architecture, st_mode, uid, gid, mtime, size, 1, cksum. */
function writeCommon(b: Buffer, e: PayloadEntry, architecture: number, sum: number): void {
  b.writeUInt8(BOM_TYPE[e.kind], 0);
  b.writeUInt8(1, 1);
  b.writeUInt16BE(architecture, 2);
  b.writeUInt16BE(BOM_ST_TYPE[e.kind] | e.mode, 4);
  b.writeUInt32BE(e.uid, 6);
  b.writeUInt32BE(e.gid, 10);
  b.writeUInt32BE(e.mtime, 14);
  b.writeUInt32BE(e.size, 18);
  b.writeUInt8(1, 22);
  b.writeUInt32BE(sum, 23);
}

/**
 * A Mach-O file's PathInfo2 as pkgbuild writes it (observed in Apple's sample Bom, apple-platform-rs
 * `apple-bom/src/testdata/python-applications.bom`, block 95, a 72-byte record of a 2-slice universal binary):
 * bytes 0–26 as any file but architecture 0x200F; byte 27 = 1; u32 slice count at 28; then per slice, in the
 * file's order, u32 cputype, cpusubtype, size and POSIX cksum of the slice's bytes; then 8 zero bytes.
 * 32 + 16 × slices + 8 bytes: 72 for two slices, 88 for three (the "exe=88" that osxbom's bom.h, a reading of
 * Apple's lsbom, notes for executables of the three-architecture era).
 * A thin file is written the same way with one slice (the whole file): issue 14's audit of pkgbuild reports the
 * records for thin binaries too, but no published thin sample was found to check those bytes against.
 */
export function machORecord(e: PayloadEntry, sum: number, slices: readonly BomSlice[]): Buffer {
  const b = Buffer.alloc(32 + BOM_SLICE_RECORD * slices.length + 8);
  writeCommon(b, e, BOM_MACHO_ARCH, sum);
  b.writeUInt8(1, 27);
  b.writeUInt32BE(slices.length, 28);
  slices.forEach((s, i) => u32(s.cputype, s.cpusubtype, s.size, s.cksum).copy(b, 32 + BOM_SLICE_RECORD * i));
  return b;
}

/** BomInfo's Mach-O bytes from the per-slice records: each file's size leaves the cpu-0 row, slices go per CPU type. */
export function archInfoOf(entries: readonly PayloadEntry[], slices: ReadonlyMap<string, readonly BomSlice[]>): BomArchInfo | undefined {
  let machOFileBytes = 0;
  const archSizes = new Map<number, number>();
  for (const e of entries) {
    const list = e.kind === 'file' ? slices.get(e.path) : undefined;
    if (!list || list.length === 0) continue;
    machOFileBytes += e.size;
    for (const s of list) archSizes.set(s.cputype, (archSizes.get(s.cputype) ?? 0) + s.size);
  }
  return machOFileBytes > 0 ? { machOFileBytes, archSizes } : undefined;
}

/**
 * BomInfo: version, paths + 1, then {cpu type, 0, bytes, 0} rows. Row cpu 0 holds the bytes of files and symlinks
 * that are not Mach-O (directories excluded), the other rows the Mach-O slice bytes per CPU type: checked against
 * Apple's sample Bom (python-applications.bom: 614680 file + 92 symlink − 210912 fat Mach-O = 403860).
 */
function bomInfo(entries: readonly PayloadEntry[], arch: BomArchInfo | undefined): Buffer {
  const total = entries.reduce((sum, e) => (e.kind === 'dir' ? sum : sum + e.size), 0);
  const rows: [number, number][] = [[0, total - (arch?.machOFileBytes ?? 0)]];
  for (const cpu of [...(arch?.archSizes.keys() ?? [])].sort((a, b) => a - b)) rows.push([cpu, arch!.archSizes.get(cpu)!]);
  return Buffer.concat([u32(1, entries.length + 1, rows.length), ...rows.map(([cpu, bytes]) => u32(cpu, 0, bytes, 0))]);
}

function parentPath(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '.';
}

/** Leaf pairs of the Paths tree, in (parent id, NFD name bytes) order. */
function pathPairs(store: BlockStore, entries: readonly PayloadEntry[], sums: ReadonlyMap<string, number>, slices: ReadonlyMap<string, readonly BomSlice[]>): [number, number][] {
  const idOf = new Map(entries.map((e, i) => [e.path, i + 1]));
  const keyed = entries.map((e, i) => {
    const parentId = e.path === '.' ? 0 : idOf.get(parentPath(e.path));
    if (parentId === undefined) throw new RangeError(`Bom: ${e.path} has no parent entry`);
    const name = Buffer.from(e.path === '.' ? '.' : e.path.slice(e.path.lastIndexOf('/') + 1), 'utf8');
    const info2 = store.add(pathInfo2(e, sums.get(e.path) ?? 0, slices.get(e.path)));
    const value = store.add(u32(i + 1, info2));
    const key = store.add(Buffer.concat([u32(parentId), name, Buffer.alloc(1)]));
    return { parentId, name, pair: [value, key] as [number, number] };
  });
  keyed.sort((a, b) => a.parentId - b.parentId || Buffer.compare(a.name, b.name));
  return keyed.map((k) => k.pair);
}

/** Header region, blocks, vars, then block table + free list (Apple puts the index last too). */
function assemble(store: BlockStore, vars: readonly [string, number][]): Buffer {
  const blocks = store.blocks;
  const addresses: number[] = [];
  let at = BOM_HEADER_REGION;
  for (const b of blocks) {
    addresses.push(b.length === 0 ? 0 : at);
    at += b.length;
  }
  const varsBuf = Buffer.concat([u32(vars.length), ...vars.map(([name, id]) => Buffer.concat([u32(id), Buffer.from([name.length]), Buffer.from(name, 'latin1')]))]);
  const varsOffset = at;
  const indexOffset = varsOffset + varsBuf.length;
  const index = Buffer.concat([u32(blocks.length), ...blocks.map((b, i) => u32(addresses[i]!, b.length)), u32(0, 0, 0, 0, 0)]);
  const header = Buffer.alloc(BOM_HEADER_REGION);
  header.write(BOM_MAGIC, 0, 'latin1');
  u32(1, blocks.length - 1, indexOffset, index.length, varsOffset, varsBuf.length).copy(header, 8);
  return Buffer.concat([header, ...blocks, varsBuf, index]);
}

/**
 * Pure core: the Bom bytes for payload entries whose file/symlink cksums are all in `sums`; files in `slices` get
 * the Mach-O record. BomInfo's rows come from `arch` when given, else from `slices`.
 */
export function encodeBom(
  entries: readonly PayloadEntry[],
  sums: ReadonlyMap<string, number>,
  arch?: BomArchInfo,
  slices: ReadonlyMap<string, readonly BomSlice[]> = new Map(),
): Buffer {
  if (entries[0]?.path !== '.') throw new RangeError('Bom: the entry list must start with "."');
  const store = new BlockStore();
  const info = store.add(bomInfo(entries, arch ?? archInfoOf(entries, slices)));
  const root = buildTree(store, pathPairs(store, entries, sums, slices));
  const paths = store.add(treeBlock(root, BOM_TREE_BLOCK_SIZE, entries.length));
  const hlIndex = emptyTree(store, BOM_TREE_BLOCK_SIZE);
  const vTree = emptyTree(store, BOM_VINDEX_BLOCK_SIZE);
  const vIndex = store.add(Buffer.concat([u32(1, vTree, 0), Buffer.alloc(1)]));
  const size64 = emptyTree(store, BOM_TREE_BLOCK_SIZE);
  const ids = [info, paths, hlIndex, vIndex, size64];
  return assemble(
    store,
    BOM_VAR_NAMES.map((name, i) => [name, ids[i]!]),
  );
}

/** POSIX cksum of every file (streamed from disk) and symlink target not already in `known`. */
export async function payloadChecksums(entries: readonly PayloadEntry[], known: ReadonlyMap<string, number> = new Map()): Promise<Map<string, number>> {
  const sums = new Map(known);
  for (const e of entries) {
    if (e.kind === 'dir' || sums.has(e.path)) continue;
    if (e.kind === 'symlink') {
      sums.set(e.path, cksum(Buffer.from(e.linkTarget ?? '', 'utf8')));
    } else if (e.source && 'bytes' in e.source) {
      sums.set(e.path, cksum(e.source.bytes));
    } else if (e.source) {
      const file = e.source.file;
      const got = await cksumFile(file).catch((err: unknown) => {
        throw new InputFileError(file, `cannot read for the Bom (${(err as Error).message})`, { cause: err });
      });
      if (got.size !== e.size) throw new InputFileError(file, `changed while packaging: planned ${e.size} bytes, now ${got.size}`);
      sums.set(e.path, got.cksum);
    }
  }
  return sums;
}

/**
 * The Bom of a payload entry list (as planPayload returns it), computing missing checksums by streaming files and
 * the per-slice records of every Mach-O file not in `opts.slices`.
 */
export async function writeBom(entries: readonly PayloadEntry[], opts: BomOptions = {}): Promise<Buffer> {
  const sums = await payloadChecksums(entries, opts.checksums);
  const slices = await machOSlicesOf(entries, sums, opts.slices);
  return encodeBom(entries, sums, opts.arch, slices);
}

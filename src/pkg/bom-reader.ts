/**
 * Bom ("BOMStore") reader, for `verify` (Bom ↔ Payload comparison), `inspect` (an `lsbom`-style dump) and tests
 * (reference §3).
 *
 * Covers: the header, block table, free list and vars; BomInfo; a walk of the whole Paths B+tree (branches and
 * leaves) returning every path with type, mode, uid/gid, mtime, size, cksum and link target; structural checks
 * reported as `problems` (node larger than its tree's block size, broken leaf forward/backward links, keys out of
 * (parent id, name) order, pathCount / numberOfPaths disagreeing with the entries, missing or unknown vars).
 * Anything that makes the file unreadable (bad magic, block or offset outside the file, a cycle) throws an
 * InputFileError naming the file; a limit of limits.ts (paths, tree depth, path length) an InputLimitError.
 * Hostile structure: the tree is walked iteratively; every block the reader uses (tree nodes, keys, PathInfo1/2)
 * must be used once and share no byte with another (aliased blocks would let a small file list the same leaf
 * thousands of times); paths are built once per entry from their parent's, iteratively, within the path limits.
 * Mach-O files (architecture 0x200F): the per-slice records {cputype, cpusubtype, size, cksum} after the slice
 * count, bounded by the record's own length and by LIMITS['macho.fat-arches'] (a count the block cannot hold is an
 * unreadable file; a count over the limit a limit hit).
 * Does not cover: HLIndex/VIndex/Size64 contents (only their presence).
 * Hand-written: Apple's lsbom is macOS-only and bomutils' lsbom is unreliable (§3.5).
 */
import { InputFileError } from '../errors.js';
import { BOM_MACHO_ARCH, BOM_MAGIC, BOM_SLICE_RECORD, BOM_VAR_NAMES, type BomSlice } from './bom.js';
import { InputLimitError, LIMITS, type LimitName } from '../formats/limits.js';
import { payloadSortKey } from './payload.js';

export interface BomPointer {
  address: number;
  length: number;
}

export interface BomStructure {
  version: number;
  numberOfBlocks: number;
  indexOffset: number;
  indexLength: number;
  varsOffset: number;
  varsLength: number;
  /** The block table, entry 0 being the null block. */
  blocks: BomPointer[];
  freeList: BomPointer[];
  vars: { name: string; block: number }[];
}

export interface BomEntry {
  /** `.` or `./a/b`, as the names are stored. */
  path: string;
  kind: 'file' | 'dir' | 'symlink' | 'device' | 'unknown';
  /** Full st_mode, type bits included. */
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  /** POSIX cksum (files, symlinks) or device type. */
  cksum: number;
  linkTarget?: string;
  id: number;
  parentId: number;
  architecture: number;
  /** Mach-O files (architecture 0x200F): the per-slice records, in the file's order. */
  slices?: BomSlice[];
}

export interface BomInfoBlock {
  version: number;
  numberOfPaths: number;
  arch: { cpuType: number; bytes: number }[];
}

export interface BomContents {
  structure: BomStructure;
  info: BomInfoBlock;
  /** Entries in payload order (depth-first, byte-wise per component). */
  entries: BomEntry[];
  /** Structural problems that do not stop reading; empty for a well-formed Bom. */
  problems: string[];
}

const KINDS = ['unknown', 'file', 'dir', 'symlink', 'device'] as const;

class BomView {
  readonly s: BomStructure;
  readonly buf: Buffer;
  readonly fail: (m: string) => never;
  readonly what: string;
  /** Blocks the reader has used: id → what it was read as. */
  readonly #claims = new Map<number, string>();
  /** Start address of each claimed non-empty block → its id (an alias shares its start). */
  readonly #starts = new Map<number, number>();
  constructor(buf: Buffer, what: string, fail: (m: string) => never) {
    this.buf = buf;
    this.what = what;
    this.fail = fail;
    this.s = parseStructure(buf, fail);
  }
  block(id: number, what: string): Buffer {
    const p = this.s.blocks[id];
    if (!p || id === 0) this.fail(`${what} points to block ${id}, which is not in the block table (${this.s.blocks.length} entries)`);
    if (p.address + p.length > this.buf.length) this.fail(`block ${id} (${what}) lies outside the file`);
    return this.buf.subarray(p.address, p.address + p.length);
  }
  /** A block read as `what`, which nothing else may use: a second use, or another block at its address, is aliasing. */
  claim(id: number, what: string): Buffer {
    const b = this.block(id, what);
    const before = this.#claims.get(id);
    if (before !== undefined) this.aliased(`block ${id} is used twice (as ${before} and as ${what})`);
    this.#claims.set(id, what);
    const { address, length } = this.s.blocks[id]!;
    if (length > 0) {
      const other = this.#starts.get(address);
      if (other !== undefined) this.aliased(`blocks ${other} (${this.#claims.get(other)}) and ${id} (${what}) share their bytes at offset ${address}`);
      this.#starts.set(address, id);
    }
    return b;
  }
  /** After reading: no two used blocks overlap (partial aliasing). */
  checkOverlaps(): void {
    const used = [...this.#claims.keys()].map((id) => ({ id, ...this.s.blocks[id]! })).filter((b) => b.length > 0).sort((a, b) => a.address - b.address);
    for (let i = 1; i < used.length; i++) {
      const [a, b] = [used[i - 1]!, used[i]!];
      if (b.address < a.address + a.length) this.aliased(`blocks ${a.id} (${this.#claims.get(a.id)}) and ${b.id} (${this.#claims.get(b.id)}) overlap at offset ${b.address}`);
    }
  }
  aliased(message: string): never {
    throw new InputLimitError(this.what, 'bom.block-uses', `${message}: aliased blocks or a cycle; each block may be used once (a hostile or damaged file; not read further)`);
  }
  overLimit(limit: LimitName, message: string): never {
    throw new InputLimitError(this.what, limit, `${message}: over the limit of ${LIMITS[limit]} (a hostile or damaged file; not read further)`);
  }
}

function need(buf: Buffer, at: number, n: number, what: string, fail: (m: string) => never): void {
  if (at < 0 || at + n > buf.length) fail(`${what} at byte ${at} (+${n}) lies outside the file (${buf.length} bytes)`);
}

function parseStructure(buf: Buffer, fail: (m: string) => never): BomStructure {
  need(buf, 0, 32, 'header', fail);
  if (buf.toString('latin1', 0, 8) !== BOM_MAGIC) fail(`not a Bom: magic ${JSON.stringify(buf.toString('latin1', 0, 8))}, expected "BOMStore"`);
  const [version, numberOfBlocks, indexOffset, indexLength, varsOffset, varsLength] = [8, 12, 16, 20, 24, 28].map((o) => buf.readUInt32BE(o)) as [
    number, number, number, number, number, number,
  ];
  need(buf, indexOffset, indexLength, 'block table', fail);
  need(buf, varsOffset, varsLength, 'vars', fail);
  const count = buf.readUInt32BE(indexOffset);
  need(buf, indexOffset + 4, count * 8 + 4, 'block table entries and free list', fail);
  const pointers = (at: number, n: number) => Array.from({ length: n }, (_, i) => ({ address: buf.readUInt32BE(at + 8 * i), length: buf.readUInt32BE(at + 8 * i + 4) }));
  const blocks = pointers(indexOffset + 4, count);
  const freeAt = indexOffset + 4 + count * 8;
  const freeCount = buf.readUInt32BE(freeAt);
  need(buf, freeAt + 4, freeCount * 8, 'free list', fail);
  const freeList = pointers(freeAt + 4, freeCount);
  const vars: BomStructure['vars'] = [];
  let at = varsOffset + 4;
  for (let i = 0, n = buf.readUInt32BE(varsOffset); i < n; i++) {
    need(buf, at, 5, 'var', fail);
    const len = buf.readUInt8(at + 4);
    need(buf, at + 5, len, 'var name', fail);
    vars.push({ block: buf.readUInt32BE(at), name: buf.toString('latin1', at + 5, at + 5 + len) });
    at += 5 + len;
  }
  return { version, numberOfBlocks, indexOffset, indexLength, varsOffset, varsLength, blocks, freeList, vars };
}

/** Parse only the container: header, block table, free list, vars. */
export function readBomStructure(buf: Buffer, what = 'Bom'): BomStructure {
  return parseStructure(buf, (m) => {
    throw new InputFileError(what, m);
  });
}

function readInfo(v: BomView, id: number): BomInfoBlock {
  const b = v.claim(id, 'BomInfo');
  if (b.length < 12) v.fail(`BomInfo block is ${b.length} bytes, expected at least 12`);
  const n = b.readUInt32BE(8);
  if (b.length < 12 + 16 * n) v.fail(`BomInfo declares ${n} entries but holds ${b.length} bytes`);
  const arch = Array.from({ length: n }, (_, i) => ({ cpuType: b.readUInt32BE(12 + 16 * i), bytes: b.readUInt32BE(20 + 16 * i) }));
  return { version: b.readUInt32BE(0), numberOfPaths: b.readUInt32BE(4), arch };
}

interface Leaf {
  block: number;
  forward: number;
  backward: number;
  pairs: [number, number][];
}

/** Every leaf of the tree under `root`, left to right (walked with an explicit stack); node-size problems are collected. */
function collectLeaves(v: BomView, root: number, blockSize: number, problems: string[]): Leaf[] {
  const leaves: Leaf[] = [];
  let pairsSeen = 0;
  const todo: Array<{ id: number; depth: number }> = [{ id: root, depth: 0 }];
  for (let t = todo.pop(); t; t = todo.pop()) {
    const { id, depth } = t;
    if (depth > LIMITS['bom.tree-depth']) v.overLimit('bom.tree-depth', `Paths tree deeper than ${LIMITS['bom.tree-depth']} levels at block ${id}`);
    const b = v.claim(id, 'Paths node');
    if (b.length < 12) v.fail(`Paths node ${id} is ${b.length} bytes, shorter than a node header`);
    const count = b.readUInt16BE(2);
    if (12 + 8 * count > b.length) v.fail(`Paths node ${id} declares ${count} entries but holds ${b.length} bytes`);
    if (b.length > blockSize) problems.push(`Paths node ${id} is ${b.length} bytes, larger than the tree's block size ${blockSize}`);
    pairsSeen += count;
    if (pairsSeen > LIMITS['bom.paths']) v.overLimit('bom.paths', `Paths tree lists more than ${LIMITS['bom.paths']} entries`);
    const pairs = Array.from({ length: count }, (_, i) => [b.readUInt32BE(12 + 8 * i), b.readUInt32BE(16 + 8 * i)] as [number, number]);
    if (b.readUInt16BE(0) === 1) leaves.push({ block: id, forward: b.readUInt32BE(4), backward: b.readUInt32BE(8), pairs });
    else for (let i = pairs.length - 1; i >= 0; i--) todo.push({ id: pairs[i]![0], depth: depth + 1 });
  }
  leaves.forEach((leaf, i) => {
    const fwd = leaves[i + 1]?.block ?? 0;
    const back = leaves[i - 1]?.block ?? 0;
    if (leaf.forward !== fwd) problems.push(`Paths leaf ${leaf.block}: forward link ${leaf.forward}, expected ${fwd}`);
    if (leaf.backward !== back) problems.push(`Paths leaf ${leaf.block}: backward link ${leaf.backward}, expected ${back}`);
  });
  return leaves;
}

type RawRecord = Omit<BomEntry, 'path'> & { name: Buffer };

function readRecord(v: BomView, value: number, key: number): RawRecord {
  const k = v.claim(key, 'Paths key (File)');
  const nul = k.indexOf(0, 4);
  if (k.length < 5 || nul < 0) v.fail(`File block ${key} has no NUL-terminated name`);
  const p1 = v.claim(value, 'PathInfo1');
  if (p1.length < 8) v.fail(`PathInfo1 block ${value} is ${p1.length} bytes, expected 8`);
  const i2 = v.claim(p1.readUInt32BE(4), 'PathInfo2');
  if (i2.length < 31) v.fail(`PathInfo2 block ${p1.readUInt32BE(4)} is ${i2.length} bytes, expected at least 31`);
  const kind = KINDS[i2.readUInt8(0)] ?? 'unknown';
  // Offset 27 is the link name length for symlinks; a Mach-O file (architecture 0x200F) has a flag byte there and
  // a slice count at 28 (see readSlices), so only symlinks have a name.
  const linkLength = kind === 'symlink' ? i2.readUInt32BE(27) : 0;
  if (31 + linkLength > i2.length) v.fail(`PathInfo2 block ${p1.readUInt32BE(4)} link name runs past the block`);
  const architecture = i2.readUInt16BE(2);
  const r = {
    name: k.subarray(4, nul),
    parentId: k.readUInt32BE(0),
    id: p1.readUInt32BE(0),
    kind,
    architecture,
    mode: i2.readUInt16BE(4),
    uid: i2.readUInt32BE(6),
    gid: i2.readUInt32BE(10),
    mtime: i2.readUInt32BE(14),
    size: i2.readUInt32BE(18),
    cksum: i2.readUInt32BE(23),
  };
  if (kind === 'file' && architecture === BOM_MACHO_ARCH) return { ...r, slices: readSlices(v, i2, p1.readUInt32BE(4)) };
  return linkLength > 0 ? { ...r, linkTarget: i2.toString('utf8', 31, 31 + linkLength - 1) } : r;
}

/**
 * The per-slice records of a Mach-O file's PathInfo2: u32 count at 28, then count × {cputype, cpusubtype, size,
 * cksum}. The count is checked before anything is allocated: against the limit of fat arches, then against the
 * bytes the block holds.
 */
function readSlices(v: BomView, i2: Buffer, block: number): BomSlice[] {
  if (i2.length < 32) v.fail(`PathInfo2 block ${block} is a Mach-O record (architecture 0x200F) of ${i2.length} bytes, too short for a slice count`);
  const count = i2.readUInt32BE(28);
  if (count > LIMITS['macho.fat-arches']) v.overLimit('macho.fat-arches', `PathInfo2 block ${block} declares ${count} Mach-O slices`);
  if (32 + BOM_SLICE_RECORD * count > i2.length) v.fail(`PathInfo2 block ${block} declares ${count} Mach-O slices but holds ${i2.length} bytes (${32 + BOM_SLICE_RECORD * count} needed)`);
  return Array.from({ length: count }, (_, i) => {
    const at = 32 + BOM_SLICE_RECORD * i;
    return { cputype: i2.readUInt32BE(at), cpusubtype: i2.readUInt32BE(at + 4), size: i2.readUInt32BE(at + 8), cksum: i2.readUInt32BE(at + 12) };
  });
}

/** At most this many key-order problems are listed (a shuffled Bom would otherwise give one per entry). */
const MAX_ORDER_PROBLEMS = 20;

function checkKeyOrder(records: readonly { parentId: number; name: Buffer }[], problems: string[]): void {
  let found = 0;
  for (let i = 1; i < records.length; i++) {
    const a = records[i - 1]!;
    const b = records[i]!;
    if (a.parentId > b.parentId || (a.parentId === b.parentId && Buffer.compare(a.name, b.name) >= 0)) {
      if (++found > MAX_ORDER_PROBLEMS) continue;
      problems.push(`Paths keys out of (parent id, name) order at entry ${i}: (${a.parentId}, ${JSON.stringify(a.name.toString())}) then (${b.parentId}, ${JSON.stringify(b.name.toString())})`);
    }
  }
  if (found > MAX_ORDER_PROBLEMS) problems.push(`Paths keys out of order at ${found - MAX_ORDER_PROBLEMS} more entries`);
}

/**
 * Every record with its `./a/b` path, each built once from its parent's (memoised, iteratively: a parent chain as
 * deep as the file is long costs one pass). A dangling parent id or a loop makes the file unreadable; a path longer
 * than LIMITS['path.bytes'] is a limit hit.
 */
function withPaths(v: BomView, records: readonly RawRecord[]): BomEntry[] {
  const byId = new Map(records.map((r) => [r.id, r]));
  const paths = new Map<number, { path: string; bytes: number }>();
  const pathOf = (r: RawRecord): string => {
    const chain: RawRecord[] = [];
    let base: { path: string; bytes: number } | undefined;
    for (let cur: RawRecord | undefined = r; cur; ) {
      base = paths.get(cur.id);
      if (base) break;
      if (chain.length > byId.size) v.fail(`path of entry id ${r.id} loops through its parents`);
      chain.push(cur);
      if (cur.parentId === 0) break;
      const parent = byId.get(cur.parentId);
      if (!parent) v.fail(`entry ${JSON.stringify(cur.name.toString('utf8'))} (id ${cur.id}) names parent id ${cur.parentId}, which is not in the Bom`);
      cur = parent;
    }
    let at = base ?? { path: '', bytes: -1 };
    for (let i = chain.length - 1; i >= 0; i--) {
      const c = chain[i]!;
      const bytes = at.bytes + 1 + c.name.length;
      if (bytes > LIMITS['path.bytes']) v.overLimit('path.bytes', `the path of entry id ${c.id} is longer than ${LIMITS['path.bytes']} bytes`);
      const name = c.name.toString('utf8');
      at = { path: at.bytes < 0 ? name : `${at.path}/${name}`, bytes };
      paths.set(c.id, at);
    }
    return at.path;
  };
  return records.map((r) => {
    const { name: _name, ...rest } = r;
    return { path: pathOf(r), ...rest };
  });
}

/**
 * Read a Bom: structure, BomInfo, every Paths entry, and structural problems. Unreadable → InputFileError; past a
 * limit of limits.ts → InputLimitError.
 */
export function readBom(buf: Buffer, what = 'Bom'): BomContents {
  const fail = (m: string): never => {
    throw new InputFileError(what, m);
  };
  if (buf.length > LIMITS['bom.bytes']) throw new InputLimitError(what, 'bom.bytes', `${buf.length} bytes: over the limit of ${LIMITS['bom.bytes']} (a hostile or damaged file; not read further)`);
  const v = new BomView(buf, what, fail);
  const problems: string[] = [];
  const varIds = new Map(v.s.vars.map((x) => [x.name, x.block]));
  const missing = BOM_VAR_NAMES.filter((n) => !varIds.has(n));
  if (missing.length > 0) problems.push(`missing vars: ${missing.join(', ')}`);
  const pathsId = varIds.get('Paths') ?? fail('no Paths var');
  const info = readInfo(v, varIds.get('BomInfo') ?? fail('no BomInfo var'));
  const tree = v.claim(pathsId, 'Paths tree');
  if (tree.length < 20 || tree.toString('latin1', 0, 4) !== 'tree') fail('Paths var does not point to a "tree" block');
  const leaves = collectLeaves(v, tree.readUInt32BE(8), tree.readUInt32BE(12), problems);
  const records = leaves.flatMap((l) => l.pairs.map(([value, key]) => readRecord(v, value, key)));
  v.checkOverlaps();
  checkKeyOrder(records, problems);
  if (tree.readUInt32BE(16) !== records.length) problems.push(`Paths tree pathCount ${tree.readUInt32BE(16)}, but its leaves hold ${records.length} entries`);
  if (info.numberOfPaths !== records.length + 1) problems.push(`BomInfo numberOfPaths ${info.numberOfPaths}, expected entries + 1 = ${records.length + 1}`);
  const entries = withPaths(v, records)
    .map((e) => ({ e, key: payloadSortKey(e.path.normalize('NFD')) }))
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .map((k) => k.e);
  return { structure: v.s, info, entries, problems };
}

/**
 * `lsbom`-style text: `path\tmode(octal)\tuid/gid` for directories, plus `\tsize\tcksum` for files, plus
 * `\ttarget` for symlinks; one line per entry, in payload order.
 */
export function formatLsbom(entries: readonly BomEntry[]): string {
  return entries
    .map((e) => {
      const base = `${e.path}\t${e.mode.toString(8)}\t${e.uid}/${e.gid}`;
      if (e.kind === 'file') return `${base}\t${e.size}\t${e.cksum}`;
      if (e.kind === 'symlink') return `${base}\t${e.size}\t${e.cksum}\t${e.linkTarget ?? ''}`;
      return base;
    })
    .map((line) => `${line}\n`)
    .join('');
}

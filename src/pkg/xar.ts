/**
 * xar writer: the container of a macOS flat package (component or product archive), reference §1–2.
 *
 * Covers: the 28-byte header, a zlib-compressed TOC with SHA-1 checksum at heap offset 0, files stored raw
 * (`application/octet-stream`, always for Payload/Scripts: they are gzip already and Installer refuses them zlib'd)
 * or zlib'd (`application/x-gzip`, as productbuild does for Bom, PackageInfo, Distribution), directories from nested
 * paths (`aiwatch.pkg/Payload`), sha1 archived/extracted checksums, and productsign's RSA + CMS signature layout
 * through a {@link XarSigner}. Does not cover: symlinks, hard links, xattrs, bzip2, other TOC checksum algorithms.
 *
 * Deterministic: entries are sorted byte-wise by name at each level, ids count depth-first from 1, the heap follows
 * id order, every entry is root:wheel with mtime = the creation time (option, else SOURCE_DATE_EPOCH, else 1970).
 *
 * Streaming, and why no staging file: the TOC (which needs every size and checksum) precedes the heap, so each
 * member is read twice — a measuring pass (hash, count, and deflate if zlib'd) and a copying pass that re-hashes
 * and fails if the bytes changed in between. A caller that already knows a stored member's {size, sha1} (e.g. it
 * hashed the Payload while writing it) passes them and the member is read once. In-memory members are measured and
 * compressed once. Memory is a few 1 MiB chunks whatever the payload size; nothing is written but the output.
 * Hand-written because no maintained npm package writes xar (and none streams or signs it).
 */
import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { crc32, deflateSync } from 'node:zlib';
import { checkInputFile } from '../io/fs.js';
import { InputFileError, UsageError } from '../errors.js';
import { encodeXarHeader, XAR_HEADER_SIZE } from './xar-header.js';
import { sealToc, type SealedToc, type XarWriteResult } from './xar-seal.js';
import type { XarSigner } from './xar-signature.js';
import { ENCODING_STORE, ENCODING_ZLIB, buildToc, type TocNode } from './xar-toc.js';
import { crc32Combine } from '../formats/crc32-combine.js';
import { bytesSource, deflateSource, drain, fileRange, Meter, metered, writeChunk, type ByteSource } from '../formats/byte-stream.js';

export { resignXar } from './xar-resign.js';
export type { XarSigner } from './xar-signature.js';
export type { XarWriteResult } from './xar-seal.js';

/** A member's size and SHA-1 (hex) when the caller already knows them. */
export interface XarDigestHint {
  size: number;
  sha1: string;
  /** zlib's CRC-32 of the bytes, when their writer took it: lets the layout give the archive's CRC-32 unread. */
  crc32?: number;
}

/** Where a member's bytes come from. `file` and `stream` sources are read in chunks, never whole. */
export type XarSource =
  | { bytes: Uint8Array }
  | { file: string; known?: XarDigestHint }
  /** `open` is called once per pass (twice, or once when `known` is given and the member is stored). */
  | { open: () => ByteSource; known?: XarDigestHint };

export interface XarFileInput {
  /** '/'-separated path inside the archive, e.g. `aiwatch.pkg/Payload`; parent directories are implied. */
  path: string;
  source: XarSource;
  /** `store` (application/octet-stream, default) or `zlib` (application/x-gzip). Payload/Scripts must be stored. */
  encoding?: 'store' | 'zlib';
  /** Default 0o644. */
  mode?: number;
}

export interface XarDirectoryInput {
  path: string;
  directory: true;
  /** Default 0o700, as productbuild writes its directories. */
  mode?: number;
}

export type XarInput = XarFileInput | XarDirectoryInput;

export interface XarWriteOptions {
  /** TOC creation time and every entry's mtime. Default: $SOURCE_DATE_EPOCH, else 1970-01-01T00:00:00Z. */
  creationTime?: Date;
  /** Sign the way productsign does (RSA + CMS). Default: unsigned. */
  signer?: XarSigner;
  /** Environment for SOURCE_DATE_EPOCH (default process.env). */
  env?: Record<string, string | undefined>;
}

const DEFAULT_DIR_MODE = 0o700;
const DEFAULT_FILE_MODE = 0o644;
/** Installer extracts these with its own gzip/pbzx reader: a zlib wrapper breaks the install (reference §7.1). */
const MUST_STORE = new Set(['Payload', 'Scripts']);

/** The creation time to use: explicit, else SOURCE_DATE_EPOCH (seconds), else the Unix epoch. */
export function resolveCreationTime(explicit: Date | undefined, env: Record<string, string | undefined> = process.env): Date {
  if (explicit) {
    if (Number.isNaN(explicit.getTime())) throw new UsageError('xar creation time: invalid Date');
    return explicit;
  }
  const sde = env.SOURCE_DATE_EPOCH;
  if (sde === undefined || sde === '') return new Date(0);
  if (!/^[0-9]{1,12}$/.test(sde)) throw new UsageError(`SOURCE_DATE_EPOCH: must be whole seconds since 1970, got "${sde}"`);
  return new Date(Number(sde) * 1000);
}

interface Member {
  input: XarFileInput;
  node: TocNode;
  /** Bytes as stored in the heap, kept only for in-memory members. */
  stored?: Uint8Array;
  /** Heap offset relative to the start of file data. */
  relOffset: number;
}

interface Tree {
  roots: TocNode[];
  members: Member[];
}

function pathProblems(path: string): string[] {
  const parts = path.split('/');
  if (path === '' || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\0'))) {
    return [`xar entry "${path}": expected a relative path of non-empty names without "." or ".." (e.g. "aiwatch.pkg/Payload")`];
  }
  return [];
}

function inputProblems(input: XarInput): string[] {
  const out = pathProblems(input.path);
  const mode = input.mode;
  if (mode !== undefined && (!Number.isInteger(mode) || mode < 0 || mode > 0o7777)) {
    out.push(`xar entry "${input.path}": mode ${mode} is not a permission value (0 … 0o7777)`);
  }
  if (!('directory' in input)) {
    const leaf = input.path.split('/').pop() ?? '';
    if (input.encoding === 'zlib' && MUST_STORE.has(leaf)) {
      out.push(`xar entry "${input.path}": ${leaf} must be stored (application/octet-stream); Installer rejects it zlib-encoded`);
    }
    const known = 'bytes' in input.source ? undefined : input.source.known;
    if (known && (!Number.isSafeInteger(known.size) || known.size < 0 || !/^[0-9a-f]{40}$/.test(known.sha1))) {
      out.push(`xar entry "${input.path}": known digest must be {size: non-negative integer, sha1: 40 lowercase hex digits}`);
    }
  }
  return out;
}

function byteOrder(a: TocNode, b: TocNode): number {
  return Buffer.compare(Buffer.from(a.name, 'utf8'), Buffer.from(b.name, 'utf8'));
}

/** Build the sorted tree; every problem (bad path, duplicate, file used as a folder) at once. */
function buildTree(inputs: XarInput[]): Tree {
  const problems = inputs.flatMap(inputProblems);
  const roots: TocNode[] = [];
  const byPath = new Map<string, TocNode>();
  const memberOf = new Map<TocNode, XarFileInput>();
  const dirAt = (path: string, parentList: TocNode[], name: string, mode?: number): TocNode => {
    let node = byPath.get(path);
    if (!node) {
      node = { name, type: 'directory', mode: DEFAULT_DIR_MODE, children: [] };
      byPath.set(path, node);
      parentList.push(node);
    } else if (node.type !== 'directory') problems.push(`xar entry "${path}": is a file and also a folder of other entries`);
    if (mode !== undefined) node.mode = mode;
    return node;
  };
  for (const input of problems.length > 0 ? [] : inputs) {
    const parts = input.path.split('/');
    let list = roots;
    for (let i = 0; i < parts.length - 1; i += 1) list = dirAt(parts.slice(0, i + 1).join('/'), list, parts[i]!).children ?? [];
    const name = parts[parts.length - 1]!;
    if ('directory' in input) {
      dirAt(input.path, list, name, input.mode);
    } else if (byPath.has(input.path)) {
      problems.push(`xar entry "${input.path}": listed twice (or also a folder)`);
    } else {
      const node: TocNode = { name, type: 'file', mode: input.mode ?? DEFAULT_FILE_MODE };
      byPath.set(input.path, node);
      memberOf.set(node, input);
      list.push(node);
    }
  }
  if (problems.length > 0) throw new UsageError(problems);
  const members: Member[] = [];
  const visit = (nodes: TocNode[]): void => {
    nodes.sort(byteOrder);
    for (const n of nodes) {
      const input = memberOf.get(n);
      if (input) members.push({ input, node: n, relOffset: 0 });
      visit(n.children ?? []);
    }
  };
  visit(roots);
  return { roots, members };
}

/** A member's bytes as given. */
function rawSource(input: XarFileInput): ByteSource {
  const s = input.source;
  if ('bytes' in s) return bytesSource(s.bytes);
  if ('file' in s) return fileRange(s.file);
  return s.open();
}

/** The bytes as stored: deflated for zlib members. */
function storedSource(m: Member): ByteSource {
  if (m.stored) return bytesSource(m.stored);
  const raw = rawSource(m.input);
  return m.input.encoding === 'zlib' ? deflateSource(raw) : raw;
}

/** Measuring pass: size, length and both SHA-1s of one member. */
async function measure(m: Member): Promise<void> {
  const { input } = m;
  const zlib = input.encoding === 'zlib';
  const s = input.source;
  const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex');
  if ('bytes' in s) {
    m.stored = zlib ? deflateSync(s.bytes, { level: 9 }) : s.bytes;
    const extracted = sha1(s.bytes);
    m.node.data = { offset: 0, length: m.stored.length, size: s.bytes.length, encoding: zlib ? ENCODING_ZLIB : ENCODING_STORE, archivedSha1: zlib ? sha1(m.stored) : extracted, extractedSha1: extracted };
    return;
  }
  if (!zlib && s.known) {
    m.node.data = { offset: 0, length: s.known.size, size: s.known.size, encoding: ENCODING_STORE, archivedSha1: s.known.sha1, extractedSha1: s.known.sha1 };
    return;
  }
  const extracted = new Meter();
  const archived = new Meter();
  const tapped = metered(rawSource(input), extracted);
  await drain(zlib ? metered(deflateSource(tapped), archived) : tapped);
  const eHex = extracted.hex();
  const [length, aHex] = zlib ? [archived.bytes, archived.hex()] : [extracted.bytes, eHex];
  m.node.data = { offset: 0, length, size: extracted.bytes, encoding: zlib ? ENCODING_ZLIB : ENCODING_STORE, archivedSha1: aHex, extractedSha1: eHex };
}

function readError(m: Member, e: unknown): Error {
  const s = m.input.source;
  if ('file' in s) return new InputFileError(s.file, `xar entry "${m.input.path}": cannot read (${(e as Error).message})`, { cause: e });
  return e as Error;
}

async function measureAll(tree: Tree): Promise<void> {
  for (const m of tree.members) {
    const s = m.input.source;
    if ('file' in s) await checkInputFile(s.file, `xar entry "${m.input.path}"`);
    try {
      await measure(m);
    } catch (e) {
      throw readError(m, e);
    }
  }
  let rel = 0;
  for (const m of tree.members) {
    m.relOffset = rel;
    rel += m.node.data!.length;
  }
}

/**
 * Copying pass for one member: its stored bytes; with `verify`, re-hashed, and refused if they are not what was
 * measured (without, only the byte count is checked: for a caller that checks the copy otherwise, e.g. by CRC-32).
 */
async function* memberBytes(m: Member, verify: boolean): ByteSource {
  const meter = verify ? new Meter() : undefined;
  let bytes = 0;
  try {
    for await (const chunk of storedSource(m)) {
      meter?.update(chunk);
      bytes += chunk.length;
      yield chunk;
    }
  } catch (e) {
    throw readError(m, e);
  }
  const d = m.node.data!;
  if (bytes !== d.length || (meter && meter.hex() !== d.archivedSha1)) {
    const what = 'file' in m.input.source ? m.input.source.file : 'its source';
    throw new InputFileError(what, `xar entry "${m.input.path}": changed while the archive was written (expected ${d.length} bytes, sha1 ${d.archivedSha1}; read ${bytes} bytes)`);
  }
}

/**
 * A xar whose TOC is sealed and whose every member is measured, not yet written: its {@link XarWriteResult} and its
 * bytes, to be read as often as needed (each time the members are read again from their sources).
 */
export interface XarLayout {
  result: XarWriteResult;
  /**
   * The whole archive. `verify` (default true): re-hash every member as it is read (see memberBytes).
   */
  bytes(opts?: { verify?: boolean }): ByteSource;
  /**
   * zlib's CRC-32 of the whole archive, known without reading it when every member read from a file or stream came
   * with its `known.crc32` (combined with the CRC-32 of what is in memory, src/formats/crc32-combine.ts); else
   * undefined. {@link bytes} with `verify` still re-hashes every member against the TOC as it is read.
   */
  crc32?: number;
}

/** The archive's CRC-32 from its pieces: in memory, or a member whose writer gave its CRC-32; undefined otherwise. */
function layoutCrc32(head: readonly Uint8Array[], members: readonly Member[]): number | undefined {
  let crc = 0;
  for (const b of head) crc = crc32(b, crc);
  for (const m of members) {
    if (m.stored) crc = crc32(m.stored, crc);
    else {
      const s = m.input.source;
      const known = 'bytes' in s || m.input.encoding === 'zlib' ? undefined : s.known;
      if (known?.crc32 === undefined) return undefined;
      crc = crc32Combine(crc, known.crc32, m.node.data!.length);
    }
  }
  return crc >>> 0;
}

/**
 * Lay out a xar of `inputs`: measure every member, seal (and sign) the TOC. Nothing is written; {@link writeXar} is
 * this, then the bytes to a stream. Throws UsageError for bad inputs (all problems at once), InputFileError for
 * unreadable members.
 */
export async function layoutXar(inputs: XarInput[], opts: XarWriteOptions = {}): Promise<XarLayout> {
  const creationTime = resolveCreationTime(opts.creationTime, opts.env);
  const tree = buildTree(inputs);
  await measureAll(tree);
  const render = (dataStart: number): ReturnType<typeof buildToc> => {
    for (const m of tree.members) m.node.data!.offset = dataStart + m.relOffset;
    return buildToc(tree.roots, creationTime);
  };
  const sealed: SealedToc = await sealToc(render, opts.signer);
  render(sealed.dataStart);
  const head = [encodeXarHeader(sealed.compressedToc.length, sealed.tocXmlLength), sealed.compressedToc, sealed.heapPrefix];
  const size = head.reduce((n, b) => n + b.length, 0) + tree.members.reduce((n, m) => n + m.node.data!.length, 0);
  const result: XarWriteResult = {
    tocXml: sealed.tocXml,
    tocChecksum: sealed.checksum,
    size,
    heapStart: XAR_HEADER_SIZE + sealed.compressedToc.length,
    dataStart: sealed.dataStart,
  };
  if (sealed.layout && sealed.cmsLength !== undefined) result.cms = { length: sealed.cmsLength, reserve: sealed.layout.cms.size };
  return {
    result,
    crc32: layoutCrc32(head, tree.members),
    async *bytes({ verify = true } = {}) {
      yield* head;
      for (const m of tree.members) yield* memberBytes(m, verify);
    },
  };
}

/**
 * Write a xar of `inputs` to `out` (e.g. the stream {@link writeStreamAtomic} hands out). Does not end `out`.
 * Throws UsageError for bad inputs (all problems at once), InputFileError for unreadable or changing members.
 */
export async function writeXar(out: Writable, inputs: XarInput[], opts: XarWriteOptions = {}): Promise<XarWriteResult> {
  const layout = await layoutXar(inputs, opts);
  for await (const chunk of layout.bytes()) await writeChunk(out, chunk);
  return layout.result;
}

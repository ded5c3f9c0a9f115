/**
 * The xar table of contents (TOC): the XML document, zlib-compressed after the header, that names every file,
 * where its bytes sit in the heap and their checksums, plus the TOC checksum and signature regions (reference §1.3,
 * §2.1).
 *
 * Covers: building a TOC tree from our model (files, directories, metadata as root:wheel, SHA-1 checksums, the
 * `application/octet-stream` and `application/x-gzip` encodings), inserting/replacing the `<signature>` and
 * `<x-signature>` elements, shifting data offsets, and reading any TOC back into a flat entry list (tolerating Apple's
 * repeated `<name>` elements and the misspelt `<unarchived-checksum>`). Does not cover: symlinks, hard links, devices,
 * extended attributes, bzip2 — our packages never hold them (a reader reports their type as-is).
 * Serialisation goes through xmlbuilder2 ({@link serializeXml}); reading through the strict parser of xml-tree.ts,
 * walking the `<file>` tree iteratively within the entry, depth and path limits of limits.ts.
 */
import { LIMITS } from '../formats/limits.js';
import { child, childText, el, elements, textOf, type XmlElement } from '../formats/xml-tree.js';
import { unwrapCertificate, wrapCertificate, type XarSignatureInfo, type XarSignatureLayout } from './xar-signature.js';

export const ENCODING_STORE = 'application/octet-stream';
/** Despite the name, a raw zlib (RFC 1950) stream, as Apple's xar writes it. */
export const ENCODING_ZLIB = 'application/x-gzip';
const XMLDSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';

export interface TocData {
  /** Heap-relative offset. */
  offset: number;
  /** Bytes stored in the heap. */
  length: number;
  /** Bytes after decoding. */
  size: number;
  encoding: typeof ENCODING_STORE | typeof ENCODING_ZLIB;
  /** Hex SHA-1 of the stored bytes. */
  archivedSha1: string;
  /** Hex SHA-1 of the decoded bytes. */
  extractedSha1: string;
}

/** One node of the archive tree the writer renders; ids are assigned depth-first in array order. */
export interface TocNode {
  name: string;
  type: 'file' | 'directory';
  mode: number;
  data?: TocData;
  children?: TocNode[];
}

/** `YYYY-MM-DDTHH:MM:SS` (UTC, no zone), as Apple's xar writes `<creation-time>`. */
export function tocCreationTime(d: Date): string {
  return d.toISOString().slice(0, 19);
}

function dataElement(d: TocData): XmlElement {
  return el('data', {}, [
    el('archived-checksum', { style: 'sha1' }, d.archivedSha1),
    el('extracted-checksum', { style: 'sha1' }, d.extractedSha1),
    el('encoding', { style: d.encoding }),
    el('size', {}, String(d.size)),
    el('offset', {}, String(d.offset)),
    el('length', {}, String(d.length)),
  ]);
}

function fileElement(node: TocNode, nextId: () => number, mtime: string): XmlElement {
  const parts: XmlElement[] = [
    el('name', {}, node.name),
    el('type', {}, node.type),
    el('mode', {}, `0${node.mode.toString(8)}`),
    el('uid', {}, '0'),
    el('user', {}, 'root'),
    el('gid', {}, '0'),
    el('group', {}, 'wheel'),
    el('mtime', {}, mtime),
  ];
  if (node.data) parts.push(dataElement(node.data));
  const fileEl = el('file', { id: String(nextId()) }, parts);
  for (const c of node.children ?? []) fileEl.children.push(fileElement(c, nextId, mtime));
  return fileEl;
}

/**
 * The TOC tree of an unsigned archive: SHA-1 checksum at heap offset 0 (20 bytes), then the files. Every entry is
 * root:wheel with `mtime` = the creation time; ids count from 1 depth-first.
 */
export function buildToc(nodes: TocNode[], creationTime: Date): XmlElement {
  let id = 0;
  const nextId = (): number => (id += 1);
  const mtime = `${tocCreationTime(creationTime)}Z`;
  const toc = el('toc', {}, [
    el('checksum', { style: 'sha1' }, [el('offset', {}, '0'), el('size', {}, '20')]),
    el('creation-time', {}, tocCreationTime(creationTime)),
    ...nodes.map((n) => fileElement(n, nextId, mtime)),
  ]);
  return el('xar', {}, [toc]);
}

function signatureElement(name: string, style: string, offset: number, size: number, certs: Uint8Array[]): XmlElement {
  const x509 = el('X509Data', {}, certs.map((c) => el('X509Certificate', {}, wrapCertificate(c))));
  return el(name, { style }, [
    el('offset', {}, String(offset)),
    el('size', {}, String(size)),
    el('KeyInfo', { xmlns: XMLDSIG_NS }, [x509]),
  ]);
}

/** The `<toc>` element of a `<xar>` root; throws if missing. */
export function tocOf(root: XmlElement): XmlElement {
  const toc = root.name === 'xar' ? child(root, 'toc') : undefined;
  if (!toc) throw new Error(root.name === 'xar' ? 'no <toc> element' : `root element is <${root.name}>, expected <xar>`);
  return toc;
}

/** Remove any `<signature>`/`<x-signature>` and insert RSA + CMS elements before the first `<file>`. */
export function setSignatureElements(root: XmlElement, layout: XarSignatureLayout, certificates: Uint8Array[]): void {
  const toc = tocOf(root);
  toc.children = toc.children.filter((c) => typeof c === 'string' || (c.name !== 'signature' && c.name !== 'x-signature'));
  const sigs = [
    signatureElement('signature', 'RSA', layout.rsa.offset, layout.rsa.size, certificates),
    signatureElement('x-signature', 'CMS', layout.cms.offset, layout.cms.size, certificates),
  ];
  const firstFile = toc.children.findIndex((c) => typeof c !== 'string' && c.name === 'file');
  toc.children.splice(firstFile < 0 ? toc.children.length : firstFile, 0, ...sigs);
}

/** Remove `<signature>`/`<x-signature>` elements. */
export function removeSignatureElements(root: XmlElement): void {
  const toc = tocOf(root);
  toc.children = toc.children.filter((c) => typeof c === 'string' || (c.name !== 'signature' && c.name !== 'x-signature'));
}

/** Add `delta` to every file's `<data><offset>` (moving file data within the heap). */
export function shiftDataOffsets(root: XmlElement, delta: number): void {
  const todo = elements(tocOf(root), 'file');
  for (let file = todo.pop(); file; file = todo.pop()) {
    const off = child(child(file, 'data') ?? el('data'), 'offset');
    if (off) off.children = [String(Number(textOf(off).trim()) + delta)];
    todo.push(...elements(file, 'file'));
  }
}

/** A checksum as read from a TOC: the `style` attribute and the hex text. */
export interface XarDigest {
  style: string;
  hex: string;
}

export interface XarEntryData {
  offset: number;
  length: number;
  size: number;
  /** The `<encoding style>` (absent → octet-stream). */
  encoding: string;
  archivedChecksum?: XarDigest;
  extractedChecksum?: XarDigest;
}

/** One `<file>` of a TOC, with its full path. */
export interface XarEntry {
  id: number;
  /** '/'-joined path from the archive root, e.g. `aiwatch.pkg/Payload`. */
  path: string;
  name: string;
  type: string;
  mode?: number;
  uid?: number;
  gid?: number;
  user?: string;
  group?: string;
  mtime?: string;
  data?: XarEntryData;
}

export interface ParsedToc {
  creationTime?: string;
  checksum?: { style: string; offset?: number; size?: number };
  signature?: XarSignatureInfo;
  xSignature?: XarSignatureInfo;
  /** Depth-first, in TOC order. */
  entries: XarEntry[];
  /** What is wrong with the TOC itself, each as "<place>: <message>". */
  problems: string[];
}

/** A non-negative safe integer, or undefined. */
function int(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

function readRegionFields(node: XmlElement, where: string, problems: string[]): { offset?: number; size?: number } {
  const out: { offset?: number; size?: number } = {};
  for (const key of ['offset', 'size'] as const) {
    const raw = childText(node, key);
    const n = int(raw);
    if (raw === undefined) problems.push(`${where}: no <${key}>`);
    else if (n === undefined) problems.push(`${where}: <${key}> is "${raw}", expected a non-negative integer`);
    else out[key] = n;
  }
  return out;
}

function readSignature(node: XmlElement | undefined, where: string, problems: string[]): XarSignatureInfo | undefined {
  if (!node) return undefined;
  const { offset, size } = readRegionFields(node, where, problems);
  const certificates: Uint8Array[] = [];
  const certEls = elements(elements(child(node, 'KeyInfo') ?? el('KeyInfo'), 'X509Data')[0] ?? el('X509Data'), 'X509Certificate');
  certEls.forEach((c, i) => {
    const der = unwrapCertificate(textOf(c));
    if (der) certificates.push(der);
    else problems.push(`${where}: X509Certificate #${i + 1} is not base64`);
  });
  if (certEls.length === 0) problems.push(`${where}: no X509Certificate in KeyInfo/X509Data`);
  return { style: node.attrs.style ?? '', offset: offset ?? 0, size: size ?? 0, certificates };
}

function readDigest(data: XmlElement, names: string[]): XarDigest | undefined {
  for (const n of names) {
    const c = child(data, n);
    if (c) return { style: (c.attrs.style ?? '').toLowerCase(), hex: textOf(c).trim().toLowerCase() };
  }
  return undefined;
}

function readData(data: XmlElement, where: string, problems: string[]): XarEntryData {
  const nums: Record<'offset' | 'length' | 'size', number> = { offset: 0, length: 0, size: 0 };
  for (const key of ['offset', 'length', 'size'] as const) {
    const raw = childText(data, key);
    const n = int(raw);
    if (n === undefined) problems.push(`${where}: <data><${key}> is ${raw === undefined ? 'missing' : `"${raw}"`}, expected a non-negative integer`);
    else nums[key] = n;
  }
  const out: XarEntryData = { ...nums, encoding: child(data, 'encoding')?.attrs.style ?? ENCODING_STORE };
  const archived = readDigest(data, ['archived-checksum']);
  const extracted = readDigest(data, ['extracted-checksum', 'unarchived-checksum']);
  if (archived) out.archivedChecksum = archived;
  if (extracted) out.extractedChecksum = extracted;
  return out;
}

interface EntryContext {
  entries: XarEntry[];
  problems: string[];
  ids: Set<number>;
  paths: Set<string>;
}

/** One `<file>` (not its children) as an entry under `parent`. */
function readEntry(file: XmlElement, parent: string, ctx: EntryContext): XarEntry {
  const name = childText(file, 'name') ?? '';
  const path = parent === '' ? name : `${parent}/${name}`;
  const where = path || `file id ${file.attrs.id ?? '?'}`;
  const id = int(file.attrs.id);
  if (id === undefined || id === 0) ctx.problems.push(`${where}: id is "${file.attrs.id ?? ''}", expected a positive integer`);
  else if (ctx.ids.has(id)) ctx.problems.push(`${where}: duplicate id ${id}`);
  if (id !== undefined) ctx.ids.add(id);
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    ctx.problems.push(`${where}: unsafe or empty name "${name}"`);
  } else if (ctx.paths.has(path)) ctx.problems.push(`${where}: duplicate path`);
  ctx.paths.add(path);
  const entry: XarEntry = { id: id ?? 0, path, name, type: childText(file, 'type') ?? 'file' };
  const mode = childText(file, 'mode');
  if (mode !== undefined) {
    if (/^[0-7]+$/.test(mode)) entry.mode = parseInt(mode, 8);
    else ctx.problems.push(`${where}: <mode> is "${mode}", expected octal digits`);
  }
  const [uid, gid] = [int(childText(file, 'uid')), int(childText(file, 'gid'))];
  if (uid !== undefined) entry.uid = uid;
  if (gid !== undefined) entry.gid = gid;
  for (const key of ['user', 'group', 'mtime'] as const) {
    const v = childText(file, key);
    if (v !== undefined) entry[key] = v;
  }
  const data = child(file, 'data');
  if (data) entry.data = readData(data, where, ctx.problems);
  return entry;
}

/** A TOC exceeds {@link LIMITS} (entries, nesting, path length): the caller names the file. */
export class TocLimitError extends Error {
  constructor(
    readonly limit: 'xar.entries' | 'xar.depth' | 'path.bytes',
    message: string,
  ) {
    super(message);
  }
}

/** Every `<file>` under the TOC, depth-first in document order, walked with an explicit stack. */
function readEntries(toc: XmlElement, ctx: EntryContext): void {
  const todo: Array<{ file: XmlElement; parent: string; depth: number }> = elements(toc, 'file').reverse().map((file) => ({ file, parent: '', depth: 1 }));
  for (let t = todo.pop(); t; t = todo.pop()) {
    if (ctx.entries.length >= LIMITS['xar.entries']) throw new TocLimitError('xar.entries', `more than ${LIMITS['xar.entries']} <file> entries: over the limit`);
    if (t.depth > LIMITS['xar.depth']) throw new TocLimitError('xar.depth', `<file> elements nest deeper than ${LIMITS['xar.depth']} levels: over the limit`);
    const entry = readEntry(t.file, t.parent, ctx);
    if (Buffer.byteLength(entry.path) > LIMITS['path.bytes']) throw new TocLimitError('path.bytes', `a path of more than ${LIMITS['path.bytes']} bytes: over the limit`);
    ctx.entries.push(entry);
    const kids = elements(t.file, 'file');
    for (let i = kids.length - 1; i >= 0; i--) todo.push({ file: kids[i]!, parent: entry.path, depth: t.depth + 1 });
  }
}

/**
 * Read a parsed TOC document (`<xar><toc>…`) into entries, checksum and signature info, with every problem.
 * Throws {@link TocLimitError} past {@link LIMITS}' entry count, nesting or path length.
 */
export function readToc(root: XmlElement): ParsedToc {
  const toc = tocOf(root);
  const problems: string[] = [];
  const out: ParsedToc = { entries: [], problems };
  const created = childText(toc, 'creation-time');
  if (created !== undefined) out.creationTime = created;
  const ck = child(toc, 'checksum');
  if (ck) {
    const { offset, size } = readRegionFields(ck, 'TOC <checksum>', problems);
    out.checksum = { style: (ck.attrs.style ?? '').toLowerCase() };
    if (offset !== undefined) out.checksum.offset = offset;
    if (size !== undefined) out.checksum.size = size;
  }
  const sig = readSignature(child(toc, 'signature'), 'TOC <signature>', problems);
  const xsig = readSignature(child(toc, 'x-signature'), 'TOC <x-signature>', problems);
  if (sig) out.signature = sig;
  if (xsig) out.xSignature = xsig;
  readEntries(toc, { entries: out.entries, problems, ids: new Set<number>(), paths: new Set<string>() });
  return out;
}

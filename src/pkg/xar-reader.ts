/**
 * xar reader: opens a flat package (or any xar) by path or from a random-access source (src/formats/source.ts: a
 * pkg stored in a release zip is read in place, as a window of the zip), reading only the ranges it needs.
 *
 * Covers: the header, the zlib TOC (inflated with a size cap, parsed strictly), the TOC checksum (sha1/sha256/
 * sha512 per the header), the entry tree with heap offsets/lengths/encodings/checksums/modes, the RSA and CMS
 * signature regions with their certificates, notarization tickets stapled after the heap (reference §6.4), and
 * streaming an entry's bytes (raw or decoded from `application/x-gzip`). Checking every member's checksums is in
 * xar-verify.ts. Does not cover: bzip2 members, symlink/hard-link targets, verifying signatures cryptographically
 * (src/sign/ does that with the bytes this module hands out).
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import { checkInputFile } from '../io/fs.js';
import { InputFileError, type Problem } from '../errors.js';
import {
  CHECKSUM_ALGORITHMS, DIGEST_SIZES, STAPLE_TRAILER_SIZE, XAR_HEADER_SIZE, XAR_MAGIC,
  decodeStapleTrailer, decodeXarHeader, headerProblems, type XarHeader,
} from './xar-header.js';
import type { XarRegion, XarSignatureInfo } from './xar-signature.js';
import { ENCODING_STORE, ENCODING_ZLIB, readToc, TocLimitError, type XarEntry } from './xar-toc.js';
import { byteText, InputLimitError, LIMITS, overLimit } from '../formats/limits.js';
import { collect, CollectLimitError, inflateSource, type ByteSource } from '../formats/byte-stream.js';
import { fileSource, type NamedSource, type RandomAccessSource } from '../formats/source.js';
import { parseXml, XmlLimitError, XmlSyntaxError, type XmlElement } from '../formats/xml-tree.js';

export type { XarEntry, XarEntryData, XarDigest } from './xar-toc.js';

/** Largest compressed / inflated TOC we accept (a real TOC is a few KiB; this bounds a hostile file). */
const MAX_TOC_BYTES = LIMITS['xar.toc-bytes'];

export interface XarChecksumInfo {
  /** `style` attribute of `<checksum>` (e.g. "sha1"). */
  style: string;
  offset: number;
  size: number;
  /** The digest bytes stored in the heap (what notarization tickets are looked up by). */
  stored: Buffer;
  /** The digest of the compressed TOC as read, with the header's algorithm. */
  computed: Buffer;
  matches: boolean;
}

/** A notarization ticket stapled after the heap. */
export interface StapledTicket {
  /** Absolute file offset of the ticket bytes (after the 16-byte terminator trailer). */
  offset: number;
  length: number;
  /** Version field of the ticket trailer (1 expected). */
  version: number;
  /** Whether the ticket bytes start with "s8ch", as Apple's tickets do. */
  startsWithS8ch: boolean;
}

export interface XarArchive {
  /** What problems call the archive: its path, or `zip:entry` when read from a source inside another file. */
  file: string;
  /** Where its bytes are read from. */
  source: RandomAccessSource;
  fileSize: number;
  header: XarHeader;
  /** Absolute offset of the heap: 28 + compressed TOC length (as Apple's reader computes it). */
  heapStart: number;
  tocXml: string;
  /** The parsed TOC document (`<xar>` root). */
  toc: XmlElement;
  creationTime?: string;
  checksum?: XarChecksumInfo;
  /** `<signature style="RSA">`. */
  signature?: XarSignatureInfo;
  /** `<x-signature style="CMS">`. */
  xSignature?: XarSignatureInfo;
  /** Every `<file>`, depth-first in TOC order. */
  entries: XarEntry[];
  /** Absolute offset just past the last heap region named by the TOC. */
  heapEnd: number;
  /** Stapled tickets, in file order (restapling appends another). */
  staples: StapledTicket[];
  /** Bytes after the heap that are neither heap nor a stapled ticket. */
  trailing?: { offset: number; length: number };
  /** Header, TOC and TOC-checksum problems found while opening. */
  problems: Problem[];
}

export interface OpenXarOptions {
  /** Throw an InputFileError listing the problems if any were found (default true). `verifyXar` passes false. */
  strict?: boolean;
}

async function readTocDocument(src: RandomAccessSource, file: string, fileSize: number): Promise<{ header: XarHeader; compressed: Buffer; xml: string }> {
  const head = await src.read(0, XAR_HEADER_SIZE);
  if (head.length < XAR_HEADER_SIZE) throw new InputFileError(file, `not a xar archive: ${head.length} bytes, shorter than the 28-byte header`);
  const header = decodeXarHeader(head);
  if (header.magic !== XAR_MAGIC) throw new InputFileError(file, `not a xar archive: ${headerProblems(header)[0]}`);
  const n = header.tocLengthCompressed;
  if (n === 0 || XAR_HEADER_SIZE + n > fileSize) {
    throw new InputFileError(file, `xar header: compressed TOC length ${n} does not fit the file (${fileSize} bytes)`);
  }
  if (n > MAX_TOC_BYTES) overLimit(file, 'xar.toc-bytes', 'xar TOC', `${byteText(n)} compressed`, byteText(MAX_TOC_BYTES));
  const compressed = await src.read(XAR_HEADER_SIZE, n);
  let raw: Buffer;
  try {
    raw = inflateSync(compressed, { maxOutputLength: MAX_TOC_BYTES });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') overLimit(file, 'xar.toc-bytes', 'xar TOC', `inflates to more than ${byteText(MAX_TOC_BYTES)}`, byteText(MAX_TOC_BYTES));
    throw new InputFileError(file, `xar TOC does not decompress as zlib (${(e as Error).message})`, { cause: e });
  }
  return { header, compressed, xml: raw.toString('utf8') };
}

function parseTocXml(file: string, xml: string): XmlElement {
  try {
    return parseXml(xml);
  } catch (e) {
    if (e instanceof XmlLimitError) throw new InputLimitError(file, e.limit, `xar TOC not read: ${e.message} (a hostile or damaged file)`);
    const why = e instanceof XmlSyntaxError ? e.message : String(e);
    throw new InputFileError(file, `xar TOC is not well-formed XML: ${why}`, { cause: e });
  }
}

async function readChecksum(
  src: RandomAccessSource, a: { header: XarHeader; compressed: Buffer; heapStart: number; fileSize: number },
  declared: { style: string; offset?: number; size?: number } | undefined, problems: string[],
): Promise<XarChecksumInfo | undefined> {
  const alg = CHECKSUM_ALGORITHMS[a.header.checksumAlgorithm];
  if (!declared) {
    problems.push('TOC has no <checksum> element');
    return undefined;
  }
  if (alg && declared.style !== alg) problems.push(`TOC <checksum style="${declared.style}"> does not match the header's algorithm ${a.header.checksumAlgorithm} (${alg})`);
  if (declared.offset === undefined || declared.size === undefined || !alg || DIGEST_SIZES[alg] === undefined) return undefined;
  if (declared.size !== DIGEST_SIZES[alg]) problems.push(`TOC <checksum> size is ${declared.size}, a ${alg} digest has ${DIGEST_SIZES[alg]} bytes`);
  const start = a.heapStart + declared.offset;
  if (start + declared.size > a.fileSize) {
    problems.push(`TOC checksum region [${declared.offset}, +${declared.size}) lies beyond the end of the file`);
    return undefined;
  }
  const stored = await src.read(start, declared.size);
  const computed = createHash(alg).update(a.compressed).digest();
  const matches = stored.equals(computed);
  if (!matches) problems.push(`TOC checksum mismatch: stored ${stored.toString('hex')}, computed ${computed.toString('hex')} over the compressed TOC`);
  return { style: declared.style, offset: declared.offset, size: declared.size, stored, computed, matches };
}

/** Every heap region the TOC names (checksum, signatures, file data), heap-relative. */
export function heapRegions(archive: Pick<XarArchive, 'checksum' | 'signature' | 'xSignature' | 'entries'>): Array<XarRegion & { what: string }> {
  const out: Array<XarRegion & { what: string }> = [];
  if (archive.checksum) out.push({ what: 'TOC checksum', offset: archive.checksum.offset, size: archive.checksum.size });
  if (archive.signature) out.push({ what: 'RSA signature', offset: archive.signature.offset, size: archive.signature.size });
  if (archive.xSignature) out.push({ what: 'CMS signature', offset: archive.xSignature.offset, size: archive.xSignature.size });
  for (const e of archive.entries) if (e.data) out.push({ what: e.path, offset: e.data.offset, size: e.data.length });
  return out;
}

async function findStaples(src: RandomAccessSource, fileSize: number, heapEnd: number): Promise<{ staples: StapledTicket[]; end: number }> {
  const staples: StapledTicket[] = [];
  let end = fileSize;
  while (end - heapEnd >= 2 * STAPLE_TRAILER_SIZE) {
    const k = decodeStapleTrailer(await src.read(end - STAPLE_TRAILER_SIZE, STAPLE_TRAILER_SIZE));
    if (!k || k.type !== 2) break;
    const tStart = end - STAPLE_TRAILER_SIZE - k.length - STAPLE_TRAILER_SIZE;
    if (tStart < heapEnd) break;
    const t = decodeStapleTrailer(await src.read(tStart, STAPLE_TRAILER_SIZE));
    if (!t || t.type !== 1) break;
    const offset = tStart + STAPLE_TRAILER_SIZE;
    const magic = (await src.read(offset, Math.min(4, k.length))).toString('latin1');
    staples.unshift({ offset, length: k.length, version: k.version, startsWithS8ch: magic === 's8ch' });
    end = tStart;
  }
  return { staples, end };
}

/** A path as a named source (InputFileError when it is missing or not a readable regular file). */
async function pathSource(file: string): Promise<NamedSource> {
  await checkInputFile(file, 'xar archive');
  return { name: file, source: fileSource(file, (await stat(file)).size) };
}

/**
 * Open a xar by path, or from a named source (a pkg inside a zip: `name` is `zip:entry`): header, TOC, checksum,
 * signatures, stapled tickets. Reads only the header, the TOC, the checksum bytes and the trailer; member bytes are
 * read only by {@link readXarEntry}.
 * Throws InputFileError (naming the path or `name`) if the file is missing or not a readable xar; with `strict`
 * (default) also when any header/TOC/checksum problem is found (all of them in one message).
 */
export async function openXar(input: string | NamedSource, opts: OpenXarOptions = {}): Promise<XarArchive> {
  const { name: file, source: src } = typeof input === 'string' ? await pathSource(input) : input;
  const fileSize = src.size;
  const { header, compressed, xml } = await readTocDocument(src, file, fileSize);
  const heapStart = XAR_HEADER_SIZE + header.tocLengthCompressed;
  const root = parseTocXml(file, xml);
  let parsed;
  try {
    parsed = readToc(root);
  } catch (e) {
    if (e instanceof TocLimitError) throw new InputLimitError(file, e.limit, `xar TOC not read: ${e.message} (a hostile or damaged file)`);
    throw new InputFileError(file, `xar TOC: ${(e as Error).message}`, { cause: e });
  }
  const msgs = [...headerProblems(header), ...parsed.problems];
  if (Buffer.byteLength(xml, 'utf8') !== header.tocLengthUncompressed) {
    msgs.push(`header says the TOC has ${header.tocLengthUncompressed} bytes uncompressed, it has ${Buffer.byteLength(xml, 'utf8')}`);
  }
  const checksum = await readChecksum(src, { header, compressed, heapStart, fileSize }, parsed.checksum, msgs);
  const archive: XarArchive = { file, source: src, fileSize, header, heapStart, tocXml: xml, toc: root, entries: parsed.entries, heapEnd: heapStart, staples: [], problems: [] };
  if (parsed.creationTime !== undefined) archive.creationTime = parsed.creationTime;
  if (checksum) archive.checksum = checksum;
  if (parsed.signature) archive.signature = parsed.signature;
  if (parsed.xSignature) archive.xSignature = parsed.xSignature;
  archive.heapEnd = heapStart + Math.max(0, ...heapRegions(archive).map((r) => r.offset + r.size));
  const { staples, end } = await findStaples(src, fileSize, archive.heapEnd);
  archive.staples = staples;
  if (end > archive.heapEnd) archive.trailing = { offset: archive.heapEnd, length: end - archive.heapEnd };
  archive.problems = msgs.map((message) => ({ where: `${file}:TOC`, message }));
  if ((opts.strict ?? true) && archive.problems.length > 0) {
    throw new InputFileError(file, `damaged xar archive:\n${msgs.map((m) => `  ${m}`).join('\n')}`);
  }
  return archive;
}

/** The entry at `path` (e.g. `aiwatch.pkg/PackageInfo`), or undefined. */
export function findXarEntry(archive: XarArchive, path: string): XarEntry | undefined {
  return archive.entries.find((e) => e.path === path);
}

function resolveEntry(archive: XarArchive, entry: XarEntry | string): XarEntry {
  const e = typeof entry === 'string' ? findXarEntry(archive, entry) : entry;
  if (!e) throw new InputFileError(archive.file, `xar archive has no entry "${String(entry)}"`);
  if (e.type !== 'file') throw new InputFileError(archive.file, `xar entry "${e.path}" is a ${e.type}, not a file`);
  return e;
}

/**
 * Stream an entry's bytes: decoded (default) or as stored in the heap (`raw`). Reads the heap range through the
 * file in chunks. Throws InputFileError for a missing entry, a directory, a range beyond the file or an encoding
 * we cannot decode (bzip2).
 */
export function readXarEntry(archive: XarArchive, entry: XarEntry | string, opts: { raw?: boolean } = {}): ByteSource {
  const e = resolveEntry(archive, entry);
  if (!e.data) return archive.source.stream(0, 0);
  const start = archive.heapStart + e.data.offset;
  if (start + e.data.length > archive.fileSize) {
    throw new InputFileError(archive.file, `xar entry "${e.path}": data [${start}, +${e.data.length}) lies beyond the end of the file (${archive.fileSize} bytes)`);
  }
  const stored = archive.source.stream(start, e.data.length);
  if (opts.raw || e.data.encoding === ENCODING_STORE) return stored;
  if (e.data.encoding === ENCODING_ZLIB) return inflateSource(stored);
  throw new InputFileError(archive.file, `xar entry "${e.path}": encoding "${e.data.encoding}" is not supported (expected ${ENCODING_STORE} or ${ENCODING_ZLIB})`);
}

/**
 * An entry's decoded bytes in memory — for small members (PackageInfo, Distribution, Bom); more than `max` bytes
 * (default LIMITS['xar.member-bytes']) is an InputLimitError naming `limit`.
 */
export async function readXarEntryBytes(
  archive: XarArchive, entry: XarEntry | string, max: number = LIMITS['xar.member-bytes'], limit: keyof typeof LIMITS = 'xar.member-bytes',
): Promise<Buffer> {
  const e = resolveEntry(archive, entry);
  try {
    return await collect(readXarEntry(archive, e), max);
  } catch (err) {
    if (err instanceof InputFileError) throw err;
    if (err instanceof CollectLimitError) overLimit(archive.file, limit, `xar entry "${e.path}"`, `decodes to more than ${byteText(max)}`, byteText(max));
    throw new InputFileError(archive.file, `xar entry "${e.path}": cannot read (${(err as Error).message})`, { cause: err });
  }
}

/** Bytes of a heap region (e.g. a signature), heap-relative. */
export async function readHeapRegion(archive: XarArchive, region: XarRegion): Promise<Buffer> {
  if (archive.heapStart + region.offset + region.size > archive.fileSize) {
    throw new InputFileError(archive.file, `xar heap region [${region.offset}, +${region.size}) lies beyond the end of the file`);
  }
  return collect(archive.source.stream(archive.heapStart + region.offset, region.size), region.size);
}

/** The signature blobs as stored (the CMS one still zero-padded to its reserve; see trimDer). */
export async function readSignatureBlobs(archive: XarArchive): Promise<{ rsa?: Buffer; cms?: Buffer }> {
  const out: { rsa?: Buffer; cms?: Buffer } = {};
  if (archive.signature) out.rsa = await readHeapRegion(archive, archive.signature);
  if (archive.xSignature) out.cms = await readHeapRegion(archive, archive.xSignature);
  return out;
}

/** The bytes of a stapled ticket. */
export async function readStapledTicket(archive: XarArchive, ticket: StapledTicket): Promise<Buffer> {
  return collect(archive.source.stream(ticket.offset, ticket.length), ticket.length);
}

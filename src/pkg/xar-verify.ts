/**
 * xar verification: every problem of a flat package's container at once, as `verify` reports them.
 *
 * Covers: header and TOC problems (from the reader), the TOC checksum, heap regions that overlap or run past the
 * end of the file, each member's archived checksum (over the stored bytes) and extracted checksum (over the decoded
 * bytes) with its size, the rules Apple's xar enforces (an archived checksum needs an extracted one; md5 is refused),
 * RSA-only signatures (cannot be stapled), and bytes after the heap that are not a stapled ticket.
 * Does not cover: whether the signatures are cryptographically valid or trusted (src/sign/), nor what the members
 * mean (PackageInfo, Distribution, Bom, Payload have their own modules).
 * Each member is streamed once; memory does not grow with its size. A zlib member is inflated no further than its
 * TOC <size>, and not at all when that size exceeds the inflate-ratio limit of limits.ts over its stored length.
 */
import { checkInputFile } from '../io/fs.js';
import { InputFileError, problemAt, type Problem } from '../errors.js';
import { heapRegions, openXar, type XarArchive } from './xar-reader.js';
import { ENCODING_STORE, ENCODING_ZLIB, type XarDigest, type XarEntry } from './xar-toc.js';
import type { NamedSource } from '../formats/source.js';
import { drain, inflateSource, Meter, metered, type ByteSource } from '../formats/byte-stream.js';
import { byteText, LIMITS } from '../formats/limits.js';

/** Stops a decoded member once it exceeds the size its TOC entry declares. */
class Oversize extends Error {}

async function* upTo(src: ByteSource, max: number): ByteSource {
  let n = 0;
  for await (const chunk of src) {
    n += chunk.length;
    if (n > max) throw new Oversize();
    yield chunk;
  }
}

/** TOC checksum style → node:crypto name; md5 is deliberately absent (Apple's xar refuses it by default). */
const HASHES: Readonly<Record<string, string>> = { sha1: 'sha1', sha: 'sha1', sha256: 'sha256', sha512: 'sha512' };

function regionProblems(a: XarArchive): string[] {
  const out: string[] = [];
  const regions = heapRegions(a).filter((r) => r.size > 0).sort((x, y) => x.offset - y.offset);
  for (const r of regions) {
    if (a.heapStart + r.offset + r.size > a.fileSize) out.push(`${r.what}: heap range [${r.offset}, +${r.size}) runs past the end of the file`);
  }
  for (let i = 1; i < regions.length; i += 1) {
    const prev = regions[i - 1]!;
    const cur = regions[i]!;
    if (cur.offset < prev.offset + prev.size) out.push(`${cur.what}: heap range [${cur.offset}, +${cur.size}) overlaps ${prev.what} [${prev.offset}, +${prev.size})`);
  }
  return out;
}

function signatureProblems(a: XarArchive): string[] {
  const out: string[] = [];
  if (a.signature && a.signature.style !== 'RSA') out.push(`<signature> style is "${a.signature.style}", expected "RSA"`);
  if (a.xSignature && a.xSignature.style !== 'CMS') out.push(`<x-signature> style is "${a.xSignature.style}", expected "CMS"`);
  if (a.signature && !a.xSignature) out.push('signed with the classic RSA signature only: notarization stapling needs the CMS <x-signature> too');
  if (a.xSignature && !a.signature) out.push('has a CMS <x-signature> but no RSA <signature> (productsign writes both)');
  return out;
}

function digestProblem(d: XarDigest | undefined, which: string): string | undefined {
  if (!d) return undefined;
  if (!HASHES[d.style]) return `${which} style "${d.style}" is not one Apple's xar accepts (sha1, sha256, sha512)`;
  if (!/^[0-9a-f]+$/.test(d.hex)) return `${which} "${d.hex}" is not hexadecimal`;
  return undefined;
}

/** Stream one member once, checking both checksums and the decoded size. */
async function entryProblems(a: XarArchive, e: XarEntry): Promise<string[]> {
  const d = e.data;
  if (!d) return [];
  const out: string[] = [];
  if (!d.archivedChecksum) out.push('no <archived-checksum>: its bytes cannot be checked');
  if (d.archivedChecksum && !d.extractedChecksum) out.push('has an <archived-checksum> but no <extracted-checksum> (Apple\'s xar refuses this)');
  for (const p of [digestProblem(d.archivedChecksum, 'archived-checksum'), digestProblem(d.extractedChecksum, 'extracted-checksum')]) if (p) out.push(p);
  if (d.encoding === ENCODING_STORE && d.length !== d.size) out.push(`stored (octet-stream) but <length> ${d.length} ≠ <size> ${d.size}`);
  const decodable = d.encoding === ENCODING_STORE || d.encoding === ENCODING_ZLIB;
  if (!decodable) out.push(`encoding "${d.encoding}" cannot be decoded here; its extracted checksum is not checked`);
  const inflateCap = Math.max(LIMITS['cpio.ratio-floor'], LIMITS['cpio.ratio'] * d.length);
  if (d.encoding === ENCODING_ZLIB && d.size > inflateCap) {
    out.push(`TOC <size> says it inflates to ${byteText(d.size)} from ${byteText(d.length)}: over the limit of ${LIMITS['cpio.ratio']} times its stored size (a decompression bomb); not decoded`);
  }
  if (out.length > 0 || a.heapStart + d.offset + d.length > a.fileSize) return out;
  const stored = (): ByteSource => a.source.stream(a.heapStart + d.offset, d.length);
  let archived = new Meter(HASHES[d.archivedChecksum!.style]);
  // A stored member's extracted bytes are its stored bytes: one hash serves both checksums when they are of one style.
  const sameBytes = d.encoding === ENCODING_STORE && d.extractedChecksum!.style === d.archivedChecksum!.style;
  const extracted = sameBytes ? undefined : new Meter(HASHES[d.extractedChecksum!.style]);
  const raw = metered(stored(), archived);
  let decodeError: Error | undefined;
  try {
    const decoded = d.encoding === ENCODING_ZLIB ? upTo(inflateSource(raw), d.size) : raw;
    await drain(extracted ? metered(decoded, extracted) : decoded);
  } catch (err) {
    if (err instanceof Oversize) return [`decodes to more than the ${d.size} bytes its TOC <size> says; not decoded further`];
    decodeError = err as Error;
    archived = new Meter(HASHES[d.archivedChecksum!.style]); // the failed pass stopped early: hash the stored bytes again
    await drain(metered(stored(), archived));
  }
  const aHex = archived.hex();
  // A damaged stored byte explains a decode failure and a wrong extracted checksum: report the cause only.
  if (aHex !== d.archivedChecksum!.hex) return [`archived-checksum mismatch: TOC says ${d.archivedChecksum!.hex}, the stored bytes hash to ${aHex}`];
  if (decodeError) return [`stored bytes do not decode as ${d.encoding} (${decodeError.message})`];
  const eHex = extracted ? extracted.hex() : aHex;
  const eBytes = extracted ? extracted.bytes : archived.bytes;
  if (eHex !== d.extractedChecksum!.hex) out.push(`extracted-checksum mismatch: TOC says ${d.extractedChecksum!.hex}, the decoded bytes hash to ${eHex}`);
  if (eBytes !== d.size) out.push(`decodes to ${eBytes} bytes, TOC <size> says ${d.size}`);
  return out;
}

function trailerProblems(a: XarArchive): string[] {
  const out: string[] = [];
  if (a.trailing) out.push(`${a.trailing.length} bytes after the heap (from offset ${a.trailing.offset}) are neither heap data nor a stapled ticket`);
  a.staples.forEach((s, i) => {
    if (s.version !== 1) out.push(`stapled ticket #${i + 1}: trailer version ${s.version}, expected 1`);
    if (!s.startsWithS8ch) out.push(`stapled ticket #${i + 1}: does not start with "s8ch"`);
  });
  return out;
}

/**
 * Every problem of the xar at `file` (or an already opened archive), empty when it is sound. Throws only when the
 * file cannot be read at all (InputFileError from checkInputFile); a file that is not a xar, or whose TOC does not
 * decode, yields one problem.
 */
export async function verifyXar(target: string | NamedSource | XarArchive): Promise<Problem[]> {
  let a: XarArchive;
  if (typeof target === 'string' || !('entries' in target)) {
    const name = typeof target === 'string' ? target : target.name;
    if (typeof target === 'string') await checkInputFile(target, 'xar archive');
    try {
      a = await openXar(target, { strict: false });
    } catch (e) {
      if (e instanceof InputFileError) return [{ where: name, message: e.message.replace(`${name}: `, '') }];
      throw e;
    }
  } else {
    a = target;
  }
  const toc = (msgs: string[]): Problem[] => msgs.map((message) => ({ where: `${a.file}:TOC`, message }));
  const problems: Problem[] = [...a.problems, ...toc(regionProblems(a)), ...toc(signatureProblems(a))];
  for (const e of a.entries) {
    if (e.type !== 'file' && e.type !== 'directory') problems.push(problemAt({ file: a.file, member: e.path }, `entry type "${e.type}" is not expected in a flat package`));
    for (const message of await entryProblems(a, e)) problems.push(problemAt({ file: a.file, member: e.path }, message));
  }
  problems.push(...trailerProblems(a).map((message) => ({ where: a.file, message })));
  return problems;
}

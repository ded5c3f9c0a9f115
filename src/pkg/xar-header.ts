/**
 * The fixed-size binary parts of a xar file: the 28-byte big-endian header at the front and the notarization
 * ("stapled ticket") trailers appended after the heap (reference §1.1, §6.4).
 *
 * Covers: encoding/decoding the header, the checksum algorithm numbers Apple's xar understands, decoding the
 * 16-byte little-endian `t8lr` trailers. Does not cover: the TOC (xar-toc.ts), the heap, or fetching tickets.
 * Hand-written because these are a few fixed-layout integers; no library models them.
 */

export const XAR_MAGIC = 0x78617221; // "xar!"
/** Apple's reader computes the heap start as 28 + compressed TOC length whatever the size field says: write 28. */
export const XAR_HEADER_SIZE = 28;
export const XAR_VERSION = 1;

export interface XarHeader {
  magic: number;
  headerSize: number;
  version: number;
  tocLengthCompressed: number;
  tocLengthUncompressed: number;
  /** 0 none, 1 sha1, 2 md5, 3 sha256 (Apple; "other" in the mackyle fork), 4 sha512. */
  checksumAlgorithm: number;
}

/** Header checksum algorithm number → TOC `style` / node:crypto name (Apple's table). */
export const CHECKSUM_ALGORITHMS: Readonly<Record<number, string>> = { 0: 'none', 1: 'sha1', 2: 'md5', 3: 'sha256', 4: 'sha512' };
/** Digest byte length by name. */
export const DIGEST_SIZES: Readonly<Record<string, number>> = { sha1: 20, md5: 16, sha256: 32, sha512: 64 };

export function encodeXarHeader(tocLengthCompressed: number, tocLengthUncompressed: number, checksumAlgorithm = 1): Buffer {
  const b = Buffer.alloc(XAR_HEADER_SIZE);
  b.writeUInt32BE(XAR_MAGIC, 0);
  b.writeUInt16BE(XAR_HEADER_SIZE, 4);
  b.writeUInt16BE(XAR_VERSION, 6);
  b.writeBigUInt64BE(BigInt(tocLengthCompressed), 8);
  b.writeBigUInt64BE(BigInt(tocLengthUncompressed), 16);
  b.writeUInt32BE(checksumAlgorithm, 24);
  return b;
}

/** Decode the first 28 bytes. No validation beyond size; callers check magic/version/alg and report. */
export function decodeXarHeader(b: Uint8Array): XarHeader {
  if (b.length < XAR_HEADER_SIZE) throw new RangeError(`a xar header has ${XAR_HEADER_SIZE} bytes, got ${b.length}`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u64 = (off: number): number => {
    const n = v.getBigUint64(off);
    return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(n);
  };
  return {
    magic: v.getUint32(0),
    headerSize: v.getUint16(4),
    version: v.getUint16(6),
    tocLengthCompressed: u64(8),
    tocLengthUncompressed: u64(16),
    checksumAlgorithm: v.getUint32(24),
  };
}

/** Every header problem at once (empty when the header is what Apple's reader accepts and we write). */
export function headerProblems(h: XarHeader): string[] {
  const out: string[] = [];
  if (h.magic !== XAR_MAGIC) out.push(`magic is 0x${h.magic.toString(16).padStart(8, '0')}, expected 0x78617221 ("xar!")`);
  if (h.headerSize !== XAR_HEADER_SIZE) out.push(`header size is ${h.headerSize}, expected ${XAR_HEADER_SIZE}`);
  if (h.version !== XAR_VERSION) out.push(`version is ${h.version}, expected ${XAR_VERSION}`);
  const alg = CHECKSUM_ALGORITHMS[h.checksumAlgorithm];
  if (alg === undefined || alg === 'none' || alg === 'md5') {
    out.push(`checksum algorithm is ${h.checksumAlgorithm} (${alg ?? 'unknown'}), expected 1 (sha1), 3 (sha256) or 4 (sha512)`);
  }
  return out;
}

/** Notarization trailer magic "t8lr" (reference §6.4). */
export const STAPLE_MAGIC = 't8lr';
export const STAPLE_TRAILER_SIZE = 16;

export interface StapleTrailer {
  version: number;
  /** 1 = terminator (precedes the ticket), 2 = ticket (follows it). */
  type: number;
  length: number;
}

/** Decode a 16-byte trailer, or undefined when the bytes do not start with "t8lr". Little-endian fields. */
export function decodeStapleTrailer(b: Uint8Array): StapleTrailer | undefined {
  if (b.length < STAPLE_TRAILER_SIZE || Buffer.from(b.subarray(0, 4)).toString('latin1') !== STAPLE_MAGIC) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { version: v.getUint16(4, true), type: v.getUint16(6, true), length: v.getUint32(8, true) };
}

/** Encode a trailer (used by tests and by the stapler): `t8lr`, version 1, type, length, zero. */
export function encodeStapleTrailer(type: 1 | 2, length: number): Buffer {
  const b = Buffer.alloc(STAPLE_TRAILER_SIZE);
  b.write(STAPLE_MAGIC, 0, 'latin1');
  b.writeUInt16LE(1, 4);
  b.writeUInt16LE(type, 6);
  b.writeUInt32LE(length, 8);
  return b;
}

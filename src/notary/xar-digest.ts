/**
 * The identity a notarization ticket binds a .pkg to: its xar TOC checksum (reference §1.2, §6.3).
 *
 * Covers: reading the 28-byte big-endian xar header (magic "xar!", header size u16, version u16,
 * toc_length_compressed u64, toc_length_uncompressed u64, cksum_alg u32), hashing the compressed TOC that follows
 * it, and checking that hash against the checksum stored at heap offset 0 (where productsign, our writer and
 * libarchive put it); deriving the ticket record name `2/<digest type>/<hex of the first 20 digest bytes>`.
 * Does not cover: parsing the TOC XML (so a `<checksum><offset>` other than 0 is not followed) or signatures.
 * Hand-written and kept this small because the xar reader (src/pkg/xar-reader.ts) did not exist yet when stapling
 * was written; this function should move there, next to the rest of the xar format.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { InputFileError } from '../errors.js';

const HEADER_SIZE = 28;
const XAR_MAGIC = 0x78617221;
/** Bound on the compressed TOC we are willing to hash in memory (real TOCs are kilobytes). */
const MAX_TOC = 64 * 1024 * 1024;

/** Header cksum_alg → hash, digest size and the code-signature digest type used in ticket record names. */
const ALGORITHMS: Readonly<Record<number, { hash: string; size: number; digestType: number }>> = {
  1: { hash: 'sha1', size: 20, digestType: 1 },
  3: { hash: 'sha256', size: 32, digestType: 2 },
};

export interface XarTocDigest {
  /** `sha1` or `sha256`. */
  algorithm: string;
  /** The TOC checksum (as stored at heap offset 0, equal to the hash of the compressed TOC). */
  digest: Buffer;
  /** Code-signature digest type: 1 = SHA-1, 2 = SHA-256. */
  digestType: number;
  /** Absolute file offset of the heap. */
  heapOffset: number;
}

/** Read the TOC checksum of the xar at `file`; InputFileError (exit 3) when it is not a xar we can staple. */
export async function readXarTocDigest(file: string): Promise<XarTocDigest> {
  const fh = await open(file, 'r').catch((e: unknown) => {
    throw new InputFileError(file, `package: cannot open (${(e as Error).message})`, { cause: e });
  });
  try {
    const size = (await fh.stat()).size;
    const header = Buffer.alloc(HEADER_SIZE);
    const { bytesRead } = await fh.read(header, 0, HEADER_SIZE, 0);
    if (bytesRead < HEADER_SIZE || header.readUInt32BE(0) !== XAR_MAGIC) {
      throw new InputFileError(file, 'package: not a xar archive (a .pkg starts with "xar!")');
    }
    const headerSize = header.readUInt16BE(4);
    const tocLength = Number(header.readBigUInt64BE(8));
    const alg = ALGORITHMS[header.readUInt32BE(24)];
    if (headerSize !== HEADER_SIZE) throw new InputFileError(file, `package: xar header size is ${headerSize}, expected ${HEADER_SIZE}`);
    if (!alg) throw new InputFileError(file, `package: xar checksum algorithm ${header.readUInt32BE(24)} cannot be stapled (expected 1 = sha1 or 3 = sha256)`);
    const heapOffset = HEADER_SIZE + tocLength;
    if (tocLength <= 0 || tocLength > MAX_TOC || heapOffset + alg.size > size) {
      throw new InputFileError(file, `package: xar TOC length ${tocLength} does not fit the ${size}-byte file`);
    }
    const toc = Buffer.alloc(tocLength);
    await fh.read(toc, 0, tocLength, HEADER_SIZE);
    const stored = Buffer.alloc(alg.size);
    await fh.read(stored, 0, alg.size, heapOffset);
    const computed = createHash(alg.hash).update(toc).digest();
    if (!computed.equals(stored)) {
      throw new InputFileError(file, `package: the ${alg.hash} TOC checksum at heap offset 0 does not match the TOC (damaged, or not a signed flat package)`);
    }
    return { algorithm: alg.hash, digest: stored, digestType: alg.digestType, heapOffset };
  } finally {
    await fh.close();
  }
}

/** CloudKit record name of the ticket for this TOC digest: `2/<digest type>/<40 hex chars>`. */
export function ticketRecordName(d: Pick<XarTocDigest, 'digest' | 'digestType'>): string {
  return `2/${d.digestType}/${d.digest.subarray(0, 20).toString('hex')}`;
}

/**
 * Sealing a xar TOC: serialise, zlib-compress, SHA-1 the compressed bytes (the TOC checksum, heap offset 0), and —
 * with a signer — lay out and fill the RSA and CMS regions the way productsign does (reference §1.2, §2.1–2.3).
 *
 * The circularity: the TOC names the signature offsets/sizes and certificates, the checksum covers the compressed
 * TOC, and the signatures cover the checksum. So the TOC is rendered for a layout, hashed, signed; if the CMS blob
 * does not fit the reserve (or the RSA blob is not the announced size) the layout grows and everything is redone.
 * Does not cover: the cryptography (the {@link XarSigner} does it) or writing the file (xar.ts, xar-resign.ts); it
 * holds {@link XarWriteResult}, what both writers return, so neither imports the other.
 */
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { setSignatureElements } from './xar-toc.js';
import { serializeXml, type XmlElement } from '../formats/xml-tree.js';
import { signatureLayout, SHA1_SIZE, type XarSigner, type XarSignatureLayout } from './xar-signature.js';
import { ZLIB_LEVEL } from '../formats/byte-stream.js';

export interface XarWriteResult {
  /** The TOC XML as written (compressed) into the archive. */
  tocXml: string;
  /** SHA-1 of the compressed TOC: the archive's identity for notarization tickets. */
  tocChecksum: Buffer;
  /** Total bytes written. */
  size: number;
  /** Absolute file offset of the heap (28 + compressed TOC length). */
  heapStart: number;
  /** Heap offset of the first file's data (20 unsigned; 20 + RSA + CMS reserve signed). */
  dataStart: number;
  /** Unpadded CMS length and reserve, when signed. */
  cms?: { length: number; reserve: number };
}

/** A sealed TOC and the heap bytes that precede file data. */
export interface SealedToc {
  tocXml: string;
  /** Byte length of the UTF-8 TOC XML (header field toc_length_uncompressed). */
  tocXmlLength: number;
  /** The zlib-compressed TOC as written after the header. */
  compressedToc: Buffer;
  /** SHA-1 of compressedToc. */
  checksum: Buffer;
  /** checksum ‖ RSA signature ‖ CMS blob zero-padded to its reserve (just the checksum when unsigned). */
  heapPrefix: Buffer;
  /** Heap offset where file data starts (= heapPrefix.length). */
  dataStart: number;
  /** The signature layout, when signed. */
  layout?: XarSignatureLayout;
  /** Unpadded CMS length, when signed. */
  cmsLength?: number;
}

/** Renders the TOC tree for file data starting at `dataStart` (the caller shifts its offsets accordingly). */
export type TocRenderer = (dataStart: number) => XmlElement;

const MAX_ATTEMPTS = 4;

function compress(root: XmlElement): Pick<SealedToc, 'tocXml' | 'tocXmlLength' | 'compressedToc' | 'checksum'> {
  const tocXml = serializeXml(root);
  const raw = Buffer.from(tocXml, 'utf8');
  const compressedToc = deflateSync(raw, { level: ZLIB_LEVEL });
  const checksum = createHash('sha1').update(compressedToc).digest();
  return { tocXml, tocXmlLength: raw.length, compressedToc, checksum };
}

/** A CMS reserve that fits `needed` with 1 KiB to spare, in whole KiB (Apple's own reserve was 9216). */
export function grownReserve(needed: number): number {
  return Math.ceil((needed + 1024) / 1024) * 1024;
}

function checkSigner(signer: XarSigner): void {
  const bad: string[] = [];
  if (!Number.isSafeInteger(signer.rsaSignatureSize) || signer.rsaSignatureSize <= 0) bad.push(`rsaSignatureSize ${signer.rsaSignatureSize}`);
  if (!Number.isSafeInteger(signer.cmsReserve) || signer.cmsReserve <= 0) bad.push(`cmsReserve ${signer.cmsReserve}`);
  if (signer.certificates.length === 0) bad.push('no certificates');
  if (bad.length > 0) throw new TypeError(`xar signer: ${bad.join(', ')} (expected positive sizes and at least the leaf certificate)`);
}

/** Seal an unsigned TOC: heap = [SHA-1 (20 bytes)][file data]. */
export function sealUnsigned(render: TocRenderer): SealedToc {
  const c = compress(render(SHA1_SIZE));
  return { ...c, heapPrefix: c.checksum, dataStart: SHA1_SIZE };
}

/** Seal a signed TOC: heap = [SHA-1][RSA][CMS, zero-padded][file data], retrying with a larger layout if needed. */
export async function sealSigned(render: TocRenderer, signer: XarSigner): Promise<SealedToc> {
  checkSigner(signer);
  let rsaSize = signer.rsaSignatureSize;
  let cmsSize = signer.cmsReserve;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const layout = signatureLayout(rsaSize, cmsSize);
    const root = render(layout.dataStart);
    setSignatureElements(root, layout, signer.certificates);
    const c = compress(root);
    const rsa = await signer.signRsa(c.checksum);
    const cms = await signer.signCms(c.checksum);
    if (rsa.length === rsaSize && cms.length <= cmsSize) {
      const heapPrefix = Buffer.alloc(layout.dataStart);
      c.checksum.copy(heapPrefix, 0);
      heapPrefix.set(rsa, layout.rsa.offset);
      heapPrefix.set(cms, layout.cms.offset);
      return { ...c, heapPrefix, dataStart: layout.dataStart, layout, cmsLength: cms.length };
    }
    if (rsa.length === 0 || cms.length === 0) break;
    rsaSize = rsa.length;
    if (cms.length > cmsSize) cmsSize = grownReserve(cms.length);
  }
  throw new Error(`xar signer: signatures did not fit the layout after ${MAX_ATTEMPTS} attempts (RSA ${rsaSize} B, CMS reserve ${cmsSize} B)`);
}

/** Seal with or without a signer. */
export async function sealToc(render: TocRenderer, signer?: XarSigner): Promise<SealedToc> {
  return signer ? sealSigned(render, signer) : sealUnsigned(render);
}

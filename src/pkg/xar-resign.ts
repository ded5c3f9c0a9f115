/**
 * Re-signing an existing xar (unsigned or signed, ours or Apple's) without touching member bytes: the TOC is
 * re-read, its signature elements replaced, every `<data><offset>` shifted by the change in reserved space, the TOC
 * re-sealed (reference §2.3), and the file-data part of the old heap copied through in chunks.
 *
 * Covers: adding, replacing or (no signer) removing the RSA + CMS signatures; converting a sha256/sha512 TOC
 * checksum to sha1 (our seal writes sha1, what productsign writes). Drops stapled tickets and anything after the
 * heap: a ticket is bound to the old TOC checksum and would not match. Does not cover: archives whose file data is
 * interleaved with the signature regions (refused with a clear error).
 */
import type { Writable } from 'node:stream';
import { InputFileError } from '../errors.js';
import { encodeXarHeader, XAR_HEADER_SIZE } from './xar-header.js';
import { openXar, type XarArchive } from './xar-reader.js';
import { sealToc, type XarWriteResult } from './xar-seal.js';
import type { XarSigner } from './xar-signature.js';
import { removeSignatureElements, shiftDataOffsets, tocOf } from './xar-toc.js';
import { fileRange, writeChunk, writeSource } from '../formats/byte-stream.js';
import { el, type XmlElement } from '../formats/xml-tree.js';

/** The first heap offset of file data, after checking no member sits before the end of the reserved regions. */
function oldDataRange(a: XarArchive): { start: number; end: number } {
  const reserved = [a.checksum, a.signature, a.xSignature].filter((r) => r !== undefined);
  const reservedEnd = Math.max(0, ...reserved.map((r) => r.offset + r.size));
  const data = a.entries.flatMap((e) => (e.data && e.data.length > 0 ? [e.data] : []));
  if (data.length === 0) return { start: reservedEnd, end: reservedEnd };
  const start = Math.min(...data.map((d) => d.offset));
  const end = Math.max(...data.map((d) => d.offset + d.length));
  if (start < reservedEnd) {
    throw new InputFileError(a.file, `cannot re-sign: file data starts at heap offset ${start}, inside the checksum/signature regions (which end at ${reservedEnd})`);
  }
  return { start, end };
}

/** Make `<checksum>` say sha1 at offset 0, size 20 (what the seal writes), keeping its place in the TOC. */
function normaliseChecksum(root: XmlElement): void {
  const toc = tocOf(root);
  const fresh = el('checksum', { style: 'sha1' }, [el('offset', {}, '0'), el('size', {}, '20')]);
  const i = toc.children.findIndex((c) => typeof c !== 'string' && c.name === 'checksum');
  if (i >= 0) toc.children[i] = fresh;
  else toc.children.unshift(fresh);
}

/**
 * Write to `out` a copy of the xar at `input` signed by `signer` (or unsigned when `signer` is omitted).
 * The input must open cleanly (TOC checksum valid); members are copied byte for byte, streamed from disk.
 */
export async function resignXar(input: string, out: Writable, signer?: XarSigner): Promise<XarWriteResult> {
  const a = await openXar(input);
  const { start, end } = oldDataRange(a);
  const render = (dataStart: number): XmlElement => {
    const root = structuredClone(a.toc);
    removeSignatureElements(root);
    normaliseChecksum(root);
    shiftDataOffsets(root, dataStart - start);
    return root;
  };
  const sealed = await sealToc(render, signer);
  await writeChunk(out, encodeXarHeader(sealed.compressedToc.length, sealed.tocXmlLength));
  await writeChunk(out, sealed.compressedToc);
  await writeChunk(out, sealed.heapPrefix);
  const copied = await writeSource(out, fileRange(input, a.heapStart + start, end - start));
  if (copied !== end - start) throw new InputFileError(input, `changed while re-signing: expected ${end - start} heap bytes, read ${copied}`);
  const heapStart = XAR_HEADER_SIZE + sealed.compressedToc.length;
  const result: XarWriteResult = {
    tocXml: sealed.tocXml,
    tocChecksum: sealed.checksum,
    size: heapStart + sealed.heapPrefix.length + copied,
    heapStart,
    dataStart: sealed.dataStart,
  };
  if (sealed.layout && sealed.cmsLength !== undefined) result.cms = { length: sealed.cmsLength, reserve: sealed.layout.cms.size };
  return result;
}

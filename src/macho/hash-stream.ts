/**
 * Streaming check of a CodeDirectory against the image it signs: the same verdict as
 * {@link verifyCodeDirectory} (macho-codesign.ts), but the image arrives as a sequence of chunks, so a 256 MiB agent
 * binary is verified page by page without ever being held in memory.
 *
 * Covers: every code-page hash (any page size, page size 0 = one page up to codeLimit, a short last page), the
 * code-limit/slot-count consistency check, and the special slots whose blobs are present in the signature
 * (requirements, entitlements …), which live in the small signature area the caller reads separately.
 * Does not cover: parsing the signature (macho-codesign.ts), CMS or certificate validation.
 *
 * Memory: one hash object and the current page index; mismatches beyond {@link MAX_REPORTED} are counted, not kept.
 */
import { createHash, hash, type Hash } from 'node:crypto';
import { HASH_TYPES } from './constants.js';
import type { CodeDirectoryInfo, CodeSignatureInfo, HashMismatch } from './codesign.js';

/** At most this many mismatches are kept (a rebuilt binary differs in every page); the rest are only counted. */
export const MAX_REPORTED = 16;

export interface StreamVerdict {
  /** The first mismatches, in page order, then special slots (at most MAX_REPORTED). */
  mismatches: HashMismatch[];
  /** How many hashes differ in all. */
  count: number;
}

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export class CodeDirectoryHasher {
  readonly #cd: CodeDirectoryInfo;
  readonly #cdBytes: Uint8Array;
  readonly #algorithm: string | undefined;
  readonly #limit: number;
  readonly #page: number;
  readonly #verdict: StreamVerdict = { mismatches: [], count: 0 };
  #pos = 0;
  #index = 0;
  #hash: Hash | undefined;

  /**
   * `sig` is the signature area (LC_CODE_SIGNATURE dataoff..+datasize) decoded as `info`; `imageSize` is the length
   * of the thin image the chunks will cover.
   */
  constructor(
    private readonly sig: Uint8Array,
    private readonly info: CodeSignatureInfo,
    cd: CodeDirectoryInfo,
    imageSize: number,
  ) {
    this.#cd = cd;
    this.#cdBytes = sig.subarray(cd.offset, cd.offset + cd.length);
    this.#algorithm = HASH_TYPES[cd.hashType]?.algorithm;
    this.#limit = Math.min(cd.codeLimit, imageSize);
    this.#page = cd.pageSize || Math.max(this.#limit, 1);
    if (!this.#algorithm) {
      this.#report({ what: 'hash type', expected: 'a known hash type', actual: cd.hashTypeName });
      return;
    }
    if (cd.codeLimit > imageSize || Math.ceil(cd.codeLimit / this.#page) !== cd.nCodeSlots) {
      this.#report({ what: 'code limit', expected: `${cd.nCodeSlots} pages within ${imageSize} bytes`, actual: `codeLimit ${cd.codeLimit}` });
    }
  }

  /** Feed the next bytes of the image (contiguous with the previous call, starting at image offset 0). */
  update(chunk: Uint8Array): void {
    if (!this.#algorithm) return;
    let at = 0;
    while (at < chunk.length && this.#pos < this.#limit && this.#index < this.#cd.nCodeSlots) {
      const pageEnd = Math.min(this.#limit, (this.#index + 1) * this.#page);
      const take = Math.min(chunk.length - at, pageEnd - this.#pos);
      const part = chunk.subarray(at, at + take);
      at += take;
      this.#pos += take;
      if (!this.#hash && this.#pos === pageEnd) {
        // The whole page is in this chunk: one-shot hash, no Hash object per page (65,536 of them for 256 MiB).
        this.#checkPage(hash(this.#algorithm, part, 'buffer'));
        continue;
      }
      this.#hash ??= createHash(this.#algorithm);
      this.#hash.update(part);
      if (this.#pos === pageEnd) {
        this.#checkPage(this.#hash.digest());
        this.#hash = undefined;
      }
    }
    this.#pos += chunk.length - at;
  }

  /**
   * Instead of {@link update}: the page digests computed beforehand, `digests` holding one `algorithm` digest (32
   * bytes, SHA-256) per `pageSize` page of the image up to `limit`, the last page short. Returns false, checking
   * nothing, when the CodeDirectory asks for other pages (another hash, page size or code limit): the image must
   * then be read again. Then {@link finish} as usual.
   */
  checkPageDigests(digests: Uint8Array, algorithm: string, pageSize: number, limit: number): boolean {
    if (!this.#algorithm) return true;
    if (this.#algorithm !== algorithm || this.#page !== pageSize || this.#limit !== limit || this.#pos !== 0) return false;
    const pages = Math.min(this.#cd.nCodeSlots, Math.ceil(limit / pageSize), Math.floor(digests.length / 32));
    for (let i = 0; i < pages; i++) this.#checkPage(Buffer.from(digests.buffer, digests.byteOffset + i * 32, 32));
    this.#pos = limit;
    return true;
  }

  /** After the whole image was fed: the verdict, including the special slots. */
  finish(): StreamVerdict {
    if (!this.#algorithm) return this.#verdict;
    for (const blob of this.info.blobs) {
      if (blob.slot < 1 || blob.slot > this.#cd.nSpecialSlots) continue;
      const actual = this.#digest(createHash(this.#algorithm).update(this.sig.subarray(blob.offset, blob.offset + blob.length)));
      const expected = this.#slot(-blob.slot);
      if (actual !== expected) this.#report({ what: `special slot ${blob.slot} (${blob.slotName})`, expected, actual });
    }
    return this.#verdict;
  }

  #checkPage(digest: Buffer): void {
    // Compared as bytes: hex strings only for a mismatch.
    const actual = digest.subarray(0, this.#cd.hashSize);
    const expected = this.#slotBytes(this.#index);
    if (!actual.equals(expected)) this.#report({ what: `page ${this.#index}`, expected: hexOf(expected), actual: hexOf(actual) });
    this.#index += 1;
  }

  #digest(h: Hash): string {
    return hexOf(h.digest().subarray(0, this.#cd.hashSize));
  }

  #slotBytes(i: number): Uint8Array {
    const at = this.#cd.hashOffset + i * this.#cd.hashSize;
    return this.#cdBytes.subarray(at, at + this.#cd.hashSize);
  }

  #slot(i: number): string {
    return hexOf(this.#slotBytes(i));
  }

  #report(m: HashMismatch): void {
    this.#verdict.count += 1;
    if (this.#verdict.mismatches.length < MAX_REPORTED) this.#verdict.mismatches.push(m);
  }
}

/** Verify a thin image held in memory (one chunk): the same verdict as the streamed check. */
export function verifyImage(image: Uint8Array, sig: Uint8Array, info: CodeSignatureInfo, cd: CodeDirectoryInfo): StreamVerdict {
  const h = new CodeDirectoryHasher(sig, info, cd, image.length);
  h.update(image);
  return h.finish();
}

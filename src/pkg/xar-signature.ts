/**
 * The signing hook of the xar writer, and the shapes the xar reader reports signatures in.
 *
 * Covers: the {@link XarSigner} contract (what productsign puts in a flat package: a "classic" RSA signature and a
 * CMS `x-signature`, both over the TOC checksum), the heap layout of the signature regions (reference §2), the
 * size of the CMS region as productsign reserves it ({@link cmsReserveSize}), the SHA-1 DigestInfo prefix,
 * certificate base64 wrapping as Apple writes it, and DER length trimming.
 * Does not cover: the cryptography itself (keys, CMS building, timestamps) — that lives in src/sign/.
 */

/** Something that can sign a xar TOC checksum. Implemented in src/sign/ (or by a test with a throwaway key). */
export interface XarSigner {
  /** DER certificates, leaf first (then intermediates, then root) → `<KeyInfo><X509Data><X509Certificate>`. */
  certificates: Uint8Array[];
  /** Bytes of the RSA signature = RSA modulus bytes, e.g. 256 for a 2048-bit key. */
  rsaSignatureSize: number;
  /** Bytes reserved for the CMS blob; the writer grows it and retries if the blob comes back larger. */
  cmsReserve: number;
  /** RSASSA-PKCS1-v1_5 over DigestInfo(SHA-1, tocChecksum) — no further hashing (≡ `crypto.sign('sha1', ztoc)`). */
  signRsa(tocChecksum: Uint8Array): Promise<Uint8Array>;
  /** DER CMS SignedData, content detached, over the raw checksum bytes. */
  signCms(tocChecksum: Uint8Array): Promise<Uint8Array>;
}

/** A heap region, offsets relative to the heap start (28 + compressed TOC length). */
export interface XarRegion {
  offset: number;
  size: number;
}

/** A `<signature>` or `<x-signature>` element as read from a TOC. */
export interface XarSignatureInfo extends XarRegion {
  /** `style` attribute: "RSA" for `<signature>`, "CMS" for `<x-signature>`. */
  style: string;
  /** DER certificates from its KeyInfo, in TOC order (leaf first). */
  certificates: Uint8Array[];
}

/** Where the checksum and signatures go in the heap, and where file data starts. */
export interface XarSignatureLayout {
  checksum: XarRegion;
  rsa: XarRegion;
  cms: XarRegion;
  /** First heap offset after the reserved regions: file data starts here. */
  dataStart: number;
}

/**
 * CMS SignedData bytes besides the embedded certificates and the signature value: ContentInfo/SignedData headers,
 * digest and signature algorithm identifiers, the signer's issuer name and serial, and the signed attributes
 * (contentType, signingTime, messageDigest). Measured at 354 bytes for our signer with the test PKI
 * (test/sign/pkg-signer.test.ts pins it under this allowance); Apple's longer issuer names add about 100; 1 KiB.
 */
export const CMS_STRUCTURE_ALLOWANCE = 1024;

/**
 * Upper bound of the RFC 3161 token Apple's TSA (timestamp.apple.com/ts01) returns, added as an unsigned attribute:
 * a SignedData of its own holding the TSA's signing certificate (≈ 1.1 KB) and the Apple Timestamp Certification
 * Authority (1,035 bytes, certs/apple/AppleTimestampCA.cer), a TSTInfo (≈ 100 bytes: policy, SHA-256 imprint,
 * serial, time, nonce), its signer info with ESS signing-certificate attributes (≈ 400 bytes) and an RSA-2048
 * signature (256 bytes): ≈ 2.9 KB; 4 KiB leaves room for a longer certificate. Should a token ever be larger, the
 * xar writer grows the region and signs again (xar-seal.ts), so the bound costs a retry, never a broken package.
 */
export const TIMESTAMP_TOKEN_ALLOWANCE = 4096;

/**
 * Bytes to reserve for the CMS region, derived as productsign's: Σ DER of the embedded chain + the signature value +
 * {@link CMS_STRUCTURE_ALLOWANCE} + {@link TIMESTAMP_TOKEN_ALLOWANCE} when timestamped, rounded up to a KiB.
 * For a Developer ID Installer chain (leaf ≈ 1.5 KB, Developer ID CA G2 1,090 B, Apple Root CA 1,215 B) and
 * RSA-2048 that is 9,216 bytes timestamped — the `<x-signature><size>9216</size>` productsign wrote in the observed
 * Zoom package (reference §9) — and 5 KiB without a timestamp. (It was 14 KiB: 8 KiB for the token and 2 KiB of
 * structure, harmless zeros but unlike Apple's packages.)
 */
export function cmsReserveSize(certificates: readonly Uint8Array[], signatureBytes: number, timestamped: boolean): number {
  const certBytes = certificates.reduce((n, c) => n + c.length, 0);
  const need = certBytes + signatureBytes + CMS_STRUCTURE_ALLOWANCE + (timestamped ? TIMESTAMP_TOKEN_ALLOWANCE : 0);
  return Math.ceil(need / 1024) * 1024;
}

/** SHA-1 digest length: the TOC checksum our writer emits (`cksum_alg` 1). */
export const SHA1_SIZE = 20;

/** DER prefix of DigestInfo { sha1, NULL } with a 20-byte OCTET STRING following (RFC 8017 §9.2 note 1). */
export const SHA1_DIGEST_INFO_PREFIX = Uint8Array.from([
  0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
]);

/** DigestInfo(SHA-1, checksum): what the classic RSA signature pads and signs. */
export function sha1DigestInfo(checksum: Uint8Array): Uint8Array {
  if (checksum.length !== SHA1_SIZE) throw new RangeError(`a SHA-1 checksum has ${SHA1_SIZE} bytes, got ${checksum.length}`);
  const out = new Uint8Array(SHA1_DIGEST_INFO_PREFIX.length + SHA1_SIZE);
  out.set(SHA1_DIGEST_INFO_PREFIX);
  out.set(checksum, SHA1_DIGEST_INFO_PREFIX.length);
  return out;
}

/**
 * productsign's heap layout: checksum at 0, RSA right after it, CMS after the RSA blob, files after that
 * (observed: 0/20, 20/256, 276/9216, first file at 9492).
 */
export function signatureLayout(rsaSize: number, cmsSize: number): XarSignatureLayout {
  const checksum = { offset: 0, size: SHA1_SIZE };
  const rsa = { offset: SHA1_SIZE, size: rsaSize };
  const cms = { offset: rsa.offset + rsaSize, size: cmsSize };
  return { checksum, rsa, cms, dataStart: cms.offset + cmsSize };
}

/** Base64 of a DER certificate wrapped at 72 characters with "\n", as Apple's xar writes X509Certificate. */
export function wrapCertificate(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 72) lines.push(b64.slice(i, i + 72));
  return lines.join('\n');
}

/** Decode an X509Certificate element's text (whitespace ignored); undefined if it is not base64. */
export function unwrapCertificate(text: string): Uint8Array | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) return undefined;
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

/**
 * Length of the DER element at the start of `bytes` (tag + length + content), or undefined if the bytes do not
 * start with a complete definite-length element. Used to cut the zero padding after a CMS blob.
 */
export function derLength(bytes: Uint8Array): number | undefined {
  if (bytes.length < 2) return undefined;
  const first = bytes[1]!;
  let len: number;
  let header: number;
  if (first < 0x80) {
    len = first;
    header = 2;
  } else {
    const n = first & 0x7f;
    if (n === 0 || n > 4 || bytes.length < 2 + n) return undefined;
    len = 0;
    for (let i = 0; i < n; i += 1) len = len * 256 + bytes[2 + i]!;
    header = 2 + n;
  }
  const total = header + len;
  return total <= bytes.length ? total : undefined;
}

/** `bytes` without the zero padding after its leading DER element (the whole input if it is not DER). */
export function trimDer(bytes: Uint8Array): Uint8Array {
  const n = derLength(bytes);
  return n === undefined ? bytes : bytes.subarray(0, n);
}

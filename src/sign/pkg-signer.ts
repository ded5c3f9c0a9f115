/**
 * The {@link XarSigner} for flat packages, signing the TOC checksum the way productsign does
 * (reference/pkg-format.md §2.2):
 *   - "classic" `<signature style="RSA">`: RSASSA-PKCS1-v1_5 over DigestInfo(SHA-1, checksum) — the checksum is
 *     not hashed again (≡ `crypto.sign('sha1', compressedToc)`); verify with `openssl pkeyutl -verify -pkeyopt
 *     digest:sha1`;
 *   - `<x-signature style="CMS">`: CMS SignedData, content detached (the raw checksum bytes), SHA-256, signed
 *     attributes contentType/signingTime (injected clock)/messageDigest, the identity's chain embedded, and — unless
 *     disabled — an RFC 3161 token over the signature value as the id-aa-timeStampToken unsigned attribute.
 *
 * Not covered: writing the xar (src/pkg/xar*.ts does that, padding the CMS blob to `cmsReserve` with zeros and
 * growing the reserve and re-signing if a blob comes back larger), checksum algorithms other than SHA-1/256/512.
 */
import { constants, privateEncrypt } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { cmsReserveSize, type XarSigner } from '../pkg/xar-signature.js';
import { addUnsignedAttribute, createSignedData, encodeSignedData, signatureValue } from './cms.js';
import type { SigningIdentity } from './identity.js';
import { HASHES, type HashName, OID } from './oids.js';
import { APPLE_TIMESTAMP_URL, requestTimestamp, type TimestampOptions } from './timestamp.js';

export { APPLE_TIMESTAMP_URL } from './timestamp.js';

export interface XarSignerOptions {
  /** RFC 3161 server for the CMS timestamp. Default Apple's `http://timestamp.apple.com/ts01`; `null`: no timestamp. */
  timestampUrl?: string | null;
  /** signingTime of the CMS signature. */
  clock: () => Date;
  /** Timeout, retries, abort signal … for the timestamp request. */
  timestamp?: Omit<TimestampOptions, 'url'>;
}

/** Bytes to reserve for the CMS blob: productsign's size for the chain (src/pkg/xar-signature.ts cmsReserveSize). */
export function cmsReserveFor(certificates: readonly Uint8Array[], signatureBytes: number, timestamped: boolean): number {
  return cmsReserveSize(certificates, signatureBytes, timestamped);
}

function hashForChecksum(checksum: Uint8Array): HashName {
  const found = (Object.keys(HASHES) as HashName[]).find((h) => HASHES[h].bytes === checksum.length && h !== 'SHA-384');
  if (!found) throw new RangeError(`a TOC checksum has 20 (SHA-1), 32 (SHA-256) or 64 (SHA-512) bytes, got ${checksum.length}`);
  return found;
}

/** DER DigestInfo { algorithm, digest } (RFC 8017 §9.2) for the checksum's own hash algorithm. */
export function digestInfo(checksum: Uint8Array): Uint8Array {
  const di = new pkijs.DigestInfo({
    digestAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: HASHES[hashForChecksum(checksum)].oid, algorithmParams: new asn1js.Null() }),
    digest: new asn1js.OctetString({ valueHex: new Uint8Array(checksum) }),
  });
  return new Uint8Array(di.toSchema().toBER());
}

/** The classic xar RSA signature: PKCS#1 v1.5 type-1 padding of DigestInfo(checksum), no further hashing. */
export function signRsaDigestInfo(identity: SigningIdentity, checksum: Uint8Array): Uint8Array {
  return new Uint8Array(privateEncrypt({ key: identity.privateKey, padding: constants.RSA_PKCS1_PADDING }, digestInfo(checksum)));
}

/** A signer for src/pkg's xar writer. Network is used only by signCms, and only when a timestamp URL is in effect. */
export function createXarSigner(identity: SigningIdentity, opts: XarSignerOptions): XarSigner {
  if (identity.keyType !== 'rsa' || !identity.rsaModulusBytes) throw new TypeError('a pkg signature needs an RSA identity');
  const url = opts.timestampUrl === undefined ? APPLE_TIMESTAMP_URL : opts.timestampUrl;
  const certificates = identity.chain.map((c) => c.der);
  const rsaSignatureSize = identity.rsaModulusBytes;
  return {
    certificates,
    rsaSignatureSize,
    cmsReserve: cmsReserveFor(certificates, rsaSignatureSize, url !== null),
    signRsa: async (checksum) => signRsaDigestInfo(identity, checksum),
    signCms: async (checksum) => {
      const sd = await createSignedData({ privateKey: identity.privateKey, certificates, content: checksum, detached: true, signingTime: opts.clock() });
      if (url !== null) {
        const ts = await requestTimestamp(signatureValue(sd), { ...opts.timestamp, url });
        addUnsignedAttribute(sd, OID.timeStampToken, ts.token);
      }
      return encodeSignedData(sd);
    },
  };
}

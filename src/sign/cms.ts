/**
 * CMS SignedData (RFC 5652) through pkijs: one signer, content attached or detached, signed attributes contentType,
 * signingTime and messageDigest, all given certificates embedded; plus reading one back (signature check, signer,
 * signing time, embedded RFC 3161 token) for `verify`/`inspect`.
 *
 * Output is canonical DER (OpenSSL's DER re-encoding of it is byte-identical): signed attributes and certificates
 * are in DER SET OF order (sorted by encoding; verifiers such as OpenSSL re-encode signed attributes before checking
 * the signature, so any other order fails), and attached content is one primitive OCTET STRING (pkijs would
 * otherwise split it into a constructed, BER-only string).
 *
 * Not covered: several signers, countersignatures, attribute certificates, CRLs, RSASSA-PSS.
 */
import { createHash, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { HASHES, type HashName, OID } from './oids.js';

export interface CmsSignInput {
  privateKey: KeyObject;
  /** DER certificates to embed, signer first (stored in DER SET OF order). */
  certificates: readonly Uint8Array[];
  /** The bytes signed: embedded when attached, else supplied separately to a verifier. */
  content: Uint8Array;
  detached: boolean;
  signingTime: Date;
  /** Digest for messageDigest and the signature. Default SHA-256. */
  hash?: HashName;
}

const EC_CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

function webCryptoKey(key: KeyObject, hash: HashName): CryptoKey {
  if (key.asymmetricKeyType === 'rsa') return key.toCryptoKey({ name: 'RSASSA-PKCS1-v1_5', hash }, false, ['sign']);
  const curve = EC_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
  if (key.asymmetricKeyType === 'ec' && curve) return key.toCryptoKey({ name: 'ECDSA', namedCurve: curve }, false, ['sign']);
  throw new Error(`CMS signing supports RSA and EC P-256/384/521 keys, got ${key.asymmetricKeyType ?? 'unknown'} ${key.asymmetricKeyDetails?.namedCurve ?? ''}`);
}

function attribute(type: string, value: asn1js.AsnType): pkijs.Attribute {
  return new pkijs.Attribute({ type, values: [value] });
}

/** Signed attributes in DER SET OF order: ascending by their encodings. */
function derSorted(attrs: pkijs.Attribute[]): pkijs.Attribute[] {
  const enc = (a: pkijs.Attribute): Buffer => Buffer.from(a.toSchema().toBER());
  return [...attrs].sort((a, b) => Buffer.compare(enc(a), enc(b)));
}

/** UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5652 §11.3), whole seconds. */
function signingTimeValue(t: Date): asn1js.AsnType {
  const d = new Date(Math.floor(t.getTime() / 1000) * 1000);
  const y = d.getUTCFullYear();
  return y >= 1950 && y < 2050 ? new asn1js.UTCTime({ valueDate: d }) : new asn1js.GeneralizedTime({ valueDate: d });
}

function signerInfo(leaf: pkijs.Certificate, content: Uint8Array, input: CmsSignInput, hash: HashName): pkijs.SignerInfo {
  const digest = createHash(HASHES[hash].node).update(content).digest();
  const attrs = derSorted([
    attribute(OID.contentType, new asn1js.ObjectIdentifier({ value: OID.data })),
    attribute(OID.signingTime, signingTimeValue(input.signingTime)),
    attribute(OID.messageDigest, new asn1js.OctetString({ valueHex: digest })),
  ]);
  return new pkijs.SignerInfo({
    version: 1,
    sid: new pkijs.IssuerAndSerialNumber({ issuer: leaf.issuer, serialNumber: leaf.serialNumber }),
    signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: attrs }),
  });
}

/** Build and sign a SignedData (not yet encoded: a timestamp may still be added as an unsigned attribute). */
export async function createSignedData(input: CmsSignInput): Promise<pkijs.SignedData> {
  const hash = input.hash ?? 'SHA-256';
  if (input.certificates.length === 0) throw new Error('CMS signing needs the signer certificate');
  const leaf = pkijs.Certificate.fromBER(new Uint8Array(input.certificates[0]!));
  // certificates is a SET OF: DER order is by encoding (OpenSSL and NSS-derived encoders such as Apple's sort it too).
  const sorted = [...input.certificates].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const certs = sorted.map((der) => pkijs.Certificate.fromBER(new Uint8Array(der)));
  const encap = new pkijs.EncapsulatedContentInfo({ eContentType: OID.data });
  if (!input.detached) encap.eContent = new asn1js.OctetString({ valueHex: new Uint8Array(input.content) });
  const sd = new pkijs.SignedData({
    version: 1,
    encapContentInfo: encap,
    certificates: certs,
    signerInfos: [signerInfo(leaf, input.content, input, hash)],
  });
  await sd.sign(webCryptoKey(input.privateKey, hash), 0, hash);
  return sd;
}

/** The signer's signature value (what an RFC 3161 timestamp request hashes). */
export function signatureValue(sd: pkijs.SignedData): Uint8Array {
  return new Uint8Array(sd.signerInfos[0]!.signature.valueBlock.valueHexView);
}

/**
 * Add an unsigned attribute to the (first) signer. The value is re-encoded by asn1js from its parse, so it is checked
 * to come out byte for byte as given (true for DER; a BER-only value is refused rather than silently altered).
 */
export function addUnsignedAttribute(sd: pkijs.SignedData, type: string, valueDer: Uint8Array): void {
  const parsed = asn1js.fromBER(new Uint8Array(valueDer));
  if (parsed.offset !== valueDer.length || !Buffer.from(parsed.result.toBER()).equals(Buffer.from(valueDer))) {
    throw new Error(`attribute ${type}: value is not a single DER element`);
  }
  const si = sd.signerInfos[0]!;
  si.unsignedAttrs ??= new pkijs.SignedAndUnsignedAttributes({ type: 1, attributes: [] });
  si.unsignedAttrs.attributes.push(new pkijs.Attribute({ type, values: [parsed.result] }));
}

/** DER ContentInfo { id-signedData, SignedData }. */
export function encodeSignedData(sd: pkijs.SignedData): Uint8Array {
  const ci = new pkijs.ContentInfo({ contentType: OID.signedData, content: sd.toSchema() });
  return new Uint8Array(ci.toSchema().toBER());
}

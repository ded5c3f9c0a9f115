/**
 * Reading a CMS SignedData back (pkijs): the embedded content (primitive or constructed OCTET STRING), certificates,
 * signer, signing time and RFC 3161 token, and whether the signature is valid over the content.
 *
 * "Valid" means integrity: the messageDigest attribute matches the content and the signature over the signed
 * attributes verifies with the signer certificate's key. Whether that certificate is trusted is a separate question
 * answered with `identity`/`apple-certs` helpers (a device decides with its own trust store). Only the first signer
 * is examined.
 *
 * Bounded (src/formats/limits.ts): a blob over LIMITS['cms.bytes'] is refused, and before asn1js (which parses
 * recursively) sees one, {@link checkAsn1Nesting} (src/formats/asn1-bounds.ts) walks its tags and lengths
 * iteratively and refuses nesting deeper than LIMITS['asn1.depth'].
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { type Certificate, parseCertificate } from './certificate.js';
import { checkAsn1Nesting } from '../formats/asn1-bounds.js';
import { OID } from './oids.js';


export interface CmsInfo {
  signedData: pkijs.SignedData;
  /** The embedded content, or undefined for a detached signature. */
  content: Uint8Array | undefined;
  /** Every embedded X.509 certificate, in stored order. */
  certificates: Certificate[];
  /** The embedded certificate matching the signer's issuer and serial number. */
  signer: Certificate | undefined;
  signingTime: Date | undefined;
  /** The DER of the id-aa-timeStampToken unsigned attribute's value, exactly as stored. */
  timestampToken: Uint8Array | undefined;
  /** Digest algorithm OID of the signer. */
  digestAlgorithm: string;
}

function bytesOf(block: asn1js.BaseBlock): Uint8Array {
  const before = block.valueBeforeDecodeView;
  return before.byteLength > 0 ? new Uint8Array(before) : new Uint8Array(block.toBER());
}

function attributeValue(attrs: pkijs.SignedAndUnsignedAttributes | undefined, type: string): asn1js.BaseBlock | undefined {
  return attrs?.attributes.find((a) => a.type === type)?.values[0] as asn1js.BaseBlock | undefined;
}

function signerCertificate(sd: pkijs.SignedData, certs: Certificate[]): Certificate | undefined {
  const sid = sd.signerInfos[0]?.sid;
  if (!(sid instanceof pkijs.IssuerAndSerialNumber)) return undefined;
  return certs.find((c) => c.asn.issuer.isEqual(sid.issuer) && c.asn.serialNumber.isEqual(sid.serialNumber));
}

/** Parse DER/BER ContentInfo(SignedData). Throws an Error saying what is wrong; callers name the file. */
export function readSignedData(der: Uint8Array): CmsInfo {
  checkAsn1Nesting(der);
  const parsed = asn1js.fromBER(new Uint8Array(der));
  if (parsed.offset === -1) throw new Error(`not DER/BER: ${parsed.result.error}`);
  const ci = new pkijs.ContentInfo({ schema: parsed.result });
  if (ci.contentType !== OID.signedData) throw new Error(`CMS content type is ${ci.contentType}, expected signedData (${OID.signedData})`);
  const sd = new pkijs.SignedData({ schema: ci.content });
  const si = sd.signerInfos[0];
  if (!si) throw new Error('SignedData has no signer');
  const certificates = (sd.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate).map((c) => parseCertificate(new Uint8Array(c.toSchema().toBER())));
  const time = attributeValue(si.signedAttrs, OID.signingTime);
  const token = attributeValue(si.unsignedAttrs, OID.timeStampToken);
  const eContent = sd.encapContentInfo.eContent;
  return {
    signedData: sd,
    content: eContent ? new Uint8Array(eContent.getValue()) : undefined,
    certificates,
    signer: signerCertificate(sd, certificates),
    signingTime: time instanceof asn1js.UTCTime || time instanceof asn1js.GeneralizedTime ? time.toDate() : undefined,
    timestampToken: token ? bytesOf(token) : undefined,
    digestAlgorithm: si.digestAlgorithm.algorithmId,
  };
}

/** Check the first signer's signature (over `detachedContent` for a detached signature). */
export async function checkCmsSignature(info: CmsInfo, detachedContent?: Uint8Array): Promise<{ valid: boolean; reason?: string }> {
  if (!info.content && !detachedContent) return { valid: false, reason: 'detached signature: the signed content was not given' };
  try {
    const r = await info.signedData.verify({
      signer: 0,
      ...(detachedContent ? { data: new Uint8Array(detachedContent).buffer } : {}),
      checkChain: false,
      extendedMode: true,
    });
    return r.signatureVerified ? { valid: true } : { valid: false, reason: r.message || 'signature does not verify' };
  } catch (e) {
    return { valid: false, reason: (e as Error).message || String(e) };
  }
}

/**
 * A summary of the CMS (PKCS #7 SignedData) blob of a code signature, for `inspect` and the release check: who
 * signed (the certificates' subjects, leaf first as codesign's "Authority=" lines), the team (the leaf's OU), and
 * the signing time.
 *
 * Covers: parsing with pkijs; certificates ordered leaf → root by following issuer names from the signer; the signed
 * message digest (so the caller can check the CMS was made over this CodeDirectory).
 * Does not cover: verifying the signature or the chain (openssl does that in tests; Gatekeeper does it on a Mac).
 * Never throws: a blob that is not CMS gives `{ parsed: false, error }`.
 */
import { checkAsn1Nesting } from '../formats/asn1-bounds.js';
import { Certificate, ContentInfo, SignedData, type AttributeTypeAndValue, type RelativeDistinguishedNames } from 'pkijs';
import * as asn1js from 'asn1js';

export interface CmsCertificate {
  /** "CN=…, OU=…, O=…" in the order the certificate lists them. */
  subject: string;
  commonName?: string;
  organizationalUnit?: string;
}

export interface CmsSummary {
  parsed: boolean;
  error?: string;
  /** Certificates from the signer's up to the root, as far as they are present. */
  certificates: CmsCertificate[];
  /** Signing time from the signed attributes, ISO 8601. */
  signingTime?: string;
  /** The signer's message digest (hex) and the node:crypto name of its digest algorithm. */
  messageDigest?: { algorithm: string; hex: string };
}

const OID_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '0.9.2342.19200300.100.1.1': 'UID',
};
const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_SIGNING_TIME = '1.2.840.113549.1.9.5';
const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const DIGESTS: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

function valueText(tv: AttributeTypeAndValue): string {
  const block = (tv.value as { valueBlock?: { value?: unknown } }).valueBlock;
  return typeof block?.value === 'string' ? block.value : '';
}

function nameText(name: RelativeDistinguishedNames): string {
  return name.typesAndValues.map((tv) => `${OID_NAMES[tv.type] ?? tv.type}=${valueText(tv)}`).join(', ');
}

function attr(name: RelativeDistinguishedNames, oid: string): string | undefined {
  const hit = name.typesAndValues.find((tv) => tv.type === oid);
  return hit ? valueText(hit) : undefined;
}

function describeCert(c: Certificate): CmsCertificate {
  return { subject: nameText(c.subject), commonName: attr(c.subject, '2.5.4.3'), organizationalUnit: attr(c.subject, '2.5.4.11') };
}

/** Order certificates from the one whose issuer+serial the signer names, following issuers upwards. */
function chainFromSigner(sd: SignedData, certs: Certificate[]): Certificate[] {
  const sid = sd.signerInfos[0]?.sid as { serialNumber?: asn1js.Integer } | undefined;
  const serial = sid?.serialNumber ? Buffer.from(sid.serialNumber.valueBlock.valueHexView).toString('hex') : undefined;
  let cur = certs.find((c) => Buffer.from(c.serialNumber.valueBlock.valueHexView).toString('hex') === serial) ?? certs[0];
  const out: Certificate[] = [];
  while (cur && !out.includes(cur)) {
    out.push(cur);
    const issuer = cur.issuer;
    cur = certs.find((c) => c !== cur && c.subject.isEqual(issuer));
  }
  return out;
}

function signingTime(sd: SignedData): string | undefined {
  const attrs = sd.signerInfos[0]?.signedAttrs?.attributes ?? [];
  const t = attrs.find((a) => a.type === OID_SIGNING_TIME)?.values[0];
  if (t instanceof asn1js.UTCTime || t instanceof asn1js.GeneralizedTime) return t.toDate().toISOString();
  return undefined;
}

function messageDigest(sd: SignedData): CmsSummary['messageDigest'] {
  const signer = sd.signerInfos[0];
  const algorithm = signer ? DIGESTS[signer.digestAlgorithm.algorithmId] : undefined;
  const value = signer?.signedAttrs?.attributes.find((a) => a.type === OID_MESSAGE_DIGEST)?.values[0];
  if (!algorithm || !(value instanceof asn1js.OctetString)) return undefined;
  return { algorithm, hex: Buffer.from(value.valueBlock.valueHexView).toString('hex') };
}

export function summarizeCms(der: Uint8Array): CmsSummary {
  try {
    checkAsn1Nesting(der);
    const ci = ContentInfo.fromBER(der);
    if (ci.contentType !== OID_SIGNED_DATA) return { parsed: false, error: `content type ${ci.contentType}, expected SignedData`, certificates: [] };
    const sd = new SignedData({ schema: ci.content });
    const certs = (sd.certificates ?? []).filter((c): c is Certificate => c instanceof Certificate);
    return { parsed: true, certificates: chainFromSigner(sd, certs).map(describeCert), signingTime: signingTime(sd), messageDigest: messageDigest(sd) };
  } catch (e) {
    return { parsed: false, error: e instanceof Error ? e.message : String(e), certificates: [] };
  }
}

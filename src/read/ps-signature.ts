/**
 * The Authenticode signature block of a PowerShell script, read and checked without any tool, for `verify` and
 * `inspect` of `.ps1` files (and of the scripts inside a `.intunewin`).
 *
 * Layout (what PowerShell's Set-AuthenticodeSignature and osslsigncode ≥ 2.6 write; reference
 * launchd-intune-ops.md §4.1): the script text, then `\r\n# SIG # Begin signature block\r\n`, lines `# <base64>`,
 * and `# SIG # End signature block\r\n`. The base64 is a PKCS#7 SignedData whose content is an
 * SpcIndirectDataContent: SpcSipInfo (1.3.6.1.4.1.311.2.1.30, PowerShell's SIP GUID 1FCC3B60-594B-084E-B724-
 * D2C6297EF351) and a DigestInfo. The digest covers the script text *before* the CRLF that opens the block,
 * encoded as UTF-16LE (a UTF-8 file is converted, a byte-order mark is part of the text; a UTF-16LE file is
 * hashed as it is).
 *
 * Checked here: the block's framing (one block, an end line, nothing after it), the PKCS#7 structure, the SIP, the
 * script digest against the text (a changed script), the signature over the signed attributes with the embedded
 * signer certificate (pkijs, which hashes a non-OCTET-STRING content the Authenticode way), and the signer's
 * extended key usage. Not checked: trust (a chain to a root the device trusts: `verify --ca-file` runs
 * `osslsigncode verify` for that), revocation, the timestamp's own signature (its presence is reported).
 * Hand-written because no npm package reads Authenticode script signatures.
 */
import { checkAsn1Nesting } from '../formats/asn1-bounds.js';
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { hasExtension, parseCertificate, summarize, extendedKeyUsages, type Certificate, type CertificateSummary } from '../sign/certificate.js';
import { HASHES, OID } from '../sign/oids.js';

const SPC_INDIRECT_DATA = '1.3.6.1.4.1.311.2.1.4';
const SPC_SIPINFO = '1.3.6.1.4.1.311.2.1.30';
const POWERSHELL_SIP_GUID = '1fcc3b60594b084eb724d2c6297ef351';
/** Unsigned attributes that carry a timestamp: Microsoft's RFC 3161 token, and the PKCS#9 countersignature. */
const TIMESTAMP_ATTRIBUTES = new Set(['1.3.6.1.4.1.311.3.3.1', '1.2.840.113549.1.9.6']);
const BEGIN = '# SIG # Begin signature block';
const END = '# SIG # End signature block';

export interface PsSignatureReport {
  signed: boolean;
  /** Characters of the script the signature covers (the text before the block). */
  coveredLength?: number;
  /** Hash named in the signed DigestInfo, e.g. `sha256`. */
  digestAlgorithm?: string;
  /** The signed digest equals the digest of the text: the script was not changed after signing. */
  digestMatches?: boolean;
  /** The PKCS#7 signature verifies with the embedded signer certificate. */
  signatureVerifies?: boolean;
  signer?: CertificateSummary;
  /** Every certificate embedded in the signature. */
  certificates: CertificateSummary[];
  signingTime?: string;
  timestamped?: boolean;
  /** Integrity problems (empty for an unsigned script and for a sound signature). */
  problems: string[];
}

/** A script's bytes as text the way osslsigncode reads them: UTF-16LE after an FF FE mark, else UTF-8. */
export function scriptText(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return b[0] === 0xff && b[1] === 0xfe ? b.toString('utf16le') : b.toString('utf8');
}

interface Block {
  covered: string;
  base64: string;
  problems: string[];
}

/** Begin-line offsets: lines that start with the begin marker. */
function beginLines(text: string): number[] {
  const out: number[] = [];
  for (let i = text.indexOf(BEGIN); i >= 0; i = text.indexOf(BEGIN, i + 1)) if (i === 0 || text[i - 1] === '\n') out.push(i);
  return out;
}

/** Split the text into the covered part and the base64 of the block; undefined when there is no block. */
function findBlock(text: string): Block | undefined {
  const begins = beginLines(text);
  const begin = begins[0];
  if (begin === undefined) return undefined;
  const problems: string[] = [];
  if (begins.length > 1) problems.push(`${begins.length} signature blocks; a script carries one (PowerShell reads only one)`);
  if (begin === 0) problems.push('the signature block starts the file: it signs nothing');
  const covered = text.slice(0, begin).replace(/\r?\n$/, '');
  const lines = text.slice(begin).split(/\r?\n/);
  const end = lines.indexOf(END);
  if (end < 0) {
    problems.push(`the signature block has no "${END}" line`);
    return { covered, base64: '', problems };
  }
  const body = lines.slice(1, end);
  const bad = body.findIndex((l) => !/^# [A-Za-z0-9+/=]+$/.test(l));
  if (bad >= 0) problems.push(`line ${bad + 2} of the signature block is not "# " followed by base64`);
  const endAt = begin + lines.slice(0, end).reduce((n, l) => n + l.length, 0);
  const after = text.slice(text.indexOf(END, endAt) + END.length).replace(/^\r?\n/, '');
  if (after !== '') problems.push(`${after.length} characters follow the signature block; they are not covered by the signature`);
  return { covered, base64: body.map((l) => l.slice(2)).join(''), problems };
}

interface IndirectData {
  sipOk: boolean;
  digestOid: string;
  digest: Buffer;
}

/** SpcIndirectDataContent ::= SEQUENCE { data SpcAttributeTypeAndOptionalValue, messageDigest DigestInfo }. */
function indirectData(content: asn1js.BaseBlock): IndirectData {
  const [data, digestInfo] = (content as asn1js.Sequence).valueBlock.value as asn1js.Sequence[];
  const [type, value] = (data?.valueBlock.value ?? []) as [asn1js.ObjectIdentifier?, asn1js.Sequence?];
  const guid = (value?.valueBlock.value ?? []).find((v): v is asn1js.OctetString => v instanceof asn1js.OctetString);
  const sipOk = type?.valueBlock.toString() === SPC_SIPINFO && Buffer.from(guid?.valueBlock.valueHexView ?? []).toString('hex') === POWERSHELL_SIP_GUID;
  const [alg, digest] = (digestInfo?.valueBlock.value ?? []) as [asn1js.Sequence?, asn1js.OctetString?];
  const digestOid = (alg?.valueBlock.value[0] as asn1js.ObjectIdentifier | undefined)?.valueBlock.toString();
  if (!digestOid || !(digest instanceof asn1js.OctetString)) throw new Error('SpcIndirectDataContent has no DigestInfo');
  return { sipOk, digestOid, digest: Buffer.from(digest.valueBlock.valueHexView) };
}

function signerOf(sd: pkijs.SignedData, certs: readonly Certificate[]): Certificate | undefined {
  const sid = sd.signerInfos[0]?.sid;
  if (!(sid instanceof pkijs.IssuerAndSerialNumber)) return undefined;
  return certs.find((c) => c.asn.issuer.isEqual(sid.issuer) && c.asn.serialNumber.isEqual(sid.serialNumber));
}

function signingTimeOf(si: pkijs.SignerInfo | undefined): string | undefined {
  const v = si?.signedAttrs?.attributes.find((a) => a.type === OID.signingTime)?.values[0] as unknown;
  return v instanceof asn1js.UTCTime || v instanceof asn1js.GeneralizedTime ? v.toDate().toISOString() : undefined;
}

function parseSignedData(der: Buffer): pkijs.SignedData {
  checkAsn1Nesting(der);
  const parsed = asn1js.fromBER(new Uint8Array(der));
  if (parsed.offset === -1) throw new Error(`not DER: ${parsed.result.error}`);
  const ci = new pkijs.ContentInfo({ schema: parsed.result });
  if (ci.contentType !== OID.signedData) throw new Error(`content type ${ci.contentType}, expected signedData`);
  const sd = new pkijs.SignedData({ schema: ci.content });
  if (sd.encapContentInfo.eContentType !== SPC_INDIRECT_DATA) throw new Error(`signed content type ${sd.encapContentInfo.eContentType}, expected SpcIndirectDataContent (${SPC_INDIRECT_DATA})`);
  if (!sd.encapContentInfo.eContent || sd.signerInfos.length === 0) throw new Error('no signed content or no signer');
  return sd;
}

async function signatureVerifies(sd: pkijs.SignedData): Promise<{ ok: boolean; reason?: string }> {
  try {
    const r = await sd.verify({ signer: 0, checkChain: false, extendedMode: true });
    return r.signatureVerified ? { ok: true } : { ok: false, reason: r.message || 'signature does not verify' };
  } catch (e) {
    const m = (e as { message?: string } | undefined)?.message;
    return { ok: false, reason: typeof m === 'string' && m !== '' ? m : String(e) };
  }
}

function certificateReport(sd: pkijs.SignedData, r: PsSignatureReport): void {
  const certs = (sd.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate).map((c) => parseCertificate(new Uint8Array(c.toSchema().toBER())));
  r.certificates = certs.map(summarize);
  const signer = signerOf(sd, certs);
  if (!signer) {
    r.problems.push('the signer certificate is not embedded in the signature');
    return;
  }
  r.signer = summarize(signer);
  if (hasExtension(signer, OID.extKeyUsage) && !extendedKeyUsages(signer).includes(OID.ekuCodeSigning)) {
    r.problems.push(`signer "${r.signer.commonName}" lacks the Code Signing extended key usage (${OID.ekuCodeSigning}); Windows refuses such a signature`);
  }
}

function digestCheck(covered: string, id: IndirectData, r: PsSignatureReport): void {
  const hash = Object.values(HASHES).find((h) => h.oid === id.digestOid);
  if (!hash) {
    r.problems.push(`the signed digest uses algorithm ${id.digestOid}, which this check does not know`);
    return;
  }
  r.digestAlgorithm = hash.node;
  const actual = createHash(hash.node).update(Buffer.from(covered, 'utf16le')).digest();
  r.digestMatches = actual.equals(id.digest);
  if (!r.digestMatches) {
    r.problems.push(`the script was changed after signing: ${hash.node} of its text (UTF-16LE) is ${actual.toString('hex').toUpperCase()}, the signature holds ${id.digest.toString('hex').toUpperCase()}`);
  }
}

/** Read and check the signature block of a script's text (see the header). Never throws for bad input. */
export async function readPsSignature(text: string): Promise<PsSignatureReport> {
  const block = findBlock(text);
  if (!block) {
    const problems = text.includes(END) ? [`"${END}" without a begin line`] : [];
    return { signed: false, certificates: [], problems };
  }
  const r: PsSignatureReport = { signed: true, coveredLength: block.covered.length, certificates: [], problems: block.problems };
  if (block.base64 === '') return r;
  let sd: pkijs.SignedData;
  let id: IndirectData;
  try {
    sd = parseSignedData(Buffer.from(block.base64, 'base64'));
    id = indirectData(sd.encapContentInfo.eContent as asn1js.BaseBlock);
    certificateReport(sd, r);
  } catch (e) {
    r.problems.push(`the signature block does not hold an Authenticode PKCS#7 signature (${(e as Error).message})`);
    return r;
  }
  if (!id.sipOk) r.problems.push(`the signature is not a PowerShell script signature (expected SpcSipInfo ${SPC_SIPINFO} with GUID ${POWERSHELL_SIP_GUID.toUpperCase()})`);
  digestCheck(block.covered, id, r);
  const v = await signatureVerifies(sd);
  r.signatureVerifies = v.ok;
  if (!v.ok) r.problems.push(`the PKCS#7 signature does not verify with the signer's certificate (${v.reason})`);
  r.signingTime = signingTimeOf(sd.signerInfos[0]);
  r.timestamped = (sd.signerInfos[0]?.unsignedAttrs?.attributes ?? []).some((a) => TIMESTAMP_ATTRIBUTES.has(a.type));
  return r;
}

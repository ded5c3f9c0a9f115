/**
 * The signatures of a flat package, checked and summarised for `inspect` (like `pkgutil --check-signature`) and
 * `verify`: the classic RSA `<signature>` (PKCS#1 v1.5 over DigestInfo(TOC checksum), checked with node:crypto
 * against the first KeyInfo certificate) and the CMS `<x-signature>` (detached SignedData over the TOC checksum
 * bytes, checked with src/sign/cms-read.ts), their certificates (subject, issuer, validity, SHA-256 fingerprint),
 * the CMS signing time and RFC 3161 timestamp (genTime, TSA, whether its imprint is the signature's), the chain
 * built through Apple's Developer ID CAs (certs/apple) and whether it ends at Apple Root CA.
 *
 * "Verifies" means integrity with the embedded leaf's key; trust is reported, not decided (a Mac decides with its own
 * anchors and Apple's revocation service). Does not cover: the `hash of a hash` RSA variant of old packages, several
 * CMS signers, revocation.
 */
import { createHash, publicDecrypt, constants } from 'node:crypto';
import * as pkijs from 'pkijs';
import { developerIdPool, isAppleRoot, loadAppleCertificates } from '../sign/apple-certs.js';
import { buildChain, extendedKeyUsages, parseCertificate, summarize, validityProblem, type Certificate, type CertificateSummary } from '../sign/certificate.js';
import { signatureValue } from '../sign/cms.js';
import { checkCmsSignature, readSignedData } from '../sign/cms-read.js';
import { HASHES, OID } from '../sign/oids.js';
import { digestInfo } from '../sign/pkg-signer.js';
import { readSignatureBlobs, type XarArchive } from '../pkg/xar-reader.js';
import { trimDer } from '../pkg/xar-signature.js';

export interface TimestampInfo {
  genTime: string;
  serialNumber: string;
  policy: string;
  /** Common name of the time-stamping authority's certificate, when embedded. */
  tsa?: string;
  /** The token's messageImprint is the hash of the CMS signature value (RFC 3161 §2.4 via RFC 5652 §11.4). */
  imprintMatches: boolean;
  /**
   * The token's own signature verifies with its embedded certificate. Checked only when the imprint matches
   * (pkijs verifies a TSTInfo token's signature and imprint together), else undefined.
   */
  tokenVerifies?: boolean;
}

export interface RsaSignatureInfo {
  offset: number;
  size: number;
  certificates: CertificateSummary[];
  verifies: boolean;
  reason?: string;
}

export interface CmsSignatureInfo {
  offset: number;
  /** Bytes reserved in the heap, and bytes of the DER blob inside them. */
  size: number;
  derLength: number;
  /** Certificates of the TOC's KeyInfo, and those embedded in the CMS blob. */
  certificates: CertificateSummary[];
  embeddedCertificates: CertificateSummary[];
  signer?: CertificateSummary;
  digestAlgorithm?: string;
  signingTime?: string;
  timestamp?: TimestampInfo;
  verifies: boolean;
  reason?: string;
}

export interface XarSignatureReport {
  signed: boolean;
  /** What `pkgutil --check-signature` would say, in its words where they apply. */
  status: string;
  rsa?: RsaSignatureInfo;
  cms?: CmsSignatureInfo;
  /** Leaf first, built from the embedded certificates and Apple's Developer ID CAs. */
  chain: CertificateSummary[];
  chainsToApple: boolean;
  developerIdInstaller: boolean;
  /** Integrity problems: a signature that does not verify, unreadable certificates, a mismatched timestamp … */
  problems: string[];
}

const HASH_BY_OID = new Map<string, string>(Object.values(HASHES).map((h) => [h.oid as string, h.node as string]));

function parseAll(ders: readonly Uint8Array[], what: string, problems: string[]): Certificate[] {
  const out: Certificate[] = [];
  ders.forEach((der, i) => {
    try {
      out.push(parseCertificate(der));
    } catch (e) {
      problems.push(`${what} certificate #${i + 1} is not a readable X.509 certificate (${(e as Error).message})`);
    }
  });
  return out;
}

function checkRsa(blob: Buffer, leaf: Certificate | undefined, checksum: Buffer | undefined): { verifies: boolean; reason?: string } {
  if (!leaf) return { verifies: false, reason: 'no certificate to check it with' };
  if (!checksum) return { verifies: false, reason: 'the TOC has no checksum to check it against' };
  try {
    const recovered = publicDecrypt({ key: leaf.node.publicKey, padding: constants.RSA_PKCS1_PADDING }, blob);
    if (Buffer.from(digestInfo(checksum)).equals(recovered)) return { verifies: true };
    return { verifies: false, reason: 'it does not decode to DigestInfo(TOC checksum) with the leaf certificate\'s key' };
  } catch (e) {
    return { verifies: false, reason: `it does not decode with the leaf certificate's key (${(e as Error).message})` };
  }
}

async function timestampOf(token: Uint8Array, signature: Uint8Array): Promise<TimestampInfo> {
  const t = readSignedData(token);
  if (!t.content) throw new Error('the timestamp token has no TSTInfo content');
  const tst = pkijs.TSTInfo.fromBER(t.content);
  const alg = HASH_BY_OID.get(tst.messageImprint.hashAlgorithm.algorithmId);
  const imprint = Buffer.from(tst.messageImprint.hashedMessage.valueBlock.valueHexView);
  const out: TimestampInfo = {
    genTime: tst.genTime.toISOString(),
    serialNumber: Buffer.from(tst.serialNumber.valueBlock.valueHexView).toString('hex'),
    policy: tst.policy,
    imprintMatches: alg !== undefined && createHash(alg).update(signature).digest().equals(imprint),
  };
  if (out.imprintMatches) out.tokenVerifies = (await checkCmsSignature(t, signature)).valid;
  if (t.signer) out.tsa = summarize(t.signer).commonName;
  return out;
}

async function checkCms(a: XarArchive, blob: Buffer, checksum: Buffer | undefined, problems: string[]): Promise<{ info: CmsSignatureInfo; certs: Certificate[] }> {
  const sig = a.xSignature!;
  const der = trimDer(blob);
  const keyInfo = parseAll(sig.certificates, 'CMS KeyInfo', problems);
  const info: CmsSignatureInfo = { offset: sig.offset, size: sig.size, derLength: der.length, certificates: keyInfo.map(summarize), embeddedCertificates: [], verifies: false };
  let cms;
  try {
    cms = readSignedData(der);
  } catch (e) {
    info.reason = `the CMS blob is not readable (${(e as Error).message})`;
    return { info, certs: keyInfo };
  }
  info.embeddedCertificates = cms.certificates.map(summarize);
  if (cms.signer) info.signer = summarize(cms.signer);
  info.digestAlgorithm = HASH_BY_OID.get(cms.digestAlgorithm) ?? cms.digestAlgorithm;
  if (cms.signingTime) info.signingTime = cms.signingTime.toISOString();
  if (cms.content) problems.push('the CMS signature carries content; productsign signs the TOC checksum detached');
  const check = checksum ? await checkCmsSignature(cms, checksum) : { valid: false, reason: 'the TOC has no checksum to check it against' };
  info.verifies = check.valid && cms.signer !== undefined;
  if (!info.verifies) info.reason = cms.signer ? check.reason : 'the signer certificate is not embedded';
  if (cms.timestampToken) {
    try {
      info.timestamp = await timestampOf(cms.timestampToken, signatureValue(cms.signedData));
    } catch (e) {
      problems.push(`the CMS timestamp token is not readable (${(e as Error).message})`);
    }
  }
  return { info, certs: [...(cms.signer ? [cms.signer] : []), ...keyInfo, ...cms.certificates] };
}

function statusOf(r: Omit<XarSignatureReport, 'status'>): string {
  if (!r.signed) return 'no signature';
  if ((r.rsa && !r.rsa.verifies) || (r.cms && !r.cms.verifies)) return 'package is invalid (a signature does not verify over the TOC checksum)';
  if (r.chainsToApple && r.developerIdInstaller) return 'signed by a developer certificate issued by Apple for distribution';
  if (r.chainsToApple) return 'signed by a certificate issued by Apple, but not a Developer ID Installer certificate';
  return 'signed by untrusted certificate (the chain does not end at Apple Root CA)';
}

function crossProblems(r: Omit<XarSignatureReport, 'status'>, leaf: Certificate | undefined, problems: string[]): void {
  const { rsa, cms } = r;
  if (rsa && !rsa.verifies) problems.push(`the RSA <signature> does not verify: ${rsa.reason}`);
  if (cms && !cms.verifies) problems.push(`the CMS <x-signature> does not verify: ${cms.reason}`);
  if (rsa?.certificates[0] && cms?.certificates[0] && rsa.certificates[0].sha256 !== cms.certificates[0].sha256) {
    problems.push(`the RSA and CMS KeyInfo name different leaf certificates ("${rsa.certificates[0].commonName}" and "${cms.certificates[0].commonName}")`);
  }
  const keyLeaf = cms?.certificates[0] ?? rsa?.certificates[0];
  if (cms?.signer && keyLeaf && cms.signer.sha256 !== keyLeaf.sha256) problems.push(`the CMS signer "${cms.signer.commonName}" is not the KeyInfo leaf "${keyLeaf.commonName}"`);
  if (cms?.timestamp && !cms.timestamp.imprintMatches) problems.push('the CMS timestamp token does not time-stamp this signature (its message imprint differs)');
  if (cms?.timestamp?.tokenVerifies === false) problems.push('the CMS timestamp token\'s own signature does not verify');
  const when = cms?.timestamp?.genTime ?? cms?.signingTime;
  if (leaf && when && validityProblem(leaf, new Date(when))) {
    const s = summarize(leaf);
    problems.push(`the signing certificate "${s.commonName}" was not valid when the package was signed (${when}; valid ${s.notBefore} to ${s.notAfter})`);
  }
}

/** Check and summarise the signatures of an opened xar. Never throws for bad signature content. */
export async function analyzeXarSignature(a: XarArchive): Promise<XarSignatureReport> {
  const problems: string[] = [];
  const base = { signed: a.signature !== undefined || a.xSignature !== undefined, chain: [], chainsToApple: false, developerIdInstaller: false, problems };
  if (!base.signed) return { ...base, status: statusOf(base) };
  const blobs = await readSignatureBlobs(a);
  const checksum = a.checksum?.stored;
  const r: Omit<XarSignatureReport, 'status'> = { ...base };
  const pool: Certificate[] = [];
  if (a.signature && blobs.rsa) {
    const certs = parseAll(a.signature.certificates, 'RSA KeyInfo', problems);
    r.rsa = { offset: a.signature.offset, size: a.signature.size, certificates: certs.map(summarize), ...checkRsa(blobs.rsa, certs[0], checksum) };
    pool.push(...certs);
  }
  if (a.xSignature && blobs.cms) {
    const { info, certs } = await checkCms(a, blobs.cms, checksum, problems);
    r.cms = info;
    pool.unshift(...certs);
  }
  const leaf = pool[0];
  if (leaf) {
    const chain = buildChain(leaf, [...pool, ...developerIdPool(await loadAppleCertificates())]);
    r.chain = chain.map(summarize);
    r.chainsToApple = isAppleRoot(chain[chain.length - 1]!);
    r.developerIdInstaller = extendedKeyUsages(leaf).includes(OID.ekuDeveloperIdInstaller);
  }
  crossProblems(r, leaf, problems);
  return { ...r, status: statusOf(r) };
}

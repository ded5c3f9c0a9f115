/**
 * X.509 certificates for signing: parsing (node:crypto's X509Certificate for names, dates and signature checks;
 * pkijs for the extensions node does not expose: extended key usage, key identifiers, Apple's marker extensions),
 * a printable summary, and chain building from a pool of candidate issuers.
 *
 * Covers what signing and `verify`/`inspect` need. Does not cover revocation (CRL/OCSP), name constraints or policy
 * processing: trust decisions for pkgs are Apple's (Gatekeeper); here a chain is "to Apple" or not.
 */
import { createHash, X509Certificate } from 'node:crypto';
import * as pkijs from 'pkijs';
import { OID } from './oids.js';

export interface Certificate {
  der: Uint8Array;
  node: X509Certificate;
  asn: pkijs.Certificate;
}

/** What a person needs to recognise a certificate; printed by `inspect`, in `--json` and in error messages. */
export interface CertificateSummary {
  subject: string;
  commonName: string;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  /** SHA-256 of the DER, uppercase hex with colons (as `openssl x509 -fingerprint -sha256` prints it). */
  sha256: string;
  extendedKeyUsages: string[];
}

/** Parse one DER certificate (nothing may follow it); throws a plain Error (callers name the input). */
export function parseCertificate(der: Uint8Array): Certificate {
  const bytes = new Uint8Array(der);
  const node = new X509Certificate(bytes);
  if (node.raw.length !== bytes.length) throw new Error(`${bytes.length - node.raw.length} stray bytes after the certificate`);
  const asn = pkijs.Certificate.fromBER(bytes);
  return { der: bytes, node, asn };
}

/** Every certificate in PEM text (`-----BEGIN CERTIFICATE-----` blocks), in order. */
export function certificatesFromPem(text: string): Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => parseCertificate(new X509Certificate(b).raw));
}

/** A DER certificate as PEM (64-column base64, LF line ends). */
export function certificatePem(der: Uint8Array): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return ['-----BEGIN CERTIFICATE-----', ...lines, '-----END CERTIFICATE-----', ''].join('\n');
}

function oneLine(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ');
}

function hex(bytes: ArrayBuffer | Uint8Array): string {
  return Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('hex');
}

export function fingerprint256(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

/** The subject's (last) common name, unescaped; the one-line subject if it has none. */
export function commonName(c: Certificate): string {
  const cn = c.asn.subject.typesAndValues.filter((t) => t.type === '2.5.4.3').pop();
  const value = (cn?.value.valueBlock as { value?: unknown } | undefined)?.value;
  return typeof value === 'string' ? value : oneLine(c.node.subject);
}

export function summarize(c: Certificate): CertificateSummary {
  return {
    subject: oneLine(c.node.subject),
    commonName: commonName(c),
    issuer: oneLine(c.node.issuer),
    serialNumber: c.node.serialNumber.toUpperCase(),
    notBefore: c.node.validFromDate.toISOString(),
    notAfter: c.node.validToDate.toISOString(),
    sha256: fingerprint256(c.der),
    extendedKeyUsages: extendedKeyUsages(c),
  };
}

function extension(c: Certificate, oid: string): pkijs.Extension | undefined {
  return (c.asn.extensions ?? []).find((e) => e.extnID === oid);
}

export function hasExtension(c: Certificate, oid: string): boolean {
  return extension(c, oid) !== undefined;
}

/** The extended key usage OIDs (empty when the certificate has no EKU extension). */
export function extendedKeyUsages(c: Certificate): string[] {
  const e = extension(c, OID.extKeyUsage);
  return e?.parsedValue instanceof pkijs.ExtKeyUsage ? [...e.parsedValue.keyPurposes] : [];
}

/** Subject key identifier, lowercase hex. */
export function subjectKeyId(c: Certificate): string | undefined {
  const v = extension(c, OID.subjectKeyIdentifier)?.parsedValue;
  return v && 'valueBlock' in v ? hex((v as { valueBlock: { valueHexView: Uint8Array } }).valueBlock.valueHexView) : undefined;
}

/** Authority key identifier (keyIdentifier field), lowercase hex. */
export function authorityKeyId(c: Certificate): string | undefined {
  const v = extension(c, OID.authorityKeyIdentifier)?.parsedValue;
  if (!(v instanceof pkijs.AuthorityKeyIdentifier) || !v.keyIdentifier) return undefined;
  return hex(v.keyIdentifier.valueBlock.valueHexView);
}

export function isSelfSigned(c: Certificate): boolean {
  return c.node.subject === c.node.issuer && c.node.verify(c.node.publicKey);
}

/**
 * Whether `parent` issued `child`: the key identifiers match when both are present (else the names match), and the
 * child's signature verifies with the parent's public key.
 */
export function isIssuedBy(child: Certificate, parent: Certificate): boolean {
  if (!claimsIssuer(child, parent)) return false;
  try {
    return child.node.verify(parent.node.publicKey);
  } catch {
    return false;
  }
}

/** Whether `child` names `parent` as its issuer (key identifier or name), without checking the signature. */
export function claimsIssuer(child: Certificate, parent: Certificate): boolean {
  const aki = authorityKeyId(child);
  const ski = subjectKeyId(parent);
  return aki !== undefined && ski !== undefined ? aki === ski : child.node.issuer === parent.node.subject;
}

/**
 * The path leaf → … → last certificate found, picking each issuer from `pool` (first match wins, so callers put the
 * preferred candidates first). Stops at a self-signed certificate or when no issuer is found. Never loops.
 */
export function buildChain(leaf: Certificate, pool: readonly Certificate[]): Certificate[] {
  const chain = [leaf];
  const seen = new Set([fingerprint256(leaf.der)]);
  let current = leaf;
  while (!isSelfSigned(current)) {
    const next = pool.find((p) => !seen.has(fingerprint256(p.der)) && isIssuedBy(current, p));
    if (!next) break;
    chain.push(next);
    seen.add(fingerprint256(next.der));
    current = next;
  }
  return chain;
}

/** The validity problem of `c` at `now`, or undefined when it is valid. */
export function validityProblem(c: Certificate, now: Date): string | undefined {
  const from = c.node.validFromDate;
  const to = c.node.validToDate;
  if (now.getTime() < from.getTime()) return `is not valid yet (valid from ${from.toISOString()} to ${to.toISOString()}; now ${now.toISOString()})`;
  if (now.getTime() > to.getTime()) return `expired on ${to.toISOString()} (valid from ${from.toISOString()}; now ${now.toISOString()})`;
  return undefined;
}

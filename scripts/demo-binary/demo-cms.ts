/**
 * The DEMO signer of the demo binaries: an RSA-2048 key derived from a fixed, published seed, a self-signed
 * certificate that says in its subject that it is not Apple-issued, and a detached CMS SignedData over a
 * CodeDirectory shaped like the one codesign embeds (signed attributes: content type, signing time, message digest,
 * Apple's cdhashes plist attribute).
 *
 * Nothing here is secret: the key is derived from {@link DEMO_SEED_TEXT}, so anyone can recompute it — which is the
 * point (deterministic fixtures, no private key in the repository) and also why this signature proves nothing.
 * RSA with PKCS #1 v1.5 and SHA-256, as codesign uses with Developer ID certificates, because its signatures are
 * deterministic (same input, same bytes) and every OpenSSL verifies them (OpenSSL 3.0 cannot verify Ed25519 CMS
 * signatures with signed attributes). Gatekeeper rejects this chain, by design: it does not lead to Apple's CA.
 */
import { createHash, createPublicKey, sign, type KeyObject } from 'node:crypto';
// @ts-expect-error TS5097: node runs these scripts directly (type stripping), so imports name the .ts file.
import { bitString, boolean, explicit, integer, nul, octets, oid, seq, setOf, tlv, utcTime, utf8 } from './der.ts';
// @ts-expect-error TS5097: see above.
import { deterministicRsaKey } from './demo-rsa.ts';

export const DEMO_SEED_TEXT = 'aiwatch-deploy demo code signature v1 - NOT SECRET - NOT APPLE-ISSUED';

const OID_RSA = '1.2.840.113549.1.1.1';
const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
const OID_DATA = '1.2.840.113549.1.7.1';
const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const OID_SIGNING_TIME = '1.2.840.113549.1.9.5';
/** Apple's signed attribute listing the cdhashes of all CodeDirectories (a plist). */
const OID_APPLE_CDHASHES = '1.2.840.113635.100.9.1';

/** Certificate validity and CMS signing time: fixed, so the fixtures are byte-for-byte reproducible. */
export const DEMO_NOT_BEFORE = new Date('2025-01-01T00:00:00Z');
export const DEMO_NOT_AFTER = new Date('2045-01-01T00:00:00Z');
export const DEMO_SIGNING_TIME = new Date('2025-01-01T00:00:00Z');

export interface DemoSigner {
  privateKey: KeyObject;
  /** DER certificate. */
  certificate: Buffer;
  /** DER Name of the issuer (= subject) and the serial number's magnitude, for the SignerInfo. */
  issuer: Buffer;
  serial: Buffer;
  /** Further certificates (DER) to embed after the signer's, e.g. a test Developer ID intermediate. */
  chain?: Buffer[];
}

let cachedKey: KeyObject | undefined;
/** The demo key (derived once per process: finding two 1024-bit primes takes a fraction of a second). */
function demoKey(): KeyObject {
  cachedKey ??= deterministicRsaKey(DEMO_SEED_TEXT);
  return cachedKey;
}

function name(teamId: string): Buffer {
  const rdn = (type: string, value: string): Buffer => setOf(seq(oid(type), utf8(value)));
  return seq(
    rdn('2.5.4.3', 'aiwatch-deploy DEMO signer (NOT Apple-issued, NOT a Developer ID)'),
    rdn('2.5.4.11', teamId),
    rdn('2.5.4.10', 'aiwatch-deploy test fixture - not for distribution'),
  );
}

function extensions(): Buffer {
  const ext = (id: string, critical: boolean, value: Buffer): Buffer => seq(oid(id), ...(critical ? [boolean(true)] : []), octets(value));
  return explicit(
    3,
    seq(
      ext('2.5.29.19', true, seq()), // basicConstraints: not a CA
      ext('2.5.29.15', true, tlv(0x03, Buffer.from([0x07, 0x80]))), // keyUsage: digitalSignature
      ext('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.3'))), // extKeyUsage: codeSigning
    ),
  );
}

/** The demo signer for `teamId` (the certificate's OU, as in a Developer ID certificate). */
export function demoSigner(teamId: string): DemoSigner {
  const privateKey = demoKey();
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const serial = createHash('sha256').update(`${DEMO_SEED_TEXT} serial ${teamId}`).digest().subarray(0, 8);
  serial[0] = serial[0]! & 0x7f;
  const issuer = name(teamId);
  const algorithm = seq(oid(OID_SHA256_WITH_RSA), nul());
  const tbs = seq(explicit(0, integer(2)), integer(serial), algorithm, issuer, seq(utcTime(DEMO_NOT_BEFORE), utcTime(DEMO_NOT_AFTER)), issuer, spki, extensions());
  const certificate = seq(tbs, algorithm, bitString(sign('sha256', tbs, privateKey)));
  return { privateKey, certificate, issuer, serial };
}

/** Apple's cdhashes plist: the 20-byte cdhash of each CodeDirectory, base64 in a <data> element. */
function cdhashesPlist(cdhashes: Buffer[]): Buffer {
  const items = cdhashes.map((h) => `\t\t<data>\n\t\t${h.toString('base64')}\n\t\t</data>\n`).join('');
  return Buffer.from(
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
      `<plist version="1.0">\n<dict>\n\t<key>cdhashes</key>\n\t<array>\n${items}\t</array>\n</dict>\n</plist>\n`,
    'utf8',
  );
}

/**
 * A detached CMS SignedData (DER) over `codeDirectory`, signed by `signer`, whose signed attributes name the
 * cdhashes of the signature's CodeDirectories.
 */
export function demoCms(codeDirectory: Uint8Array, cdhashes: Buffer[], signer: DemoSigner): Buffer {
  const attr = (type: string, value: Buffer): Buffer => seq(oid(type), setOf(value));
  const attrs = [
    attr(OID_CONTENT_TYPE, oid(OID_DATA)),
    attr(OID_SIGNING_TIME, utcTime(DEMO_SIGNING_TIME)),
    attr(OID_MESSAGE_DIGEST, octets(createHash('sha256').update(codeDirectory).digest())),
    attr(OID_APPLE_CDHASHES, octets(cdhashesPlist(cdhashes))),
  ];
  const signedAttrs = setOf(...attrs);
  const signature = sign('sha256', signedAttrs, signer.privateKey);
  const signerInfo = seq(
    integer(1),
    seq(signer.issuer, integer(signer.serial)),
    seq(oid(OID_SHA256)),
    Buffer.concat([Buffer.from([0xa0]), signedAttrs.subarray(1)]), // [0] IMPLICIT SET OF Attribute
    seq(oid(OID_RSA), nul()),
    octets(signature),
  );
  const signedData = seq(integer(1), setOf(seq(oid(OID_SHA256))), seq(oid(OID_DATA)), explicit(0, signer.certificate, ...(signer.chain ?? [])), setOf(signerInfo));
  return seq(oid(OID_SIGNED_DATA), explicit(0, signedData));
}

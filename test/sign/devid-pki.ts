/**
 * A throwaway stand-in for Apple's Developer ID PKI, made with the openssl CLI, for the code-signer trust tests:
 *
 *   "Test Anchor Root" ── "Test Developer ID Certification Authority" (ext 1.2.840.113635.100.6.2.6, as Apple's G1/G2)
 *                           ├─ "Developer ID Application: Test Org (TEST123456)" (EKU codeSigning, ext …6.1.13)
 *                           └─ "Test Code Signing" (EKU codeSigning, no Developer ID marker)
 *
 * With this root as the anchor (TrustAnchors), the first leaf is what a real Developer ID Application certificate is
 * to Apple Root CA. Also: CMS signatures made by `openssl cms -sign`, and a DemoSigner for the demo-binary generator
 * so a Mach-O can carry a signature by these leaves. Built once per process into a temporary folder.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as pkijs from 'pkijs';
import type { DemoSigner } from '../../scripts/demo-binary/demo-cms.js';
import { parseCertificate, type Certificate } from '../../src/sign/certificate.js';
import type { TrustAnchors } from '../../src/sign/binary-trust.js';

export interface DevIdLeaf {
  key: string;
  cert: string;
  der: Buffer;
}

export interface DevIdPki {
  dir: string;
  root: Certificate;
  intermediateDer: Buffer;
  intermediate: string;
  application: DevIdLeaf;
  plainCodeSigning: DevIdLeaf;
  anchors: TrustAnchors;
}

const ossl = (dir: string, args: string[]): string => execFileSync('openssl', args, { cwd: dir, encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'] });

const EXT = `[ca]
basicConstraints=critical,CA:true
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
1.2.840.113635.100.6.2.6=critical,DER:05:00
[app]
basicConstraints=critical,CA:false
keyUsage=critical,digitalSignature
extendedKeyUsage=critical,codeSigning
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
1.2.840.113635.100.6.1.13=critical,DER:05:00
[plain]
basicConstraints=critical,CA:false
keyUsage=critical,digitalSignature
extendedKeyUsage=critical,codeSigning
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
`;

function issue(dir: string, name: string, subject: string, issuer: string, ext: string, serial: number): DevIdLeaf {
  ossl(dir, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', `${name}.key`]);
  ossl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
  ossl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-set_serial', String(serial), '-days', '3650',
    '-sha256', '-extfile', 'ext.cnf', '-extensions', ext, '-out', `${name}.pem`]);
  ossl(dir, ['x509', '-in', `${name}.pem`, '-outform', 'DER', '-out', `${name}.der`]);
  return { key: path.join(dir, `${name}.key`), cert: path.join(dir, `${name}.pem`), der: readFileSync(path.join(dir, `${name}.der`)) };
}

let cached: DevIdPki | undefined;

export function getDevIdPki(): DevIdPki {
  if (cached) return cached;
  const dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-devid-pki-'));
  writeFileSync(path.join(dir, 'ext.cnf'), EXT);
  ossl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-days', '3650', '-sha256',
    '-subj', '/C=US/O=aiwatch-deploy tests/CN=Test Anchor Root', '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  ossl(dir, ['x509', '-in', 'root.pem', '-outform', 'DER', '-out', 'root.der']);
  const ca = issue(dir, 'ca', '/C=US/O=aiwatch-deploy tests/OU=Test Certification Authority/CN=Test Developer ID Certification Authority', 'root', 'ca', 2);
  const application = issue(dir, 'app', '/UID=TEST123456/CN=Developer ID Application: Test Org (TEST123456)/OU=TEST123456/O=Test Org/C=US', 'ca', 'app', 10);
  const plainCodeSigning = issue(dir, 'plain', '/C=US/O=Test Org/CN=Test Code Signing', 'ca', 'plain', 11);
  const root = parseCertificate(readFileSync(path.join(dir, 'root.der')));
  const rootFp = root.node.fingerprint256;
  cached = {
    dir, root, intermediateDer: ca.der, intermediate: ca.cert, application, plainCodeSigning,
    anchors: { pool: [root], isRoot: (c) => c.node.fingerprint256 === rootFp, rootName: 'Test Anchor Root' },
  };
  return cached;
}

/** A detached CMS SignedData (DER) over `content` by `leaf`, the intermediate embedded (openssl cms -sign). */
export function opensslCms(content: Uint8Array, leaf: DevIdLeaf, pki = getDevIdPki()): Buffer {
  const dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-devid-cms-'));
  writeFileSync(path.join(dir, 'content.bin'), content);
  ossl(dir, ['cms', '-sign', '-binary', '-md', 'sha256', '-in', 'content.bin', '-signer', leaf.cert, '-inkey', leaf.key, '-certfile', pki.intermediate,
    '-outform', 'DER', '-out', 'cms.der']);
  return readFileSync(path.join(dir, 'cms.der'));
}

/** The leaf as a signer for buildDemoBinary's `signer` option (the intermediate embedded after it). */
export function demoSignerOf(leaf: DevIdLeaf, pki = getDevIdPki()): DemoSigner {
  const asn = pkijs.Certificate.fromBER(new Uint8Array(leaf.der));
  return {
    privateKey: createPrivateKey(readFileSync(leaf.key)),
    certificate: leaf.der,
    issuer: Buffer.from(asn.issuer.toSchema().toBER()),
    serial: Buffer.from(new X509Certificate(leaf.der).serialNumber, 'hex'),
    chain: [pki.intermediateDer],
  };
}

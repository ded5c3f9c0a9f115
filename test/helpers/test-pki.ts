/**
 * A throwaway PKI made at test time with the openssl CLI (an independent implementation, not our code):
 *
 *   Test Root CA ─┬─ Test Developer ID Certification Authority ─┬─ "Developer ID Installer: Test Org (TEST123456)"
 *                 │                                               │    EKU 1.2.840.113635.100.4.13 (critical) and
 *                 │                                               │    ext 1.2.840.113635.100.6.1.14 (critical), as Apple's
 *                 │                                               ├─ "Test Code Signing" (EKU codeSigning only)
 *                 │                                               ├─ "Marker Only, Inc." (ext 6.1.14 but no installer EKU)
 *                 │                                               └─ "OID As Extension" (100.4.13 as a plain extension)
 *                 └─ "Test TSA" (EKU timeStamping, critical)
 *   impostor "Developer ID Certification Authority" (G1 / G2: Apple's subject and key id, our key)
 *                 └─ "Developer ID Installer: Forged G1 / G2" (Apple's EKU and marker extension)
 *
 * Built once per machine into a temp folder keyed by a hash of this recipe (so every test file and run reuses it);
 * a new build goes to a private folder renamed into place, so parallel test workers never see half a PKI.
 * Keys are RSA 2048. Certificates are valid from "now − 1 day" for 10 years (openssl's -days from now).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The password of every test .p12 (ASCII with a space and punctuation). */
export const TEST_P12_PASSWORD = 'correct horse: battery-staple!';

export interface TestLeaf {
  key: string;
  cert: string;
  certDer: Buffer;
  p12: string;
}

export interface TestPki {
  dir: string;
  root: string;
  rootDer: Buffer;
  intermediate: string;
  intermediateDer: Buffer;
  /** intermediate + root, PEM (what --chain takes). */
  chain: string;
  installer: TestLeaf & {
    /** Same identity exported with 3DES + SHA-1 MAC, as macOS Keychain Access does. */
    p12Legacy: string;
    /** A .p12 with the certificates only. */
    p12NoKey: string;
    /** The leaf's key encrypted as PKCS#8 PEM with TEST_P12_PASSWORD. */
    keyEncrypted: string;
  };
  codeSigning: TestLeaf;
  markerOnly: TestLeaf;
  oidAsExtension: TestLeaf;
  /** A key that belongs to no certificate. */
  otherKey: string;
  tsa: { key: string; cert: string; certDer: Buffer };
  /** Installer-like leaves whose issuer name and authority key id are Apple's G1 / G2, signed by impostor CAs. */
  forgedG1: TestLeaf;
  forgedG2: TestLeaf;
  /** File holding TEST_P12_PASSWORD followed by a newline. */
  passwordFile: string;
}

const CA_EXT = `basicConstraints=critical,CA:true
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
`;
const LEAF_BASE = `basicConstraints=critical,CA:false
keyUsage=critical,digitalSignature
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
`;
const EXT = {
  root: `basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n`,
  intermediate: CA_EXT,
  installer: `${LEAF_BASE}extendedKeyUsage=critical,1.2.840.113635.100.4.13\n1.2.840.113635.100.6.1.14=critical,DER:05:00\n`,
  codeSigning: `${LEAF_BASE}extendedKeyUsage=critical,codeSigning\n`,
  markerOnly: `${LEAF_BASE}extendedKeyUsage=critical,codeSigning\n1.2.840.113635.100.6.1.14=critical,DER:05:00\n`,
  oidAsExtension: `${LEAF_BASE}1.2.840.113635.100.4.13=DER:05:00\n`,
  tsa: `${LEAF_BASE}extendedKeyUsage=critical,timeStamping\n`,
  // Impostors of Apple's Developer ID CAs: same subject and subject key identifier, our own key.
  fakeG1: `basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=57:17:ED:A2:CF:DC:7C:98:A1:10:E0:FC:BE:87:2D:2C:F2:E3:17:54\n`,
  fakeG2: `basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=F8:3A:0C:69:11:76:E0:ED:AC:D1:EB:A6:59:FA:37:D5:C4:55:B0:1E\n`,
  forgedG1: `${LEAF_BASE}extendedKeyUsage=critical,1.2.840.113635.100.4.13\n1.2.840.113635.100.6.1.14=critical,DER:05:00\n`,
  forgedG2: `${LEAF_BASE}extendedKeyUsage=critical,1.2.840.113635.100.4.13\n1.2.840.113635.100.6.1.14=critical,DER:05:00\n`,
};
const SUBJECTS = {
  root: '/C=US/O=aiwatch-deploy tests/CN=Test Root CA',
  intermediate: '/C=US/O=aiwatch-deploy tests/OU=Test Certification Authority/CN=Test Developer ID Certification Authority',
  installer: '/UID=TEST123456/CN=Developer ID Installer: Test Org (TEST123456)/OU=TEST123456/O=Test Org/C=US',
  codeSigning: '/C=US/O=Test Org/CN=Test Code Signing',
  markerOnly: '/C=US/O=Test Org/CN=Marker Only\\, Inc.',
  oidAsExtension: '/C=US/O=Test Org/CN=OID As Extension',
  tsa: '/C=US/O=aiwatch-deploy tests/CN=Test TSA',
  fakeG1: '/CN=Developer ID Certification Authority/OU=Apple Certification Authority/O=Apple Inc./C=US',
  fakeG2: '/CN=Developer ID Certification Authority/OU=G2/O=Apple Inc./C=US',
  forgedG1: '/UID=FORGED0001/CN=Developer ID Installer: Forged G1 (FORGED0001)/OU=FORGED0001/O=Forged/C=US',
  forgedG2: '/UID=FORGED0002/CN=Developer ID Installer: Forged G2 (FORGED0002)/OU=FORGED0002/O=Forged/C=US',
};
const RECIPE = JSON.stringify({ EXT, SUBJECTS, TEST_P12_PASSWORD, v: 1 });

function ossl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

function makeKey(dir: string, name: string): void {
  ossl(dir, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', `${name}.key`]);
}

/** Issue `name` (key + cert) signed by `issuer`, or self-signed when issuer is undefined. */
function issue(dir: string, name: keyof typeof EXT, issuer: string | undefined, serial: number): void {
  makeKey(dir, name);
  writeFileSync(path.join(dir, `${name}.ext`), EXT[name]);
  if (issuer === undefined) {
    ossl(dir, ['req', '-new', '-x509', '-key', `${name}.key`, '-subj', SUBJECTS[name], '-days', '3650', '-sha256',
      '-set_serial', String(serial), '-config', 'req.cnf', '-extensions', name, '-out', `${name}.pem`]);
  } else {
    ossl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', SUBJECTS[name], '-config', 'req.cnf', '-out', `${name}.csr`]);
    ossl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-set_serial', String(serial),
      '-days', '3650', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
  }
  ossl(dir, ['x509', '-in', `${name}.pem`, '-outform', 'DER', '-out', `${name}.der`]);
}

function p12(dir: string, out: string, args: string[]): void {
  ossl(dir, ['pkcs12', '-export', '-passout', 'file:password.txt', '-name', 'test identity', '-out', out, ...args]);
}

function build(dir: string): void {
  writeFileSync(path.join(dir, 'password.txt'), `${TEST_P12_PASSWORD}\n`);
  writeFileSync(path.join(dir, 'req.cnf'), `[req]\ndistinguished_name = dn\n[dn]\n[root]\n${EXT.root}[fakeG1]\n${EXT.fakeG1}[fakeG2]\n${EXT.fakeG2}`);
  issue(dir, 'root', undefined, 1);
  issue(dir, 'intermediate', 'root', 2);
  writeFileSync(path.join(dir, 'chain.pem'), readFileSync(path.join(dir, 'intermediate.pem'), 'utf8') + readFileSync(path.join(dir, 'root.pem'), 'utf8'));
  const leaves = ['installer', 'codeSigning', 'markerOnly', 'oidAsExtension'] as const;
  leaves.forEach((name, i) => {
    issue(dir, name, 'intermediate', 10 + i);
    p12(dir, `${name}.p12`, ['-inkey', `${name}.key`, '-in', `${name}.pem`, '-certfile', 'chain.pem']);
  });
  p12(dir, 'installer-3des.p12', ['-inkey', 'installer.key', '-in', 'installer.pem', '-certfile', 'chain.pem',
    '-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1']);
  p12(dir, 'installer-nokey.p12', ['-nokeys', '-in', 'installer.pem', '-certfile', 'chain.pem']);
  ossl(dir, ['pkcs8', '-topk8', '-in', 'installer.key', '-passout', 'file:password.txt', '-v2', 'aes-256-cbc', '-out', 'installer-enc.key']);
  makeKey(dir, 'other');
  issue(dir, 'tsa', 'root', 20);
  issue(dir, 'fakeG1', undefined, 30);
  issue(dir, 'fakeG2', undefined, 31);
  issue(dir, 'forgedG1', 'fakeG1', 32);
  issue(dir, 'forgedG2', 'fakeG2', 33);
  for (const name of ['forgedG1', 'forgedG2']) p12(dir, `${name}.p12`, ['-inkey', `${name}.key`, '-in', `${name}.pem`]);
}

function leaf(dir: string, name: string): TestLeaf {
  return { key: path.join(dir, `${name}.key`), cert: path.join(dir, `${name}.pem`), certDer: readFileSync(path.join(dir, `${name}.der`)), p12: path.join(dir, `${name}.p12`) };
}

let cached: TestPki | undefined;

/** The shared test PKI (built on first use, then reused by every test file). */
export function getTestPki(): TestPki {
  if (cached) return cached;
  const key = createHash('sha256').update(RECIPE).digest('hex').slice(0, 12);
  const dir = path.join(tmpdir(), `aiwatch-deploy-test-pki-${key}`);
  if (!existsSync(path.join(dir, 'forgedG2.p12'))) {
    const staging = `${dir}.staging-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    build(staging);
    try {
      renameSync(staging, dir);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another worker won the race: use its PKI
    }
  }
  const f = (n: string): string => path.join(dir, n);
  cached = {
    dir,
    root: f('root.pem'),
    rootDer: readFileSync(f('root.der')),
    intermediate: f('intermediate.pem'),
    intermediateDer: readFileSync(f('intermediate.der')),
    chain: f('chain.pem'),
    installer: { ...leaf(dir, 'installer'), p12Legacy: f('installer-3des.p12'), p12NoKey: f('installer-nokey.p12'), keyEncrypted: f('installer-enc.key') },
    codeSigning: leaf(dir, 'codeSigning'),
    markerOnly: leaf(dir, 'markerOnly'),
    oidAsExtension: leaf(dir, 'oidAsExtension'),
    otherKey: f('other.key'),
    tsa: { key: f('tsa.key'), cert: f('tsa.pem'), certDer: readFileSync(f('tsa.der')) },
    forgedG1: leaf(dir, 'forgedG1'),
    forgedG2: leaf(dir, 'forgedG2'),
    passwordFile: f('password.txt'),
  };
  return cached;
}

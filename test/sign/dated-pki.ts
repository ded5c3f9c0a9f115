/**
 * Identities for the exit-code table (test/sign/exit-codes.test.ts), made with `openssl ca` (which, unlike
 * `openssl x509` before 3.4, sets any validity window): a root and, under it, leaves that every signer accepts when
 * `--allow-untrusted` is given (extended key usage codeSigning + Developer ID Installer, as one certificate):
 *   - `good`: valid now; `expired`: 2020 → 2021; `future`: 2040 → 2041;
 *   - `serverAuth`: valid now, extended key usage serverAuth only (a TLS certificate: the wrong kind for code);
 * each exported as a .p12 with the root, password TEST_P12_PASSWORD (file `passwordFile`), and `garbage`, a file
 * that is no PKCS#12 at all. Built once per process in a temporary folder.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TEST_P12_PASSWORD } from '../helpers/test-pki.js';

export interface DatedPki {
  dir: string;
  root: string;
  good: string;
  expired: string;
  future: string;
  serverAuth: string;
  garbage: string;
  passwordFile: string;
  wrongPasswordFile: string;
}

const CA_CNF = `[ca]
default_ca = test
[test]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
organizationName = optional
organizationalUnitName = optional
countryName = optional
[code]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,codeSigning,1.2.840.113635.100.4.13
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[tls]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
`;

const ossl = (dir: string, args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

let cached: DatedPki | undefined;

export function getDatedPki(): DatedPki {
  if (cached) return cached;
  const dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-dated-pki-'));
  writeFileSync(path.join(dir, 'ca.cnf'), CA_CNF);
  writeFileSync(path.join(dir, 'index.txt'), '');
  writeFileSync(path.join(dir, 'serial'), '1000\n');
  writeFileSync(path.join(dir, 'password.txt'), `${TEST_P12_PASSWORD}\n`);
  writeFileSync(path.join(dir, 'wrong-password.txt'), 'not the password\n');
  writeFileSync(path.join(dir, 'garbage.p12'), 'this is not a PKCS#12 file\n'.repeat(20));
  ossl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-days', '7300', '-sha256',
    '-subj', '/O=aiwatch-deploy tests/CN=Dated Test Root', '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const leaf = (name: string, cn: string, ext: string, window?: [string, string]): string => {
    ossl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/O=Test Org/CN=${cn}`]);
    const dates = window ? ['-startdate', window[0], '-enddate', window[1]] : ['-days', '3650'];
    ossl(dir, ['ca', '-batch', '-config', 'ca.cnf', '-cert', 'root.pem', '-keyfile', 'root.key', '-in', `${name}.csr`, '-out', `${name}.pem`,
      '-extensions', ext, '-notext', ...dates]);
    ossl(dir, ['pkcs12', '-export', '-inkey', `${name}.key`, '-in', `${name}.pem`, '-certfile', 'root.pem', '-passout', 'file:password.txt', '-out', `${name}.p12`]);
    return path.join(dir, `${name}.p12`);
  };
  cached = {
    dir,
    root: path.join(dir, 'root.pem'),
    good: leaf('good', 'Test Signer', 'code'),
    expired: leaf('expired', 'Expired Signer', 'code', ['20200101000000Z', '20210101000000Z']),
    future: leaf('future', 'Future Signer', 'code', ['20400101000000Z', '20410101000000Z']),
    serverAuth: leaf('tls', 'TLS Server', 'tls'),
    garbage: path.join(dir, 'garbage.p12'),
    passwordFile: path.join(dir, 'password.txt'),
    wrongPasswordFile: path.join(dir, 'wrong-password.txt'),
  };
  return cached;
}

/**
 * A throwaway code-signing PKI made at test time with the openssl CLI: a root CA, a Code Signing leaf and a TLS
 * (serverAuth) leaf, exported as PKCS#12 with a password full of shell metacharacters, without password, with the
 * root included, and without the key.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const PASSWORD = `pa ss'w"rd $(calc) ;#`;

export interface Pki {
  dir: string;
  caCert: string;
  /** leaf only */
  pfx: string;
  /** leaf + root */
  pfxWithRoot: string;
  pfxNoPassword: string;
  pfxServerAuth: string;
  pfxNoKey: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makePki(): Pki {
  const dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-authenticode-'));
  writeFileSync(path.join(dir, 'pw.txt'), `${PASSWORD}\n`);
  writeFileSync(
    path.join(dir, 'ext.cnf'),
    ['[cs]', 'basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature', 'extendedKeyUsage = codeSigning', '',
      '[tls]', 'basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature', 'extendedKeyUsage = serverAuth', ''].join('\n'),
  );
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-sha256', '-days', '30', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=aiwatch-deploy Test Root',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  for (const [name, ext] of [['cs', 'cs'], ['tls', 'tls']] as const) {
    openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=Test ${name}`]);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '10', '-sha256', '-extfile', 'ext.cnf', '-extensions', ext, '-out', `${name}.crt`]);
  }
  const p12 = (out: string, extra: string[]) => openssl(dir, ['pkcs12', '-export', '-out', out, ...extra]);
  p12('cs.pfx', ['-inkey', 'cs.key', '-in', 'cs.crt', '-passout', 'file:pw.txt']);
  p12('cs-root.pfx', ['-inkey', 'cs.key', '-in', 'cs.crt', '-certfile', 'ca.crt', '-passout', 'file:pw.txt']);
  p12('cs-nopass.pfx', ['-inkey', 'cs.key', '-in', 'cs.crt', '-passout', 'pass:']);
  p12('tls.pfx', ['-inkey', 'tls.key', '-in', 'tls.crt', '-passout', 'file:pw.txt']);
  p12('nokey.pfx', ['-nokeys', '-in', 'cs.crt', '-passout', 'file:pw.txt']);
  const f = (n: string) => path.join(dir, n);
  return { dir, caCert: f('ca.crt'), pfx: f('cs.pfx'), pfxWithRoot: f('cs-root.pfx'), pfxNoPassword: f('cs-nopass.pfx'), pfxServerAuth: f('tls.pfx'), pfxNoKey: f('nokey.pfx') };
}


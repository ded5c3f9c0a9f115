/**
 * A throw-away App Store Connect API key for protocol tests: a fresh P-256 key pair, the private half written as
 * `AuthKey_<KEYID>.p8` (PKCS#8 PEM, like Apple's download), the public half kept for the local notary server.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface TestApiKey {
  file: string;
  keyId: string;
  issuerId: string;
  publicKey: KeyObject;
  /** The .p8 text, so tests can assert it never appears in output. */
  pem: string;
  /** The base64 body lines of the PEM (what a leak would most likely show). */
  pemBody: string;
}

export function makeApiKey(dir: string, keyId = 'ABCDE12345', issuerId = '69a6de7e-1c2b-47e3-e053-5b8c7c11a4d1'): TestApiKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const file = path.join(dir, `AuthKey_${keyId}.p8`);
  writeFileSync(file, pem, { mode: 0o600 });
  const pemBody = pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
  return { file, keyId, issuerId, publicKey, pem, pemBody };
}

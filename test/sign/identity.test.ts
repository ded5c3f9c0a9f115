import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputFileError, UsageError } from '../../src/errors.js';
import { Secret } from '../../src/secret.js';
import { loadAppleCertificates } from '../../src/sign/apple-certs.js';
import { buildChain, fingerprint256, isIssuedBy, parseCertificate } from '../../src/sign/certificate.js';
import { loadSigningIdentity, type IdentitySource } from '../../src/sign/identity.js';
import { describeWithTools } from '../helpers/tools.js';
import { getTestPki, TEST_P12_PASSWORD, type TestPki } from '../helpers/test-pki.js';

const password = (): Secret => new Secret(TEST_P12_PASSWORD, '--p12-password-file');
const now = (): Date => new Date();

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('Apple CA certificates (certs/apple)', () => {
  it('load with pinned fingerprints, and the intermediates chain to Apple Root CA by signature', async () => {
    const apple = await loadAppleCertificates();
    expect(fingerprint256(apple.appleRoot.der)).toBe('B0:B1:73:0E:CB:C7:FF:45:05:14:2C:49:F1:29:5E:6E:DA:6B:CA:ED:7E:2C:68:C5:BE:91:B5:A1:10:01:F0:24');
    expect(isIssuedBy(apple.developerIdG1, apple.appleRoot)).toBe(true);
    expect(isIssuedBy(apple.developerIdG2, apple.appleRoot)).toBe(true);
    expect(isIssuedBy(apple.developerIdG2, apple.developerIdG1)).toBe(false);
    const chain = buildChain(apple.developerIdG2, [apple.developerIdG1, apple.appleRootG3, apple.appleRoot]);
    expect(chain.map((c) => c.node.subject.match(/CN=(.*)/)?.[1])).toEqual(['Developer ID Certification Authority', 'Apple Root CA']);
    expect(apple.developerIdG1.node.validToDate.toISOString()).toBe('2027-02-01T22:12:15.000Z');
  });
});

describeWithTools(['openssl'], 'signing identity', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = getTestPki();
  });

  const p12 = (file: string, pw: Secret | undefined = password()): IdentitySource => ({ kind: 'p12', file, password: pw });

  it('loads a Developer ID Installer-like identity from a .p12 (AES/PBKDF2, as OpenSSL 3 writes) with the chain in issuer order', async () => {
    const id = await loadSigningIdentity(p12(pki.installer.p12), { purpose: 'installer', allowUntrusted: true, clock: now });
    expect(id.keyType).toBe('rsa');
    expect(id.rsaModulusBytes).toBe(256);
    expect(id.developerIdInstaller).toBe(true);
    expect(id.appleIntermediate).toBeUndefined();
    // DER of every certificate is byte-identical to what openssl wrote (no re-encoding drift through forge).
    expect(id.chain.map((c) => Buffer.from(c.der))).toEqual([pki.installer.certDer, pki.intermediateDer, pki.rootDer]);
    expect(id.summary.commonName).toBe('Developer ID Installer: Test Org (TEST123456)');
    expect(id.warnings.join('\n')).toMatch(/not issued by Apple's Developer ID Certification Authority/);
  });

  it('loads the 3DES / SHA-1-MAC .p12 that Keychain Access exports', async () => {
    const id = await loadSigningIdentity(p12(pki.installer.p12Legacy), { purpose: 'installer', allowUntrusted: true, clock: now });
    expect(Buffer.from(id.leaf.der)).toEqual(pki.installer.certDer);
    expect(id.chain).toHaveLength(3);
  });

  it('loads PEM key + cert + chain, and an encrypted PKCS#8 key with the password', async () => {
    const src: IdentitySource = { kind: 'pem', keyFile: pki.installer.key, certFile: pki.installer.cert, chainFile: pki.chain };
    const id = await loadSigningIdentity(src, { purpose: 'installer', allowUntrusted: true, clock: now });
    expect(id.chain.map((c) => Buffer.from(c.der))).toEqual([pki.installer.certDer, pki.intermediateDer, pki.rootDer]);
    const enc = await loadSigningIdentity({ ...src, keyFile: pki.installer.keyEncrypted, password: password() }, { purpose: 'profile', clock: now });
    expect(enc.summary.sha256).toBe(id.summary.sha256);
    const noPw = await errorOf(loadSigningIdentity({ ...src, keyFile: pki.installer.keyEncrypted }, { purpose: 'profile', clock: now }));
    expect(noPw).toBeInstanceOf(UsageError);
    expect(noPw.message).toMatch(/--key is encrypted, and no password was given; give its password with --p12-password-file or AIWATCH_P12_PASSWORD/);
    const wrongPw = await errorOf(loadSigningIdentity({ ...src, keyFile: pki.installer.keyEncrypted, password: new Secret('nope-nope', '--p12-password-file') }, { purpose: 'profile', clock: now }));
    expect(wrongPw).toBeInstanceOf(UsageError);
    expect(wrongPw.message).toBe(`${pki.installer.keyEncrypted}: wrong password for the encrypted --key (from --p12-password-file: ********)`);
  });

  it('without --chain a PEM identity embeds the leaf alone', async () => {
    const id = await loadSigningIdentity({ kind: 'pem', keyFile: pki.installer.key, certFile: pki.installer.cert }, { purpose: 'installer', allowUntrusted: true, clock: now });
    expect(id.chain).toHaveLength(1);
  });

  it('refuses a wrong .p12 password with a usage error that never shows either password', async () => {
    const wrong = new Secret('not-the-password-42', '--p12-password-file');
    const e = await errorOf(loadSigningIdentity(p12(pki.installer.p12, wrong), { purpose: 'profile', clock: now }));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toBe(`${pki.installer.p12}: wrong password for this PKCS#12 file (from --p12-password-file: ********)`);
    const legacy = await errorOf(loadSigningIdentity(p12(pki.installer.p12Legacy, wrong), { purpose: 'profile', clock: now }));
    expect(legacy).toBeInstanceOf(UsageError);
    for (const err of [e, legacy]) {
      const shown = `${err.message}\n${err.stack}\n${inspect(err)}\n${JSON.stringify(err)}`;
      expect(shown).not.toContain('not-the-password-42');
      expect(shown).not.toContain(TEST_P12_PASSWORD);
    }
  });

  it('a .p12 without a private key', async () => {
    const e = await errorOf(loadSigningIdentity(p12(pki.installer.p12NoKey), { purpose: 'profile', clock: now }));
    expect(e).toBeInstanceOf(InputFileError);
    expect(e.message).toMatch(/holds no private key/);
  });

  it('a key that does not belong to the certificate', async () => {
    const src: IdentitySource = { kind: 'pem', keyFile: pki.otherKey, certFile: pki.installer.cert, chainFile: pki.chain };
    const e = await errorOf(loadSigningIdentity(src, { purpose: 'profile', clock: now }));
    expect(e).toBeInstanceOf(InputFileError);
    expect(e.message).toMatch(/the private key does not belong to the certificate "Developer ID Installer: Test Org \(TEST123456\)" \(their public keys differ\)/);
  });

  it('an expired or not-yet-valid certificate, with its dates', async () => {
    const leaf = parseCertificate(pki.installer.certDer).node;
    const after = new Date(leaf.validToDate.getTime() + 86_400_000);
    const e = await errorOf(loadSigningIdentity(p12(pki.installer.p12), { purpose: 'installer', allowUntrusted: true, clock: () => after }));
    expect(e).toBeInstanceOf(InputFileError);
    expect(e.message).toContain(`signing certificate "Developer ID Installer: Test Org (TEST123456)" expired on ${leaf.validToDate.toISOString()} (valid from ${leaf.validFromDate.toISOString()}; now ${after.toISOString()})`);
    const before = new Date(leaf.validFromDate.getTime() - 86_400_000);
    const e2 = await errorOf(loadSigningIdentity(p12(pki.installer.p12), { purpose: 'profile', clock: () => before }));
    expect(e2.message).toMatch(/is not valid yet \(valid from /);
  });

  it('refuses, for a pkg, a leaf without the Developer ID Installer EKU unless allowUntrusted', async () => {
    for (const leaf of [pki.codeSigning, pki.markerOnly, pki.oidAsExtension]) {
      const e = await errorOf(loadSigningIdentity(p12(leaf.p12), { purpose: 'installer', clock: now }));
      expect(e).toBeInstanceOf(InputFileError);
      expect(e.message).toMatch(/is not a Developer ID Installer certificate: its extended key usage lacks 1\.2\.840\.113635\.100\.4\.13/);
      expect(e.message).toMatch(/pass --allow-untrusted/);
      const ok = await loadSigningIdentity(p12(leaf.p12), { purpose: 'installer', allowUntrusted: true, clock: now });
      expect(ok.developerIdInstaller).toBe(false);
      expect(ok.warnings[0]).toMatch(/signing anyway/);
      if (leaf === pki.markerOnly) expect(ok.summary.commonName).toBe('Marker Only, Inc.'); // unescaped
    }
  });

  it('refuses, for a pkg, a Developer ID Installer-like leaf not issued through Apple (without allowUntrusted)', async () => {
    const e = await errorOf(loadSigningIdentity(p12(pki.installer.p12), { purpose: 'installer', clock: now }));
    expect(e.message).toMatch(/is not issued by Apple's Developer ID Certification Authority \(issuer: C=US, O=aiwatch-deploy tests, OU=Test Certification Authority, CN=Test Developer ID Certification Authority\)/);
  });

  it('picks the Developer ID CA generation from the leaf (key identifier) and checks the signature against Apple\'s certificate', async () => {
    for (const [leaf, gen] of [[pki.forgedG1, 'G1'], [pki.forgedG2, 'G2']] as const) {
      const e = await errorOf(loadSigningIdentity(p12(leaf.p12), { purpose: 'installer', clock: now }));
      expect(e).toBeInstanceOf(InputFileError);
      expect(e.message).toContain(`names Apple's Developer ID Certification Authority (${gen}) as issuer, but its signature does not verify with Apple's ${gen} certificate`);
      // Even with allowUntrusted, Apple's certificates are never attached to a leaf they did not sign.
      const id = await loadSigningIdentity(p12(leaf.p12), { purpose: 'installer', allowUntrusted: true, clock: now });
      expect(id.chain).toHaveLength(1);
      expect(id.appleIntermediate).toBeUndefined();
    }
  });

  it('accepts any certificate for profiles without a warning', async () => {
    const id = await loadSigningIdentity(p12(pki.codeSigning.p12), { purpose: 'profile', clock: now });
    expect(id.warnings).toEqual([]);
    expect(id.chain).toHaveLength(3);
  });

  it('a file that is not PKCS#12', async () => {
    const e = await errorOf(loadSigningIdentity(p12(pki.installer.cert), { purpose: 'profile', clock: now }));
    expect(e).toBeInstanceOf(InputFileError);
    expect(e.message).toMatch(/not a PKCS#12 \(\.p12\) file|cannot read this PKCS#12 file/);
    expect(readFileSync(pki.installer.cert, 'utf8')).toMatch(/BEGIN CERTIFICATE/);
  });
});

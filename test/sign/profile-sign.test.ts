import { mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { signProfileCommand } from '../../src/cli/commands/sign-profile.js';
import { InputFileError } from '../../src/errors.js';
import { Secret } from '../../src/secret.js';
import { loadSigningIdentity, type SigningIdentity } from '../../src/sign/identity.js';
import { profileEncoding, signProfile, unwrapSignedProfile } from '../../src/sign/profile-sign.js';
import { getTestPki, TEST_P12_PASSWORD, type TestPki } from '../helpers/test-pki.js';
import { describeWithTools, run, tryRun } from '../helpers/tools.js';

const PROFILE = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
\t<key>PayloadDisplayName</key>
\t<string>aiwatch — test «profile»</string>
\t<key>PayloadIdentifier</key>
\t<string>com.runlayer.aiwatch.test</string>
\t<key>PayloadType</key>
\t<string>Configuration</string>
\t<key>PayloadVersion</key>
\t<integer>1</integer>
</dict>
</plist>
`;

describe('profile encoding sniffing', () => {
  it('tells XML, binary plist and CMS apart', () => {
    expect(profileEncoding(Buffer.from(PROFILE))).toBe('xml');
    expect(profileEncoding(Buffer.from(`\uFEFF${PROFILE}`))).toBe('xml');
    expect(profileEncoding(Buffer.from('bplist00\x01'))).toBe('binary-plist');
    expect(profileEncoding(Uint8Array.from([0x30, 0x82, 0x01]))).toBe('cms');
    expect(profileEncoding(Buffer.from('hello'))).toBe('unknown');
  });
});

describeWithTools(['openssl'], 'signed configuration profiles', () => {
  let pki: TestPki;
  let identity: SigningIdentity;
  let dir: string;
  const bytes = Buffer.from(PROFILE.replace(/\n/g, '\r\n').replace(/\r\n$/, '\n') + 'x'.repeat(70_000), 'utf8'); // mixed line ends, > 64 KiB

  beforeAll(async () => {
    pki = getTestPki();
    identity = await loadSigningIdentity({ kind: 'p12', file: pki.codeSigning.p12, password: new Secret(TEST_P12_PASSWORD, 'pw') }, { purpose: 'profile', clock: () => new Date() });
    dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-profile-sign-'));
  });

  it('openssl verifies the signed profile to the test root and extracts the exact input bytes', async () => {
    const signed = await signProfile(bytes, identity, { clock: () => new Date('2026-05-05T05:05:05Z') });
    const f = path.join(dir, 'signed.mobileconfig');
    writeFileSync(f, signed);
    const outFile = path.join(dir, 'extracted.bin');
    const r = tryRun('openssl', ['cms', '-verify', '-inform', 'DER', '-in', f, '-CAfile', pki.root, '-purpose', 'any', '-binary', '-out', outFile]);
    expect(r.stderr).toMatch(/Verification successful/);
    expect(readFileSync(outFile).equals(bytes)).toBe(true);
    expect(signed.length).toBeGreaterThan(bytes.length);
    // The brief's exact command (no -binary, default purpose) also verifies and yields the same bytes.
    const plain = tryRun('openssl', ['cms', '-verify', '-inform', 'DER', '-in', f, '-CAfile', pki.root, '-purpose', 'any', '-out', path.join(dir, 'plain.bin')]);
    expect(plain.stderr).toMatch(/Verification successful/);
    expect(readFileSync(path.join(dir, 'plain.bin')).equals(bytes)).toBe(true);
    const printed = run('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', f]);
    expect(printed).toMatch(/UTCTIME:May {2}5 05:05:05 2026 GMT/);
    // DER, not BER: the 70 KB content is one primitive OCTET STRING, and OpenSSL's DER re-encoding is identical.
    expect(run('openssl', ['asn1parse', '-inform', 'DER', '-in', f])).not.toMatch(/cons: OCTET STRING|l=inf/);
    run('openssl', ['cms', '-cmsout', '-inform', 'DER', '-in', f, '-outform', 'DER', '-out', path.join(dir, 'reenc.der')]);
    expect(readFileSync(path.join(dir, 'reenc.der')).equals(signed)).toBe(true);
  });

  it('unwraps: inner bytes, signer, chain and validity; detects tampering', async () => {
    const signed = await signProfile(bytes, identity, { clock: () => new Date('2026-05-05T05:05:05Z') });
    const u = await unwrapSignedProfile(signed, 'signed.mobileconfig');
    expect(Buffer.from(u.content).equals(bytes)).toBe(true);
    expect(u.signatureValid).toBe(true);
    expect(u.signer?.commonName).toBe('Test Code Signing');
    expect(u.chain.map((c) => c.commonName)).toEqual(['Test Code Signing', 'Test Developer ID Certification Authority', 'Test Root CA']);
    expect(u.chainsToApple).toBe(false);
    expect(u.signingTime).toBe('2026-05-05T05:05:05.000Z');
    const tampered = Buffer.from(signed);
    const at = tampered.indexOf(Buffer.from('com.runlayer.aiwatch.test'));
    tampered[at] = 'C'.charCodeAt(0);
    const t = await unwrapSignedProfile(tampered, 'tampered.mobileconfig');
    expect(t.signatureValid).toBe(false);
    expect(t.problem).toBeTruthy();
  });

  it('an openssl-signed profile unwraps too (independent producer)', async () => {
    const inFile = path.join(dir, 'in.mobileconfig');
    writeFileSync(inFile, PROFILE);
    const f = path.join(dir, 'openssl-signed.mobileconfig');
    run('openssl', ['cms', '-sign', '-binary', '-nodetach', '-outform', 'DER', '-signer', pki.codeSigning.cert, '-inkey', pki.codeSigning.key, '-certfile', pki.chain, '-in', inFile, '-out', f]);
    const u = await unwrapSignedProfile(readFileSync(f), f);
    expect(Buffer.from(u.content).toString('utf8')).toBe(PROFILE);
    expect(u.signatureValid).toBe(true);
    expect(u.signer?.commonName).toBe('Test Code Signing');
  });

  it('signs with an EC P-256 identity too (ECDSA), verified by openssl', async () => {
    const key = path.join(dir, 'ec.key');
    const cert = path.join(dir, 'ec.pem');
    run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=EC Signer', '-days', '30']);
    const ec = await loadSigningIdentity({ kind: 'pem', keyFile: key, certFile: cert }, { purpose: 'profile', clock: () => new Date() });
    expect(ec.keyType).toBe('ec');
    const f = path.join(dir, 'ec.signed');
    writeFileSync(f, await signProfile(Buffer.from(PROFILE), ec, { clock: () => new Date() }));
    const out = path.join(dir, 'ec.out');
    expect(tryRun('openssl', ['cms', '-verify', '-inform', 'DER', '-in', f, '-CAfile', cert, '-purpose', 'any', '-binary', '-out', out]).stderr).toMatch(/Verification successful/);
    expect(readFileSync(out, 'utf8')).toBe(PROFILE);
    await expect(loadSigningIdentity({ kind: 'pem', keyFile: key, certFile: cert }, { purpose: 'installer', allowUntrusted: true, clock: () => new Date() })).rejects.toThrow(/a pkg signature needs an RSA key, got ec/);
  });

  it('refuses an already-signed or non-plist input, and a non-CMS file to unwrap', async () => {
    const signed = await signProfile(bytes, identity, { clock: () => new Date() });
    await expect(signProfile(signed, identity, { clock: () => new Date() }, 'x.mobileconfig')).rejects.toThrow(/x\.mobileconfig: is already signed/);
    await expect(signProfile(Buffer.from('hello'), identity, { clock: () => new Date() }, 'y')).rejects.toThrow(InputFileError);
    await expect(unwrapSignedProfile(Buffer.from(PROFILE), 'z.mobileconfig')).rejects.toThrow(/z\.mobileconfig: is not a signed profile/);
  });

  describe('aiwatch-deploy sign-profile', () => {
    const cli = async (argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> => {
      let out = '';
      let err = '';
      const code = await main(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), env, cwd: dir });
      return { code, out, err };
    };

    it('signs with a .p12 (password from a file), keeps 0600, and openssl extracts the input', async () => {
      const inFile = path.join(dir, 'tenant.mobileconfig');
      writeFileSync(inFile, PROFILE);
      chmodSync(inFile, 0o600);
      const r = await cli(['sign-profile', inFile, '--out', 'out/tenant.signed.mobileconfig', '--p12', pki.codeSigning.p12, '--p12-password-file', pki.passwordFile]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const outFile = path.join(dir, 'out/tenant.signed.mobileconfig');
      expect(r.out).toMatch(/^signed: .*tenant\.signed\.mobileconfig \(\d+ bytes\) by "Test Code Signing" \(SHA-256 [0-9A-F:]{95}\)\n$/);
      expect(statSync(outFile).mode & 0o777).toBe(0o600);
      const x = path.join(dir, 'x.xml');
      expect(tryRun('openssl', ['cms', '-verify', '-inform', 'DER', '-in', outFile, '-CAfile', pki.root, '-purpose', 'any', '-binary', '-out', x]).stderr).toMatch(/Verification successful/);
      expect(readFileSync(x, 'utf8')).toBe(PROFILE);
    });

    it('takes the password from AIWATCH_P12_PASSWORD, and never prints it (not even when wrong or in --json)', async () => {
      const inFile = path.join(dir, 'p.mobileconfig');
      writeFileSync(inFile, PROFILE);
      const ok = await cli(['--json', 'sign-profile', inFile, '--out', 'env.signed', '--p12', pki.codeSigning.p12], { AIWATCH_P12_PASSWORD: TEST_P12_PASSWORD });
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.out)).toMatchObject({ ok: true, signer: { commonName: 'Test Code Signing' } });
      const bad = await cli(['--json', 'sign-profile', inFile, '--out', 'bad.signed', '--p12', pki.codeSigning.p12], { AIWATCH_P12_PASSWORD: 'Wr0ng-Secret-Value' });
      expect(bad.code).toBe(2);
      expect(bad.err).toBe(`aiwatch-deploy: ${pki.codeSigning.p12}: wrong password for this PKCS#12 file (from AIWATCH_P12_PASSWORD: ********)\n`);
      expect(existsSync(path.join(dir, 'bad.signed'))).toBe(false);
      for (const text of [ok.out, ok.err, bad.out, bad.err]) {
        expect(text).not.toContain(TEST_P12_PASSWORD);
        expect(text).not.toContain('Wr0ng-Secret-Value');
      }
      const argv = await cli(['sign-profile', inFile, '--out', 'o', '--p12', pki.codeSigning.p12, '--p12-password', 'Wr0ng-Secret-Value']);
      expect(argv.code).toBe(2);
      expect(argv.err).toMatch(/--p12-password: passwords are not accepted on the command line/);
      expect(argv.err).not.toContain('Wr0ng-Secret-Value');
    });

    it('signs with PEM key/cert/chain; usage errors for a half identity or none', async () => {
      const inFile = path.join(dir, 'q.mobileconfig');
      writeFileSync(inFile, PROFILE);
      const r = await cli(['sign-profile', inFile, '--out', 'pem.signed', '--key', pki.codeSigning.key, '--cert', pki.codeSigning.cert, '--chain', pki.chain]);
      expect(r.code).toBe(0);
      const u = await unwrapSignedProfile(readFileSync(path.join(dir, 'pem.signed')), 'pem.signed');
      expect(u.chain).toHaveLength(3);
      expect((await cli(['sign-profile', inFile, '--out', 'o', '--key', pki.codeSigning.key])).err).toMatch(/--key needs --cert/);
      expect((await cli(['sign-profile', inFile, '--out', 'o'])).code).toBe(2);
      const mismatch = await cli(['sign-profile', inFile, '--out', 'o', '--key', pki.otherKey, '--cert', pki.codeSigning.cert]);
      expect(mismatch.code).toBe(3);
      expect(mismatch.err).toMatch(/the private key does not belong to the certificate "Test Code Signing"/);
    });

    it('is registered in the command table', async () => {
      const { commands } = await import('../../src/cli/commands/all.js');
      expect(commands).toContain(signProfileCommand);
    });
  });
});

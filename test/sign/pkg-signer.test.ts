import { createHash, sign as nodeSign } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { NetworkError, RemoteRejection } from '../../src/errors.js';
import { Secret } from '../../src/secret.js';
import { loadAppleCertificates } from '../../src/sign/apple-certs.js';
import { checkCmsSignature, readSignedData } from '../../src/sign/cms-read.js';
import { loadSigningIdentity, type SigningIdentity } from '../../src/sign/identity.js';
import { cmsReserveFor, createXarSigner, digestInfo } from '../../src/sign/pkg-signer.js';
import { OID } from '../../src/sign/oids.js';
import { CMS_STRUCTURE_ALLOWANCE, TIMESTAMP_TOKEN_ALLOWANCE } from '../../src/pkg/xar-signature.js';
import { startTestTsa } from '../helpers/servers/tsa.js';
import { getTestPki, TEST_P12_PASSWORD, type TestPki } from '../helpers/test-pki.js';
import { describeWithTools, run, tryRun } from '../helpers/tools.js';

const SIGNING_TIME = new Date('2026-06-01T12:34:56Z');

describe('DigestInfo for the classic signature', () => {
  it('is the RFC 8017 §9.2 SHA-1 DigestInfo (hand-checked prefix 30 21 30 09 06 05 2b 0e 03 02 1a 05 00 04 14)', () => {
    const checksum = createHash('sha1').update('toc').digest();
    expect(Buffer.from(digestInfo(checksum)).toString('hex')).toBe(`3021300906052b0e03021a05000414${checksum.toString('hex')}`);
    expect(() => digestInfo(new Uint8Array(19))).toThrow(/20 \(SHA-1\), 32 \(SHA-256\) or 64 \(SHA-512\) bytes, got 19/);
  });
});

describeWithTools(['openssl'], 'pkg signer (RSA + CMS over the TOC checksum)', () => {
  let pki: TestPki;
  let identity: SigningIdentity;
  let dir: string;
  const ztoc = Buffer.from('pretend this is a zlib-compressed TOC'.repeat(20));
  const checksum = createHash('sha1').update(ztoc).digest();

  beforeAll(async () => {
    pki = getTestPki();
    // The PKI's certificates are valid from their creation time; sign "now" for openssl, which checks validity now.
    identity = await loadSigningIdentity({ kind: 'p12', file: pki.installer.p12, password: new Secret(TEST_P12_PASSWORD, 'pw') }, { purpose: 'installer', allowUntrusted: true, clock: () => new Date() });
    dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-pkg-signer-'));
    writeFileSync(path.join(dir, 'checksum.bin'), checksum);
  });

  const file = (name: string, bytes?: Uint8Array): string => {
    const p = path.join(dir, name);
    if (bytes) writeFileSync(p, bytes);
    return p;
  };

  it('RSA: 256 bytes that openssl pkeyutl verifies as PKCS#1 v1.5 over DigestInfo(SHA-1, checksum)', async () => {
    const signer = createXarSigner(identity, { clock: () => SIGNING_TIME, timestampUrl: null });
    const sig = await signer.signRsa(checksum);
    expect(sig.length).toBe(256);
    expect(signer.rsaSignatureSize).toBe(256);
    const args = ['pkeyutl', '-verify', '-certin', '-inkey', pki.installer.cert, '-pkeyopt', 'digest:sha1', '-in', file('checksum.bin'), '-sigfile', file('rsa.sig', sig)];
    expect(run('openssl', args)).toMatch(/Signature Verified Successfully/);
    run('openssl', ['pkeyutl', '-verifyrecover', '-certin', '-inkey', pki.installer.cert, '-in', file('rsa.sig'), '-out', file('recovered.bin')]);
    expect(readFileSync(file('recovered.bin')).toString('hex')).toBe(`3021300906052b0e03021a05000414${checksum.toString('hex')}`);
    // productsign identity (reference §2.2): equal to an ordinary RSA-SHA1 signature of the compressed TOC.
    expect(Buffer.from(sig)).toEqual(nodeSign('sha1', ztoc, identity.privateKey));
    const other = Buffer.from(checksum);
    other[0]! ^= 1;
    const bad = tryRun('openssl', ['pkeyutl', '-verify', '-certin', '-inkey', pki.installer.cert, '-pkeyopt', 'digest:sha1', '-in', file('other.bin', other), '-sigfile', file('rsa.sig')]);
    expect(bad.stdout + bad.stderr).toMatch(/Signature Verification Failure/);
  });

  it('CMS: detached SignedData over the checksum that openssl verifies to the test root, with signingTime and the chain', async () => {
    const signer = createXarSigner(identity, { clock: () => SIGNING_TIME, timestampUrl: null });
    expect(signer.certificates.map((c) => Buffer.from(c))).toEqual([pki.installer.certDer, pki.intermediateDer, pki.rootDer]);
    const cms = await signer.signCms(checksum);
    expect(cms.length).toBeLessThanOrEqual(signer.cmsReserve);
    // The structure around certificates and signature stays inside the reserve's allowance for it.
    const structure = cms.length - signer.certificates.reduce((n, c) => n + c.length, 0) - signer.rsaSignatureSize;
    expect(structure).toBeLessThanOrEqual(CMS_STRUCTURE_ALLOWANCE);
    const verify = ['cms', '-verify', '-binary', '-inform', 'DER', '-in', file('cms.der', cms), '-content', file('checksum.bin'), '-out', file('out.bin')];
    // The leaf's Apple extension 1.2.840.113635.100.6.1.14 is critical and unknown to OpenSSL, and its EKU is not
    // S/MIME: exactly as with a real Developer ID Installer leaf, openssl needs -ignore_critical and -purpose any.
    const r = tryRun('openssl', [...verify, '-CAfile', pki.root, '-purpose', 'any', '-ignore_critical']);
    expect(r.stderr).toMatch(/Verification successful/);
    expect(tryRun('openssl', [...verify, '-noverify']).stderr).toMatch(/Verification successful/);
    const printed = run('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', file('cms.der')]);
    expect(printed).toMatch(/eContentType: pkcs7-data \(1\.2\.840\.113549\.1\.7\.1\)\s+eContent: <ABSENT>/);
    expect(printed).toMatch(/object: signingTime \(1\.2\.840\.113549\.1\.9\.5\)\s+set:\s+UTCTIME:Jun {2}1 12:34:56 2026 GMT/);
    expect(printed).toMatch(/digestAlgorithm:\s+algorithm: sha256 /);
    expect(printed).toMatch(/unsignedAttrs:\s+<ABSENT>/);
    run('openssl', ['cms', '-cmsout', '-inform', 'DER', '-in', file('cms.der'), '-outform', 'DER', '-out', file('reenc.der')]);
    expect(readFileSync(file('reenc.der')).equals(Buffer.from(cms))).toBe(true); // canonical DER
    const wrong = tryRun('openssl', [...verify.slice(0, -4), '-content', file('other2.bin', Buffer.alloc(20)), '-noverify', '-out', file('o.bin')]);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toMatch(/digest failure|verification failure/i);
    // Our own reader agrees.
    const info = readSignedData(cms);
    expect(info.content).toBeUndefined();
    expect(info.signingTime?.toISOString()).toBe('2026-06-01T12:34:56.000Z');
    expect(await checkCmsSignature(info, checksum)).toEqual({ valid: true });
    expect((await checkCmsSignature(info, new Uint8Array(20))).valid).toBe(false);
  });

  it('CMS without a timestamp is deterministic for a given clock', async () => {
    const signer = createXarSigner(identity, { clock: () => SIGNING_TIME, timestampUrl: null });
    expect(Buffer.from(await signer.signCms(checksum))).toEqual(Buffer.from(await signer.signCms(checksum)));
  });

  it('CMS with an RFC 3161 token from the TSA, over the signature value, that openssl ts parses and verifies', async () => {
    const tsa = await startTestTsa({ certFile: pki.tsa.cert, keyFile: pki.tsa.key, clock: () => new Date('2026-06-01T12:35:00Z') });
    const signer = createXarSigner(identity, { clock: () => SIGNING_TIME, timestampUrl: tsa.url });
    const cms = await signer.signCms(checksum);
    expect(tsa.requests).toHaveLength(1);
    expect(cms.length).toBeLessThanOrEqual(signer.cmsReserve);
    const info = readSignedData(cms);
    expect(info.timestampToken).toBeDefined();
    expect(info.timestampToken!.length).toBeLessThanOrEqual(TIMESTAMP_TOKEN_ALLOWANCE);
    const sigValue = Buffer.from(info.signedData.signerInfos[0]!.signature.valueBlock.valueHexView);
    const imprint = createHash('sha256').update(sigValue).digest('hex');
    const printed = run('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', file('cms-ts.der', cms)]);
    expect(printed).toMatch(/unsignedAttrs:\s+object: id-smime-aa-timeStampToken \(1\.2\.840\.113549\.1\.9\.16\.2\.14\)/);
    const tsText = run('openssl', ['ts', '-reply', '-token_in', '-in', file('token.der', info.timestampToken), '-text']);
    expect(tsText).toMatch(/Hash Algorithm: sha256/);
    expect(tsText).toMatch(/Time stamp: Jun {2}1 12:35:00 2026 GMT/);
    expect(tsText.replace(/[\s-]/g, '')).toContain(imprint.match(/../g)!.join('').slice(0, 32));
    const tsVerify = tryRun('openssl', ['ts', '-verify', '-token_in', '-in', file('token.der'), '-digest', imprint, '-CAfile', pki.root]);
    expect(tsVerify.stdout + tsVerify.stderr).toMatch(/Verification: OK/);
    run('openssl', ['cms', '-cmsout', '-inform', 'DER', '-in', file('cms-ts.der'), '-outform', 'DER', '-out', file('reenc-ts.der')]);
    expect(readFileSync(file('reenc-ts.der')).equals(Buffer.from(cms))).toBe(true); // still canonical DER
    // The token does not disturb the CMS signature (it is an unsigned attribute).
    const r = tryRun('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', file('cms-ts.der'), '-content', file('checksum.bin'), '-noverify', '-out', file('o2.bin')]);
    expect(r.stderr).toMatch(/Verification successful/);
  });

  it('a TSA that rejects, fails with HTTP 500, or answers for other bytes', async () => {
    const tsa = await startTestTsa({ certFile: pki.tsa.cert, keyFile: pki.tsa.key, clock: () => SIGNING_TIME });
    const signer = createXarSigner(identity, { clock: () => SIGNING_TIME, timestampUrl: tsa.url, timestamp: { sleep: async () => undefined } });
    tsa.mode = 'reject';
    const rejected = await signer.signCms(checksum).then(() => new Error('expected a rejection'), (e: unknown) => e as Error);
    expect(rejected).toBeInstanceOf(RemoteRejection);
    expect(rejected.message).toBe(`time-stamp server ${tsa.url} answered rejection: request rejected by the test TSA (failInfo: badAlg)`);
    tsa.mode = 'http500';
    tsa.requests.length = 0;
    const failed = await signer.signCms(checksum).then(() => new Error('expected a rejection'), (e: unknown) => e as Error);
    expect(failed).toBeInstanceOf(NetworkError);
    expect(failed.message).toBe(`time-stamp server ${tsa.url} answered HTTP 500`);
    expect(tsa.requests).toHaveLength(3);
    tsa.mode = 'wrong-imprint';
    const wrong = await signer.signCms(checksum).then(() => new Error('expected a rejection'), (e: unknown) => e as Error);
    expect(wrong).toBeInstanceOf(RemoteRejection);
    expect(wrong.message).toMatch(/unusable token: token message imprint does not match the request/);
  });

  it('an unreachable TSA is a network error after the retries', async () => {
    const tsa = await startTestTsa({ certFile: pki.tsa.cert, keyFile: pki.tsa.key, clock: () => SIGNING_TIME });
    const url = tsa.url;
    await tsa.close();
    const signer = createXarSigner(identity, { clock: () => SIGNING_TIME, timestampUrl: url, timestamp: { sleep: async () => undefined, retries: 1 } });
    const e = await signer.signCms(checksum).then(() => new Error('expected a rejection'), (err: unknown) => err as Error);
    expect(e).toBeInstanceOf(NetworkError);
    expect(e.message).toMatch(new RegExp(`time-stamp server ${url} could not be reached after 2 attempts`));
  });

  it("cmsReserve: productsign's 9,216 bytes for a Developer ID chain, from the documented formula", async () => {
    const apple = await loadAppleCertificates();
    const leafLike = new Uint8Array(1500); // a Developer ID Installer leaf is ≈ 1.5 KB
    // 1500 + 1090 (G2 CA) + 1215 (Apple Root CA) + 256 + 1024 structure + 4096 token = 9181 → 9 KiB: the
    // <x-signature> size productsign wrote in the Zoom package (reference/pkg-format.md §9: offset 276, size 9216).
    expect([apple.developerIdG2.der.length, apple.appleRoot.der.length]).toEqual([1090, 1215]);
    expect(cmsReserveFor([leafLike, apple.developerIdG2.der, apple.appleRoot.der], 256, true)).toBe(9216);
    expect(cmsReserveFor([leafLike, apple.developerIdG2.der, apple.appleRoot.der], 256, false)).toBe(5 * 1024);
    expect(createXarSigner(identity, { clock: () => SIGNING_TIME }).cmsReserve).toBeGreaterThan(createXarSigner(identity, { clock: () => SIGNING_TIME, timestampUrl: null }).cmsReserve);
    expect(OID.timeStampToken).toBe('1.2.840.113549.1.9.16.2.14');
  });
});

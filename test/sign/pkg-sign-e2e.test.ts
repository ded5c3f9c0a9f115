// A flat package written by src/pkg's xar writer with this signer, read back by readers nobody here wrote:
// bsdtar (TOC checksum), openssl pkeyutl (classic RSA signature), openssl cms (x-signature, chain and timestamp).
import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { beforeAll, expect, it } from 'vitest';
import { writeXar } from '../../src/pkg/xar.js';
import { openXar, readHeapRegion, readSignatureBlobs } from '../../src/pkg/xar-reader.js';
import { trimDer } from '../../src/pkg/xar-signature.js';
import { verifyXar } from '../../src/pkg/xar-verify.js';
import { Secret } from '../../src/secret.js';
import { readSignedData } from '../../src/sign/cms-read.js';
import { loadSigningIdentity, type SigningIdentity } from '../../src/sign/identity.js';
import { createXarSigner } from '../../src/sign/pkg-signer.js';
import { startTestTsa } from '../helpers/servers/tsa.js';
import { getTestPki, TEST_P12_PASSWORD, type TestPki } from '../helpers/test-pki.js';
import { describeWithTools, run, tryRun } from '../helpers/tools.js';

describeWithTools(['openssl', 'bsdtar'], 'signed flat package (xar writer + pkg signer)', () => {
  let pki: TestPki;
  let identity: SigningIdentity;
  let dir: string;

  beforeAll(async () => {
    pki = getTestPki();
    identity = await loadSigningIdentity({ kind: 'p12', file: pki.installer.p12, password: new Secret(TEST_P12_PASSWORD, 'pw') }, { purpose: 'installer', allowUntrusted: true, clock: () => new Date() });
    dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-pkg-e2e-'));
  });

  it('bsdtar lists it, openssl verifies both signatures over the TOC checksum, the TSA token is present', async () => {
    const tsa = await startTestTsa({ certFile: pki.tsa.cert, keyFile: pki.tsa.key, clock: () => new Date() });
    const signer = createXarSigner(identity, { clock: () => new Date(), timestampUrl: tsa.url });
    const pkg = path.join(dir, 'signed.pkg');
    const out = createWriteStream(pkg);
    const result = await writeXar(out, [
      { path: 'Distribution', source: { bytes: Buffer.from('<?xml version="1.0"?><installer-gui-script minSpecVersion="2"/>') }, encoding: 'zlib' },
      { path: 'aiwatch.pkg/Payload', source: { bytes: Buffer.alloc(4096, 7) } },
    ], { signer, creationTime: new Date('2026-01-01T00:00:00Z') });
    out.end();
    await finished(out);
    expect(result.cms!.length).toBeLessThanOrEqual(result.cms!.reserve);
    expect(result.cms!.reserve).toBe(signer.cmsReserve);

    expect(run('bsdtar', ['-tf', pkg]).split('\n')).toEqual(expect.arrayContaining(['Distribution', 'aiwatch.pkg/Payload']));
    expect(await verifyXar(pkg)).toEqual([]);

    const archive = await openXar(pkg);
    const checksum = await readHeapRegion(archive, { offset: 0, size: 20 });
    const ztoc = readFileSync(pkg).subarray(28, archive.heapStart);
    expect(checksum).toEqual(createHash('sha1').update(ztoc).digest());
    expect(checksum).toEqual(result.tocChecksum);
    const blobs = await readSignatureBlobs(archive);
    writeFileSync(path.join(dir, 'checksum.bin'), checksum);
    writeFileSync(path.join(dir, 'rsa.sig'), blobs.rsa!);
    const cms = trimDer(blobs.cms!);
    writeFileSync(path.join(dir, 'cms.der'), cms);
    expect(archive.signature!.certificates.map((c) => Buffer.from(c))).toEqual([pki.installer.certDer, pki.intermediateDer, pki.rootDer]);

    const rsa = run('openssl', ['pkeyutl', '-verify', '-certin', '-inkey', pki.installer.cert, '-pkeyopt', 'digest:sha1', '-in', path.join(dir, 'checksum.bin'), '-sigfile', path.join(dir, 'rsa.sig')]);
    expect(rsa).toMatch(/Signature Verified Successfully/);
    const v = tryRun('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(dir, 'cms.der'), '-content', path.join(dir, 'checksum.bin'),
      '-CAfile', pki.root, '-purpose', 'any', '-ignore_critical', '-out', path.join(dir, 'o.bin')]);
    expect(v.stderr).toMatch(/Verification successful/);
    expect(readSignedData(cms).timestampToken).toBeDefined();
    expect(tsa.requests).toHaveLength(1);
  });
});

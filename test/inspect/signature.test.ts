/**
 * Package signatures as inspect/verify report them, with a PKI made by openssl (test/helpers/test-pki.ts) and the
 * local RFC 3161 TSA: a Developer-ID-Installer-shaped leaf with a timestamp (chain of three, timestamp genTime, TSA
 * name, imprint and token verified), a token that stamps other bytes, a leaf not yet valid at signing time, and a
 * forged "Developer ID" chain that must not be reported as Apple's.
 */
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { writeStreamAtomic } from '../../src/io/fs.js';
import { analyzeXarSignature } from '../../src/read/signature.js';
import { openXar } from '../../src/pkg/xar-reader.js';
import { resignXar, type XarSigner } from '../../src/pkg/xar.js';
import { Secret } from '../../src/secret.js';
import { addUnsignedAttribute, createSignedData, encodeSignedData, signatureValue } from '../../src/sign/cms.js';
import { loadSigningIdentity, type SigningIdentity } from '../../src/sign/identity.js';
import { OID } from '../../src/sign/oids.js';
import { createXarSigner } from '../../src/sign/pkg-signer.js';
import { requestTimestamp } from '../../src/sign/timestamp.js';
import { verifyPkgFile } from '../../src/verify/pkg.js';
import { startTestTsa } from '../helpers/servers/tsa.js';
import { getTestPki, TEST_P12_PASSWORD, type TestPki } from '../helpers/test-pki.js';
import { describeWithTools } from '../helpers/tools.js';
import { buildDemoRelease, cli, tempDir, type DemoRelease } from '../verify/release-fixture.js';

const TS_TIME = new Date('2030-06-01T12:35:00Z');

describeWithTools(['openssl'], 'pkg signatures with a test PKI and a local TSA', () => {
  let pki: TestPki;
  let installer: SigningIdentity;
  let demo: DemoRelease;
  let dir: string;

  const load = (p12: string): Promise<SigningIdentity> =>
    loadSigningIdentity({ kind: 'p12', file: p12, password: new Secret(TEST_P12_PASSWORD, 'pw') }, { purpose: 'installer', allowUntrusted: true, clock: () => new Date() });

  async function signWith(name: string, signer: XarSigner): Promise<string> {
    const out = path.join(dir, name);
    await writeStreamAtomic(out, async (s) => void (await resignXar(demo.pkg, s, signer)));
    return out;
  }

  beforeAll(async () => {
    pki = getTestPki();
    installer = await load(pki.installer.p12);
    demo = await buildDemoRelease();
    dir = tempDir('inspect-sig');
  }, 120_000);

  it('a timestamped Developer-ID-Installer-shaped signature: verifies, timestamp shown, chain of three, not Apple', async () => {
    const tsa = await startTestTsa({ certFile: pki.tsa.cert, keyFile: pki.tsa.key, clock: () => TS_TIME });
    const signed = await signWith('ts.pkg', createXarSigner(installer, { clock: () => new Date(), timestampUrl: tsa.url }));
    const r = await verifyPkgFile(signed, { spec: demo.spec });
    expect(r.problems).toEqual([]);
    const s = r.signature!;
    expect(s.developerIdInstaller).toBe(true);
    expect(s.chainsToApple).toBe(false);
    expect(s.chain.map((c) => c.commonName)).toEqual(['Developer ID Installer: Test Org (TEST123456)', 'Test Developer ID Certification Authority', 'Test Root CA']);
    expect(s.cms?.timestamp).toMatchObject({ genTime: TS_TIME.toISOString(), tsa: 'Test TSA', imprintMatches: true, tokenVerifies: true });
    expect(r.notes).toContain(`signed by "Developer ID Installer: Test Org (TEST123456)", timestamp ${TS_TIME.toISOString()}`);
    const text = (await cli(['inspect', signed])).stdout;
    expect(text).toContain(`Signed with a timestamp on ${TS_TIME.toISOString()} by "Test TSA"`);
    expect(text).toContain('it stamps this signature');
    expect(text).toContain('Developer ID Installer certificate: yes; chain ends at Apple Root CA: no');
  });

  it('a timestamp token over other bytes is reported (it does not stamp this signature)', async () => {
    const tsa = await startTestTsa({ certFile: pki.tsa.cert, keyFile: pki.tsa.key, clock: () => TS_TIME });
    const honest = createXarSigner(installer, { clock: () => new Date(), timestampUrl: null });
    const signer: XarSigner = {
      ...honest,
      cmsReserve: honest.cmsReserve + 8192,
      signCms: async (ck) => {
        const sd = await createSignedData({ privateKey: installer.privateKey, certificates: installer.chain.map((c) => c.der), content: ck, detached: true, signingTime: new Date() });
        addUnsignedAttribute(sd, OID.timeStampToken, (await requestTimestamp(Buffer.from('some other signature'), { url: tsa.url })).token);
        return encodeSignedData(sd);
      },
    };
    const signed = await signWith('wrong-ts.pkg', signer);
    const problems = (await verifyPkgFile(signed, { spec: demo.spec })).problems;
    expect(problems).toEqual([{ where: `${signed}:signature`, message: 'the CMS timestamp token does not time-stamp this signature (its message imprint differs)' }]);
    expect((await cli(['verify', signed])).code).toBe(1);
  });

  it('a timestamp token whose own signature is damaged is reported', async () => {
    const tsa = await startTestTsa({ certFile: pki.tsa.cert, keyFile: pki.tsa.key, clock: () => TS_TIME });
    const honest = createXarSigner(installer, { clock: () => new Date(), timestampUrl: null });
    const signer: XarSigner = {
      ...honest,
      cmsReserve: honest.cmsReserve + 8192,
      signCms: async (ck) => {
        const sd = await createSignedData({ privateKey: installer.privateKey, certificates: installer.chain.map((c) => c.der), content: ck, detached: true, signingTime: new Date() });
        const token = Buffer.from((await requestTimestamp(signatureValue(sd), { url: tsa.url })).token);
        token[token.length - 10] = token[token.length - 10]! ^ 0x01; // inside the TSA's signature value (the token's last field)
        addUnsignedAttribute(sd, OID.timeStampToken, token);
        return encodeSignedData(sd);
      },
    };
    const signed = await signWith('damaged-ts.pkg', signer);
    const problems = (await verifyPkgFile(signed, { spec: demo.spec })).problems;
    expect(problems).toEqual([{ where: `${signed}:signature`, message: "the CMS timestamp token's own signature does not verify" }]);
  });

  it('a signing time outside the leaf\'s validity is a problem', async () => {
    const early = new Date('2001-01-01T00:00:00Z');
    const signed = await signWith('early.pkg', createXarSigner(installer, { clock: () => early, timestampUrl: null }));
    const problems = (await verifyPkgFile(signed, { spec: demo.spec })).problems.map((p) => p.message);
    expect(problems).toEqual([expect.stringMatching(/^the signing certificate "Developer ID Installer: Test Org \(TEST123456\)" was not valid when the package was signed \(2001-01-01T00:00:00\.000Z; valid .+ to .+\)$/)]);
  });

  it('a forged "Developer ID" chain (Apple\'s names and key ids, other keys) is not reported as chaining to Apple', async () => {
    const forged = await load(pki.forgedG2.p12);
    const signed = await signWith('forged.pkg', createXarSigner(forged, { clock: () => new Date(), timestampUrl: null }));
    const s = await analyzeXarSignature(await openXar(signed));
    expect(s.problems).toEqual([]);
    expect(s.chainsToApple).toBe(false);
    expect(s.status).toBe('signed by untrusted certificate (the chain does not end at Apple Root CA)');
  });
});

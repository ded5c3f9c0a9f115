/**
 * Whether a Mach-O code signature's signer is an Apple Developer ID Application (src/sign/binary-trust.ts) and the
 * release check that uses it (src/sign/binary-check.ts). CMS blobs come from `openssl cms -sign` (not our code) and
 * from the demo-binary generator; a throwaway PKI (devid-pki.ts) stands in for Apple's where a positive case is
 * needed, since no test can hold an Apple-issued key.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { buildDemoBinary } from '../../scripts/demo-binary/build.js';
import { FIXTURES_DIR } from '../../src/config/paths.js';
import { checkReleaseBinaryBytes, ReleaseBinaryError, type ReleaseBinarySpec } from '../../src/sign/binary-check.js';
import { parseMachO } from '../../src/macho/macho.js';
import { codeSignerTrust } from '../../src/sign/binary-trust.js';
import { getTestPki } from '../helpers/test-pki.js';
import { describeWithTools } from '../helpers/tools.js';
import { demoSignerOf, getDevIdPki, opensslCms } from './devid-pki.js';

const DEMO = path.join(FIXTURES_DIR, 'demo', 'aiwatch-arm64');
const DEMO_SIGNER = 'aiwatch-deploy DEMO signer (NOT Apple-issued, NOT a Developer ID)';
const cmsOf = (binary: Uint8Array): Uint8Array => parseMachO(binary, { name: 'x' }).slices[0]!.codeSignature!.cms!.der!;
const SPEC: ReleaseBinarySpec = { arch: 'arm64', identifier: 'com.runlayer.aiwatch', teamId: 'AF2M8HC7A2' };

function refusal(data: Uint8Array, spec: Partial<ReleaseBinarySpec> = {}): string[] {
  try {
    checkReleaseBinaryBytes(data, 'aiwatch', { ...SPEC, ...spec });
  } catch (e) {
    if (e instanceof ReleaseBinaryError) return e.problems;
    throw e;
  }
  return [];
}

describeWithTools(['openssl'], 'codeSignerTrust', () => {
  it('the demo binary: a verifiable signature by a self-signed DEMO certificate, not Apple', () => {
    const t = codeSignerTrust(cmsOf(readFileSync(DEMO)));
    expect(t).toMatchObject({ signer: DEMO_SIGNER, signatureVerifies: true, chainsToRoot: false, developerIdApplication: false, trusted: false });
    expect(t.problem).toBe(`is signed by "${DEMO_SIGNER}", a certificate that does not chain to Apple Root CA ("${DEMO_SIGNER}" is self-signed or its issuer is not embedded)`);
  });

  it('a Developer ID Application leaf under the anchor is trusted; the same blob is not under Apple\'s anchors', () => {
    const pki = getDevIdPki();
    const cms = opensslCms(Buffer.from('a CodeDirectory'), pki.application);
    const t = codeSignerTrust(cms, pki.anchors);
    expect(t).toEqual({
      signer: 'Developer ID Application: Test Org (TEST123456)',
      chain: ['Developer ID Application: Test Org (TEST123456)', 'Test Developer ID Certification Authority', 'Test Anchor Root'],
      signatureVerifies: true, chainsToRoot: true, developerIdApplication: true, trusted: true,
    });
    const apple = codeSignerTrust(cms);
    expect(apple.trusted).toBe(false);
    expect(apple.problem).toBe('is signed by "Developer ID Application: Test Org (TEST123456)", a certificate that does not chain to Apple Root CA (its chain ends at "Test Developer ID Certification Authority")');
  });

  it('a leaf without the Developer ID Application marker chains but is not trusted', () => {
    const pki = getDevIdPki();
    const t = codeSignerTrust(opensslCms(Buffer.from('cd'), pki.plainCodeSigning), pki.anchors);
    expect(t).toMatchObject({ chainsToRoot: true, developerIdApplication: false, trusted: false });
    expect(t.problem).toBe('is signed by "Test Code Signing", which chains to Test Anchor Root but is not a Developer ID Application certificate');
  });

  it('an impostor "Developer ID Certification Authority" (Apple\'s subject and key id, another key) is not Apple', () => {
    const forged = getTestPki().forgedG2;
    const dir = getTestPki().dir;
    const cms = opensslCms(Buffer.from('cd'), { key: forged.key, cert: forged.cert, der: forged.certDer }, { ...getDevIdPki(), intermediate: path.join(dir, 'fakeG2.pem') });
    const t = codeSignerTrust(cms);
    expect(t).toMatchObject({ signatureVerifies: true, chainsToRoot: false, trusted: false });
    expect(t.chain).toEqual(['Developer ID Installer: Forged G2 (FORGED0002)', 'Developer ID Certification Authority']);
  });

  it('a signature that does not verify with the leaf key, and a blob that is not CMS, are reported as such', () => {
    const pki = getDevIdPki();
    const cms = Buffer.from(opensslCms(Buffer.from('cd'), pki.application));
    cms[cms.length - 10]! ^= 0x01; // inside the RSA signature value, the last field of the SignerInfo
    const t = codeSignerTrust(cms, pki.anchors);
    expect(t).toMatchObject({ signatureVerifies: false, trusted: false });
    expect(t.problem).toBe('its CMS signature does not verify with the signer certificate\'s key (the signature was forged or damaged)');
    expect(codeSignerTrust(Buffer.from('not cms at all')).problem).toMatch(/^its CMS signature blob cannot be read \(/);
  });
});

describeWithTools(['openssl'], 'the release check and the signer', () => {
  it('refuses the demo binary (not an Apple Developer ID) unless allowUntrustedSigner, and says why in words', () => {
    const demo = readFileSync(DEMO);
    expect(refusal(demo)).toEqual([
      `--binary: is signed by "${DEMO_SIGNER}", a certificate that does not chain to Apple Root CA ("${DEMO_SIGNER}" is self-signed or its issuer is not embedded): ` +
        'on a Mac the PPPC requirement (anchor apple generic …) would never match it and Gatekeeper would refuse it; expected a Developer ID Application signature (a development build says so with --development-build)',
    ]);
    const id = checkReleaseBinaryBytes(demo, 'aiwatch', { ...SPEC, allowUntrustedSigner: true });
    expect(id).toMatchObject({ signature: 'signed', developerId: false });
    expect(id.notDeveloperId).toMatch(/^is signed by "aiwatch-deploy DEMO signer/);
  });

  it('accepts a binary signed by a Developer ID Application under the anchors, and reports it as developerId', () => {
    const pki = getDevIdPki();
    const bin = buildDemoBinary({ arch: 'arm64', teamId: 'TEST123456', signer: demoSignerOf(pki.application) });
    const spec = { ...SPEC, teamId: 'TEST123456', anchors: pki.anchors };
    expect(refusal(bin, spec)).toEqual([]);
    const id = checkReleaseBinaryBytes(bin, 'aiwatch', spec);
    expect(id.developerId).toBe(true);
    expect(id.notDeveloperId).toBeUndefined();
    expect(id.slices[0]!.signerTrust?.chain).toEqual(['Developer ID Application: Test Org (TEST123456)', 'Test Developer ID Certification Authority', 'Test Anchor Root']);
  });

  it('a forged CMS signature is refused even for a development build', () => {
    const pki = getDevIdPki();
    const bin = Buffer.from(buildDemoBinary({ arch: 'arm64', teamId: 'TEST123456', signer: demoSignerOf(pki.application) }));
    const cms = cmsOf(bin);
    const at = bin.indexOf(Buffer.from(cms)) + cms.length - 10;
    bin[at]! ^= 0x01;
    const problems = refusal(bin, { teamId: 'TEST123456', anchors: pki.anchors, allowUntrustedSigner: true, allowUnsigned: true });
    expect(problems).toEqual(['--binary: its CMS signature does not verify with the signer certificate\'s key (the signature was forged or damaged)']);
  });

  it('unsigned and ad-hoc binaries are not developerId either', () => {
    for (const [signature, why] of [['none', 'is unsigned'], ['adhoc', 'is ad-hoc signed (no certificate)']] as const) {
      const id = checkReleaseBinaryBytes(buildDemoBinary({ arch: 'arm64', signature }), 'aiwatch', { ...SPEC, allowUnsigned: true });
      expect(id).toMatchObject({ developerId: false, notDeveloperId: why });
    }
  });
});

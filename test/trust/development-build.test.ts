/**
 * Trust stated loudly: a release whose agent binary is not signed by an Apple Developer ID (the bundled demo binary,
 * signed by a self-signed DEMO certificate) is a DEVELOPMENT BUILD, and every place a person looks says so — the
 * build's warnings (stderr and --json), README.txt in the zip, manifest.json, and `verify`, which fails such a
 * release unless its manifest says it is a development build. The zip's files are read with Info-ZIP's unzip.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { readPkg } from '../../src/read/pkg-read.js';
import type { XarSignatureReport } from '../../src/read/signature.js';
import { buildRelease } from '../../src/release/release.js';
import type { ReleaseManifest } from '../../src/release/release-docs.js';
import { pkgTrustRules } from '../../src/verify/cross-trust.js';
import { buildDemoBinary } from '../../scripts/demo-binary/build.js';
import { demoSignerOf, getDevIdPki } from '../sign/devid-pki.js';
import { describeWithTools, run } from '../helpers/tools.js';
import { refreshDocs, writeZipFile, zipEntries, type ZipFile } from '../verify/release-fixture.js';
import { cli, filesIn, tempDir } from './helpers.js';

const ZIP = 'aiwatch-1.0.0-macos-arm64.zip';
const PKG = 'aiwatch-1.0.0-macos-arm64.pkg';
const INSTALL = '/usr/local/lib/runlayer/aiwatch/aiwatch';
const DEMO_SIGNER = 'aiwatch-deploy DEMO signer (NOT Apple-issued, NOT a Developer ID)';
const DEMO = path.join(import.meta.dirname, '../../fixtures/demo/aiwatch-arm64');
const WARNING = `DEVELOPMENT BUILD: the agent binary is signed by "${DEMO_SIGNER}", not by an Apple Developer ID; the PPPC grant will not match on a Mac (no Full Disk Access) and Gatekeeper may block the agent. Do not deploy this release to production.`;
const NOTE = `DEVELOPMENT BUILD: the agent binary ${INSTALL} is signed by "${DEMO_SIGNER}", not by an Apple Developer ID; the PPPC grant will not match on a Mac`;

describeWithTools(['unzip'], 'build --demo: a development build, said loudly', () => {
  it('succeeds and says so on stderr, in the summary, README.txt, manifest.json and verify', async () => {
    const out = tempDir('dev-demo');
    const r = await cli(['build', '--demo', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`WARNING: ${WARNING}\n`);
    expect(r.stdout.split('\n')[0]).toMatch(/^wrote .*aiwatch-1\.0\.0-macos-arm64\.zip \(DEVELOPMENT BUILD\)$/);
    const zip = path.join(out, ZIP);
    const readme = run('unzip', ['-p', zip, 'README.txt']);
    expect(readme.split('\n')[0]).toBe('aiwatch 1.0.0 for macOS (arm64) -- DEVELOPMENT BUILD, NOT FOR PRODUCTION');
    expect(readme).toContain(`WARNING: ${WARNING}`);
    const manifest = JSON.parse(run('unzip', ['-p', zip, 'manifest.json'])) as ReleaseManifest;
    expect(manifest.developmentBuild).toBe(true);
    expect(manifest.binary).toMatchObject({ signature: 'signed', signer: DEMO_SIGNER, developerId: false });
    expect(manifest.warnings).toEqual([WARNING]);
    const v = await cli(['verify', zip]);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain(`  note: ${NOTE}`);
  });

  it('--json carries the warning in `warnings`, nothing on stderr', async () => {
    const r = await cli(['build', '--demo', '--json', '--out', tempDir('dev-json')]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('DEVELOPMENT BUILD');
    const j = JSON.parse(r.stdout) as { warnings: string[]; manifest: ReleaseManifest };
    expect(j.warnings).toEqual([WARNING]);
    expect(j.manifest.developmentBuild).toBe(true);
  });

  it('the same binary given with --binary is refused (exit 3, nothing written) unless --development-build', async () => {
    const out = tempDir('dev-refused');
    const r = await cli(['build', '--binary', DEMO, '--version', '1.0.0', '--out', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${DEMO}: --binary: is signed by "${DEMO_SIGNER}", a certificate that does not chain to Apple Root CA`);
    expect(r.stderr).toContain('expected a Developer ID Application signature (a development build says so with --development-build)');
    expect(filesIn(out)).toEqual([]);
    const ok = await cli(['build', '--binary', DEMO, '--version', '1.0.0', '--development-build', '--out', out]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain(`WARNING: ${WARNING}`);
    expect(filesIn(out)).toEqual([ZIP]);
  });

  it('an unsigned binary: the warning says unsigned', async () => {
    const bin = path.join(tempDir('dev-unsigned'), 'aiwatch');
    writeFileSync(bin, buildDemoBinary({ arch: 'arm64', signature: 'none' }));
    const r = await cli(['build', '--binary', bin, '--version', '1.0.0', '--development-build', '--out', tempDir('dev-unsigned-out'), '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { warnings: string[] }).warnings).toEqual([
      'DEVELOPMENT BUILD: the agent binary is unsigned, not signed by an Apple Developer ID; the PPPC grant will not match on a Mac (no Full Disk Access) and Gatekeeper may block the agent. Do not deploy this release to production.',
    ]);
  });
});

describe('verify: a non-Developer-ID agent binary is a problem unless the release says "development build"', () => {
  async function variant(change: (m: Record<string, unknown>) => void): Promise<string> {
    const out = tempDir('dev-variant');
    const r = await cli(['build', '--demo', '--out', out]);
    expect(r.code).toBe(0);
    const entries: Map<string, ZipFile> = await zipEntries(path.join(out, ZIP));
    const m = JSON.parse(entries.get('manifest.json')!.data.toString('utf8')) as Record<string, unknown>;
    change(m);
    entries.get('manifest.json')!.data = Buffer.from(JSON.stringify(m));
    refreshDocs(entries);
    return writeZipFile(tempDir('dev-variant-zip'), ZIP, entries);
  }
  const where = (zip: string): string => `${zip}:${PKG}:aiwatch.pkg/Payload:./usr/local/lib/runlayer/aiwatch/aiwatch`;
  const problem = `is signed by "${DEMO_SIGNER}", a certificate that does not chain to Apple Root CA ("${DEMO_SIGNER}" is self-signed or its issuer is not embedded), and the release does not say it is a development build (manifest.json developmentBuild is not true): on a Mac the PPPC grant would never match it and Gatekeeper would refuse it; sign it with a Developer ID Application certificate, or rebuild with --development-build`;

  it('developmentBuild false (or absent, as before issue 9): exit 1 naming the binary and the signer', async () => {
    for (const change of [(m: Record<string, unknown>) => void (m.developmentBuild = false), (m: Record<string, unknown>) => void delete m.developmentBuild]) {
      const zip = await variant(change);
      const v = await cli(['verify', '--json', zip]);
      expect(v.code).toBe(1);
      const problems = (JSON.parse(v.stdout) as { files: Array<{ problems: Array<{ where: string; message: string }> }> }).files[0]!.problems;
      expect(problems).toContainEqual({ where: where(zip), message: problem });
    }
  });

  it('a manifest whose binary.developerId lies is a problem; so is a developmentBuild that is not a boolean', async () => {
    const zip = await variant((m) => {
      (m.binary as Record<string, unknown>).developerId = true;
      m.developmentBuild = 'yes';
    });
    const v = await cli(['verify', zip]);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain('manifest.json: binary.developerId is true, but the agent binary /usr/local/lib/runlayer/aiwatch/aiwatch is signed by');
    expect(v.stdout).toContain('manifest.json: developmentBuild is "yes", expected true or false');
  });
});

describe('a package verified on its own', () => {
  it('the demo pkg (unsigned): exit 0 with a DEVELOPMENT BUILD note', async () => {
    const out = tempDir('dev-pkg');
    expect((await cli(['build', '--demo', '--out', out])).code).toBe(0);
    const pkg = path.join(out, PKG);
    writeFileSync(pkg, (await zipEntries(path.join(out, ZIP))).get(PKG)!.data);
    const v = await cli(['verify', pkg]);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain(`note: ${NOTE} (a development build; the package is not signed by an Apple Developer ID Installer either)`);
  });

  it('signed for distribution (an Apple Developer ID Installer chain) with a DEMO-signed agent: a problem', async () => {
    const out = tempDir('dev-pkg-dist');
    expect((await cli(['build', '--demo', '--out', out])).code).toBe(0);
    const pkg = path.join(out, PKG);
    writeFileSync(pkg, (await zipEntries(path.join(out, ZIP))).get(PKG)!.data);
    const contents = await readPkg(pkg);
    // No test can hold an Apple-issued Installer key: the signature report is stated, the rule is what is tested.
    const apple = { signed: true, chainsToApple: true, developerIdInstaller: true } as XarSignatureReport;
    const r = pkgTrustRules(pkg, contents, apple, loadDefaultSpec());
    expect(r.notes).toEqual([]);
    expect(r.problems).toEqual([{
      where: `${pkg}:aiwatch.pkg/Payload:./usr/local/lib/runlayer/aiwatch/aiwatch`,
      message: `is signed by "${DEMO_SIGNER}", a certificate that does not chain to Apple Root CA ("${DEMO_SIGNER}" is self-signed or its issuer is not embedded), yet the package is signed for distribution by an Apple Developer ID Installer: on a Mac the PPPC grant would never match the agent; sign the binary with a Developer ID Application certificate before packaging`,
    }]);
  });
});

describeWithTools(['openssl'], 'a binary signed by a Developer ID Application (a stand-in PKI as the anchor)', () => {
  it('is no development build: no warning, developmentBuild false, README without the banner', async () => {
    const pki = getDevIdPki();
    const dir = tempDir('dev-devid');
    const bin = path.join(dir, 'aiwatch');
    writeFileSync(bin, buildDemoBinary({ arch: 'arm64', teamId: 'TEST123456', signer: demoSignerOf(pki.application) }));
    const spec = { ...loadDefaultSpec(), teamId: 'TEST123456' };
    const r = await buildRelease({ spec, version: '1.0.0', arch: 'arm64', binary: bin, outDir: dir, epoch: 1700000000, builderVersion: 'test', anchors: pki.anchors });
    expect(r.manifest.developmentBuild).toBe(false);
    expect(r.manifest.binary.developerId).toBe(true);
    expect(r.manifest.warnings).toEqual([]);
    const readme = (await zipEntries(r.zip)).get('README.txt')!.data.toString('utf8');
    expect(readme.split('\n')[0]).toBe('aiwatch 1.0.0 for macOS (arm64)');
    expect(readme).not.toContain('DEVELOPMENT');
    // --development-build does not make a Developer ID build a development build: it only permits one.
    const again = await buildRelease({ spec, version: '1.0.0', arch: 'arm64', binary: bin, outDir: tempDir('dev-devid2'), epoch: 1700000000, builderVersion: 'test', anchors: pki.anchors, developmentBuild: true });
    expect(again.manifest.developmentBuild).toBe(false);
    expect(readFileSync(again.zip).equals(readFileSync(r.zip))).toBe(true);
  });
});

/**
 * Cross-artifact rules of a release zip, each planted fault in an otherwise consistent release (manifest.json and
 * SHA256SUMS refreshed, so the zip's bookkeeping is right and only the cross rule can catch it): PPPC path ≠ payload
 * binary, binary team ≠ PPPC team, a launchd label outside the login-items prefix, identifiers that disagree, the
 * uninstall script removing other files than the payload's, the cleanup script naming a payload file. Packages are
 * rebuilt with buildFlatPackage from a changed spec or another demo binary.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentSpec } from '../../src/config/spec-types.js';
import { requirementPins } from '../../src/verify/cross.js';
import { shUnquote } from '../../src/verify/cross-scripts.js';
import { verifyReleaseZip } from '../../src/verify/zip.js';
import { buildRelease } from '../../src/release/release.js';
import { buildDemoBinary } from '../../scripts/demo-binary/build.js';
import { buildDemoRelease, buildPkg, cli, PKG_NAME, refreshDocs, tempDir, writeZipFile, ZIP_NAME, type DemoRelease, type ZipFile } from './release-fixture.js';

let demo: DemoRelease;
let dir: string;

beforeAll(async () => {
  demo = await buildDemoRelease();
  dir = tempDir('verify-cross');
}, 60_000);

const PPPC = 'com.runlayer.aiwatch.pppc.mobileconfig';
const TCC_ENTRY = `${PPPC}:PayloadContent[0].Services.SystemPolicyAllFiles[0]`;
const INSTALL = '/usr/local/lib/runlayer/aiwatch/aiwatch';

async function problemsOf(file: string): Promise<Array<[string, string]>> {
  const problems = await verifyReleaseZip(file, { spec: demo.spec, env: process.env, note: () => undefined });
  return problems.map((p) => [p.where.startsWith(`${file}:`) ? p.where.slice(file.length + 1) : p.where, p.message]);
}

/** The demo release with `fn` applied to its entries, manifest.json and SHA256SUMS refreshed. */
async function variant(name: string, fn: (e: Map<string, ZipFile>) => void | Promise<void>): Promise<string> {
  const entries = new Map([...demo.entries].map(([k, v]) => [k, { data: Buffer.from(v.data), mode: v.mode }]));
  await fn(entries);
  refreshDocs(entries);
  const sub = path.join(dir, name);
  mkdirSync(sub, { recursive: true });
  return writeZipFile(sub, ZIP_NAME, entries);
}

function replaceText(e: Map<string, ZipFile>, name: string, from: string | RegExp, to: string): void {
  const before = e.get(name)!.data.toString('utf8');
  const after = before.replace(from, to);
  if (after === before) throw new Error(`${name}: nothing replaced`);
  e.get(name)!.data = Buffer.from(after);
}

async function withPkg(e: Map<string, ZipFile>, name: string, spec: DeploymentSpec, binary: Buffer): Promise<void> {
  const bin = path.join(dir, `${name}-binary`);
  writeFileSync(bin, binary);
  e.get(PKG_NAME)!.data = Buffer.from(readFileSync(await buildPkg(path.join(dir, `${name}.pkg`), spec, bin)));
}

describe('cross-artifact rules', () => {
  it('the demo release passes, and rebuilding its pkg from the same inputs changes nothing', async () => {
    const same = await variant('rebuilt', (e) => withPkg(e, 'rebuilt', demo.spec, buildDemoBinary({ arch: 'arm64' })));
    expect(await problemsOf(same)).toEqual([]);
  });

  it('PPPC Identifier path ≠ the payload binary path', async () => {
    const bad = await variant('pppc-path', (e) => replaceText(e, PPPC, `<string>${INSTALL}</string>`, '<string>/usr/local/bin/aiwatch</string>'));
    expect(await problemsOf(bad)).toEqual([
      [`${TCC_ENTRY}.Identifier`, `"/usr/local/bin/aiwatch" is not a program the package installs (payload programs: ${INSTALL}): the grant applies to nothing aiwatch runs`],
    ]);
    const r = await cli(['verify', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${PPPC}:PayloadContent[0].Services.SystemPolicyAllFiles[0].Identifier: "/usr/local/bin/aiwatch" is not a program the package installs`);
  });

  it('the payload binary is signed by another team than the PPPC requirement (and the manifest) pins', async () => {
    const bad = await variant('team', (e) => withPkg(e, 'team', demo.spec, buildDemoBinary({ arch: 'arm64', teamId: 'ZZ9ZZ9ZZ9Z' })));
    expect(await problemsOf(bad)).toEqual([
      [`${TCC_ENTRY}.CodeRequirement`, `pins team AF2M8HC7A2, but the payload binary ${INSTALL} is signed by team ZZ9ZZ9ZZ9Z: macOS will not grant it SystemPolicyAllFiles`],
      ['manifest.json', 'team differs: manifest identifiers "AF2M8HC7A2", manifest binary "AF2M8HC7A2", payload binary "ZZ9ZZ9ZZ9Z"'],
    ]);
  });

  it('the payload binary has another signing identifier than the PPPC requirement pins', async () => {
    const bad = await variant('ident', (e) => withPkg(e, 'ident', demo.spec, buildDemoBinary({ arch: 'arm64', identifier: 'com.example.other' })));
    expect(await problemsOf(bad)).toEqual([
      [`${TCC_ENTRY}.CodeRequirement`, `pins identifier "com.runlayer.aiwatch", but the payload binary ${INSTALL} is signed as "com.example.other": macOS will not grant it SystemPolicyAllFiles`],
      ['manifest.json', 'signing identifier differs: manifest identifiers "com.runlayer.aiwatch", manifest binary "com.runlayer.aiwatch", payload binary "com.example.other"'],
    ]);
  });

  it('a PPPC requirement pinning another team than the binary and the manifest (the profile check agrees)', async () => {
    const bad = await variant('pppc-team', (e) => replaceText(e, PPPC, 'certificate leaf[subject.OU] = AF2M8HC7A2', 'certificate leaf[subject.OU] = ZZ9ZZ9ZZ9Z'));
    const problems = await problemsOf(bad);
    expect(problems).toContainEqual([`${TCC_ENTRY}.CodeRequirement`, 'pins team ZZ9ZZ9ZZ9Z, the manifest\'s team is AF2M8HC7A2']);
    expect(problems).toContainEqual([`${TCC_ENTRY}.CodeRequirement`, `pins team ZZ9ZZ9ZZ9Z, but the payload binary ${INSTALL} is signed by team AF2M8HC7A2: macOS will not grant it SystemPolicyAllFiles`]);
    expect(problems.filter(([w]) => w === `${TCC_ENTRY}.CodeRequirement`)).toHaveLength(3); // + the profile verifier's own designated-requirement rule
  });

  it('a development build (ad-hoc binary, --development-build) passes; the PPPC mismatch and the development build are notes', async () => {
    const bin = path.join(dir, 'adhoc-aiwatch');
    writeFileSync(bin, buildDemoBinary({ arch: 'arm64', signature: 'adhoc' }));
    const out = path.join(dir, 'dev');
    mkdirSync(out, { recursive: true });
    const r = await buildRelease({ spec: demo.spec, version: '1.0.0', arch: 'arm64', binary: bin, outDir: out, epoch: 1700000000, builderVersion: '0.1.0', developmentBuild: true, gzipWorkers: 0 });
    const notes: string[] = [];
    expect(await verifyReleaseZip(r.zip, { spec: demo.spec, env: process.env, note: (n) => notes.push(n) })).toEqual([]);
    expect(notes).toContain(`${r.zip}:${TCC_ENTRY}: the payload binary ${INSTALL} is adhoc, so the CodeRequirement cannot match it (development build)`);
    expect(notes).toContain(`DEVELOPMENT BUILD: the agent binary ${INSTALL} is ad-hoc signed, not signed by an Apple Developer ID; the PPPC grant will not match on a Mac`);
  });

  it('a launchd label outside the login-items LabelPrefix (pkg rebuilt from a spec with a renamed unit)', async () => {
    const units = demo.spec.units.map((u) =>
      u.label === 'com.runlayer.aiwatch' ? { ...u, label: 'com.example.scan', plistPath: '/Library/LaunchAgents/com.example.scan.plist', plist: { ...u.plist, Label: 'com.example.scan' } } : u,
    );
    const bad = await variant('label', (e) => withPkg(e, 'label', { ...demo.spec, units }, buildDemoBinary({ arch: 'arm64' })));
    const where = `${PKG_NAME}:aiwatch.pkg/Payload:./Library/LaunchAgents/com.example.scan.plist`;
    expect(await problemsOf(bad)).toEqual([
      [where, 'launchd label "com.example.scan" is not covered by com.runlayer.aiwatch.loginitems.mobileconfig (rules: LabelPrefix com.runlayer.aiwatch): macOS 13+ announces it as a background item the user can turn off'],
      [where, 'launchd label "com.example.scan" does not start with the manifest\'s labelPrefix "com.runlayer.aiwatch"'],
      ['uninstall-aiwatch.sh', 'does not remove /Library/LaunchAgents/com.example.scan.plist, which the package installs'],
      ['uninstall-aiwatch.sh', 'removes /Library/LaunchAgents/com.runlayer.aiwatch.plist, which the package does not install'],
      ['uninstall-aiwatch.sh', 'does not boot out the agent com.example.scan from the gui domain'],
      ['uninstall-aiwatch.sh', 'boots out com.runlayer.aiwatch, which the package does not install'],
      ['aiwatch-doctor.sh', 'does not check the launchd agent com.example.scan, which the package installs'],
      ['aiwatch-doctor.sh', 'checks the launchd job com.runlayer.aiwatch, which the package does not install'],
    ]);
  });

  it('a login-items rule that covers none of the labels', async () => {
    const bad = await variant('prefix', (e) => replaceText(e, 'com.runlayer.aiwatch.loginitems.mobileconfig', '<string>LabelPrefix</string>\n\t\t\t\t\t\t<key>RuleValue</key>\n\t\t\t\t\t\t<string>com.runlayer.aiwatch</string>', '<string>LabelPrefix</string>\n\t\t\t\t\t\t<key>RuleValue</key>\n\t\t\t\t\t\t<string>com.runlayer.agent</string>'));
    const problems = await problemsOf(bad);
    expect(problems.map(([, m]) => m.replace(/"[^"]+" is not covered/, '"…" is not covered'))).toEqual(Array(3).fill('launchd label "…" is not covered by com.runlayer.aiwatch.loginitems.mobileconfig (rules: LabelPrefix com.runlayer.agent): macOS 13+ announces it as a background item the user can turn off'));
  });

  it('identifiers that disagree: manifest package identifier and version, manifest pkg.signed', async () => {
    const bad = await variant('ids', (e) => {
      replaceText(e, 'manifest.json', '"packageIdentifier": "com.runlayer.aiwatch.pkg"', '"packageIdentifier": "com.runlayer.agent.pkg"');
      replaceText(e, 'manifest.json', '"version": "1.0.0"', '"version": "1.0.1"');
      replaceText(e, 'manifest.json', '"signed": false', '"signed": true');
    });
    expect(await problemsOf(bad)).toEqual([
      ['manifest.json', 'package identifier differs: manifest "com.runlayer.agent.pkg", PackageInfo "com.runlayer.aiwatch.pkg", Distribution pkg-ref "com.runlayer.aiwatch.pkg", Distribution product "com.runlayer.aiwatch.pkg"'],
      ['manifest.json', 'version differs: manifest "1.0.1", PackageInfo "1.0.0", Distribution pkg-ref "1.0.0", Distribution product "1.0.0"'],
      ['manifest.json', 'pkg.signed is true, but the package is not signed'],
    ]);
  });

  it('an uninstall script that misses a payload file and removes a foreign one; a cleanup script naming a payload file', async () => {
    const bad = await variant('scripts', (e) => {
      replaceText(e, 'uninstall-aiwatch.sh', `remove_file "$VOL"'${INSTALL}'\n`, `remove_file "$VOL"'/usr/local/bin/aiwatch'\n`);
      replaceText(e, 'cleanup-runlayer-scan.sh', "LEGACY_WRAPPER='/usr/local/bin/runlayer-scan'", `LEGACY_WRAPPER='${INSTALL}'`);
    });
    expect(await problemsOf(bad)).toEqual([
      ['uninstall-aiwatch.sh', `does not remove ${INSTALL}, which the package installs`],
      ['uninstall-aiwatch.sh', 'removes /usr/local/bin/aiwatch, which the package does not install'],
      ['cleanup-runlayer-scan.sh', `names ${INSTALL}, which the aiwatch package installs: the legacy cleanup must never touch it`],
    ]);
  });
});

describe('helpers of the cross rules', () => {
  it('requirementPins reads quoted and bare identifier/team, with escapes', () => {
    expect(requirementPins('identifier "com.x.y" and anchor apple generic and certificate leaf[subject.OU] = AF2M8HC7A2')).toEqual({ identifier: 'com.x.y', team: 'AF2M8HC7A2' });
    expect(requirementPins('identifier com.x and certificate leaf[subject.OU] = "A\\"B"')).toEqual({ identifier: 'com.x', team: 'A"B' });
    expect(requirementPins('anchor apple')).toEqual({});
  });

  it('shUnquote joins single-quoted pieces and backslash escapes, and refuses anything with expansions', () => {
    expect(shUnquote("'/a b/c'")).toBe('/a b/c');
    expect(shUnquote("'it'\\''s'")).toBe("it's");
    expect(shUnquote('"$HOME"')).toBeUndefined();
    expect(shUnquote("'unterminated")).toBeUndefined();
  });
});

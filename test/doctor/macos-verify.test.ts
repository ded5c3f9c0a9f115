/**
 * The macOS doctor scripts in a release zip: the demo release carries them (roles doctor-script,
 * jamf-extension-attribute, intune-attribute; 0755; listed in SHA256SUMS and the README), and verify's cross rule
 * (src/verify/cross-doctor-macos.ts) catches a doctor that checks another binary, receipt, identity, launchd job
 * or profile than the release ships. Each fault is planted in an otherwise consistent zip (manifest.json and
 * SHA256SUMS refreshed), so only the cross rule can see it.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { DOCTOR_SCRIPT_NAME, INTUNE_ATTRIBUTE_SCRIPT_NAME, JAMF_EA_SCRIPT_NAME } from '../../src/doctor/doctor-macos.js';
import type { ReleaseManifest } from '../../src/release/release-docs.js';
import { verifyReleaseZip } from '../../src/verify/zip.js';
import { buildDemoRelease, refreshDocs, tempDir, writeZipFile, ZIP_NAME, type DemoRelease, type ZipFile } from '../verify/release-fixture.js';

let demo: DemoRelease;
let dir: string;
beforeAll(async () => {
  demo = await buildDemoRelease();
  dir = tempDir('doctor-verify');
}, 120_000);

async function problemsOf(file: string): Promise<Array<[string, string]>> {
  const problems = await verifyReleaseZip(file, { spec: demo.spec, env: process.env, note: () => undefined });
  return problems.map((p) => [p.where.startsWith(`${file}:`) ? p.where.slice(file.length + 1) : p.where, p.message]);
}

async function variant(name: string, fn: (e: Map<string, ZipFile>) => void): Promise<string> {
  const entries = new Map([...demo.entries].map(([k, v]) => [k, { data: Buffer.from(v.data), mode: v.mode }]));
  fn(entries);
  refreshDocs(entries);
  const sub = path.join(dir, name);
  mkdirSync(sub, { recursive: true });
  return writeZipFile(sub, ZIP_NAME, entries);
}

function replaceAll(e: Map<string, ZipFile>, from: string, to: string): void {
  for (const name of [DOCTOR_SCRIPT_NAME, JAMF_EA_SCRIPT_NAME, INTUNE_ATTRIBUTE_SCRIPT_NAME]) {
    const before = e.get(name)!.data.toString('utf8');
    if (!before.includes(from)) throw new Error(`${name}: no ${from}`);
    e.get(name)!.data = Buffer.from(before.split(from).join(to));
  }
}

it('the release carries the three scripts, 0755, with their roles and a README line; verify finds nothing', async () => {
  const m = JSON.parse(demo.entries.get('manifest.json')!.data.toString('utf8')) as ReleaseManifest;
  const roles = Object.fromEntries(m.files.map((f) => [f.name, [f.role, f.mode]]));
  expect(roles[DOCTOR_SCRIPT_NAME]).toEqual(['doctor-script', 0o755]);
  expect(roles[JAMF_EA_SCRIPT_NAME]).toEqual(['jamf-extension-attribute', 0o755]);
  expect(roles[INTUNE_ATTRIBUTE_SCRIPT_NAME]).toEqual(['intune-attribute', 0o755]);
  expect(demo.entries.get(DOCTOR_SCRIPT_NAME)!.data.toString('utf8')).toMatch(/^#!\/bin\/sh\n# aiwatch-doctor\.sh: /);
  const readme = demo.entries.get('README.txt')!.data.toString('utf8');
  expect(readme).toContain(`To check a Mac: ${DOCTOR_SCRIPT_NAME} (as root; --json, --bundle FILE for a redacted support bundle).`);
  expect(readme).toContain(`Inventory: ${JAMF_EA_SCRIPT_NAME} (Jamf Pro extension attribute), ${INTUNE_ATTRIBUTE_SCRIPT_NAME} (Intune custom attribute).`);
  expect(await problemsOf(path.join(demo.dir, ZIP_NAME))).toEqual([]);
});

it('a doctor for another binary path, receipt, identifier, team, job or profile: each problem once, at the doctor', async () => {
  const zip = await variant('drift', (e) => {
    replaceAll(e, "INSTALL_PATH='/usr/local/lib/runlayer/aiwatch/aiwatch'", "INSTALL_PATH='/usr/local/bin/aiwatch'");
    replaceAll(e, "PACKAGE_ID='com.runlayer.aiwatch.pkg'", "PACKAGE_ID='com.runlayer.aiwatch.staging.pkg'");
    replaceAll(e, "TEAM_ID='AF2M8HC7A2'", "TEAM_ID='ZZZZZZZZZZ'");
    replaceAll(e, "PPPC_PROFILE='com.runlayer.aiwatch.pppc'", "PPPC_PROFILE='com.example.pppc'");
    replaceAll(e, "  check_unit 'agent' 'com.runlayer.aiwatch.enroll' '/Library/LaunchAgents/com.runlayer.aiwatch.enroll.plist'\n", "  check_unit 'daemon' 'com.runlayer.aiwatch.enroll' '/Library/LaunchDaemons/com.runlayer.aiwatch.enroll.plist'\n  check_unit 'agent' 'com.runlayer.aiwatch.extra' '/Library/LaunchAgents/com.runlayer.aiwatch.extra.plist'\n");
  });
  const problems = await problemsOf(zip);
  expect(problems.filter(([w]) => w !== DOCTOR_SCRIPT_NAME)).toEqual([]);
  {
    expect(problems.map(([, m]) => m)).toEqual([
      'checks the binary /usr/local/bin/aiwatch, which the package does not install (/usr/local/lib/runlayer/aiwatch/aiwatch)',
      'reads the receipt "com.runlayer.aiwatch.staging.pkg", but the package identifier is "com.runlayer.aiwatch.pkg"',
      'expects the team ZZZZZZZZZZ, the manifest says AF2M8HC7A2',
      'looks for the PPPC profile com.example.pppc, but com.runlayer.aiwatch.pppc.mobileconfig is com.runlayer.aiwatch.pppc',
      'checks com.runlayer.aiwatch.enroll as daemon /Library/LaunchDaemons/com.runlayer.aiwatch.enroll.plist; the package installs it as agent /Library/LaunchAgents/com.runlayer.aiwatch.enroll.plist',
      'checks the launchd job com.runlayer.aiwatch.extra, which the package does not install',
    ]);
  }
});

it('a doctor that does not check a job the package installs, and a script that is not ours', async () => {
  const zip = await variant('missing-unit', (e) => {
    replaceAll(e, "  check_unit 'daemon' 'com.runlayer.aiwatch.bootstrap' '/Library/LaunchDaemons/com.runlayer.aiwatch.bootstrap.plist'\n", '');
    e.get(INTUNE_ATTRIBUTE_SCRIPT_NAME)!.data = Buffer.from('#!/bin/sh\necho "1.0.0; healthy"\n');
  });
  const problems = await problemsOf(zip);
  expect(problems).toContainEqual([DOCTOR_SCRIPT_NAME, 'does not check the launchd daemon com.runlayer.aiwatch.bootstrap, which the package installs']);
  expect(problems).toContainEqual([
    INTUNE_ATTRIBUTE_SCRIPT_NAME,
    'not recognised as the doctor script aiwatch-deploy renders (no INSTALL_PATH, IDENTIFIER, TEAM_ID, PACKAGE_ID, PPPC_PROFILE, LOGIN_ITEMS_PROFILE, check_unit lines): what it checks cannot be compared with the package',
  ]);
});

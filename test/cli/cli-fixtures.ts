/**
 * A working folder with valid inputs for every command (a demo pkg, a profile, the demo binary, a key file, a
 * tenants CSV, an App Store Connect key, an existing output folder) and, per command, otherwise-valid arguments that
 * act when the command runs. Shared by the parse-then-act table and the secret sweep.
 */
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import yargs from 'yargs';
import { commands } from '../../src/cli/commands/all.js';
import { FIXTURES_DIR } from '../../src/config/paths.js';
import { getTestPki, type TestPki } from '../helpers/test-pki.js';
import { run as runTool } from '../helpers/tools.js';
import { cli, tempDir } from './cli-helpers.js';

export const HOST = ['--host', 'https://acme.runlayer.com'];
/** The existing output folder inside the workspace (holds keep.txt). */
export const OUT = 'out-existing';
/** The key in the workspace's org.key and tenants.csv. */
export const WORKSPACE_ORG_KEY = 'rl_org_WORKSPACEsecretKey';

/** Built (or found) in the real temporary folder: the argument tables name its files. */
export const pki: TestPki = getTestPki();

/** The demo binary is not Apple-signed: a build of it says it is a development build, where build has that flag. */
export const DEMO = ['--demo', ...((commands.find((c) => c.command === 'build')!.builder(yargs([])) as unknown as { getOptions: () => { key: Record<string, boolean> } }).getOptions().key['development-build'] ? ['--development-build'] : [])];

/** The first word of a command string: `verify <files..>` → `verify`. */
export const commandName = (c: { command: string }): string => c.command.split(' ')[0]!;

/** Otherwise-valid arguments per command, relative to the workspace: each would act if the command ran. */
export function validArgs(): Record<string, string[]> {
  return {
    build: [...DEMO, '--out', OUT],
    profiles: ['--out', OUT],
    tenant: [...HOST, '--org-api-key-file', 'org.key', '--out', `${OUT}/t.mobileconfig`],
    tenants: ['--csv', 'tenants.csv', '--out', OUT],
    verify: ['in.mobileconfig'],
    inspect: ['aiwatch.pkg'],
    intune: [...HOST, '--org-api-key-file', 'org.key', '--out', `${OUT}/intune`],
    'sign-pkg': ['aiwatch.pkg', '--out', `${OUT}/signed.pkg`, '--key', pki.installer.key, '--cert', pki.installer.cert, '--chain', pki.chain, '--allow-untrusted', '--no-timestamp'],
    'sign-profile': ['in.mobileconfig', '--out', `${OUT}/signed.mobileconfig`, '--key', pki.codeSigning.key, '--cert', pki.codeSigning.cert],
    'sign-binary': ['aiwatch', '--out', `${OUT}/aiwatch`, '--p12', pki.codeSigning.p12, '--p12-password-file', pki.passwordFile, '--allow-untrusted', '--no-timestamp'],
    notarize: ['aiwatch.pkg', '--api-key', 'AuthKey_ABCDE12345.p8', '--api-key-id', 'ABCDE12345', '--api-issuer', '69a6de70-03db-47e3-e053-5b8c7c11a4d1', '--notary-url', 'https://127.0.0.1:9/notary/v2', '--timeout', '5s'],
    staple: ['aiwatch.pkg', '--out', `${OUT}/stapled.pkg`, '--ticket-url', 'https://127.0.0.1:9/'],
    'cleanup-script': ['--out', `${OUT}/cleanup.sh`],
    'uninstall-script': ['--out', `${OUT}/uninstall.sh`],
    plan: ['rollout.yaml', '--parallel', '2'],
    apply: ['rollout.yaml', '--parallel', '2'],
    status: ['rollout.yaml', '--parallel', '2'],
    'fleet-gitops': ['--release', 'release.zip', ...HOST, '--out', `${OUT}/fleet`],
  };
}

/** A fresh workspace folder (named after `prefix`) holding every input of validArgs(). */
export async function makeWorkspace(prefix: string): Promise<string> {
  const dir = tempDir(prefix);
  const work = tempDir(`${prefix}-inputs`);
  const built = await cli(['build', ...DEMO, '--out', work]);
  if (built.code !== 0) throw new Error(built.stderr);
  runTool('unzip', ['-q', path.join(work, 'aiwatch-1.0.0-macos-arm64.zip'), '-d', path.join(work, 'zip')]);
  copyFileSync(path.join(work, 'zip/aiwatch-1.0.0-macos-arm64.pkg'), path.join(dir, 'aiwatch.pkg'));
  copyFileSync(path.join(work, 'zip/com.runlayer.aiwatch.pppc.mobileconfig'), path.join(dir, 'in.mobileconfig'));
  copyFileSync(path.join(FIXTURES_DIR, 'demo/aiwatch-arm64'), path.join(dir, 'aiwatch'));
  // plan/apply: the release zip and a rollout file whose one target is a local port nothing answers on.
  copyFileSync(path.join(work, 'aiwatch-1.0.0-macos-arm64.zip'), path.join(dir, 'release.zip'));
  writeFileSync(path.join(dir, 'rollout.yaml'), 'release: { zip: release.zip }\ntargets:\n  - name: acme\n    mdm: jamf\n    url: http://127.0.0.1:9\n    testServer: true\n    credentials: { clientId: aiwatch, clientSecret: { file: org.key } }\n    tenant: { Host: "https://acme.runlayer.com", OrgApiKey: { file: org.key } }\n    scope: { group: All Macs }\n');
  writeFileSync(path.join(dir, 'org.key'), `${WORKSPACE_ORG_KEY}\n`, { mode: 0o600 });
  writeFileSync(path.join(dir, 'tenants.csv'), `name,host,org-api-key\nacme,https://acme.runlayer.com,${WORKSPACE_ORG_KEY}\n`, { mode: 0o600 });
  const p8 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  writeFileSync(path.join(dir, 'AuthKey_ABCDE12345.p8'), p8, { mode: 0o600 });
  mkdirSync(path.join(dir, OUT));
  writeFileSync(path.join(dir, OUT, 'keep.txt'), 'an earlier file\n');
  rmSync(work, { recursive: true, force: true });
  return dir;
}

/**
 * Secrets survive mistakes: every command's error paths, with secrets planted where a hurried user puts them — a
 * key as a positional, as the value of an unknown or a real flag (`--host rl_org_…`, `--spec rl_org_…`), a key or a
 * password typed where its file belongs (`--org-api-key-file rl_org_…`, `--p12-password-file <password>`), the
 * refused `--org-api-key`/`--p12-password`, a wrong or malformed secret in the environment — run with and without
 * --json. stdout and stderr are searched for each planted value (and its distinctive middle): 0 hits. Messages
 * still say what was wrong (the masked form, the flag), and an empty key or password says so.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/all.js';
import { cli } from './cli-helpers.js';
import { commandName, makeWorkspace, OUT, pki, validArgs } from './cli-fixtures.js';

const ORG = 'rl_org_SWEEPorgSecret1';
const ENROLL = 'rl_enroll_SWEEPenrollSecret2';
/** A password typed where the name of its file belongs. */
const PASSWORD = 'SweepPassw0rd-typed';
/** A password in the environment (wrong for the test identities). */
const ENV_PASSWORD = 'EnvPassw0rd-wrong';
const PLANTED = [ORG, ENROLL, PASSWORD, ENV_PASSWORD, 'SWEEPorgSecret1', 'SWEEPenrollSecret2', 'Passw0rd-typed', 'Passw0rd-wrong'];

let cwd: string;
beforeAll(async () => {
  cwd = await makeWorkspace('secret-sweep');
  writeFileSync(path.join(cwd, 'empty.key'), '');
  writeFileSync(path.join(cwd, 'empty.pw'), '\n');
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

interface Sweep {
  name: string;
  argv: string[];
  env?: NodeJS.ProcessEnv;
  /** What the message must still say (the masked value or the flag), so a silent run cannot pass. */
  says?: RegExp;
}

/** The placements tried on every command (`args`: its otherwise-valid arguments). */
function placements(name: string, args: string[]): Sweep[] {
  const at = (flag: string): string[] => {
    const i = args.indexOf(flag);
    return i < 0 ? args : [...args.slice(0, i), ...args.slice(i + 2)];
  };
  return [
    { name: 'a key as a positional', argv: [...args, ORG], says: name === 'verify' ? /rl_org_\*{8}(: verify)?: no such file/ : /Unknown argument: rl_org_\*{8}/ },
    { name: 'a key as the value of an unknown flag', argv: [...args, '--bogus', ENROLL], says: /Unknown argument: bogus/ },
    { name: 'a key inline in an unknown flag', argv: [...args, `--bogus=${ORG}`], says: /Unknown argument: bogus/ },
    { name: 'a key where the key file belongs', argv: [...at('--org-api-key-file'), '--org-api-key-file', ORG], says: /org-api-key-file/ },
    { name: 'a password where its file belongs', argv: [...at('--p12-password-file'), '--p12-password-file', PASSWORD], says: /p12-password-file/ },
    { name: 'a password where the PFX password file belongs', argv: [...args, '--pfx-password-file', PASSWORD], says: /pfx-password-file/ },
    { name: 'the refused --org-api-key', argv: [...args, '--org-api-key', ORG], says: /org-api-key/ },
    { name: 'the refused --p12-password', argv: [...args, `--p12-password=${PASSWORD}`], says: /p12-password/ },
    { name: 'a key as --spec', argv: [...at('--spec'), '--spec', ORG], says: name === 'sign-pkg' || name === 'sign-profile' || name === 'notarize' || name === 'staple' ? /Unknown argument: spec/ : /rl_org_\*{8}/ },
    { name: 'a key as --host', argv: [...at('--host'), '--host', ORG], says: ['tenant', 'intune', 'fleet-gitops'].includes(name) ? /Host rl_org_\*{8}/ : /Unknown argument: host/ },
    { name: 'a key given twice as the key file', argv: [...args, '--org-api-key-file', ORG, '--org-api-key-file', ENROLL], says: /org-api-key-file/ },
  ];
}

/** Command-specific error paths with secrets in files and the environment. */
function specific(): Record<string, Sweep[]> {
  const v = validArgs();
  const noKey = v.tenant!.filter((a) => a !== '--org-api-key-file' && a !== 'org.key');
  const p12Profile = ['in.mobileconfig', '--out', `${OUT}/s.mobileconfig`, '--p12', pki.codeSigning.p12];
  return {
    tenant: [
      { name: 'a malformed key in the environment', argv: noKey, env: { AIWATCH_ORG_API_KEY: `${ORG} x` }, says: /OrgApiKey rl_org_\*{8} expected a key/ },
      { name: 'a malformed enrollment key in the environment', argv: v.tenant!, env: { AIWATCH_ENROLLMENT_KEY: `${ENROLL}\u0007` }, says: /EnrollmentKey rl_enroll_\*{8}/ },
      { name: 'an empty key file', argv: [...noKey, '--org-api-key-file', 'empty.key'], says: /--org-api-key-file \S*empty\.key: is empty/ },
      { name: 'a key on stdin and a file at once', argv: [...v.tenant!, '--org-api-key-stdin'], says: /give it one way only/ },
    ],
    intune: [
      { name: 'a wrong PFX password in the environment', argv: [...v.intune!, '--sign-pfx', pki.codeSigning.p12], env: { AIWATCH_PFX_PASSWORD: ENV_PASSWORD }, says: /wrong password.*AIWATCH_PFX_PASSWORD|PFX password: \*{8}/ },
      { name: 'an empty PFX password file', argv: [...v.intune!, '--sign-pfx', pki.codeSigning.p12, '--pfx-password-file', 'empty.pw'], says: /no password was given \(--pfx-password-file \S*empty\.pw is empty\)/ },
      { name: 'no PFX password at all', argv: [...v.intune!, '--sign-pfx', pki.codeSigning.p12], says: /needs a password, and no password was given/ },
    ],
    'sign-profile': [
      { name: 'a wrong password in the environment', argv: p12Profile, env: { AIWATCH_P12_PASSWORD: ENV_PASSWORD }, says: /wrong password .*AIWATCH_P12_PASSWORD: \*{8}/ },
      { name: 'an empty password file', argv: [...p12Profile, '--p12-password-file', 'empty.pw'], says: /no password was given \(--p12-password-file \S*empty\.pw is empty\)/ },
      { name: 'no password at all', argv: p12Profile, says: /needs a password, and no password was given/ },
      { name: 'an encrypted PEM key with an empty password file', argv: ['in.mobileconfig', '--out', `${OUT}/s.mobileconfig`, '--key', pki.installer.keyEncrypted, '--cert', pki.installer.cert, '--p12-password-file', 'empty.pw'], says: /--key is encrypted, and no password was given/ },
    ],
    tenants: [{ name: 'a key in the CSV name column', argv: ['--csv', 'bad.csv', '--out', OUT], says: /row 2/ }],
    build: [{ name: 'a password typed for the binary identity', argv: [...v.build!, '--sign-binary', '--binary-p12', pki.codeSigning.p12, '--binary-p12-password-file', PASSWORD], says: /binary-p12-password-file/ }],
  };
}

function expectClean(out: string): void {
  for (const s of PLANTED) expect(out, `planted ${s}`).not.toContain(s);
}

describe('secrets survive mistakes: no planted secret in stdout, stderr or --json', () => {
  const v = validArgs();
  const sweeps: Array<[string, Sweep]> = [];
  for (const c of commands) {
    const name = commandName(c);
    for (const s of [...placements(name, v[name]!), ...(specific()[name] ?? [])]) sweeps.push([`${name}: ${s.name}`, { ...s, argv: [name, ...s.argv] }]);
  }
  sweeps.push(['no command: a key alone', { name: '', argv: [ORG], says: /rl_org_\*{8}/ }]);
  sweeps.push(['a misspelled command and a key', { name: '', argv: ['tenat', '--host', ORG], says: /Unknown command: tenat\. Did you mean tenant\?/ }]);

  it.each(sweeps)('%s', async (_n, s) => {
    if (s.argv[0] === 'tenants') writeFileSync(path.join(cwd, 'bad.csv'), `name,host,org-api-key\n${ORG},https://acme.runlayer.com,${ENROLL}\n`);
    for (const json of [false, true]) {
      const r = await cli(json ? [...s.argv, '--json'] : s.argv, { cwd, env: { ...s.env } });
      expect(r.code, r.stderr).not.toBe(0);
      expectClean(r.stdout);
      expectClean(r.stderr);
      // With --json a command's own problems (a CSV row) go into the JSON, not to stderr.
      if (s.says) expect(r.stderr + (json ? r.stdout : '')).toMatch(s.says);
      if (json) {
        const j = r.json();
        expect(j.ok).toBe(false);
        expectClean(JSON.stringify(j));
      }
    }
  });
});

describe('the redaction never alters a result', () => {
  it('a printed script is byte-identical to the written one, though a secret in the environment is a word of it', async () => {
    const env = { AIWATCH_P12_PASSWORD: 'then', AIWATCH_PFX_PASSWORD: 'exit' };
    for (const name of ['cleanup-script', 'uninstall-script']) {
      const printed = await cli([name], { cwd, env });
      expect(printed.code).toBe(0);
      expect(printed.stdout).toMatch(/\bthen\b/);
      expect(printed.stdout).toMatch(/\bexit\b/);
      const written = await cli([name, '--out', `${OUT}/${name}.sh`], { cwd, env });
      expect(written.code).toBe(0);
      expect(printed.stdout).toBe(readFileSync(path.join(cwd, OUT, `${name}.sh`), 'utf8'));
    }
  });
});

/** `verify FILE…` through the CLI: exit codes, text and --json, and CMS-signed profiles signed by openssl. */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeWithTools } from '../helpers/tools.js';
import { cli, tempDir } from './cli-helpers.js';

async function generated(): Promise<{ dir: string; files: string[] }> {
  const dir = tempDir('verify-cli');
  writeFileSync(path.join(dir, 'org.key'), 'rl_org_VERIFYsecret');
  expect((await cli(['profiles', '--out', 'o'], { cwd: dir })).code).toBe(0);
  expect((await cli(['tenant', '--host', 'https://acme.runlayer.com', '--org-api-key-file', 'org.key', '--out', 'o/t.mobileconfig'], { cwd: dir })).code).toBe(0);
  const files = ['com.runlayer.aiwatch.pppc.mobileconfig', 'com.runlayer.aiwatch.loginitems.mobileconfig', 'com.runlayer.aiwatch.jamf.schema.json', 't.mobileconfig', 'launchd/com.runlayer.aiwatch.plist'];
  return { dir, files: files.map((f) => `o/${f}`) };
}

describe('aiwatch-deploy verify', () => {
  it('exits 0 on generated files and says ok for each', async () => {
    const { dir, files } = await generated();
    const r = await cli(['verify', ...files], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ok      o/com.runlayer.aiwatch.pppc.mobileconfig (configuration profile)');
    expect(r.stdout).toContain('5 ok, 0 with problems');
  });
  it('lists every problem of every file, exits 1; --json carries them; no secret printed', async () => {
    const { dir, files } = await generated();
    const t = path.join(dir, 'o/t.mobileconfig');
    writeFileSync(t, readFileSync(t, 'utf8').replace('<string>https://acme.runlayer.com</string>', '<string>http://acme</string>').replace('rl_org_VERIFYsecret', 'rl_org_VERIFY secret'));
    const l = path.join(dir, 'o/launchd/com.runlayer.aiwatch.plist');
    writeFileSync(l, readFileSync(l, 'utf8').replace('<integer>900</integer>', '<real>900.5</real>'));
    const text = await cli(['verify', ...files], { cwd: dir });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('FAILED  o/t.mobileconfig (configuration profile): 2 problem(s)');
    expect(text.stdout).toContain('o/t.mobileconfig:PayloadContent[0]: Host "http://acme" expected https://');
    expect(text.stdout).toContain('o/t.mobileconfig:PayloadContent[0]: OrgApiKey rl_org_******** expected a key');
    expect(text.stdout).toContain('o/launchd/com.runlayer.aiwatch.plist:StartInterval: expected <integer>, found <real>');
    expect(text.stdout).toContain('3 ok, 2 with problems');
    const json = await cli(['verify', '--json', ...files], { cwd: dir });
    expect(json.code).toBe(1);
    const reports = json.json().files as Array<{ kind: string; problems: Array<{ where: string; message: string }> }>;
    expect(reports.map((r) => [r.kind, r.problems.length])).toEqual([['mobileconfig', 0], ['mobileconfig', 0], ['jamf-schema', 0], ['mobileconfig', 2], ['launchd-plist', 1]]);
    for (const r of [text, json]) expect(r.stdout + r.stderr).not.toMatch(/VERIFY ?secret/);
  });
  it('a missing file is an input-file error (exit 3), reported on stderr and as a problem of that file', async () => {
    const r = await cli(['verify', 'nope.mobileconfig']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/nope\.mobileconfig: verify: no such file/);
  });
  it('needs at least one file', async () => {
    expect((await cli(['verify'])).code).toBe(2);
  });
});

describeWithTools(['openssl'], 'verify: CMS-signed profiles (signed by openssl cms)', () => {
  function sign(dir: string, input: string, output: string): void {
    const key = path.join(dir, 'k.pem');
    const cert = path.join(dir, 'c.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=Test Profile Signer', '-days', '2'], { stdio: 'pipe' });
    execFileSync('openssl', ['cms', '-sign', '-binary', '-nodetach', '-outform', 'DER', '-signer', cert, '-inkey', key, '-in', input, '-out', output], { stdio: 'pipe' });
  }
  it('unwraps a good signed profile: no problem, a note naming the signer', async () => {
    const { dir } = await generated();
    sign(dir, path.join(dir, 'o/com.runlayer.aiwatch.pppc.mobileconfig'), path.join(dir, 'signed.mobileconfig'));
    const r = await cli(['verify', '--json', 'signed.mobileconfig'], { cwd: dir });
    expect(r.code).toBe(0);
    const [f] = r.json().files as Array<{ kind: string; problems: unknown[]; notes: string[] }>;
    expect(f!.kind).toBe('signed-profile');
    expect(f!.problems).toEqual([]);
    expect(f!.notes.join('\n')).toContain('signed by "Test Profile Signer"');
  });
  it('finds a broken signature and problems in the signed content', async () => {
    const { dir } = await generated();
    const broken = path.join(dir, 'scope-user.mobileconfig');
    writeFileSync(broken, readFileSync(path.join(dir, 'o/com.runlayer.aiwatch.pppc.mobileconfig'), 'utf8').replace('<string>System</string>', '<string>User</string>'));
    sign(dir, broken, path.join(dir, 'signed.mobileconfig'));
    const signed = readFileSync(path.join(dir, 'signed.mobileconfig'));
    const i = signed.indexOf('Full Disk Access');
    signed[i] = 'f'.charCodeAt(0);
    writeFileSync(path.join(dir, 'tampered.mobileconfig'), signed);
    const r = await cli(['verify', 'tampered.mobileconfig'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('the CMS signature does not verify');
    expect(r.stdout).toContain('is device-channel only');
  });
});

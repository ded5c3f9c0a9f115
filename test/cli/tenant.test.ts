/** `tenant`: flags derived from the key definitions, secrets only from file/env/stdin, never printed, 0600 output. */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'plist';
import { describe, expect, it } from 'vitest';
import { ENROLL_KEY, ORG_KEY } from '../profiles/helpers.js';
import { cli, tempDir, type CliRun } from './cli-helpers.js';

const HOST = ['--host', 'https://acme.runlayer.com'];
function noSecrets(r: CliRun, ...secrets: string[]): void {
  for (const s of [ORG_KEY, ENROLL_KEY, ...secrets]) {
    expect(r.stdout).not.toContain(s);
    expect(r.stderr).not.toContain(s);
  }
}
function setup(): string {
  const dir = tempDir('tenant');
  writeFileSync(path.join(dir, 'org.key'), `${ORG_KEY}\n`);
  writeFileSync(path.join(dir, 'enroll.key'), `${ENROLL_KEY}\r\n`);
  return dir;
}

describe('aiwatch-deploy tenant', () => {
  it('writes the profile 0600 with keys from a file and the environment; no secret in --json or text', async () => {
    const dir = setup();
    for (const json of [true, false]) {
      const r = await cli(['tenant', ...HOST, '--org-api-key-file', 'org.key', '--username', 'jane', '--out', 't.mobileconfig', ...(json ? ['--json'] : [])], {
        cwd: dir,
        env: { AIWATCH_ENROLLMENT_KEY: ENROLL_KEY },
      });
      expect(r.code).toBe(0);
      noSecrets(r);
      const file = path.join(dir, 't.mobileconfig');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const p = parse(readFileSync(file, 'utf8')) as { PayloadContent: Array<Record<string, unknown>> };
      expect(p.PayloadContent[0]).toMatchObject({ Host: 'https://acme.runlayer.com', OrgApiKey: ORG_KEY, EnrollmentKey: ENROLL_KEY, Username: 'jane', Enforcement: true });
      if (json) expect(r.json()).toMatchObject({ ok: true, format: 'mobileconfig', secrets: ['OrgApiKey', 'EnrollmentKey'], file: { mode: '0600', secret: true } });
      else expect(r.stdout).toMatch(/wrote t\.mobileconfig \(mobileconfig, mode 0600: holds OrgApiKey and EnrollmentKey/);
    }
  });
  it.each([
    ['mcx', 'mcx_preference_settings'],
    ['intune-plist', '<key>Sessions</key><false/>'],
    ['json', '"Sessions": false'],
  ])('--format %s (and --no-sessions)', async (format, marker) => {
    const dir = setup();
    const r = await cli(['tenant', ...HOST, '--org-api-key-stdin', '--no-sessions', '--format', format, '--out', 'f'], { cwd: dir, stdin: `${ORG_KEY}\n` });
    expect(r.code).toBe(0);
    noSecrets(r);
    const text = readFileSync(path.join(dir, 'f'), 'utf8');
    expect(text).toContain(marker);
    expect(text).toContain(ORG_KEY);
    expect(statSync(path.join(dir, 'f')).mode & 0o777).toBe(0o600);
  });
  it('defaults --out to out/<domain>.tenant.mobileconfig', async () => {
    const dir = setup();
    const r = await cli(['tenant', ...HOST], { cwd: dir, env: { AIWATCH_ORG_API_KEY: ORG_KEY } });
    expect(r.code).toBe(0);
    expect(statSync(path.join(dir, 'out/com.runlayer.aiwatch.tenant.mobileconfig')).isFile()).toBe(true);
  });
  it('reports every bad value at once, with secrets masked (exit 2)', async () => {
    const dir = setup();
    const bad = 'rl_org_has space-SECRET';
    writeFileSync(path.join(dir, 'bad.key'), bad);
    for (const json of [false, true]) {
      const r = await cli(['tenant', '--host', 'http://acme', '--org-api-key-file', 'bad.key', '--username', 'a\u0000b', ...(json ? ['--json'] : [])], {
        cwd: dir,
        env: { AIWATCH_ENROLLMENT_KEY: 'nope-ENROLLSECRET' },
      });
      expect(r.code).toBe(2);
      noSecrets(r, bad, 'has space-SECRET', 'ENROLLSECRET');
      const out = json ? JSON.stringify(r.json()) : r.stderr;
      for (const key of ['Host', 'OrgApiKey', 'EnrollmentKey', 'Username']) expect(out).toContain(`tenant: ${key}`);
      expect(out).toContain('rl_org_********');
    }
  });
  it('refuses a secret on the command line without echoing it', async () => {
    const r = await cli(['tenant', ...HOST, '--org-api-key', ORG_KEY]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--org-api-key: secrets are not accepted on the command line/);
    noSecrets(r);
  });
  it('refuses two secret sources at once, and two secrets on stdin', async () => {
    const dir = setup();
    let r = await cli(['tenant', ...HOST, '--org-api-key-file', 'org.key'], { cwd: dir, env: { AIWATCH_ORG_API_KEY: ORG_KEY } });
    expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(/give it one way only/)]);
    r = await cli(['tenant', ...HOST, '--org-api-key-stdin', '--enrollment-key-stdin'], { cwd: dir, stdin: ORG_KEY });
    expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(/only one secret can be read from standard input/)]);
    noSecrets(r);
  });
  it('a missing key file is an input-file error (exit 3); no host a usage error (exit 2)', async () => {
    const dir = setup();
    expect((await cli(['tenant', ...HOST, '--org-api-key-file', 'missing.key'], { cwd: dir })).code).toBe(3);
    const r = await cli(['tenant', '--org-api-key-file', 'org.key'], { cwd: dir });
    expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(/Host is required/)]);
  });
  it('--help lists the flags derived from the key definitions', async () => {
    const r = await cli(['tenant', '--help']);
    for (const f of ['--host', '--org-api-key-file', '--org-api-key-stdin', '--enrollment-key-file', '--username', '--device-name', '--enforcement', '--sessions', 'AIWATCH_ORG_API_KEY', 'Examples:']) {
      expect(r.stdout).toContain(f);
    }
    expect(r.stdout).not.toMatch(/--org-api-key\s/);
  });
});

/**
 * The smaller contract breaks of issue 9: a switch given a non-boolean value, a host in upper case, a port out of
 * range, `verify` with a missing file among good and bad ones, `verify` of an empty file.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'plist';
import { describe, expect, it } from 'vitest';
import { cli, tempDir } from './cli-helpers.js';

const KEY = 'rl_org_SMALLbreaksKey';

function dir(): string {
  const d = tempDir('small-breaks');
  writeFileSync(path.join(d, 'org.key'), `${KEY}\n`);
  return d;
}

describe('switches take true/false only', () => {
  it.each(['--enforcement=maybe', '--sessions=yes', '--enforcement=FALSE', '--no-sessions=false'])('tenant %s → exit 2, nothing written', async (flag) => {
    const d = dir();
    const r = await cli(['tenant', '--host', 'https://acme.runlayer.com', '--org-api-key-file', 'org.key', flag, '--format', 'intune-plist', '--out', 't.plist'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${flag}: `);
    expect(r.stderr).toMatch(/is a switch/);
    expect(existsSync(path.join(d, 't.plist'))).toBe(false);
  });
  it('--enforcement=false and --no-enforcement write false; --enforcement=true true', async () => {
    for (const [flag, value] of [['--enforcement=false', false], ['--no-enforcement', false], ['--enforcement=true', true]] as const) {
      const d = dir();
      const r = await cli(['tenant', '--host', 'https://acme.runlayer.com', '--org-api-key-file', 'org.key', flag, '--format', 'mobileconfig', '--out', 't.mobileconfig'], { cwd: d });
      expect(r.code, r.stderr).toBe(0);
      const p = parse(readFileSync(path.join(d, 't.mobileconfig'), 'utf8')) as { PayloadContent: Array<{ Enforcement: boolean }> };
      expect(p.PayloadContent[0]!.Enforcement).toBe(value);
    }
  });
});

describe('--host', () => {
  it('scheme and host are written in lower case (they are case-insensitive); the default port and a final / go', async () => {
    for (const given of ['HTTPS://ACME.RUNLAYER.COM', 'https://Acme.RunLayer.com/', 'https://acme.runlayer.com:443']) {
      const d = dir();
      const r = await cli(['tenant', '--host', given, '--org-api-key-file', 'org.key', '--format', 'json', '--out', 't.json', '--json'], { cwd: d });
      expect(r.code, r.stderr).toBe(0);
      expect(r.json().host).toBe('https://acme.runlayer.com');
      expect(JSON.parse(readFileSync(path.join(d, 't.json'), 'utf8')).Host).toBe('https://acme.runlayer.com');
    }
  });
  it('keeps a port that is not the default', async () => {
    const d = dir();
    const r = await cli(['tenant', '--host', 'https://ACME.runlayer.com:8443', '--org-api-key-file', 'org.key', '--format', 'json', '--out', 't.json', '--json'], { cwd: d });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().host).toBe('https://acme.runlayer.com:8443');
  });
  it.each([['https://x.runlayer.com:99999', '99999'], ['https://x.runlayer.com:0', '0'], ['https://x.runlayer.com:65536', '65536']])('%s → the port is out of range', async (host, port) => {
    const d = dir();
    const r = await cli(['tenant', '--host', host, '--org-api-key-file', 'org.key', '--out', 't.mobileconfig'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`port ${port} is out of range 1–65535`);
    expect(existsSync(path.join(d, 't.mobileconfig'))).toBe(false);
  });
  it('a tenants CSV row gets the same normalisation and the same port message', async () => {
    const d = dir();
    writeFileSync(path.join(d, 't.csv'), `name,host,org-api-key\nup,HTTPS://UP.RUNLAYER.COM,${KEY}\nport,https://p.runlayer.com:70000,${KEY}\n`);
    const r = await cli(['tenants', '--csv', 't.csv', '--out', 'o', '--format', 'json', '--json'], { cwd: d });
    expect(r.code).toBe(2);
    const written = JSON.parse(readFileSync(path.join(d, 'o/up/com.runlayer.aiwatch.jamf.values.json'), 'utf8')) as { Host: string };
    expect(written.Host).toBe('https://up.runlayer.com');
    expect(JSON.stringify(r.json().failed)).toContain('port 70000 is out of range 1–65535');
  });
});

describe('verify: a missing file among others, an empty file', () => {
  async function generated(): Promise<string> {
    const d = dir();
    expect((await cli(['profiles', '--out', 'o'], { cwd: d })).code).toBe(0);
    writeFileSync(path.join(d, 'bad.mobileconfig'), readFileSync(path.join(d, 'o/com.runlayer.aiwatch.pppc.mobileconfig'), 'utf8').replace('<string>System</string>', '<string>Nobody</string>'));
    writeFileSync(path.join(d, 'empty.mobileconfig'), '');
    return d;
  }
  it('checks and reports every other file, the missing one as its own problem; exit 3 (an input is missing)', async () => {
    const d = await generated();
    const files = ['o/com.runlayer.aiwatch.pppc.mobileconfig', 'missing.bin', 'bad.mobileconfig', 'o/com.runlayer.aiwatch.loginitems.mobileconfig'];
    const r = await cli(['verify', ...files], { cwd: d });
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('ok      o/com.runlayer.aiwatch.pppc.mobileconfig (configuration profile)');
    expect(r.stdout).toMatch(/FAILED {2}missing\.bin \(unreadable file\): 1 problem\(s\)\n {2}missing\.bin: no such file/);
    expect(r.stdout).toContain('FAILED  bad.mobileconfig (configuration profile)');
    expect(r.stdout).toContain('ok      o/com.runlayer.aiwatch.loginitems.mobileconfig (configuration profile)');
    expect(r.stdout).toContain('2 ok, 2 with problems');
    expect(r.stderr).toMatch(/missing\.bin: verify: no such file/);
    const j = await cli(['verify', ...files, '--json'], { cwd: d });
    expect(j.code).toBe(3);
    expect((j.json().files as unknown[]).length).toBe(4);
    expect(j.json()).toMatchObject({ ok: false, error: { kind: 'input-file', exitCode: 3, message: expect.stringMatching(/^1 of 4 file\(s\) could not be read: \S*missing\.bin \(no such file\)$/) } });
    expect((j.json().error as { problems: string[] }).problems).toEqual([expect.stringMatching(/missing\.bin: no such file$/)]);
  });
  it('a folder among the files is reported the same way', async () => {
    const d = await generated();
    const r = await cli(['verify', 'o', 'o/com.runlayer.aiwatch.pppc.mobileconfig'], { cwd: d });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/FAILED {2}o \(unreadable file\): 1 problem\(s\)\n {2}o: is a folder, expected a file/);
    expect(r.stdout).toContain('ok      o/com.runlayer.aiwatch.pppc.mobileconfig');
  });
  it('an empty file is "empty", a problem (exit 1), not an unknown kind', async () => {
    const d = await generated();
    const r = await cli(['verify', 'empty.mobileconfig'], { cwd: d });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAILED  empty.mobileconfig (empty file): 1 problem(s)\n  empty.mobileconfig: empty file (0 bytes): nothing to check');
    expect(r.stdout).not.toContain('not a kind of file');
  });
});

describe('renamed flags', () => {
  it('build --allow-unsigned-binary (replaced by --development-build) is a usage error that names the new flag; nothing written', async () => {
    const d = dir();
    const r = await cli(['build', '--demo', '--allow-unsigned-binary', '--out', 'out'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Unknown argument: allow-unsigned-binary (renamed: use --development-build');
    expect(existsSync(path.join(d, 'out'))).toBe(false);
  });
});

/**
 * `aiwatch-deploy intune` end to end: files and modes in --out, keys from file / env / stdin, refusals with exit
 * codes and nothing written, --ca-bundle, --intunewin, signing; and no key or password in anything we print.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { describeWithTools, run } from '../helpers/tools.js';
import { ENROLL_KEY, FIXTURES, HOST, ORG_KEY } from './helpers.js';
import { makePki, PASSWORD, type Pki } from './pki.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
let work: string;

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'aiwatch-intune-cli-'));
  writeFileSync(path.join(work, 'org.key'), `${ORG_KEY}\n`);
  writeFileSync(path.join(work, 'enroll.key'), `${ENROLL_KEY}\r\n`);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(['intune', ...args], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    stdin: Readable.from(opts.stdin === undefined ? [] : [Buffer.from(opts.stdin)]),
    env: opts.env ?? {},
    cwd: work,
    isTTY: false,
  });
  return { code, stdout, stderr };
}

function noSecrets(r: Run, extra: string[] = []): void {
  for (const s of [ORG_KEY, ENROLL_KEY, ORG_KEY.slice(7), ENROLL_KEY.slice(10), ...extra]) {
    expect(r.stdout, 'stdout').not.toContain(s);
    expect(r.stderr, 'stderr').not.toContain(s);
  }
}

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);
const outDir = (name: string) => path.join(work, name);

describe('aiwatch-deploy intune', () => {
  it('writes the Detect scripts with 0600 for those holding the key; prints no key', async () => {
    const r = await cli(['--host', HOST, '--org-api-key-file', 'org.key', '--out', 'detect']);
    expect(r.code, r.stderr).toBe(0);
    noSecrets(r);
    expect(readdirSync(outDir('detect')).sort()).toEqual(['Detect-Aiwatch.ps1', 'Detect-AiwatchHealth.ps1', 'Install-AiwatchDetect.ps1', 'Invoke-AiwatchScan.ps1', 'Remediate-Aiwatch.ps1', 'Remediate-AiwatchHealth.ps1', 'Test-Aiwatch.ps1', 'Uninstall-Aiwatch.ps1']);
    expect(mode(path.join(outDir('detect'), 'Install-AiwatchDetect.ps1'))).toBe('600');
    expect(mode(path.join(outDir('detect'), 'Invoke-AiwatchScan.ps1'))).toBe('600');
    expect(mode(path.join(outDir('detect'), 'Remediate-Aiwatch.ps1'))).toBe('600');
    expect(mode(path.join(outDir('detect'), 'Detect-Aiwatch.ps1'))).toBe('644');
    expect(mode(path.join(outDir('detect'), 'Uninstall-Aiwatch.ps1'))).toBe('644');
    expect(readFileSync(path.join(outDir('detect'), 'Invoke-AiwatchScan.ps1'), 'ascii')).toContain(`$AiwatchOrgApiKey = '${ORG_KEY}'\r\n`);
    expect(mode(path.join(outDir('detect'), 'Test-Aiwatch.ps1'))).toBe('644');
    expect(mode(path.join(outDir('detect'), 'Remediate-AiwatchHealth.ps1'))).toBe('644');
    expect(r.stdout).toMatch(/wrote 8 files to detect:/);
  });

  it('--json: names, modes and purposes; SHA-256 only for files without a key; no key anywhere', async () => {
    const r = await cli(['--json', '--host', HOST, '--out', 'json', '--enrollment-key-file', 'enroll.key'], { env: { AIWATCH_ORG_API_KEY: ORG_KEY } });
    expect(r.code, r.stderr).toBe(0);
    noSecrets(r);
    const j = JSON.parse(r.stdout) as { ok: boolean; files: Array<{ name: string; mode: string; holdsSecret: boolean; sha256?: string }>; tenant: Record<string, unknown> };
    expect(j.ok).toBe(true);
    expect(j.tenant).toEqual({ host: HOST, enforcement: true, sessions: true, provisioning: true, caBundle: false });
    for (const f of j.files) {
      expect(f.mode).toBe(f.holdsSecret ? '0600' : '0644');
      expect(f.sha256 === undefined).toBe(f.holdsSecret);
    }
    expect(j.files.map((f) => f.name)).toContain('Install-AiwatchProvisioning.ps1');
  });

  it('keys from the environment and stdin; --no-enforcement --no-sessions reach the hooks command', async () => {
    const r = await cli(['--host', HOST, '--org-api-key-stdin', '--no-enforcement', '--no-sessions', '--out', 'prov'], { stdin: `${ORG_KEY}\n`, env: { AIWATCH_ENROLLMENT_KEY: ENROLL_KEY } });
    expect(r.code, r.stderr).toBe(0);
    noSecrets(r);
    const prov = readFileSync(path.join(outDir('prov'), 'Invoke-AiwatchProvisioning.ps1'), 'ascii');
    expect(prov).toContain("$AiwatchHooksArguments = @('setup', 'hooks', '--install', '--yes', '--no-enforcement')\r\n");
    expect(prov).toContain(`$AiwatchEnrollmentKey = '${ENROLL_KEY}'\r\n`);
    expect(mode(path.join(outDir('prov'), 'Install-AiwatchProvisioning.ps1'))).toBe('600');
  });

  it('--ca-bundle: installed from the scripts as bare ASCII PEM', async () => {
    const r = await cli(['--host', HOST, '--org-api-key-file', 'org.key', '--ca-bundle', path.join(FIXTURES, 'proxy-ca.pem'), '--out', 'ca']);
    expect(r.code, r.stderr).toBe(0);
    const install = readFileSync(path.join(outDir('ca'), 'Install-AiwatchDetect.ps1'), 'ascii');
    const pem = Buffer.from(/\$AiwatchCaBundleBase64 = '([^']+)'/.exec(install)![1]!.replace(/\s/g, ''), 'base64').toString('latin1');
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\nMIIB2jCC[\s\S]+-----END CERTIFICATE-----\n$/);
    expect(pem).not.toContain('Zoll');
  });

  const refusals: Array<[string, string[], NodeJS.ProcessEnv, number, RegExp]> = [
    ['a key on the command line', ['--host', HOST, '--org-api-key', ORG_KEY], {}, 2, /--org-api-key: secrets are not accepted on the command line/],
    ['no organization API key', ['--host', HOST], {}, 2, /intune: OrgApiKey is required/],
    ['a key given two ways', ['--host', HOST, '--org-api-key-file', 'org.key'], { AIWATCH_ORG_API_KEY: ORG_KEY }, 2, /OrgApiKey: give it one way only/],
    ['an http host', ['--host', 'http://acme.runlayer.com', '--org-api-key-file', 'org.key'], {}, 2, /intune: Host "http:\/\/acme\.runlayer\.com" expected https:\/\//],
    ['a missing key file', ['--host', HOST, '--org-api-key-file', 'nope.key'], {}, 3, /^aiwatch-deploy: --org-api-key-file: no such file \(the name given is not shown: it may be the secret itself\)\n$/],
    ['a CA bundle holding a private key', ['--host', HOST, '--org-api-key-file', 'org.key', '--ca-bundle', 'key.pem'], {}, 2, /--ca-bundle key\.pem: holds a "PRIVATE KEY" block; a CA bundle may hold only certificates/],
    ['a CA bundle with no certificate', ['--host', HOST, '--org-api-key-file', 'org.key', '--ca-bundle', 'org.key'], {}, 2, /expected PEM certificates \(-----BEGIN CERTIFICATE-----\), found none/],
    ['a PFX password without --sign-pfx', ['--host', HOST, '--org-api-key-file', 'org.key'], { AIWATCH_PFX_PASSWORD: PASSWORD }, 2, /--pfx-password-file \(or AIWATCH_PFX_PASSWORD\): only used with --sign-pfx/],
    ['a bad SOURCE_DATE_EPOCH', ['--host', HOST, '--org-api-key-file', 'org.key', '--intunewin'], { SOURCE_DATE_EPOCH: 'yesterday' }, 2, /SOURCE_DATE_EPOCH must be a whole number of seconds since 1970, got "yesterday"/],
  ];
  for (const [what, args, env, code, message] of refusals) {
    it(`refuses ${what} (exit ${code}), writes nothing, echoes no secret`, async () => {
      writeFileSync(path.join(work, 'key.pem'), '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n');
      const dir = `refused-${what.replace(/\W+/g, '-')}`;
      const r = await cli([...args, '--out', dir], { env });
      expect(r.code).toBe(code);
      expect(r.stderr).toMatch(message);
      noSecrets(r, [PASSWORD]);
      expect(existsSync(outDir(dir))).toBe(false);
    });
  }
});

describeWithTools(['unzip'], 'aiwatch-deploy intune --intunewin', () => {
  it('writes Install-AiwatchDetect.intunewin (0600) next to the scripts, with SOURCE_DATE_EPOCH as entry time', async () => {
    const r = await cli(['--json', '--host', HOST, '--org-api-key-file', 'org.key', '--intunewin', '--out', 'w32'], { env: { SOURCE_DATE_EPOCH: '1767225600' } });
    expect(r.code, r.stderr).toBe(0);
    noSecrets(r);
    const pkg = path.join(outDir('w32'), 'Install-AiwatchDetect.intunewin');
    expect(mode(pkg)).toBe('600');
    const listing = run('unzip', ['-v', pkg]);
    expect(listing).toMatch(/Stored .* 2026-01-01 00:00 .* IntuneWinPackage\/Contents\/IntunePackage\.intunewin/);
    const j = JSON.parse(r.stdout) as { win32App: Record<string, string> };
    expect(j.win32App.installCommand).toBe('powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File .\\Install-AiwatchDetect.ps1');
    expect(j.win32App.setupFile).toBe('Install-AiwatchDetect.ps1');
  });
});

describeWithTools(['osslsigncode', 'openssl'], 'aiwatch-deploy intune --sign-pfx', () => {
  let pki: Pki;
  beforeAll(() => {
    pki = makePki();
  });
  afterAll(() => rmSync(pki.dir, { recursive: true, force: true }));

  it('signs every script (password from AIWATCH_PFX_PASSWORD), verified; never prints the password or keys', async () => {
    const r = await cli(['--json', '--host', HOST, '--org-api-key-file', 'org.key', '--enrollment-key-file', 'enroll.key', '--sign-pfx', pki.pfx, '--sign-ca-file', pki.caCert, '--out', 'signed'], {
      env: { AIWATCH_PFX_PASSWORD: PASSWORD },
    });
    expect(r.code, r.stderr).toBe(0);
    noSecrets(r, [PASSWORD, "ss'w"]);
    const j = JSON.parse(r.stdout) as { signed: boolean; signer: { commonName: string } };
    expect(j.signed).toBe(true);
    expect(j.signer.commonName).toBe('Test cs');
    for (const name of readdirSync(outDir('signed'))) {
      const v = run('osslsigncode', ['verify', '-in', path.join(outDir('signed'), name), '-CAfile', pki.caCert]);
      expect(v, name).toMatch(/Succeeded/);
    }
  });

  it('a wrong password is a usage error naming its source, with nothing written', async () => {
    const r = await cli(['--host', HOST, '--org-api-key-file', 'org.key', '--sign-pfx', pki.pfx, '--out', 'wrongpw'], { env: { AIWATCH_PFX_PASSWORD: 'not it' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/wrong password for this PKCS#12 file \(from PFX password: \*{8}\)/);
    expect(r.stderr).not.toContain('not it');
    expect(existsSync(outDir('wrongpw'))).toBe(false);
  });
});

describe('the installed command (bin/aiwatch-deploy.js, built dist/)', () => {
  it('runs intune as a real process: exit 0, files written, no key on stdout or stderr', () => {
    const r = spawnSync(process.execPath, [path.join(REPO, 'bin/aiwatch-deploy.js'), 'intune', '--host', HOST, '--out', 'proc'], {
      cwd: work,
      env: { PATH: process.env.PATH, AIWATCH_ORG_API_KEY: ORG_KEY },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    noSecrets({ code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr });
    expect(readdirSync(outDir('proc'))).toHaveLength(8);
  });
});

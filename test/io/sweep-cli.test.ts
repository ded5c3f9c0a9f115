/**
 * Every command sweeps what killed runs left (src/io/debris.ts), through the CLI (in-process main(), a private
 * TMPDIR): with a dead PID's staging folder (holding a "key") in TMPDIR and a dead PID's partial file where the
 * command writes, the command succeeds, both are gone, a live PID's look-alikes stay, and stderr says what was
 * removed. A command given a usage error sweeps nothing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../cli/cli-helpers.js';
import { getTestPki, type TestPki } from '../helpers/test-pki.js';
import { ORG_KEY } from '../profiles/helpers.js';

const base = mkdtempSync(path.join(tmpdir(), 'aiwatch-io-sweep-cli-'));
const tmp = path.join(base, 'tmp');
const inputs = path.join(base, 'inputs');
const savedTmp = process.env.TMPDIR;
const env = { AIWATCH_ORG_API_KEY: ORG_KEY };
const dead = spawnSync('true').pid!;
const livePid = process.pid;
let pki: TestPki;
let n = 0;

beforeAll(async () => {
  pki = getTestPki();
  mkdirSync(tmp);
  mkdirSync(inputs);
  process.env.TMPDIR = tmp;
  writeFileSync(path.join(inputs, 't.csv'), `name,host,org_api_key\nacme,https://acme.runlayer.com,${ORG_KEY}\n`);
  const built = await cli(['build', '--demo', '--out', path.join(inputs, 'release')], { cwd: base });
  expect(built.code, built.stderr).toBe(0);
  const zip = path.join(inputs, 'release', 'aiwatch-1.0.0-macos-arm64.zip');
  writeFileSync(path.join(inputs, 'demo.pkg'), execFileSync('unzip', ['-p', zip, 'aiwatch-1.0.0-macos-arm64.pkg'], { maxBuffer: 1 << 26 }));
  expect((await cli(['profiles', '--out', path.join(inputs, 'profiles')])).code).toBe(0);
  copyFileSync(path.join(process.cwd(), 'fixtures/demo/aiwatch-arm64'), path.join(inputs, 'aiwatch'));
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
}, 120_000);
afterAll(() => {
  process.env.TMPDIR = savedTmp;
  rmSync(base, { recursive: true, force: true });
});

const I = (name: string): string => path.join(inputs, name);
const HOST = ['--host', 'https://acme.runlayer.com'];

/** Each command, given where it writes (`w`, a fresh folder): its argv, whether it must succeed here. */
const COMMANDS: Array<{ name: string; argv: (w: string) => string[]; ok: boolean }> = [
  { name: 'build', argv: (w) => ['build', '--demo', '--out', w], ok: true },
  { name: 'profiles', argv: (w) => ['profiles', '--out', w], ok: true },
  { name: 'tenant', argv: (w) => ['tenant', ...HOST, '--out', path.join(w, 't.mobileconfig')], ok: true },
  { name: 'tenants', argv: (w) => ['tenants', '--csv', I('t.csv'), '--out', w], ok: true },
  { name: 'intune', argv: (w) => ['intune', ...HOST, '--out', w], ok: true },
  { name: 'cleanup-script', argv: (w) => ['cleanup-script', '--out', path.join(w, 'c.sh')], ok: true },
  { name: 'uninstall-script', argv: (w) => ['uninstall-script', '--out', path.join(w, 'u.sh')], ok: true },
  { name: 'sign-pkg', argv: (w) => ['sign-pkg', I('demo.pkg'), '--out', path.join(w, 's.pkg'), '--key', pki.installer.key, '--cert', pki.installer.cert, '--chain', pki.chain, '--allow-untrusted', '--no-timestamp'], ok: true },
  { name: 'sign-profile', argv: (w) => ['sign-profile', I('profiles/com.runlayer.aiwatch.pppc.mobileconfig'), '--out', path.join(w, 's.mobileconfig'), '--p12', pki.codeSigning.p12, '--p12-password-file', pki.passwordFile], ok: true },
  // no rcodesign here: the command fails after the sweep, at the tool
  { name: 'sign-binary', argv: (w) => ['sign-binary', I('aiwatch'), '--out', path.join(w, 'signed'), '--p12', pki.codeSigning.p12, '--p12-password-file', pki.passwordFile, '--allow-untrusted'], ok: false },
  { name: 'verify', argv: () => ['verify', I('demo.pkg')], ok: true },
  { name: 'inspect', argv: () => ['inspect', I('demo.pkg')], ok: true },
];
/** Commands that write nowhere sweep TMPDIR only. */
const TMP_ONLY = new Set(['verify', 'inspect']);

function plant(w: string): { stale: string[]; kept: string[] } {
  const staging = path.join(tmp, `aiwatch-deploy-authenticode-${dead}-Ab3dEf`);
  mkdirSync(staging);
  writeFileSync(path.join(staging, 'in-Invoke-AiwatchScan.ps1'), `$key = '${ORG_KEY}'\r\n`, { mode: 0o600 });
  const ours = path.join(tmp, `aiwatch-deploy-build-${livePid}-Live12`);
  mkdirSync(ours);
  const partial = path.join(w, `.aiwatch-1.0.0-macos-arm64.zip.partial-${dead}-1`);
  writeFileSync(partial, 'half a zip');
  const livePartial = path.join(w, `.x.partial-${livePid}-1`);
  writeFileSync(livePartial, 'ours, running');
  return { stale: [staging, partial], kept: [ours, livePartial] };
}

describe('every command sweeps the debris of killed runs', () => {
  for (const c of COMMANDS) {
    it(`${c.name}`, async () => {
      n += 1;
      const w = path.join(base, `w-${n}`);
      mkdirSync(w);
      const { stale, kept } = plant(w);
      const r = await cli(c.argv(w), { cwd: base, env });
      if (c.ok) expect(r.code, r.stderr).toBe(0);
      const swept = TMP_ONLY.has(c.name) ? stale.slice(0, 1) : stale;
      for (const s of swept) expect(existsSync(s), `${s} should be gone`).toBe(false);
      if (TMP_ONLY.has(c.name)) expect(existsSync(stale[1]!)).toBe(true);
      for (const k of kept) expect(existsSync(k), `${k} should stay`).toBe(true);
      expect(r.stderr).toMatch(new RegExp(`^note: removed 1 item\\(s\\), \\d+ bytes, left in ${tmp.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} by killed aiwatch-deploy run\\(s\\) \\(PID ${dead}\\): aiwatch-deploy-authenticode-${dead}-Ab3dEf$`, 'm'));
      if (!TMP_ONLY.has(c.name)) expect(r.stderr).toMatch(new RegExp(`^note: removed 1 item\\(s\\), 10 bytes, left in .*w-${n} by killed aiwatch-deploy run\\(s\\) \\(PID ${dead}\\): \\.aiwatch-1\\.0\\.0-macos-arm64\\.zip\\.partial-${dead}-1$`, 'm'));
      rmSync(kept[0]!, { recursive: true, force: true });
      expect(readdirSync(tmp)).toEqual([]);
    });
  }

  it('a usage error sweeps nothing', async () => {
    n += 1;
    const w = path.join(base, `w-${n}`);
    mkdirSync(w);
    const { stale } = plant(w);
    const r = await cli(['profiles', '--out', w, '--sgin'], { cwd: base, env });
    expect(r.code).toBe(2);
    for (const s of stale) expect(existsSync(s)).toBe(true);
    expect(r.stderr).not.toMatch(/removed/);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
  });
});

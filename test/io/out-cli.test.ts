/**
 * Outputs never destroy, through the CLI (in-process main(), cwd in a temporary folder, a private TMPDIR): every
 * command that writes refuses an `--out` that is a character device with exit 3 and one message naming the path and
 * what it is, before any work — the device stays a device, nothing is written in the cwd or TMPDIR. Each case first
 * runs the same command line with an ordinary `--out` and expects success, so the refusal is about `--out` alone.
 * `tenant` (a file output) and `profiles` (a folder output) also go through every special kind, links to them, a
 * dangling link, a link to a regular file (followed, the link stays a link) and a FIFO standing inside the folder.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { getTestPki, type TestPki } from '../helpers/test-pki.js';
import { ORG_KEY } from '../profiles/helpers.js';
import { cli } from '../cli/cli-helpers.js';
import { closeSockets, describeAsRoot, isStill, KIND_WORDS, link, makeSpecial, regular, snapshot, SPECIAL_KINDS } from './special-files.js';

const base = mkdtempSync(path.join(tmpdir(), 'aiwatch-io-out-cli-'));
const tmp = path.join(base, 'tmp');
const inputs = path.join(base, 'inputs');
const savedTmp = process.env.TMPDIR;
const HOST = ['--host', 'https://acme.runlayer.com'];
const env = { AIWATCH_ORG_API_KEY: ORG_KEY };
let pki: TestPki;
let n = 0;

beforeAll(async () => {
  pki = getTestPki(); // built (once per machine) in the real TMPDIR, before ours is set
  mkdirSync(tmp);
  mkdirSync(inputs);
  process.env.TMPDIR = tmp;
  writeFileSync(path.join(inputs, 't.csv'), `name,host,org_api_key\nacme,https://acme.runlayer.com,${ORG_KEY}\n`);
  const built = await cli(['build', '--demo', '--out', path.join(base, 'release')], { cwd: base });
  expect(built.code, built.stderr).toBe(0);
  const pkg = execFileSync('unzip', ['-p', path.join(base, 'release', 'aiwatch-1.0.0-macos-arm64.zip'), 'aiwatch-1.0.0-macos-arm64.pkg'], { maxBuffer: 1 << 26 });
  writeFileSync(path.join(inputs, 'demo.pkg'), pkg);
  expect((await cli(['profiles', '--out', path.join(inputs, 'profiles')])).code).toBe(0);
  copyFileSync(path.join(process.cwd(), 'fixtures/demo/aiwatch-arm64'), path.join(inputs, 'aiwatch'));
}, 120_000);
afterAll(async () => {
  process.env.TMPDIR = savedTmp;
  await closeSockets();
  rmSync(base, { recursive: true, force: true });
});

const I = (name: string): string => path.join(inputs, name);

/** Every command that writes: its argv before `--out X`, the output's kind, and whether the same line can succeed here. */
const COMMANDS: Array<{ name: string; argv: () => string[]; control: boolean }> = [
  { name: 'build', argv: () => ['build', '--demo'], control: true },
  { name: 'profiles', argv: () => ['profiles'], control: true },
  { name: 'tenant', argv: () => ['tenant', ...HOST], control: true },
  { name: 'tenants', argv: () => ['tenants', '--csv', I('t.csv')], control: true },
  { name: 'intune', argv: () => ['intune', ...HOST], control: true },
  { name: 'cleanup-script', argv: () => ['cleanup-script'], control: true },
  { name: 'uninstall-script', argv: () => ['uninstall-script'], control: true },
  { name: 'sign-pkg', argv: () => ['sign-pkg', I('demo.pkg'), '--key', pki.installer.key, '--cert', pki.installer.cert, '--chain', pki.chain, '--allow-untrusted', '--no-timestamp'], control: true },
  { name: 'sign-profile', argv: () => ['sign-profile', I('profiles/com.runlayer.aiwatch.pppc.mobileconfig'), '--p12', pki.codeSigning.p12, '--p12-password-file', pki.passwordFile], control: true },
  // No rcodesign and no ticket server here: these two show only the refusal (it comes before any tool or request).
  { name: 'sign-binary', argv: () => ['sign-binary', I('aiwatch'), '--p12', pki.codeSigning.p12, '--p12-password-file', pki.passwordFile, '--allow-untrusted'], control: false },
  { name: 'staple', argv: () => ['staple', I('demo.pkg'), '--ticket-url', 'https://127.0.0.1:9/ticket'], control: false },
];

function freshCwd(): string {
  n += 1;
  const d = path.join(base, `cwd-${n}`);
  mkdirSync(d);
  return d;
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Run and expect the one refusal line for `out`, exit 3, and the cwd and TMPDIR unchanged. */
async function expectRefused(argv: string[], cwd: string, out: string, words: string): Promise<void> {
  const before = snapshot(cwd);
  const r = await cli([...argv, '--out', out], { cwd, env });
  const errors = r.stderr.trim().split('\n').filter((l) => !l.startsWith('WARNING: '));
  expect(errors, r.stderr).toHaveLength(1);
  expect(errors[0]).toMatch(new RegExp(`^aiwatch-deploy: ${esc(out)}: --out: ${words}`));
  expect(r.code).toBe(3);
  expect(r.stdout).toBe('');
  expect(snapshot(cwd)).toEqual(before);
  expect(snapshot(tmp)).toEqual([]);
}

describeAsRoot('outputs never destroy: every command that writes', () => {
  for (const c of COMMANDS) {
    it(`${c.name} --out <character device>: exit 3, the device stays, nothing written`, async () => {
      if (c.control) {
        const ok = freshCwd();
        const r = await cli([...c.argv(), '--out', path.join(ok, 'out-target')], { cwd: ok, env });
        expect(r.code, `control run of ${c.name}: ${r.stderr}`).toBe(0);
      }
      const cwd = freshCwd();
      const dev = path.join(cwd, 'n');
      await makeSpecial('char', dev);
      await expectRefused(c.argv(), cwd, dev, 'is a character device');
      expect(isStill('char', dev)).toBe(true);
    });
  }

  for (const kind of SPECIAL_KINDS) {
    it(`tenant and profiles refuse ${KIND_WORDS[kind]}, a link to one, and a dangling link`, async () => {
      const cwd = freshCwd();
      const special = path.join(cwd, 'special');
      await makeSpecial(kind, special);
      const via = link(special, path.join(cwd, 'via'));
      const dangling = link('gone/x.mobileconfig', path.join(cwd, 'dangling'));
      for (const argv of [['tenant', ...HOST], ['profiles']]) {
        await expectRefused(argv, cwd, special, `is ${esc(KIND_WORDS[kind])}`);
        await expectRefused(argv, cwd, via, `is a symbolic link to ${esc(special)}, which is ${esc(KIND_WORDS[kind])}`);
        await expectRefused(argv, cwd, dangling, 'is a symbolic link to gone/x\\.mobileconfig, which does not exist');
      }
      expect(isStill(kind, special)).toBe(true);
    });
  }

  it('tenant --out <link to a regular file>: the target is replaced (0600, the key inside), the link stays', async () => {
    const cwd = freshCwd();
    mkdirSync(path.join(cwd, 'real'));
    const target = regular(path.join(cwd, 'real', 'acme.mobileconfig'));
    const l = link('real/acme.mobileconfig', path.join(cwd, 'acme.mobileconfig'));
    const r = await cli(['tenant', ...HOST, '--out', l], { cwd, env });
    expect(r.code, r.stderr).toBe(0);
    expect(lstatSync(l).isSymbolicLink()).toBe(true);
    expect(readlinkSync(l)).toBe('real/acme.mobileconfig');
    expect(readFileSync(target, 'utf8')).toContain(ORG_KEY);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(snapshot(cwd)).toEqual(['l acme.mobileconfig', 'd real', `f real/acme.mobileconfig ${statSync(target).size}`]);
  });

  it('profiles --out DIR where one of its files is a FIFO: exit 3 before any file is written', async () => {
    const cwd = freshCwd();
    const fifo = path.join(cwd, 'out', 'com.runlayer.aiwatch.loginitems.mobileconfig');
    await makeSpecial('fifo', fifo);
    const r = await cli(['profiles', '--out', 'out'], { cwd, env });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`aiwatch-deploy: ${fifo}: is a FIFO (named pipe); refusing to write over it\n`);
    expect(snapshot(cwd)).toEqual(['d out', 'p out/com.runlayer.aiwatch.loginitems.mobileconfig']);
    expect(isStill('fifo', fifo)).toBe(true);
  });
});

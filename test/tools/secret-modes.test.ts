/**
 * Secret files are 0600 from the first byte (issue 16 item 2), also those a tool writes: osslsigncode creates its
 * signed copy with 0666 & ~umask, and the signed Invoke-AiwatchScan.ps1 holds the organization key. With this
 * process's umask at the common 022, `intune --sign-pfx` and `sign-binary --p12` run through the recording stand-ins
 * (the real osslsigncode behind its stub), which list the signing folder right after the tool wrote into it: the
 * folder is 0700, every file in it 0600 (a signed binary 0700: it keeps its x bits), and the tool ran under umask 077.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FIXTURES_DIR } from '../../src/config/paths.js';
import { cli } from '../cli/cli-helpers.js';
import { getTestPki, TEST_P12_PASSWORD } from '../helpers/test-pki.js';
import { describeWithTools } from '../helpers/tools.js';
import { makePki, PASSWORD, type Pki } from '../intune/pki.js';
import { installStubs } from './stubs.js';

const work = mkdtempSync(path.join(tmpdir(), 'aiwatch-secret-modes-'));
const saved = { ...process.env };
let savedUmask = 0;
let stubs: ReturnType<typeof installStubs>;
let pfx: Pki;

beforeAll(() => {
  getTestPki();
  pfx = makePki();
  stubs = installStubs(work);
  mkdirSync(path.join(work, 'tmp'));
  Object.assign(process.env, { PATH: `${stubs.bin}:${process.env.PATH}`, TMPDIR: path.join(work, 'tmp') });
  savedUmask = process.umask(0o022);
}, 120_000);
afterAll(() => {
  process.umask(savedUmask);
  Object.assign(process.env, { PATH: saved.PATH, TMPDIR: saved.TMPDIR });
  if (saved.TMPDIR === undefined) delete process.env.TMPDIR;
  rmSync(work, { recursive: true, force: true });
  rmSync(pfx.dir, { recursive: true, force: true });
});

const env = { AIWATCH_ORG_API_KEY: 'rl_org_MODEStest4711', AIWATCH_PFX_PASSWORD: PASSWORD, AIWATCH_P12_PASSWORD: TEST_P12_PASSWORD };

describeWithTools(['osslsigncode', 'openssl'], 'files a tool writes next to our secrets are 0600 in a 0700 folder', () => {
  it('intune --sign-pfx: every file in the signing folder is 0600 (the signed scripts too), the folder 0700', async () => {
    stubs.setDriver('intune');
    const r = await cli(['intune', '--host', 'https://acme.runlayer.com', '--sign-pfx', pfx.pfx, '--sign-ca-file', pfx.caCert, '--out', 'out'], { cwd: work, env });
    expect(r.code, r.stderr).toBe(0);
    const signs = stubs.calls().filter((c) => c.driver === 'intune' && c.tool === 'osslsigncode' && c.argv[0] === 'sign');
    expect(signs.length).toBeGreaterThanOrEqual(5);
    for (const c of signs) {
      const out = c.argv[c.argv.indexOf('-out') + 1]!;
      expect(c.modes, out).toContain(`600 ${out}`);
      expect(c.modes.filter((m) => !/^600 /.test(m)), out).toEqual([`700 ${path.dirname(out)}`]);
      expect(c.umask).toBe('0077');
    }
  });

  it('sign-binary --p12: the password file is 0600, the signed copy owner-only, in a 0700 folder', async () => {
    stubs.setDriver('sign-binary');
    const bin = path.join(work, 'aiwatch');
    copyFileSync(path.join(FIXTURES_DIR, 'demo', 'aiwatch-arm64'), bin);
    await cli(['sign-binary', bin, '--out', path.join(work, 'signed'), '--p12', getTestPki().codeSigning.p12, '--allow-untrusted'], { cwd: work, env });
    const [c, ...more] = stubs.calls().filter((x) => x.driver === 'sign-binary');
    expect(more).toEqual([]);
    const out = c!.argv.at(-1)!;
    const pw = c!.argv[c!.argv.indexOf('--p12-password-file') + 1]!;
    // the signed copy keeps the binary's x bits (rcodesign, like cp here, copies them): owner-only is the rule
    expect(c!.modes.sort()).toEqual([`600 ${pw}`, `700 ${path.dirname(out)}`, `700 ${out}`].sort());
    expect(c!.umask).toBe('0077');
  });
});

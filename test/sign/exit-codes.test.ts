/**
 * README "Exit codes", signing failures: one table, every signer. Each row is tried with every signer it applies to —
 * `sign-pkg`, `sign-profile`, `sign-binary` (rcodesign stand-in on PATH), `intune --sign-pfx` (the real
 * osslsigncode), `build --sign`, `build --sign-profiles`, `build --sign-binary` — through main() in this process,
 * with identities from `openssl ca` (dated-pki.ts), local time-stamp servers (closed port, refusing TSA), and stub
 * tools for "missing" and "failed". Every failure leaves nothing in the output.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES_DIR } from '../../src/config/paths.js';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { planProfiles } from '../../src/profiles/plan.js';
import { startLocalServer } from '../helpers/servers/listen.js';
import { startTestTsa } from '../helpers/servers/tsa.js';
import { getTestPki } from '../helpers/test-pki.js';
import { describeWithTools } from '../helpers/tools.js';
import { unsignedPkg } from '../notary/pkgs.js';
import { cli, stubTool, tempDir } from '../trust/helpers.js';
import { getDatedPki, type DatedPki } from './dated-pki.js';

type Tool = 'rcodesign' | 'osslsigncode';
type Row = 'password' | 'unreadable' | 'expired' | 'notYetValid' | 'wrongKind' | 'tsUnreachable' | 'tsRefused' | 'toolMissing' | 'toolFailed';

/** The table of README "Exit codes" (signing failures). */
const EXPECTED: Record<Row, number> = {
  password: 2, unreadable: 3, expired: 3, notYetValid: 3, wrongKind: 3, tsUnreachable: 5, tsRefused: 6, toolMissing: 4, toolFailed: 4,
};

interface Call {
  /** The identity file, its password file, whether --allow-untrusted is given, the time-stamp URL (null: none). */
  p12: string;
  pw: string;
  untrusted: boolean;
  ts: string | null;
  out: string;
}

interface Signer {
  name: string;
  argv: (c: Call) => string[];
  /** The external tool it runs, if any. */
  tool?: Tool;
  timestamps: boolean;
  /** Whether a certificate can be of the wrong kind for it (a profile can be signed by any certificate). */
  kindMatters: boolean;
}

const DEMO = path.join(FIXTURES_DIR, 'demo', 'aiwatch-arm64');
let inputs: { pkg: string; profile: string; binary: () => string; orgKey: string };
let pki: DatedPki;

const ts = (c: Call, flag = '--timestamp-url'): string[] => (c.ts ? [flag, c.ts] : flag === '--timestamp-url' ? ['--no-timestamp'] : []);
const untrusted = (c: Call): string[] => (c.untrusted ? ['--allow-untrusted'] : []);

const SIGNERS: Signer[] = [
  { name: 'sign-pkg', timestamps: true, kindMatters: true, argv: (c) => ['sign-pkg', inputs.pkg, '--out', c.out, '--p12', c.p12, '--p12-password-file', c.pw, ...untrusted(c), ...ts(c)] },
  { name: 'sign-profile', timestamps: false, kindMatters: false, argv: (c) => ['sign-profile', inputs.profile, '--out', c.out, '--p12', c.p12, '--p12-password-file', c.pw] },
  { name: 'sign-binary', tool: 'rcodesign', timestamps: true, kindMatters: true, argv: (c) => ['sign-binary', inputs.binary(), '--out', c.out, '--p12', c.p12, '--p12-password-file', c.pw, ...untrusted(c), ...ts(c)] },
  {
    name: 'intune --sign-pfx', tool: 'osslsigncode', timestamps: true, kindMatters: true,
    argv: (c) => ['intune', '--host', 'https://acme.runlayer.com', '--org-api-key-file', inputs.orgKey, '--out', c.out, '--sign-pfx', c.p12, '--pfx-password-file', c.pw, ...ts(c, '--sign-timestamp-url')],
  },
  { name: 'build --sign', timestamps: true, kindMatters: true, argv: (c) => ['build', '--demo', '--sign', '--p12', c.p12, '--p12-password-file', c.pw, ...untrusted(c), ...ts(c), '--out', c.out] },
  { name: 'build --sign-profiles', timestamps: false, kindMatters: false, argv: (c) => ['build', '--demo', '--sign-profiles', '--p12', c.p12, '--p12-password-file', c.pw, '--no-timestamp', '--out', c.out] },
  {
    name: 'build --sign-binary', tool: 'rcodesign', timestamps: true, kindMatters: true,
    argv: (c) => ['build', '--demo', '--sign-binary', '--binary-p12', c.p12, '--binary-p12-password-file', c.pw, ...untrusted(c), ...ts(c), '--out', c.out],
  },
];

/** PATH for one run: exactly `dirs` (so a tool not among them is missing), restored afterwards. */
const savedPath = process.env.PATH;
afterEach(() => {
  process.env.PATH = savedPath;
});
function pathOnly(dirs: string[]): void {
  process.env.PATH = dirs.join(':');
}

const failingTool = (tool: Tool): string =>
  stubTool(tool, tool === 'osslsigncode'
    ? 'if [ "$1" = "--version" ]; then echo "osslsigncode 2.9, using:"; exit 0; fi; echo "Failed to sign" >&2; exit 1'
    : 'echo "error: signing failed" >&2; exit 1').dir;

/** A PATH holding no program at all. */
const noTools = (): string[] => [tempDir('exit-codes-empty-path')];

/** A failing signing tool that timestamps: the rcodesign stand-in fails as the real one does without its server. */
function toolsForTimestampFailure(s: Signer): string[] {
  if (s.tool === 'rcodesign') return [failingTool('rcodesign'), '/usr/bin', '/bin'];
  return ['/usr/local/bin', '/usr/bin', '/bin'];
}

async function closedPortUrl(): Promise<string> {
  const srv = await startLocalServer(() => undefined, { autoStop: false });
  await srv.close();
  return `${srv.url}/ts`;
}

async function attempt(s: Signer, row: Row, c: Partial<Call> = {}): Promise<{ code: number; stderr: string; out: string }> {
  const out = path.join(tempDir('exit-codes'), 'out');
  const call: Call = { p12: pki.good, pw: pki.passwordFile, untrusted: true, ts: null, out, ...c };
  const r = await cli(s.argv({ ...call, out }), { env: { SOURCE_DATE_EPOCH: '1700000000' } });
  expect(existsSync(out) ? `${out} exists` : 'nothing written', `${s.name} / ${row}`).toBe('nothing written');
  return { code: r.code, stderr: r.stderr, out };
}

describeWithTools(['openssl', 'bsdtar', 'osslsigncode'], 'signing failures: one exit code per failure, whichever signer', () => {
  beforeAll(() => {
    pki = getDatedPki();
    const dir = tempDir('exit-codes-in');
    const profile = planProfiles(loadDefaultSpec())[0]!;
    writeFileSync(path.join(dir, profile.path), profile.bytes);
    writeFileSync(path.join(dir, 'org.key'), 'rl_org_EXITcodesTestKey1\n', { mode: 0o600 });
    mkdirSync(path.join(dir, 'bins'));
    let n = 0;
    inputs = {
      pkg: unsignedPkg(path.join(dir, 'unsigned.pkg'), 2000),
      profile: path.join(dir, profile.path),
      orgKey: path.join(dir, 'org.key'),
      binary: () => {
        const f = path.join(dir, 'bins', `aiwatch-${(n += 1)}`);
        copyFileSync(DEMO, f);
        return f;
      },
    };
    getTestPki(); // the TSA certificate of the refusing server
  });

  for (const s of SIGNERS) {
    describe(s.name, () => {
      // The identity rows run with no signing tool on PATH: the identity is checked before any tool is looked for.
      it(`wrong password → ${EXPECTED.password}`, async () => {
        pathOnly(noTools());
        const r = await attempt(s, 'password', { pw: pki.wrongPasswordFile });
        expect(r.stderr).toMatch(/wrong password for this PKCS#12 file/);
        expect(r.stderr).not.toContain('not the password');
        expect(r.code).toBe(EXPECTED.password);
      });

      it(`unreadable PFX (not PKCS#12) → ${EXPECTED.unreadable}`, async () => {
        pathOnly(noTools());
        const r = await attempt(s, 'unreadable', { p12: pki.garbage });
        expect(r.stderr).toContain(pki.garbage);
        expect(r.stderr).toMatch(/not a PKCS#12|cannot read this PKCS#12/);
        expect(r.code).toBe(EXPECTED.unreadable);
      });

      it(`expired certificate → ${EXPECTED.expired}`, async () => {
        pathOnly(noTools());
        const r = await attempt(s, 'expired', { p12: pki.expired });
        expect(r.stderr).toMatch(/"Expired Signer" expired on 2021-01-01T00:00:00\.000Z/);
        expect(r.code).toBe(EXPECTED.expired);
      });

      it(`certificate not valid yet → ${EXPECTED.notYetValid}`, async () => {
        pathOnly(noTools());
        const r = await attempt(s, 'notYetValid', { p12: pki.future });
        expect(r.stderr).toMatch(/"Future Signer" is not valid yet \(valid from 2040-01-01T00:00:00\.000Z/);
        expect(r.code).toBe(EXPECTED.notYetValid);
      });

      if (s.kindMatters) it(`a certificate of the wrong kind (TLS server: extended key usage serverAuth) → ${EXPECTED.wrongKind}`, async () => {
        pathOnly(noTools());
        const r = await attempt(s, 'wrongKind', { p12: pki.serverAuth, untrusted: false });
        expect(r.stderr).toMatch(/extended key usage|not a Developer ID Installer certificate|cannot sign code/);
        expect(r.code).toBe(EXPECTED.wrongKind);
      });

      if (s.timestamps) it(`time-stamp server unreachable → ${EXPECTED.tsUnreachable}`, async () => {
        const url = await closedPortUrl();
        pathOnly(toolsForTimestampFailure(s));
        const r = await attempt(s, 'tsUnreachable', { ts: url });
        expect(r.stderr).toContain(`time-stamp server ${url} could not be reached`);
        expect(r.code).toBe(EXPECTED.tsUnreachable);
      });

      if (s.timestamps) it(`time-stamp server refusing (PKIStatus rejection) → ${EXPECTED.tsRefused}`, async () => {
        const pkiT = getTestPki();
        const tsa = await startTestTsa({ certFile: pkiT.tsa.cert, keyFile: pkiT.tsa.key, clock: () => new Date() });
        tsa.mode = 'reject';
        pathOnly(toolsForTimestampFailure(s));
        const r = await attempt(s, 'tsRefused', { ts: tsa.url });
        expect(r.stderr).toContain(`time-stamp server ${tsa.url} answered rejection`);
        expect(r.code).toBe(EXPECTED.tsRefused);
      });

      if (s.tool) it(`signing tool missing → ${EXPECTED.toolMissing}`, async () => {
        pathOnly(noTools());
        const r = await attempt(s, 'toolMissing');
        expect(r.stderr).toContain(`${s.tool}: not found`);
        expect(r.code).toBe(EXPECTED.toolMissing);
      });

      if (s.tool) it(`signing tool failing → ${EXPECTED.toolFailed}`, async () => {
        pathOnly([failingTool(s.tool!), '/usr/bin', '/bin']);
        const r = await attempt(s, 'toolFailed');
        expect(r.stderr).toContain(`${s.tool}: exited with 1`);
        expect(r.code).toBe(EXPECTED.toolFailed);
      });
    });
  }
});

describeWithTools(['openssl', 'osslsigncode'], 'the time-stamp check after a tool fails', () => {
  it('a tool failing for another reason while its time-stamp server answers keeps exit 4', async () => {
    pki = getDatedPki();
    const pkiT = getTestPki();
    const tsa = await startTestTsa({ certFile: pkiT.tsa.cert, keyFile: pkiT.tsa.key, clock: () => new Date() });
    pathOnly([failingTool('rcodesign'), '/usr/bin', '/bin']);
    const bin = path.join(tempDir('exit-codes-bin'), 'aiwatch');
    copyFileSync(DEMO, bin);
    const out = path.join(tempDir('exit-codes-out'), 'signed');
    const r = await cli(['sign-binary', bin, '--out', out, '--p12', pki.good, '--p12-password-file', pki.passwordFile, '--allow-untrusted', '--timestamp-url', tsa.url]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('rcodesign: exited with 1');
    expect(tsa.requests).toHaveLength(1); // asked once, after the failure, and it answered
    expect(existsSync(out)).toBe(false);
  });
});

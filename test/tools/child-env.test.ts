/**
 * Children get a minimal environment (issue 16 item 1). Secrets are planted in this process's environment — ours
 * (AIWATCH_ORG_API_KEY, AIWATCH_ENROLLMENT_KEY, AIWATCH_PFX_PASSWORD, AIWATCH_P12_PASSWORD, …) and a CI runner's
 * (GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY, NPM_TOKEN) — and every spawn path is driven with recording stand-ins first
 * on PATH (test/tools/stubs.ts): the CLI commands that run a tool, in this process as a real run would (their
 * secrets read from that same environment), and the src/tools runner that no command reaches off macOS
 * (pkgbuild/productbuild). Each recorded child environment and argv must hold none of the planted values or names,
 * only the documented variables, and every spawn path must have been reached. No shell is run by name (the old
 * `sh -c 'command -v'` probe leaked the whole environment to it); the one shell left, /bin/sh by absolute path that
 * sets umask 077 and execs the tool, gets the same minimal environment — what the stubs record is what it passed on.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FIXTURES_DIR } from '../../src/config/paths.js';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { writeStreamAtomic } from '../../src/io/fs.js';
import { renderMacosScripts } from '../../src/release/macos-scripts.js';
import { buildFlatPackage, buildWithAppleTools, type FlatPackageInput } from '../../src/release/package.js';
import { CHILD_ENV_NAMES, hasTool } from '../../src/tools/run.js';
import { cli } from '../cli/cli-helpers.js';
import { getTestPki, TEST_P12_PASSWORD } from '../helpers/test-pki.js';
import { describeWithTools } from '../helpers/tools.js';
import { makePki, PASSWORD, type Pki } from '../intune/pki.js';
import { installStubs, STUBBED, type Call } from './stubs.js';

const PLANTED: Record<string, string> = {
  AIWATCH_ORG_API_KEY: 'rl_org_PLANTEDorgKey4711',
  AIWATCH_ENROLLMENT_KEY: 'rl_enroll_PLANTEDenroll4711',
  AIWATCH_PFX_PASSWORD: PASSWORD,
  AIWATCH_P12_PASSWORD: TEST_P12_PASSWORD,
  AIWATCH_NOTARY_KEY_ID: 'PLANTEDKEYID47',
  GITHUB_TOKEN: 'ghs_PLANTEDgithubToken4711',
  AWS_SECRET_ACCESS_KEY: 'PLANTEDawsSecret4711/abc+def',
  NPM_TOKEN: 'npm_PLANTEDnpmToken4711',
};

const work = mkdtempSync(path.join(tmpdir(), 'aiwatch-child-env-'));
const saved = { ...process.env };
let stubs: ReturnType<typeof installStubs>;
let pfx: Pki;

beforeAll(() => {
  getTestPki(); // built in the real TMPDIR before ours is set
  pfx = makePki();
  stubs = installStubs(work);
  mkdirSync(path.join(work, 'tmp'));
  Object.assign(process.env, PLANTED, { PATH: `${stubs.bin}:${process.env.PATH}`, TMPDIR: path.join(work, 'tmp'), LANG: 'C.UTF-8' });
}, 120_000);
afterAll(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
  rmSync(work, { recursive: true, force: true });
  rmSync(pfx.dir, { recursive: true, force: true });
});

/** Run the CLI as a real run would: its environment is this process's (planted secrets included). */
async function drive(name: string, argv: string[]): Promise<{ code: number; stderr: string }> {
  stubs.setDriver(name);
  const cwd = path.join(work, name);
  mkdirSync(cwd, { recursive: true });
  return cli(argv, { cwd, env: process.env });
}

/** The composer's input for the demo binary, staged in `<work>/<sub>`. */
function packageInput(binaryFile: string, sub: string): FlatPackageInput {
  const spec = loadDefaultSpec();
  const workDir = path.join(work, sub);
  mkdirSync(workDir, { recursive: true });
  return { spec, version: '1.0.0', hostArchitectures: ['arm64'], binaryFile, scripts: renderMacosScripts(spec), epoch: 1700000000, generator: 'test', workDir };
}

function leaks(c: Call): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(PLANTED)) {
    if (name in c.env) found.push(`${c.tool}: variable ${name}`);
    if (Object.values(c.env).some((v) => v.includes(value))) found.push(`${c.tool}: value of ${name} in its environment`);
    if (c.argv.some((a) => a.includes(value))) found.push(`${c.tool}: value of ${name} on its argv`);
  }
  return found;
}

describeWithTools(['osslsigncode', 'openssl'], 'children get a minimal environment, never our secrets', () => {
  it('hasTool resolves programs on PATH without running anything', async () => {
    stubs.setDriver('hasTool');
    expect(await hasTool('osslsigncode')).toBe(true);
    expect(await hasTool('rcodesign')).toBe(true);
    expect(await hasTool('no-such-tool-4711')).toBe(false);
    expect(await hasTool('/bin/sh')).toBe(true);
    expect(await hasTool(path.join(stubs.log))).toBe(false); // a folder is not a program
    expect(stubs.calls().filter((c) => c.driver === 'hasTool')).toEqual([]);
  });

  it('every spawn path, driven with planted secrets: 0 secrets reach a child, every path reached', async () => {
    const signed = await drive('intune --sign-pfx', ['intune', '--host', 'https://acme.runlayer.com', '--sign-pfx', pfx.pfx, '--sign-ca-file', pfx.caCert, '--out', 'intune']);
    expect(signed.code, signed.stderr).toBe(0);
    const ps1 = path.join(work, 'intune --sign-pfx', 'intune', 'Detect-Aiwatch.ps1');
    const verified = await drive('verify --ca-file', ['verify', ps1, '--ca-file', pfx.caCert]);
    expect(verified.code, verified.stderr).toBe(0);
    const bin = path.join(work, 'aiwatch');
    copyFileSync(path.join(FIXTURES_DIR, 'demo', 'aiwatch-arm64'), bin);
    await drive('sign-binary --p12 (rcodesign)', ['sign-binary', bin, '--out', path.join(work, 'signed-r'), '--p12', getTestPki().codeSigning.p12, '--allow-untrusted']);
    await drive('sign-binary --identity (codesign)', ['sign-binary', bin, '--out', path.join(work, 'signed-c'), '--signer', 'codesign', '--identity', 'Developer ID Application: Test']);
    await writeStreamAtomic(path.join(work, 'in.pkg'), async (out) => void (await buildFlatPackage(packageInput(bin, 'pkg-work'), out)));
    await drive('sign-pkg --signer apple (productsign)', ['sign-pkg', path.join(work, 'in.pkg'), '--out', path.join(work, 'signed.pkg'), '--signer', 'apple', '--identity', 'Developer ID Installer: Test']);
    stubs.setDriver('buildWithAppleTools (pkgbuild, productbuild)');
    await buildWithAppleTools(packageInput(bin, 'apple'), path.join(work, 'apple', 'out.pkg'), { platform: 'darwin' });

    const calls = stubs.calls();
    const paths = new Map<string, number>();
    for (const c of calls) {
      const key = c.tool === 'osslsigncode' ? `osslsigncode ${c.argv[0]}` : c.tool;
      paths.set(key, (paths.get(key) ?? 0) + 1);
    }
    // Every program we run, every way we run it (src/tools: osslsigncode.ts ×3, codesign.ts ×2, productsign.ts, apple-pkg.ts ×2).
    expect([...paths.keys()].sort()).toEqual(['codesign', 'osslsigncode --version', 'osslsigncode sign', 'osslsigncode verify', 'pkgbuild', 'productbuild', 'productsign', 'rcodesign']);
    expect(calls.filter((c) => c.tool === 'sh')).toEqual([]);
    expect(calls.flatMap(leaks)).toEqual([]);
    for (const c of calls) {
      expect(Object.keys(c.env).filter((k) => !CHILD_ENV_NAMES.includes(k) && !['PWD', 'SHLVL', '_', 'OLDPWD'].includes(k)), `${c.tool} (${c.driver})`).toEqual([]);
      expect(c.env.PATH, c.tool).toBe(process.env.PATH);
      expect(c.env.TMPDIR, c.tool).toBe(process.env.TMPDIR);
      expect(c.env.LANG, c.tool).toBe('C.UTF-8');
    }
    expect(STUBBED).toContain('sh');
    process.stderr.write(`child-env: ${calls.length} spawns over ${paths.size} spawn paths: ${[...paths].map(([k, v]) => `${k} ×${v}`).join(', ')}\n`);
  });
});

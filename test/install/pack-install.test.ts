/**
 * How users get us: `npm pack` → `npm install <tarball>` into an empty prefix → run the installed `aiwatch-deploy`
 * from a folder outside the repository. Proves the tarball carries everything the CLI reads at run time (dist/,
 * templates, schemas, profiles, launchd, the demo binaries, Apple's certificates and payload schemas) and nothing of
 * the development tree, and that `verify` applies Apple's payload rules with nothing beside the installed package.
 *
 * One pack and one install for the whole file (~10-20 s; the dependencies come from the npm cache `npm ci` filled,
 * `--prefer-offline`). `npm pack --ignore-scripts`: dist/ is what global-setup just built with the command `prepare`
 * runs (tsc -p tsconfig.build.json), so packing does not compile a second time. Everything is written under one
 * temporary folder, removed afterwards (Node's compile cache included, through XDG_CACHE_HOME); only npm itself
 * records the installed tarball in its content-addressed cache (~0.5 MB, as for any install of a tarball).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const work = mkdtempSync(path.join(tmpdir(), 'aiwatch-pack-'));
const prefix = path.join(work, 'prefix');
const cwd = path.join(work, 'cwd');
const tgzBefore = readdirSync(ROOT).filter((f) => f.endsWith('.tgz'));

/** The environment of a user's shell: our Node first on PATH, none of an enclosing `npm test`'s npm_* variables. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_(?:package|lifecycle)_/i.test(k) || ['npm_config_prefix', 'npm_config_local_prefix', 'npm_command', 'INIT_CWD', 'AIWATCH_APPLE_DM_DIR'].includes(k)) continue;
    env[k] = v;
  }
  env.PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;
  env.XDG_CACHE_HOME = path.join(work, 'cache');
  env.npm_config_update_notifier = 'false';
  return env;
}
const env = userEnv();

function run(cmd: string, args: string[], dir: string): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd: dir, env, encoding: 'utf8', timeout: 180_000 });
}
const cli = (...args: string[]): SpawnSyncReturns<string> => run(path.join(prefix, 'node_modules', '.bin', 'aiwatch-deploy'), args, cwd);

interface PackResult {
  filename: string;
  size: number;
  entryCount: number;
  files: Array<{ path: string }>;
}
let packed: PackResult;
let installed: SpawnSyncReturns<string>;

beforeAll(() => {
  mkdirSync(cwd);
  const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT);
  if (pack.status !== 0) throw new Error(`npm pack failed (${pack.status}):\n${pack.stderr}`);
  packed = (JSON.parse(pack.stdout) as PackResult[])[0]!;
  installed = run('npm', ['install', '--prefix', prefix, path.join(work, packed.filename), '--prefer-offline', '--no-audit', '--no-fund'], cwd);
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('npm pack → npm install <tarball> → aiwatch-deploy', () => {
  it('the tarball holds what the CLI reads at run time and nothing of the development tree', () => {
    const files = packed.files.map((f) => f.path);
    for (const f of [
      'bin/aiwatch-deploy.js',
      'dist/cli/main.js',
      'data/apple-device-management/payload-schemas.json',
      'data/apple-device-management/LICENSE.txt',
      'data/apple-device-management/SOURCE.txt',
      'fixtures/demo/aiwatch-arm64',
      'fixtures/demo/aiwatch-x86_64',
      'certs/apple/AppleIncRootCertificate.cer',
      'profiles/deployment.json',
      'schemas/deployment.schema.json',
      'launchd/com.runlayer.aiwatch.json',
    ]) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.startsWith('templates/')).length).toBeGreaterThan(10);
    expect(files.filter((f) => /^(?:src|test|scripts|docs|node_modules|\.ci)\//.test(f))).toEqual([]);
    // Every compiled module's source still exists: no stale dist/ file from a deleted source travels.
    const stale = files.filter((f) => f.startsWith('dist/') && f.endsWith('.js')).filter((f) => !existsSync(path.join(ROOT, 'src', f.slice(5, -3) + '.ts')));
    expect(stale).toEqual([]);
  });

  it('installs into an empty prefix', () => {
    expect(installed.stderr).not.toMatch(/npm error/);
    expect(installed.status, installed.stderr).toBe(0);
    expect(existsSync(path.join(prefix, 'node_modules', 'aiwatch-deploy', 'dist', 'cli', 'main.js'))).toBe(true);
  });

  it('build --demo, profiles and verify work from a folder outside the repository; verify applies Apple\'s payload rules', () => {
    const build = cli('build', '--demo', '--out', path.join(work, 'out'));
    expect(build.stderr).not.toMatch(/internal error/);
    expect(build.status, build.stderr).toBe(0);
    const zip = path.join(work, 'out', 'aiwatch-1.0.0-macos-arm64.zip');
    expect(existsSync(zip)).toBe(true);
    const profiles = cli('profiles', '--out', path.join(work, 'profiles'));
    expect(profiles.status, profiles.stderr).toBe(0);
    const mobileconfigs = readdirSync(path.join(work, 'profiles'))
      .filter((f) => f.endsWith('.mobileconfig'))
      .map((f) => path.join(work, 'profiles', f));
    expect(mobileconfigs).toHaveLength(2);

    const verify = cli('verify', zip, ...mobileconfigs);
    expect(verify.stdout, verify.stderr).toContain('3 ok, 0 with problems');
    expect(verify.status).toBe(0);
    expect(`${verify.stdout}${verify.stderr}`).not.toMatch(/payload schemas|own rules/i);

    // A typo only Apple's TopLevel schema knows about (our own rules do not list top-level keys).
    const pppc = mobileconfigs.find((f) => f.includes('pppc'))!;
    const typo = path.join(work, 'typo.mobileconfig');
    writeFileSync(typo, readFileSync(pppc, 'utf8').replace('<key>PayloadScope</key>', '<key>PayloadScop</key>'));
    const bad = cli('verify', typo);
    expect(bad.stdout).toContain('unknown key "PayloadScop" (Apple schema TopLevel.yaml)');
    expect(bad.status).toBe(1);
  });

  it('leaves nothing in the repository (the tarball went to the temporary folder)', () => {
    expect(readdirSync(ROOT).filter((f) => f.endsWith('.tgz'))).toEqual(tgzBefore);
    expect(existsSync(path.join(work, packed.filename))).toBe(true);
  });
});

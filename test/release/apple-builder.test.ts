/**
 * `build --builder apple`: the exact pkgbuild/productbuild command lines; a clear UsageError off macOS; the staging
 * and the calls as actually run, with stand-in `pkgbuild`/`productbuild` scripts on PATH that record their argv and
 * the staged tree (Linux and macOS); and, on macOS only, parity of Apple's build with ours (lsbom of the Bom,
 * PackageInfo and Distribution read by xmllint).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { renderMacosScripts } from '../../src/release/macos-scripts.js';
import { buildRelease } from '../../src/release/release.js';
import { buildWithAppleTools } from '../../src/release/package.js';
import { appleBuilderProblem, pkgbuildArgs, productbuildArgs } from '../../src/tools/apple-pkg.js';
import { cli, demoArm64Path, listTree, tempDir } from './build-helpers.js';

const spec = loadDefaultSpec();

describe('command lines', () => {
  it('pkgbuild: root, identifier, version, install location /, scripts, recommended ownership, output', () => {
    expect(pkgbuildArgs({ root: '/w/root', scripts: '/w/scripts', identifier: 'com.runlayer.aiwatch.pkg', version: '1.4.0', output: '/w/component/aiwatch.pkg' })).toEqual([
      '--root', '/w/root',
      '--identifier', 'com.runlayer.aiwatch.pkg',
      '--version', '1.4.0',
      '--install-location', '/',
      '--scripts', '/w/scripts',
      '--ownership', 'recommended',
      '/w/component/aiwatch.pkg',
    ]);
  });

  it('productbuild: our Distribution, the folder holding the component, output', () => {
    expect(productbuildArgs({ distribution: '/w/Distribution', packagePath: '/w/component', output: '/w/out.pkg' })).toEqual([
      '--distribution', '/w/Distribution', '--package-path', '/w/component', '/w/out.pkg',
    ]);
  });

  it('paths with spaces stay single arguments (no shell in between)', () => {
    expect(pkgbuildArgs({ root: '/a b/root', scripts: '/a b/s', identifier: 'x.y', version: '1', output: '/a b/o.pkg' })).toContain('/a b/root');
  });
});

describe('off macOS', () => {
  it('appleBuilderProblem names the platform and the alternative', () => {
    expect(appleBuilderProblem('darwin')).toBeUndefined();
    expect(appleBuilderProblem('linux')).toBe(
      "--builder apple runs Apple's pkgbuild and productbuild, which exist only on macOS (this is linux); use --builder ours (the default), which writes the same package here",
    );
  });

  it.runIf(process.platform !== 'darwin')('build --builder apple is a UsageError (exit 2) and writes nothing', async () => {
    const work = tempDir('apple-linux');
    const r = await cli(['build', '--demo', '--builder', 'apple', '--out', path.join(work, 'out')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`aiwatch-deploy: ${appleBuilderProblem()!}\n`);
    expect(listTree(work)).toEqual([]);
  });
});

/** Stand-ins for Apple's tools: record argv and the staged tree (path, mode, mtime), write a placeholder output. */
function fakeAppleTools(dir: string): { log: string } {
  const log = path.join(dir, 'calls.log');
  mkdirSync(dir, { recursive: true });
  const script = (name: string, body: string): void => {
    writeFileSync(path.join(dir, name), `#!/bin/sh\nprintf '%s\\n' "${name}" "$@" "--" >> "${log}"\n${body}\n`);
    chmodSync(path.join(dir, name), 0o755);
  };
  // pkgbuild's argv: $2 root, ${10} scripts, ${13} output; productbuild's: $2 Distribution, $5 output.
  script('pkgbuild', `(cd "$2" && find . -mindepth 1 -printf '%p %m %T@\\n' | sort) >> "${log}"\n(cd "\${10}" && find . -mindepth 1 -printf '%p %m %T@\\n' | sort) >> "${log}"\nprintf 'component\\n' > "\${13}"`);
  script('productbuild', `printf 'product\\n' > "$5"`);
  return { log };
}

describe('the calls as run (stand-in tools on PATH)', () => {
  it('stages the payload and scripts with modes and SOURCE_DATE_EPOCH times, then runs pkgbuild and productbuild', async () => {
    const work = tempDir('apple-fake');
    const bin = path.join(work, 'bin');
    const { log } = fakeAppleTools(bin);
    const savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${savedPath}`;
    const steps: string[] = [];
    try {
      const r = await buildRelease({
        spec, version: '1.4.0', arch: 'arm64', binary: demoArm64Path, outDir: path.join(work, 'out'), epoch: 1700000000, builderVersion: '0.1.0', developmentBuild: true,
        onStep: (s) => steps.push(s),
        packageBuilder: (input, pkgFile) => buildWithAppleTools(input, pkgFile, { platform: 'darwin' }),
      });
      expect(r.pkg).toBeUndefined();
      expect(existsSync(r.zip)).toBe(true);
    } finally {
      process.env.PATH = savedPath;
    }
    expect(steps).toEqual(['check binary', 'render scripts', 'stage files for pkgbuild', 'pkgbuild (component package)', 'productbuild (product archive)', 'write release documents', 'write zip']);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    const argv = lines.slice(0, lines.indexOf('--'));
    const root = argv[2]!;
    const w = path.dirname(root);
    expect(argv).toEqual(['pkgbuild', ...pkgbuildArgs({ root, scripts: path.join(w, 'scripts'), identifier: 'com.runlayer.aiwatch.pkg', version: '1.4.0', output: path.join(w, 'component', 'aiwatch.pkg') })]);
    const t = '1700000000.0000000000';
    expect(lines.slice(lines.indexOf('--') + 1, lines.indexOf('productbuild'))).toEqual([
      `./Library 755 ${t}`,
      `./Library/LaunchAgents 755 ${t}`,
      `./Library/LaunchAgents/com.runlayer.aiwatch.enroll.plist 644 ${t}`,
      `./Library/LaunchAgents/com.runlayer.aiwatch.plist 644 ${t}`,
      `./Library/LaunchDaemons 755 ${t}`,
      `./Library/LaunchDaemons/com.runlayer.aiwatch.bootstrap.plist 644 ${t}`,
      `./usr 755 ${t}`,
      `./usr/local 755 ${t}`,
      `./usr/local/lib 755 ${t}`,
      `./usr/local/lib/runlayer 755 ${t}`,
      `./usr/local/lib/runlayer/aiwatch 755 ${t}`,
      `./usr/local/lib/runlayer/aiwatch/aiwatch 755 ${t}`,
      `./postinstall 755 ${t}`,
      `./preinstall 755 ${t}`,
    ]);
    const pb = lines.slice(lines.indexOf('productbuild'));
    expect(pb.slice(0, pb.indexOf('--'))).toEqual(['productbuild', ...productbuildArgs({ distribution: path.join(w, 'Distribution'), packagePath: path.join(w, 'component'), output: pb[5]! })]);
    expect(path.basename(pb[5]!)).toBe('aiwatch-1.4.0-macos-arm64.pkg');
  });

  it('staged bytes: the binary, and the scripts exactly as rendered', async () => {
    const work = tempDir('apple-bytes');
    const bin = path.join(work, 'bin');
    fakeAppleTools(bin);
    // This stand-in pkgbuild copies the staged root and scripts out, so the test can read them after the build.
    writeFileSync(path.join(bin, 'pkgbuild'), `#!/bin/sh\ncp -a "$2" "${work}/root-copy"; cp -a "\${10}" "${work}/scripts-copy"; printf x > "\${13}"\n`);
    const savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${savedPath}`;
    try {
      await buildRelease({
        spec, version: '1.4.0', arch: 'arm64', binary: demoArm64Path, outDir: path.join(work, 'out'), epoch: 1700000000, builderVersion: '0.1.0', developmentBuild: true,
        packageBuilder: (input, pkgFile) => buildWithAppleTools(input, pkgFile, { platform: 'darwin' }),
      });
    } finally {
      process.env.PATH = savedPath;
    }
    expect(readFileSync(path.join(work, 'root-copy', spec.installPath)).equals(readFileSync(demoArm64Path))).toBe(true);
    const scripts = renderMacosScripts(spec);
    expect(readFileSync(path.join(work, 'scripts-copy', 'preinstall'), 'utf8')).toBe(scripts.preinstall);
    expect(readFileSync(path.join(work, 'scripts-copy', 'postinstall'), 'utf8')).toBe(scripts.postinstall);
  });
});

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });
const xp = (file: string, expr: string): string => sh('xmllint', ['--xpath', expr, file]).replace(/\n$/, '');

describe.runIf(process.platform === 'darwin')('parity with Apple (macOS only)', () => {
  it('lsbom, PackageInfo and Distribution of Apple\'s build match ours', async () => {
    const work = tempDir('apple-parity');
    const expand = async (builder: string): Promise<string> => {
      const out = path.join(work, builder);
      const r = await cli(['build', '--demo', '--builder', builder, '--out', out]);
      expect(r.code).toBe(0);
      sh('ditto', ['-x', '-k', path.join(out, 'aiwatch-1.0.0-macos-arm64.zip'), path.join(out, 'zip')]);
      sh('pkgutil', ['--expand', path.join(out, 'zip', 'aiwatch-1.0.0-macos-arm64.pkg'), path.join(out, 'expanded')]);
      return path.join(out, 'expanded');
    };
    const ours = await expand('ours');
    const apple = await expand('apple');
    expect(sh('lsbom', [path.join(ours, 'aiwatch.pkg/Bom')])).toBe(sh('lsbom', [path.join(apple, 'aiwatch.pkg/Bom')]));
    const info = ['identifier', 'version', 'install-location', 'auth', 'format-version', 'relocatable', 'overwrite-permissions'].map((a) => `string(/pkg-info/@${a})`);
    info.push('string(/pkg-info/payload/@numberOfFiles)', 'string(/pkg-info/payload/@installKBytes)', 'string(/pkg-info/scripts/preinstall/@file)', 'string(/pkg-info/scripts/postinstall/@file)');
    for (const q of info) expect([q, xp(path.join(apple, 'aiwatch.pkg/PackageInfo'), q)]).toEqual([q, xp(path.join(ours, 'aiwatch.pkg/PackageInfo'), q)]);
    const dist = [
      'string(/installer-gui-script/title)', 'string(/installer-gui-script/options/@hostArchitectures)', 'string(/installer-gui-script/product/@id)',
      'string(/installer-gui-script/product/@version)', 'string(//os-version/@min)', 'string(//pkg-ref[@version]/@version)',
      'string(//pkg-ref[@version]/@installKBytes)', 'string(//pkg-ref[@version]/text())', 'count(//choice)',
    ];
    for (const q of dist) expect([q, xp(path.join(apple, 'Distribution'), q)]).toEqual([q, xp(path.join(ours, 'Distribution'), q)]);
    expect(listTree(path.join(apple, 'aiwatch.pkg'))).toEqual(listTree(path.join(ours, 'aiwatch.pkg')));
  });
});

/**
 * The whole release build, read back only by tools nobody here wrote: `unzip` and `sha256sum -c` for the zip,
 * `bsdtar` and `7z` for the product archive, `gzip -d` + GNU `cpio` for Payload and Scripts, `xmllint` for
 * Distribution/PackageInfo, `llvm-lipo` for the universal binary. Extracted bytes are compared with the inputs: the
 * demo fixture, the launchd plists src/launchd/plist.ts renders, the scripts src/release/macos-scripts.ts renders.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { renderLaunchdPlist } from '../../src/launchd/plist.js';
import { renderMacosScripts } from '../../src/release/macos-scripts.js';
import { describeWithTools, run } from '../helpers/tools.js';
import { llvmTool } from '../pkg/macho-helpers.js';
import { cli, demoArm64Path, demoX8664Path, listTree, tempDir, unpackRelease, type Unpacked } from './build-helpers.js';

const spec = loadDefaultSpec();
const mode = (f: string): number => statSync(f).mode & 0o7777;
const xpath = (file: string, expr: string): string => run('xmllint', ['--xpath', expr, file]).replace(/\n$/, '');

const RELEASE_FILES = [
  'README.txt',
  'SHA256SUMS',
  'aiwatch-1.0.0-macos-arm64.pkg',
  'aiwatch-doctor.sh',
  'aiwatch-intune-attribute.sh',
  'aiwatch-jamf-ea.sh',
  'cleanup-runlayer-scan.sh',
  'com.runlayer.aiwatch.jamf.schema.json',
  'com.runlayer.aiwatch.loginitems.mobileconfig',
  'com.runlayer.aiwatch.pppc.mobileconfig',
  'manifest.json',
  'uninstall-aiwatch.sh',
];
const PKG_MEMBERS = ['Distribution', 'Resources', 'aiwatch.pkg', 'aiwatch.pkg/Bom', 'aiwatch.pkg/PackageInfo', 'aiwatch.pkg/Payload', 'aiwatch.pkg/Scripts'];
const BINARY = 'usr/local/lib/runlayer/aiwatch/aiwatch';

/** `7z l -slt` member paths (the archive's own line and 7z's synthetic [TOC].xml left out). */
function sevenZipPaths(pkg: string): string[] {
  const out = run('7z', ['l', '-slt', '-txar', pkg]);
  return out.split('\n').filter((l) => l.startsWith('Path = ')).map((l) => l.slice(7)).filter((p) => p !== pkg && p !== '[TOC].xml').sort();
}

describeWithTools(['unzip', 'sha256sum', 'bsdtar', '7z', 'gzip', 'cpio', 'xmllint'], 'build --demo, read back by independent tools', () => {
  let work: string;
  let u: Unpacked;
  let pkgFile: string;

  beforeAll(async () => {
    work = tempDir('build');
    const r = await cli(['build', '--demo', '--out', path.join(work, 'out')]);
    expect(r.stderr).toContain('write zip…');
    expect(r.code).toBe(0);
    u = unpackRelease(path.join(work, 'out', 'aiwatch-1.0.0-macos-arm64.zip'), work);
    pkgFile = path.join(u.release, u.pkgName);
  });

  it('the zip holds exactly the release files, with their modes, and sha256sum -c SHA256SUMS passes', () => {
    expect(listTree(u.release)).toEqual(RELEASE_FILES);
    for (const f of RELEASE_FILES) expect([f, mode(path.join(u.release, f))]).toEqual([f, f.endsWith('.sh') ? 0o755 : 0o644]);
    // unzip -v: the pkg is stored (its Payload is gzip already), everything else deflated.
    const methods = run('unzip', ['-v', path.join(work, 'out', 'aiwatch-1.0.0-macos-arm64.zip')]).split('\n').filter((l) => / (Stored|Defl:N) /.test(l));
    expect(methods.map((l) => [l.trim().split(/\s+/).at(-1), l.includes(' Stored ') ? 'Stored' : 'Defl:N'])).toEqual(RELEASE_FILES.map((f) => [f, f.endsWith('.pkg') ? 'Stored' : 'Defl:N']));
    const checked = run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: u.release });
    expect(checked.trim().split('\n').sort()).toEqual(RELEASE_FILES.filter((f) => f !== 'SHA256SUMS').map((f) => `${f}: OK`).sort());
  });

  it('manifest.json names every file with its size, sha256 and mode', () => {
    const m = JSON.parse(readFileSync(path.join(u.release, 'manifest.json'), 'utf8')) as { files: Array<{ name: string; size: number; sha256: string; mode: number }> };
    expect(m.files.map((f) => f.name)).toEqual(RELEASE_FILES.filter((f) => f !== 'manifest.json' && f !== 'SHA256SUMS'));
    for (const f of m.files) {
      const file = path.join(u.release, f.name);
      expect([f.name, f.size, f.sha256, f.mode]).toEqual([f.name, statSync(file).size, run('sha256sum', [file]).split(' ')[0], mode(file)]);
    }
  });

  it('bsdtar -tf and 7z l -txar list the same product archive members', () => {
    expect(run('bsdtar', ['-tf', pkgFile]).trim().split('\n').sort()).toEqual(PKG_MEMBERS);
    expect(sevenZipPaths(pkgFile)).toEqual(PKG_MEMBERS);
  });

  it('bsdtar -xf and 7z x extract identical bytes', () => {
    const seven = path.join(work, '7z');
    run('7z', ['x', '-txar', `-o${seven}`, pkgFile]);
    for (const m of ['Distribution', 'aiwatch.pkg/Bom', 'aiwatch.pkg/PackageInfo', 'aiwatch.pkg/Payload', 'aiwatch.pkg/Scripts']) {
      expect([m, readFileSync(path.join(seven, m)).equals(readFileSync(path.join(u.pkg, m)))]).toEqual([m, true]);
    }
  });

  it('Payload (GNU cpio): the binary equals the fixture, the plists equal what plist.ts renders, modes 0755/0644', () => {
    const files = [BINARY, ...spec.units.map((unit) => unit.plistPath.slice(1))];
    const dirs = ['Library', 'Library/LaunchAgents', 'Library/LaunchDaemons', 'usr', 'usr/local', 'usr/local/lib', 'usr/local/lib/runlayer', 'usr/local/lib/runlayer/aiwatch'];
    expect(listTree(u.payload)).toEqual([...files, ...dirs].sort());
    expect(readFileSync(path.join(u.payload, BINARY)).equals(readFileSync(demoArm64Path))).toBe(true);
    expect(mode(path.join(u.payload, BINARY))).toBe(0o755);
    expect(spec.units).toHaveLength(3);
    for (const unit of spec.units) {
      const f = path.join(u.payload, unit.plistPath);
      expect(readFileSync(f, 'utf8')).toBe(renderLaunchdPlist(unit));
      expect([unit.plistPath, mode(f)]).toEqual([unit.plistPath, 0o644]);
    }
    for (const d of dirs) expect([d, mode(path.join(u.payload, d))]).toEqual([d, 0o755]);
  });

  it('Payload: every entry is owned by uid 0 / gid 0 (cpio -tv --numeric-uid-gid)', () => {
    const listing = run('sh', ['-c', 'gzip -dc "$1" | cpio -tv --numeric-uid-gid --quiet', 'sh', path.join(u.pkg, 'aiwatch.pkg/Payload')]);
    const lines = listing.trim().split('\n');
    expect(lines).toHaveLength(1 + 8 + 4); // '.', 8 folders, binary + 3 plists
    for (const l of lines) {
      const [perm, , uid, gid] = l.split(/\s+/);
      expect([l, uid, gid]).toEqual([l, '0', '0']);
      expect(perm).toMatch(/^[d-]rw[x-]r-[x-]r-[x-]$/);
    }
  });

  it('Scripts: preinstall and postinstall, 0755, exactly as rendered', () => {
    const scripts = renderMacosScripts(spec);
    expect(listTree(u.scripts)).toEqual(['postinstall', 'preinstall']);
    for (const name of ['preinstall', 'postinstall'] as const) {
      expect(readFileSync(path.join(u.scripts, name), 'utf8')).toBe(scripts[name]);
      expect(mode(path.join(u.scripts, name))).toBe(0o755);
    }
  });

  it('Distribution and PackageInfo (xmllint): identifiers, version, host architecture, scripts', () => {
    const dist = path.join(u.pkg, 'Distribution');
    const info = path.join(u.pkg, 'aiwatch.pkg/PackageInfo');
    expect(xpath(dist, 'string(/installer-gui-script/options/@hostArchitectures)')).toBe('arm64');
    expect(xpath(dist, 'string(/installer-gui-script/product/@version)')).toBe('1.0.0');
    expect(xpath(dist, 'string(//pkg-ref[@version]/text())')).toBe('#aiwatch.pkg');
    expect(xpath(info, 'string(/pkg-info/@identifier)')).toBe(spec.packageIdentifier);
    expect(xpath(info, 'string(/pkg-info/@version)')).toBe('1.0.0');
    expect(xpath(info, 'string(/pkg-info/@install-location)')).toBe('/');
    expect(xpath(info, 'concat(/pkg-info/scripts/preinstall/@file, " ", /pkg-info/scripts/postinstall/@file)')).toBe('./preinstall ./postinstall');
  });
});

const lipo = llvmTool('llvm-lipo');

describeWithTools(['unzip', 'bsdtar', 'gzip', 'cpio', 'xmllint', lipo], 'universal build from the two demo fixtures', () => {
  it('hostArchitectures "arm64,x86_64" and a fat binary whose slices are the fixtures', async () => {
    const work = tempDir('universal');
    const r = await cli(['build', '--binary', demoArm64Path, '--binary-x86_64', demoX8664Path, '--arch', 'universal', '--version', '1.0.0', '--development-build', '--out', path.join(work, 'out'), '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { zip: string; manifest: { arch: string; binary: { arches: string[] } } };
    expect(path.basename(result.zip)).toBe('aiwatch-1.0.0-macos-universal.zip');
    expect([result.manifest.arch, result.manifest.binary.arches]).toEqual(['universal', ['x86_64', 'arm64']]);
    const u = unpackRelease(result.zip, work);
    expect(xpath(path.join(u.pkg, 'Distribution'), 'string(/installer-gui-script/options/@hostArchitectures)')).toBe('arm64,x86_64');
    const fat = path.join(u.payload, BINARY);
    expect(readFileSync(fat).readUInt32BE(0)).toBe(0xcafebabe);
    expect(mode(fat)).toBe(0o755);
    expect(run(lipo, ['-archs', fat]).trim().split(/\s+/).sort()).toEqual(['arm64', 'x86_64']);
    for (const [arch, fixture] of [['arm64', demoArm64Path], ['x86_64', demoX8664Path]] as const) {
      const thin = path.join(work, `thin-${arch}`);
      run(lipo, ['-thin', arch, fat, '-output', thin]);
      expect([arch, readFileSync(thin).equals(readFileSync(fixture))]).toEqual([arch, true]);
    }
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parsePackageInfo, renderPackageInfo, type PackageInfoOptions } from '../../src/pkg/package-info.js';
import { describeWithTools, run } from '../helpers/tools.js';

const AIWATCH: PackageInfoOptions = {
  identifier: 'com.runlayer.aiwatch',
  version: '1.4.0',
  generatorVersion: 'aiwatch-deploy 0.1.0',
  payload: { numberOfFiles: 9, installKBytes: 18234 },
  scripts: { preinstall: true, postinstall: true },
};

describe('PackageInfo rendering', () => {
  it('matches the golden file (pkgbuild shape: attribute order, empty bundle lists, scripts)', async () => {
    await expect(renderPackageInfo(AIWATCH)).toMatchFileSnapshot('../golden/pkg/PackageInfo.xml');
  });

  it('writes pkgbuild\'s root attributes in pkgbuild\'s order and no trailing newline', () => {
    const xml = renderPackageInfo(AIWATCH);
    expect(xml.split('\n')[0]).toBe('<?xml version="1.0" encoding="utf-8"?>');
    expect(xml.split('\n')[1]).toBe(
      '<pkg-info overwrite-permissions="true" relocatable="false" identifier="com.runlayer.aiwatch" postinstall-action="none" version="1.4.0" format-version="2" generator-version="aiwatch-deploy 0.1.0" install-location="/" auth="root">',
    );
    expect(xml.endsWith('</pkg-info>')).toBe(true);
  });

  it('omits <payload> for a payload-free package and <scripts> when there are none', () => {
    const xml = renderPackageInfo({ identifier: 'com.runlayer.aiwatch.cleanup', version: '1', generatorVersion: 'g' });
    expect(xml).not.toContain('<payload');
    expect(xml).not.toContain('<scripts');
    expect(xml).toContain('    <relocate/>\n</pkg-info>');
    const only = renderPackageInfo({ ...AIWATCH, scripts: { postinstall: true } });
    expect(only).toContain('    <scripts>\n        <postinstall file="./postinstall" timeout="600"/>\n    </scripts>');
  });

  it('script elements carry timeout="600" as modern pkgbuild writes, or the spec\'s value', () => {
    // pkgbuild's shape, as pkgbuild-made PackageInfo files show it and electron/osx-sign's parity-tested writer
    // (spec/pkg-utils/pkg-units.spec.ts) pins it: `<preinstall file="./preinstall" timeout="600"/>`.
    const xml = renderPackageInfo(AIWATCH);
    expect(xml).toContain('    <scripts>\n        <preinstall file="./preinstall" timeout="600"/>\n        <postinstall file="./postinstall" timeout="600"/>\n    </scripts>');
    const longer = renderPackageInfo({ ...AIWATCH, scriptsTimeout: 1800 });
    expect(parsePackageInfo(longer, 'PI').info!.scriptTimeouts).toEqual({ preinstall: 1800, postinstall: 1800 });
    for (const bad of [0, -5, 1.5, 86_401]) {
      expect(() => renderPackageInfo({ ...AIWATCH, scriptsTimeout: bad })).toThrow(
        new RegExp(`PackageInfo scripts timeout: expected whole seconds from 1 to 86400 \\(pkgbuild writes 600\\), got ${bad}`),
      );
    }
  });

  it('escapes through the serializer', () => {
    const xml = renderPackageInfo({ ...AIWATCH, generatorVersion: 'a "quoted" <tool> & co' });
    expect(xml).toContain('generator-version="a &quot;quoted&quot; &lt;tool&gt; &amp; co"');
    expect(parsePackageInfo(xml, 'PI').info!.generatorVersion).toBe('a "quoted" <tool> & co');
  });

  it('refuses bad options, every problem at once', () => {
    const bad = { ...AIWATCH, identifier: 'aiwatch', version: '1.4 beta', installLocation: 'usr/local', payload: { numberOfFiles: -1, installKBytes: 1.5 } };
    let err: unknown;
    try {
      renderPackageInfo(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).problems).toEqual([
      'PackageInfo identifier: expected reverse-DNS like "com.runlayer.aiwatch", got "aiwatch"',
      'PackageInfo version: expected letters, digits, ".", "+", "-" (e.g. "1.4.0"), got "1.4 beta"',
      'PackageInfo install-location: expected an absolute path, got "usr/local"',
      'PackageInfo payload: numberOfFiles and installKBytes must be non-negative integers, got -1 and 1.5',
    ]);
  });
});

describe('PackageInfo parsing', () => {
  it('round-trips what it renders', () => {
    const { info, problems } = parsePackageInfo(renderPackageInfo(AIWATCH), 'PI');
    expect(problems).toEqual([]);
    expect(info).toEqual({
      formatVersion: '2',
      identifier: 'com.runlayer.aiwatch',
      version: '1.4.0',
      installLocation: '/',
      auth: 'root',
      generatorVersion: 'aiwatch-deploy 0.1.0',
      postinstallAction: 'none',
      relocatable: 'false',
      overwritePermissions: 'true',
      payload: { numberOfFiles: 9, installKBytes: 18234 },
      scripts: { preinstall: './preinstall', postinstall: './postinstall' },
      scriptTimeouts: { preinstall: 600, postinstall: 600 },
      bundleIds: [],
    });
  });

  it('reads a pkgbuild document for an app bundle (hand-typed from pkgbuild\'s documented shape)', () => {
    const xml = `<?xml version="1.0" encoding="utf-8"?>
<pkg-info overwrite-permissions="true" relocatable="false" identifier="com.example.app" postinstall-action="none" version="2.0.0" format-version="2" generator-version="InstallCmds-844 (23A344)" install-location="/Applications" auth="root">
    <payload numberOfFiles="42" installKBytes="1024"/>
    <bundle path="./Example.app" id="com.example.app" CFBundleShortVersionString="2.0" CFBundleVersion="200"/>
    <bundle-version>
        <bundle id="com.example.app"/>
    </bundle-version>
    <upgrade-bundle>
        <bundle id="com.example.app"/>
    </upgrade-bundle>
    <update-bundle/>
    <atomic-update-bundle/>
    <strict-identifier>
        <bundle id="com.example.app"/>
    </strict-identifier>
    <relocate>
        <bundle id="com.example.app"/>
    </relocate>
    <scripts>
        <postinstall file="./postinstall" timeout="600"/>
    </scripts>
</pkg-info>`;
    const { info, problems } = parsePackageInfo(xml, 'PI');
    expect(problems).toEqual([]);
    expect(info).toMatchObject({ identifier: 'com.example.app', installLocation: '/Applications', payload: { numberOfFiles: 42, installKBytes: 1024 }, scripts: { postinstall: './postinstall' }, scriptTimeouts: { postinstall: 600 } });
    expect(new Set(info!.bundleIds)).toEqual(new Set(['com.example.app']));
  });

  it('reports every problem of a bad document', () => {
    const xml = '<pkg-info format-version="1" identifier="x" auth="admin" install-location="relative"><payload numberOfFiles="many"/><scripts><preinstall/><postinstall file="./postinstall" timeout="10m"/></scripts></pkg-info>';
    const { problems } = parsePackageInfo(xml, 'x.pkg:PackageInfo');
    expect(problems.map((p) => p.message)).toEqual([
      'format-version is "1", expected "2"',
      'identifier "x" is not reverse-DNS',
      'version is missing',
      'install-location "relative" is not an absolute path',
      'auth is "admin", expected "root" or "none"',
      '<payload> numberOfFiles is "many", expected a non-negative integer',
      '<payload> installKBytes is missing, expected a non-negative integer',
      '<scripts><preinstall> has no file attribute',
      '<scripts><postinstall> timeout is "10m", expected whole seconds (pkgbuild writes "600")',
    ]);
    expect(problems.every((p) => p.where === 'x.pkg:PackageInfo')).toBe(true);
  });

  it('a document that is not well-formed or not a pkg-info is one problem', () => {
    expect(parsePackageInfo('<pkg-info><payload></pkg-info>', 'PI').problems).toEqual([{ where: 'PI', message: 'not well-formed XML: </pkg-info> closes <payload> (line 1, column 20)' }]);
    expect(parsePackageInfo('<installer-gui-script/>', 'PI').problems).toEqual([{ where: 'PI', message: 'root element is <installer-gui-script>, expected <pkg-info>' }]);
  });
});

describeWithTools(['xmllint'], 'PackageInfo well-formedness (xmllint)', () => {
  it('xmllint accepts the rendered document and reads the attributes back', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pkginfo-'));
    const f = path.join(dir, 'PackageInfo');
    writeFileSync(f, renderPackageInfo({ ...AIWATCH, generatorVersion: 'x & <y>' }));
    run('xmllint', ['--noout', f]);
    const xpath = (q: string): string => run('xmllint', ['--xpath', q, f]).trim();
    expect(xpath('string(/pkg-info/@generator-version)')).toBe('x & <y>');
    expect(xpath('string(/pkg-info/payload/@installKBytes)')).toBe('18234');
    expect(xpath('count(/pkg-info/scripts/*)')).toBe('2');
    expect(xpath('string(/pkg-info/scripts/postinstall/@timeout)')).toBe('600');
    rmSync(dir, { recursive: true, force: true });
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseDistribution, percentEncodeFragment, renderDistribution, type DistributionOptions } from '../../src/pkg/distribution.js';
import { describeWithTools, run } from '../helpers/tools.js';

const AIWATCH: DistributionOptions = {
  title: 'aiwatch',
  hostArchitectures: ['arm64', 'x86_64'],
  minimumMacOS: '12.0',
  components: [{ id: 'com.runlayer.aiwatch', version: '1.4.0', installKBytes: 18234, pkgName: 'aiwatch.pkg' }],
};

describe('Distribution rendering', () => {
  it('matches the golden file', async () => {
    await expect(renderDistribution(AIWATCH)).toMatchFileSnapshot('../golden/pkg/Distribution.xml');
  });

  it('writes hostArchitectures in a fixed order whatever the input order', () => {
    expect(renderDistribution({ ...AIWATCH, hostArchitectures: ['x86_64', 'arm64'] })).toContain('hostArchitectures="arm64,x86_64"');
    expect(renderDistribution({ ...AIWATCH, hostArchitectures: ['arm64'] })).toContain('hostArchitectures="arm64"');
    expect(renderDistribution({ ...AIWATCH, hostArchitectures: ['x86_64'] })).toContain('hostArchitectures="x86_64"');
  });

  it('percent-encodes the component fragment like productbuild (RFC 3986 fragment set, UTF-8, upper-case hex)', () => {
    expect(percentEncodeFragment('aiwatch.pkg')).toBe('aiwatch.pkg');
    expect(percentEncodeFragment('My App-component.pkg')).toBe('My%20App-component.pkg');
    expect(percentEncodeFragment('Café #1 100%.pkg')).toBe('Caf%C3%A9%20%231%20100%25.pkg');
    expect(percentEncodeFragment("a&b(c)+d=e;f:g@h!i$j'k*l,m~n_o.pkg")).toBe("a&b(c)+d=e;f:g@h!i$j'k*l,m~n_o.pkg");
    const xml = renderDistribution({ ...AIWATCH, components: [{ ...AIWATCH.components[0]!, pkgName: 'R&D tool.pkg' }] });
    expect(xml).toContain('>#R&amp;D%20tool.pkg</pkg-ref>');
    expect(parseDistribution(xml, 'D').info!.pkgRefs[0]!.component).toBe('R&D tool.pkg');
  });

  it('refuses bad options, every problem at once', () => {
    let err: unknown;
    try {
      renderDistribution({ title: ' ', hostArchitectures: [], minimumMacOS: 'Sonoma', components: [{ id: 'a', version: '', installKBytes: -3, pkgName: 'a/b' }] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).problems).toEqual([
      'Distribution title: must not be empty',
      'Distribution hostArchitectures: expected arm64 and/or x86_64, got ""',
      'Distribution minimum macOS: expected a version like "12.0", got "Sonoma"',
      'Distribution component "a": pkgName must be a name ending in .pkg, got "a/b"',
      'Distribution component "a": installKBytes must be a non-negative integer, got -3',
      'Distribution component "a": version must not be empty',
    ]);
  });
});

describe('Distribution parsing', () => {
  it('round-trips what it renders, with no problems', () => {
    const { info, problems } = parseDistribution(renderDistribution({ ...AIWATCH, product: { id: 'com.runlayer.aiwatch', version: '1.4.0' } }), 'D');
    expect(problems).toEqual([]);
    expect(info).toEqual({
      minSpecVersion: '2',
      title: 'aiwatch',
      product: { id: 'com.runlayer.aiwatch', version: '1.4.0' },
      options: { customize: 'never', 'require-scripts': 'false', hostArchitectures: 'arm64,x86_64' },
      hostArchitectures: ['arm64', 'x86_64'],
      minimumOSVersions: ['12.0'],
      outline: ['default', 'com.runlayer.aiwatch'],
      choices: [
        { id: 'default', pkgRefs: [] },
        { id: 'com.runlayer.aiwatch', visible: 'false', pkgRefs: ['com.runlayer.aiwatch'] },
      ],
      pkgRefs: [{ id: 'com.runlayer.aiwatch', version: '1.4.0', onConclusion: 'none', installKBytes: 18234, href: '#aiwatch.pkg', component: 'aiwatch.pkg' }],
    });
  });

  it('reports the pitfalls Installer trips on: no "#", no arm64, dangling choices', () => {
    const xml = `<?xml version="1.0" encoding="utf-8"?>
<installer-gui-script minSpecVersion="1">
    <options customize="never" hostArchitectures="x86_64"/>
    <choices-outline><line choice="default"><line choice="missing"/></line></choices-outline>
    <choice id="default"><pkg-ref id="com.example.other"/></choice>
    <pkg-ref id="com.example" version="1.0" installKBytes="12kB">example.pkg</pkg-ref>
</installer-gui-script>`;
    const { problems } = parseDistribution(xml, 'x.pkg:Distribution');
    expect(problems.map((p) => p.message)).toEqual([
      'pkg-ref "com.example": installKBytes is "12kB", expected a non-negative integer',
      'pkg-ref "com.example": "example.pkg" does not start with "#": Installer looks for it next to the .pkg ("does not have a valid path/URL") and notarization fails',
      'hostArchitectures "x86_64" lacks arm64: on Apple silicon Installer asks to install Rosetta',
      'choices-outline names choice "missing", which is not defined',
      'choice "default" names pkg-ref "com.example.other", which has no package reference',
    ]);
    const noArch = parseDistribution('<installer-gui-script><pkg-ref id="a">#a.pkg</pkg-ref></installer-gui-script>', 'D');
    expect(noArch.problems.map((p) => p.message)).toEqual(['<options> has no hostArchitectures: on Apple silicon Installer asks to install Rosetta']);
  });

  it('reads a top-level allowed-os-versions too, and rejects what is not a Distribution', () => {
    const xml = '<installer-gui-script><options hostArchitectures="arm64"/><allowed-os-versions><os-version min="13.0"/></allowed-os-versions><pkg-ref id="a">#a.pkg</pkg-ref></installer-gui-script>';
    expect(parseDistribution(xml, 'D').info!.minimumOSVersions).toEqual(['13.0']);
    expect(parseDistribution('<pkg-info/>', 'D').problems).toEqual([{ where: 'D', message: 'root element is <pkg-info>, expected <installer-gui-script>' }]);
    expect(parseDistribution('<installer-gui-script>', 'D').problems[0]!.message).toMatch(/^not well-formed XML: <installer-gui-script> is not closed/);
  });
});

describeWithTools(['xmllint'], 'Distribution well-formedness (xmllint)', () => {
  it('xmllint accepts the rendered document and finds the fragment reference', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dist-'));
    const f = path.join(dir, 'Distribution');
    writeFileSync(f, renderDistribution({ ...AIWATCH, title: 'aiwatch <beta> & co' }));
    run('xmllint', ['--noout', f]);
    const xpath = (q: string): string => run('xmllint', ['--xpath', q, f]).trim();
    expect(xpath('string(/installer-gui-script/title)')).toBe('aiwatch <beta> & co');
    expect(xpath('string(/installer-gui-script/pkg-ref[@version]/text())')).toBe('#aiwatch.pkg');
    expect(xpath('string(/installer-gui-script/volume-check/allowed-os-versions/os-version/@min)')).toBe('12.0');
    rmSync(dir, { recursive: true, force: true });
  });
});

import { describe, expect, it } from 'vitest';
import { buildSpec } from '../../src/config/spec.js';
import { readPlist, toPlain } from '../../src/formats/plist-read.js';
import { designatedRequirement, pppcProfile, renderPppcProfile, requirementConstant } from '../../src/profiles/pppc.js';
import { spec } from './helpers.js';

describe('designated requirement', () => {
  it('is byte-identical to what codesign -d -r - prints for a Developer ID binary (reference §2.1)', () => {
    expect(designatedRequirement('com.runlayer.aiwatch', 'AF2M8HC7A2')).toBe(
      'identifier "com.runlayer.aiwatch" and anchor apple generic and certificate 1[field.1.2.840.113635.100.6.2.6] /* exists */ and certificate leaf[field.1.2.840.113635.100.6.1.13] /* exists */ and certificate leaf[subject.OU] = AF2M8HC7A2',
    );
  });
  it('quotes a team ID that starts with a digit (as PPPC Utility fixtures show)', () => {
    expect(designatedRequirement('com.x', '483DWKW443')).toMatch(/ = "483DWKW443"$/);
  });
  it.each([
    ['AF2M8HC7A2', 'AF2M8HC7A2'],
    ['com.runlayer.aiwatch', '"com.runlayer.aiwatch"'],
    ['9lives', '"9lives"'],
    ['and', '"and"'],
    ['leaf', '"leaf"'],
    ['', '""'],
    ['a b', '"a b"'],
    ['say "hi" \\o/', '"say \\"hi\\" \\\\o/"'],
    ['café', '0x636166c3a9'],
    ['tab\there', '"tab\there"'],
    ['nul\u0001', '0x6e756c01'],
  ])('requirementConstant(%j) = %s', (input, expected) => {
    expect(requirementConstant(input)).toBe(expected);
  });
});

describe('PPPC profile', () => {
  it('grants Full Disk Access to the install path, pinned to identifier + team, with exactly one of Allowed/Authorization', () => {
    const { root, problems } = readPlist(renderPppcProfile(spec), 'pppc');
    expect(problems).toEqual([]);
    const p = toPlain(root!) as { PayloadScope: string; PayloadContent: Array<{ Services: Record<string, Array<Record<string, unknown>>> }> };
    expect(p.PayloadScope).toBe('System');
    const entries = p.PayloadContent[0]!.Services.SystemPolicyAllFiles!;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      Identifier: '/usr/local/lib/runlayer/aiwatch/aiwatch',
      IdentifierType: 'path',
      CodeRequirement: designatedRequirement('com.runlayer.aiwatch', 'AF2M8HC7A2'),
      StaticCode: false,
      Authorization: 'Allow',
    });
    expect(entries[0]).not.toHaveProperty('Allowed');
  });
  it('uses Allowed when the spec says allowed instead of authorization', () => {
    const s = { ...spec, pppc: [{ service: 'SystemPolicyAllFiles', allowed: true }] };
    const e = (pppcProfile(s).PayloadContent as Array<{ Services: Record<string, Array<Record<string, unknown>>> }>)[0]!.Services.SystemPolicyAllFiles![0]!;
    expect(e.Allowed).toBe(true);
    expect(e).not.toHaveProperty('Authorization');
  });
  it('refuses an entry with both or neither', () => {
    expect(() => pppcProfile({ ...spec, pppc: [{ service: 'SystemPolicyAllFiles', allowed: true, authorization: 'Allow' }] })).toThrow(/exactly one/);
    expect(() => pppcProfile({ ...spec, pppc: [{ service: 'SystemPolicyAllFiles' }] })).toThrow(/exactly one/);
  });
  it('follows --spec values (identifier, team, install path)', () => {
    const s = buildSpec({ data: { identifier: 'com.example.agent', teamId: '483DWKW443', installPath: '/opt/example/agent' }, subject: 's.json' });
    const text = renderPppcProfile(s);
    expect(text).toContain('<string>/opt/example/agent</string>');
    expect(text).toContain('identifier "com.example.agent" and');
    expect(text).toContain('certificate leaf[subject.OU] = "483DWKW443"');
  });
});

describe('one requirement printer for writing and reading', () => {
  it('the PPPC requirement equals the requirement decompiled from the demo binary', async () => {
    const { readFileSync } = await import('node:fs');
    const { parseMachO } = await import('../../src/macho/macho.js');
    const { loadDefaultSpec } = await import('../../src/config/spec.js');
    const spec = loadDefaultSpec();
    const bin = parseMachO(readFileSync(new URL('../../fixtures/demo/aiwatch-arm64', import.meta.url)));
    const designated = bin.slices[0]?.codeSignature?.requirements?.find((r) => r.typeName === 'designated');
    expect(designated?.text).toBe(designatedRequirement(spec.identifier, spec.teamId));
  });
});

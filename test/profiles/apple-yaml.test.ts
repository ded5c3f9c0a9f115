/**
 * Apple's payload YAML as the oracle: every generated profile passes it, and the walker catches planted errors
 * (so a passing result means something).
 */
import { mkdtempSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Problem } from '../../src/errors.js';
import { appleSchemaDir, checkKeys, checkProfileAgainstApple, loadAppleSchemas, payloadKeys, type AppleSchemas } from '../../src/profiles/apple-yaml.js';
import { loginItemsProfile } from '../../src/profiles/login-items.js';
import { renderProfile } from '../../src/profiles/mobileconfig.js';
import type { PlistDict } from '../../src/profiles/plist-serialize.js';
import { readPlist, type PNode } from '../../src/profiles/plist-read.js';
import { pppcProfile } from '../../src/profiles/pppc.js';
import { tenantProfile } from '../../src/profiles/tenant-profile.js';
import { apple, requireApple, sampleTenant, spec } from './helpers.js';

requireApple();

/** Render `dict` as XML and check the parsed result against Apple's schemas (round trip through bytes). */
function check(dict: PlistDict, schemas: AppleSchemas = apple!): ReturnType<typeof checkProfileAgainstApple> {
  const { root, problems } = readPlist(renderProfile(dict), 'p.mobileconfig');
  expect(problems).toEqual([]);
  return checkProfileAgainstApple(root!, schemas, 'p.mobileconfig');
}
const messages = (ps: Problem[]): string[] => ps.map((p) => `${p.where.replace(/^p\.mobileconfig:?/, '')}: ${p.message.replace(/ \(Apple schema [^)]*\)$/, '')}`);
const clone = <T>(x: T): T => structuredClone(x);
/** The first TCC identity of a PPPC profile dict, for planting errors. */
const identity = (p: PlistDict): PlistDict => ((p.PayloadContent as PlistDict[])[0]!.Services as Record<string, PlistDict[]>).SystemPolicyAllFiles![0]!;

describe.runIf(apple)("Apple's payload YAML (apple/device-management)", () => {
  it('loads TopLevel, CommonPayloadKeys and the three payload types we emit', () => {
    expect(apple!.topLevel.keys.map((k) => k.key)).toContain('PayloadScope');
    expect([...apple!.payloads.keys()].sort()).toEqual(
      expect.arrayContaining(['com.apple.ManagedClient.preferences', 'com.apple.TCC.configuration-profile-policy', 'com.apple.servicemanagement']),
    );
  });

  it.each([
    ['PPPC', () => pppcProfile(spec)],
    ['login items', () => loginItemsProfile(spec)],
    ['tenant (MCX)', () => tenantProfile(spec, sampleTenant(), 'mcx')],
  ])('the %s profile passes', (_n, make) => {
    const r = check(make());
    expect(messages(r.problems)).toEqual([]);
    expect(r.unknownTypes).toEqual([]);
  });

  it('the tenant profile (domain encoding) passes the top level and common keys; its type has no Apple schema', () => {
    const r = check(tenantProfile(spec, sampleTenant(), 'domain'));
    expect(messages(r.problems)).toEqual([]);
    expect(r.unknownTypes).toEqual(['com.runlayer.aiwatch']);
  });

  describe('catches planted errors', () => {
    it('a wrong type (StaticCode as a string, PayloadVersion as a string)', () => {
      const p = clone(pppcProfile(spec));
      identity(p).StaticCode = 'false';
      p.PayloadVersion = '1';
      expect(messages(check(p).problems)).toEqual([
        'PayloadVersion: expected <integer>, found <string>',
        'PayloadContent[0].Services.SystemPolicyAllFiles[0].StaticCode: expected <boolean>, found <string>',
      ]);
    });
    it('a missing required key (CodeRequirement; PayloadUUID of a payload; Rules)', () => {
      const p = clone(pppcProfile(spec));
      delete identity(p).CodeRequirement;
      delete (p.PayloadContent as PlistDict[])[0]!.PayloadUUID;
      const li = clone(loginItemsProfile(spec));
      delete (li.PayloadContent as PlistDict[])[0]!.Rules;
      expect(messages(check(p).problems)).toEqual([
        'PayloadContent[0].Services.SystemPolicyAllFiles[0]: missing required key CodeRequirement',
        'PayloadContent[0]: missing required key PayloadUUID',
      ]);
      expect(messages(check(li).problems)).toEqual(['PayloadContent[0]: missing required key Rules']);
    });
    it('both Allowed and Authorization, and neither', () => {
      const both = clone(pppcProfile(spec));
      identity(both).Allowed = true;
      expect(messages(check(both).problems)).toEqual([
        'PayloadContent[0].Services.SystemPolicyAllFiles[0]: has both Allowed and Authorization; exactly one is allowed (Intune rejects this with error 10022)',
      ]);
      const neither = clone(pppcProfile(spec));
      delete identity(neither).Authorization;
      expect(messages(check(neither).problems)).toEqual(['PayloadContent[0].Services.SystemPolicyAllFiles[0]: needs exactly one of Allowed or Authorization, has neither']);
    });
    it('a value outside a rangelist (IdentifierType, Authorization, RuleType, PayloadScope, TargetDeviceType)', () => {
      const p = clone(pppcProfile(spec));
      identity(p).IdentifierType = 'Path';
      identity(p).Authorization = 'Allowed';
      p.PayloadScope = 'Device';
      p.TargetDeviceType = 9;
      const li = clone(loginItemsProfile(spec));
      ((li.PayloadContent as PlistDict[])[0]!.Rules as PlistDict[])[0]!.RuleType = 'LabelPrefixes';
      expect(messages(check(p).problems)).toEqual([
        'PayloadScope: "Device" is not one of "System", "User"',
        'TargetDeviceType: "9" is not one of "0", "1", "2", "3", "4", "5", "6"',
        'PayloadContent[0].Services.SystemPolicyAllFiles[0].Authorization: "Allowed" is not one of "Allow", "Deny", "AllowStandardUserToSetSystemService"',
        'PayloadContent[0].Services.SystemPolicyAllFiles[0].IdentifierType: "Path" is not one of "bundleID", "path"',
      ]);
      expect(messages(check(li).problems)).toEqual(['PayloadContent[0].Rules[0].RuleType: "LabelPrefixes" is not one of "BundleIdentifier", "BundleIdentifierPrefix", "Label", "LabelPrefix", "TeamIdentifier"']);
    });
    it('an unknown key and an unknown TCC service (typo), but not a key under an ANY wildcard', () => {
      const p = clone(pppcProfile(spec));
      const services = (p.PayloadContent as PlistDict[])[0]!.Services as Record<string, PlistDict[]>;
      services.SystemPolicyAllFile = services.SystemPolicyAllFiles!;
      p.PayloadScop = 'System';
      expect(messages(check(p).problems)).toEqual([
        'PayloadScop: unknown key "PayloadScop"',
        'PayloadContent[0].Services.SystemPolicyAllFile: unknown key "SystemPolicyAllFile"',
      ]);
      const mcx = tenantProfile(spec, sampleTenant({ Username: 'x' }), 'mcx');
      expect(messages(check(mcx).problems)).toEqual([]);
    });
    it('array element placeholders: a Rules element of the wrong type, an MCX Forced item without settings', () => {
      const li = clone(loginItemsProfile(spec));
      (li.PayloadContent as PlistDict[])[0]!.Rules = ['LabelPrefix'];
      const mcx = clone(tenantProfile(spec, sampleTenant(), 'mcx'));
      const domain = ((mcx.PayloadContent as PlistDict[])[0]!.PayloadContent as Record<string, PlistDict>)['com.runlayer.aiwatch']!;
      domain.Forced = [{}];
      expect(messages(check(li).problems)).toEqual(['PayloadContent[0].Rules[0]: expected <dictionary>, found <string>']);
      expect(messages(check(mcx).problems)).toEqual(['PayloadContent[0].PayloadContent.com.runlayer.aiwatch.Forced[0]: missing required key mcx_preference_settings']);
    });
    it('an empty MCX PayloadContent (its ANY domain entry is required)', () => {
      const mcx = clone(tenantProfile(spec, sampleTenant(), 'mcx'));
      (mcx.PayloadContent as PlistDict[])[0]!.PayloadContent = {};
      expect(messages(check(mcx).problems)).toEqual(['PayloadContent[0].PayloadContent: must not be empty']);
    });
  });

  it('checks real ranges, repetition and format (synthetic schema keys)', () => {
    const node: PNode = { type: 'dict', entries: new Map<string, PNode>([
      ['N', { type: 'integer', value: 70n }],
      ['L', { type: 'array', items: [] }],
      ['S', { type: 'string', value: 'abc' }],
      ['R', { type: 'integer', value: 2n }],
    ]) };
    const problems: Problem[] = [];
    checkKeys(node, [
      { key: 'N', type: '<integer>', range: { min: 0, max: 60 } },
      { key: 'L', type: '<array>', repetition: { min: 1 }, subkeys: [{ key: 'Item', type: '<string>' }] },
      { key: 'S', type: '<string>', format: '^[0-9]+$' },
      { key: 'R', type: '<real>' },
      { key: 'D', type: '<date>', presence: 'required' },
    ], '', 'x', 'synthetic.yaml', problems);
    expect(problems.map((p) => p.message.replace(/ \(Apple schema [^)]*\)$/, ''))).toEqual([
      '70 is outside 0…60',
      'needs at least 1 item(s), has 0',
      'does not match the format ^[0-9]+$',
      'missing required key D',
    ]);
  });

  it('common keys are merged into every payload schema', () => {
    const keys = payloadKeys(apple!, apple!.payloads.get('com.apple.servicemanagement')).map((k) => k.key);
    expect(keys).toEqual(expect.arrayContaining(['PayloadIdentifier', 'PayloadUUID', 'PayloadType', 'PayloadVersion', 'Rules']));
  });
});

describe('schema folder resolution', () => {
  it('AIWATCH_APPLE_DM_DIR wins; a folder without the YAML loads as undefined', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'apple-dm-'));
    expect(appleSchemaDir({ AIWATCH_APPLE_DM_DIR: dir })).toBe(dir);
    expect(loadAppleSchemas(dir)).toBeUndefined();
  });
  it.runIf(apple)('a copied folder loads; a broken YAML file is an error, not a silent pass', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'apple-dm-'));
    const prof = path.join(dir, 'mdm', 'profiles');
    mkdirSync(prof, { recursive: true });
    for (const f of ['TopLevel.yaml', 'CommonPayloadKeys.yaml']) copyFileSync(path.join(apple!.dir, 'mdm', 'profiles', f), path.join(prof, f));
    expect(loadAppleSchemas(dir)?.payloads.size).toBe(0);
    const broken = mkdtempSync(path.join(tmpdir(), 'apple-dm-'));
    mkdirSync(path.join(broken, 'mdm', 'profiles'), { recursive: true });
    for (const f of ['TopLevel.yaml', 'CommonPayloadKeys.yaml']) copyFileSync(path.join(prof, f), path.join(broken, 'mdm', 'profiles', f));
    writeFileSync(path.join(broken, 'mdm', 'profiles', 'x.yaml'), 'title: x\n');
    expect(() => loadAppleSchemas(broken)).toThrow(/not an apple\/device-management payload schema/);
  });
});

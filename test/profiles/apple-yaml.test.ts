/**
 * Apple's payload schemas as the oracle: every generated profile passes them, and the walker catches planted errors
 * (so a passing result means something). The schemas are the derived data the project ships
 * (data/apple-device-management/payload-schemas.json); nothing outside the clone is read.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputFileError, type Problem } from '../../src/errors.js';
import {
  APPLE_DM_ENV,
  assembleAppleSchemas,
  bundledAppleSchemas,
  checkKeys,
  checkProfileAgainstApple,
  loadAppleSchemas,
  payloadKeys,
  resolveAppleSchemas,
  type AppleSchemas,
} from '../../src/profiles/apple-yaml.js';
import { loginItemsProfile } from '../../src/profiles/login-items.js';
import { renderProfile } from '../../src/profiles/mobileconfig.js';
import type { PlistDict } from '../../src/formats/plist-serialize.js';
import { readPlist, type PNode } from '../../src/formats/plist-read.js';
import { pppcProfile } from '../../src/profiles/pppc.js';
import { tenantProfile } from '../../src/profiles/tenant-profile.js';
import { apple, APPLE_DM_FIXTURE, sampleTenant, spec } from './helpers.js';

const temps: string[] = [];
const temp = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'apple-dm-'));
  temps.push(d);
  return d;
};
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Render `dict` as XML and check the parsed result against Apple's schemas (round trip through bytes). */
function check(dict: PlistDict, schemas: AppleSchemas = apple): ReturnType<typeof checkProfileAgainstApple> {
  const { root, problems } = readPlist(renderProfile(dict), 'p.mobileconfig');
  expect(problems).toEqual([]);
  return checkProfileAgainstApple(root!, schemas, 'p.mobileconfig');
}
const messages = (ps: Problem[]): string[] => ps.map((p) => `${p.where.replace(/^p\.mobileconfig:?/, '')}: ${p.message.replace(/ \(Apple schema [^)]*\)$/, '')}`);
const clone = <T>(x: T): T => structuredClone(x);
/** The first TCC identity of a PPPC profile dict, for planting errors. */
const identity = (p: PlistDict): PlistDict => ((p.PayloadContent as PlistDict[])[0]!.Services as Record<string, PlistDict[]>).SystemPolicyAllFiles![0]!;

describe("Apple's payload schemas (apple/device-management, shipped as derived data)", () => {
  it('loads TopLevel, CommonPayloadKeys and every payload type of mdm/profiles, the three we emit among them', () => {
    expect(apple.source).toMatch(/data[/\\]apple-device-management[/\\]payload-schemas\.json$/);
    expect(apple.topLevel.keys.map((k) => k.key)).toContain('PayloadScope');
    expect([...apple.payloads.keys()]).toEqual(
      expect.arrayContaining(['com.apple.ManagedClient.preferences', 'com.apple.TCC.configuration-profile-policy', 'com.apple.servicemanagement', 'com.apple.wifi.managed']),
    );
    // 128 YAML files in mdm/profiles at the pinned release, 2 of them TopLevel/CommonPayloadKeys, and com.apple.MCX
    // (6 files) and com.apple.extensiblesso (2 files) described in several files each.
    expect(apple.payloads.size).toBe(128 - 2 - 5 - 1);
  });

  it('the three payload types we emit are exactly what the YAML of the release says (fixture copy → same schemas)', () => {
    const fromYaml = loadAppleSchemas(APPLE_DM_FIXTURE);
    expect(fromYaml.topLevel).toEqual(apple.topLevel);
    expect(fromYaml.common).toEqual(apple.common);
    for (const t of ['com.apple.ManagedClient.preferences', 'com.apple.TCC.configuration-profile-policy', 'com.apple.servicemanagement']) {
      expect(fromYaml.payloads.get(t)).toEqual(apple.payloads.get(t));
    }
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
    const keys = payloadKeys(apple, apple.payloads.get('com.apple.servicemanagement')).map((k) => k.key);
    expect(keys).toEqual(expect.arrayContaining(['PayloadIdentifier', 'PayloadUUID', 'PayloadType', 'PayloadVersion', 'Rules']));
  });
});

describe('payload types beyond the three we emit', () => {
  const payload = (type: string, keys: PlistDict): PlistDict => ({
    PayloadType: type,
    PayloadIdentifier: `x.${type}`,
    PayloadUUID: '8B5F6D5C-0D5E-4F4A-9B7B-2E6C0C1D2E3F',
    PayloadVersion: 1,
    ...keys,
  });
  const profile = (...content: PlistDict[]): PlistDict => ({
    PayloadContent: content,
    PayloadDisplayName: 'x',
    PayloadIdentifier: 'x',
    PayloadType: 'Configuration',
    PayloadUUID: '1C2D3E4F-5A6B-4C7D-8E9F-0A1B2C3D4E5F',
    PayloadVersion: 1,
  });

  it('a schema that refers to itself (a home screen Folder holds pages of icon items): the nested error is found', () => {
    const folder = { Type: 'Folder', DisplayName: 'Tools', Pages: [[{ Type: 'Bogus', BundleID: 'x' }]] };
    expect(messages(check(profile(payload('com.apple.homescreenlayout', { Pages: [[folder]] }))).problems)).toEqual([
      'PayloadContent[0]: payload type com.apple.homescreenlayout is not available on macOS',
      'PayloadContent[0].Pages[0][0].Pages[0][0].Type: "Bogus" is not one of "App", "Folder", "WebClip"',
    ]);
  });

  it('com.apple.MCX, described in six files, accepts the keys of all of them together and still checks their types', () => {
    const ok = profile(payload('com.apple.MCX', { EnableGuestAccount: false, timeServer: 'time.apple.com', DestroyFVKeyOnStandby: true }));
    expect(messages(check(ok).problems)).toEqual([]);
    const bad = profile(payload('com.apple.MCX', { EnableGuestAccount: 'no', timeServr: 'x' }));
    expect(messages(check(bad).problems)).toEqual(['PayloadContent[0].EnableGuestAccount: expected <boolean>, found <string>', 'PayloadContent[0].timeServr: unknown key "timeServr"']);
  });

  it('a key two files of one payload type define differently is checked only for what both agree on', () => {
    const merged = assembleAppleSchemas(
      [
        { file: 'TopLevel.yaml', payloadType: 'TopLevel', keys: apple.topLevel.keys },
        { file: 'CommonPayloadKeys.yaml', payloadType: 'CommonPayloadKeys', keys: apple.common.keys },
        { file: 't(a).yaml', payloadType: 't', keys: [{ key: 'A', type: '<string>', presence: 'required', rangelist: ['x'] }, { key: 'B', type: '<integer>', presence: 'required' }] },
        { file: 't(b).yaml', payloadType: 't', keys: [{ key: 'A', type: '<string>', presence: 'required' }, { key: 'C', type: '<boolean>', presence: 'required' }] },
      ],
      'synthetic',
    );
    const t = merged.payloads.get('t')!;
    expect(t.file).toBe('t, merged from 2 files');
    expect(t.keys).toEqual([
      { key: 'A', type: '<string>', presence: 'required' },
      { key: 'B', type: '<integer>', presence: 'optional' },
      { key: 'C', type: '<boolean>', presence: 'optional' },
    ]);
  });
});

describe('where the schemas come from', () => {
  it(`the shipped data by default; ${APPLE_DM_ENV} names a YAML checkout instead`, () => {
    expect(resolveAppleSchemas({})).toBe(bundledAppleSchemas());
    const fromEnv = resolveAppleSchemas({ [APPLE_DM_ENV]: APPLE_DM_FIXTURE });
    expect(fromEnv.source).toBe(path.join(APPLE_DM_FIXTURE, 'mdm', 'profiles'));
    expect(fromEnv.fromEnv).toBe(true);
    expect(fromEnv.payloads.size).toBe(120); // the complete copy: the same 120 payload types as the shipped data
  });

  it(`${APPLE_DM_ENV} naming a folder without the YAML is an input error naming the variable, never a silent fallback`, () => {
    const dir = temp();
    let err: unknown;
    try {
      resolveAppleSchemas({ [APPLE_DM_ENV]: dir });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputFileError);
    expect((err as Error).message).toBe(
      `${dir}: ${APPLE_DM_ENV} names no apple/device-management checkout (expected mdm/profiles/TopLevel.yaml and mdm/profiles/CommonPayloadKeys.yaml)`,
    );
  });

  it('a checkout with only TopLevel and CommonPayloadKeys loads; a YAML file that is not a payload schema is an error', () => {
    const dir = temp();
    const prof = path.join(dir, 'mdm', 'profiles');
    mkdirSync(prof, { recursive: true });
    for (const f of ['TopLevel.yaml', 'CommonPayloadKeys.yaml']) copyFileSync(path.join(APPLE_DM_FIXTURE, 'mdm', 'profiles', f), path.join(prof, f));
    expect(loadAppleSchemas(dir).payloads.size).toBe(0);
    writeFileSync(path.join(prof, 'x.yaml'), 'title: x\n');
    expect(() => loadAppleSchemas(dir)).toThrow(InputFileError);
    expect(() => loadAppleSchemas(dir)).toThrow(`${path.join(prof, 'x.yaml')}: not an apple/device-management payload schema (no payload.payloadtype or payloadkeys)`);
    writeFileSync(path.join(prof, 'x.yaml'), 'payload: [\n');
    expect(() => loadAppleSchemas(dir)).toThrow(/x\.yaml: not valid YAML/);
  });
});

/**
 * verify on our artifacts: no problem in what we generate, and each planted problem found in a broken copy
 * (so a clean result means something).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputFileError } from '../../src/errors.js';
import { planProfiles, planTenant, type Artifact } from '../../src/profiles/plan.js';
import { APPLE_DM_ENV } from '../../src/profiles/apple-yaml.js';
import { verifyProfileText } from '../../src/profiles/verify-profile.js';
import { verifyFiles, type FileReport } from '../../src/verify/run.js';
import { tempDir } from '../cli/cli-helpers.js';
import { APPLE_DM_FIXTURE, sampleTenant, spec } from './helpers.js';

const plan = new Map<string, Artifact>(
  [...planProfiles(spec), ...(['mobileconfig', 'mcx', 'intune-plist', 'json'] as const).map((f) => planTenant(spec, sampleTenant(), f))].map((a) => [a.path, a]),
);
const text = (p: string): string => Buffer.from(plan.get(p)!.bytes).toString('utf8');
const PPPC = 'com.runlayer.aiwatch.pppc.mobileconfig';
const LOGIN = 'com.runlayer.aiwatch.loginitems.mobileconfig';
const TENANT = 'com.runlayer.aiwatch.tenant.mobileconfig';
const MCX = 'com.runlayer.aiwatch.tenant.mcx.mobileconfig';
const SCAN = 'launchd/com.runlayer.aiwatch.plist';

async function verifyText(name: string, content: string, env: NodeJS.ProcessEnv = process.env): Promise<FileReport> {
  const dir = tempDir('verify');
  const file = path.join(dir, path.basename(name));
  writeFileSync(file, content);
  const [r] = await verifyFiles([file], { spec, env });
  return { ...r!, problems: r!.problems.map((p) => ({ where: p.where.replace(dir + path.sep, ''), message: p.message })) };
}
function sub(s: string, from: string | RegExp, to: string): string {
  const out = s.replace(from, to);
  if (out === s) throw new Error(`planting failed: ${String(from)} not found`);
  return out;
}

describe('verify finds no problem in what we generate', () => {
  it.each([...plan.keys()])('%s', async (p) => {
    const r = await verifyText(p, text(p));
    expect(r.problems).toEqual([]);
    expect(r.kind).toBe(
      p.endsWith('.mobileconfig') ? 'mobileconfig' : p.startsWith('launchd/') ? 'launchd-plist' : p.includes('intune') ? 'intune-preference-file' : p.includes('schema') ? 'jamf-schema' : 'jamf-values',
    );
  });
});

const DR_TAIL = 'certificate leaf[subject.OU] = AF2M8HC7A2';
const planted: Array<[string, string, (s: string) => string, string]> = [
  ['CodeRequirement with the designated => prefix', PPPC, (s) => sub(s, '<string>identifier "com', '<string>designated =&gt; identifier "com'), 'starts with "designated =>"'],
  ['a designated requirement for another team', PPPC, (s) => sub(s, DR_TAIL, 'certificate leaf[subject.OU] = ZZZZZZZZZZ'), 'does not pin /usr/local/lib/runlayer/aiwatch/aiwatch'],
  ['the quoted team form is accepted', PPPC, (s) => sub(s, DR_TAIL, 'certificate leaf[subject.OU] = "AF2M8HC7A2"'), ''],
  ['both Allowed and Authorization', PPPC, (s) => sub(s, '<key>Authorization</key>', '<key>Allowed</key>\n<true/>\n<key>Authorization</key>'), 'has both Allowed and Authorization'],
  ['a relative path identifier', PPPC, (s) => sub(s, '<string>/usr/local/lib/runlayer/aiwatch/aiwatch</string>', '<string>aiwatch</string>'), 'IdentifierType path needs an absolute path'],
  ['User scope for a device-only payload', PPPC, (s) => sub(s, '<string>System</string>', '<string>User</string>'), 'is device-channel only'],
  ['a deny-only service allowed', PPPC, (s) => sub(s, '<key>SystemPolicyAllFiles</key>', '<key>Camera</key>'), 'Camera can only be denied'],
  ['a reused PayloadUUID', PPPC, (s) => sub(s, /<string>4342F854-[^<]+<\/string>/, '<string>37706120-81EE-5D39-935B-3030F2673C3B</string>'), 'is also used at the top level'],
  ['a PayloadUUID that is not a UUID', PPPC, (s) => sub(s, /<string>4342F854-[^<]+<\/string>/, '<string>my-uuid</string>'), '"my-uuid" is not a UUID'],
  ['PayloadVersion as a string', PPPC, (s) => sub(s, /<key>PayloadVersion<\/key>\s*<integer>1<\/integer>\s*<key>TargetDeviceType/, '<key>PayloadVersion</key><string>1</string><key>TargetDeviceType'), 'expected <integer>, found <string>'],
  ['a RuleType outside the rangelist', LOGIN, (s) => sub(s, '<string>LabelPrefix</string>', '<string>Prefix</string>'), '"Prefix" is not one of'],
  ['a duplicate key', LOGIN, (s) => sub(s, '<key>RuleType</key>', '<key>RuleValue</key><string>x</string><key>RuleType</key>'), 'duplicate key'],
  ['malformed XML', LOGIN, (s) => sub(s, '</array>', '</dict>'), 'not well-formed XML'],
  ['a boolean written as a string', TENANT, (s) => sub(s, /<key>Enforcement<\/key>\s*<true\/>/, '<key>Enforcement</key><string>true</string>'), 'Enforcement must be a boolean, found a string'],
  ['an http Host', TENANT, (s) => sub(s, '<string>https://acme.runlayer.com</string>', '<string>http://acme.runlayer.com</string>'), 'Host "http://acme.runlayer.com" expected https://'],
  ['an unknown tenant key', TENANT, (s) => sub(s, '<key>Host</key>', '<key>Colour</key><string>red</string><key>Host</key>'), 'unknown key "Colour" for com.runlayer.aiwatch'],
  ['a bad key in the MCX settings (masked)', MCX, (s) => sub(s, 'rl_org_TEST0rgKey-9f3a1c', 'rl_org_TEST 0rgKey'), 'OrgApiKey rl_org_******** expected a key'],
  ['an MCX domain without Forced', MCX, (s) => sub(s, '<key>Forced</key>', '<key>Forcd</key>'), 'needs Forced or Set-Once'],
  ['StartInterval as a string', SCAN, (s) => sub(s, '<integer>900</integer>', '<string>900</string>'), 'expected <integer>, found <string> (launchd ignores it)'],
  ['a relative program', SCAN, (s) => sub(s, '<string>/usr/local/lib/runlayer/aiwatch/aiwatch</string>', '<string>aiwatch</string>'), 'must be an absolute path'],
  ['a misspelt launchd key', SCAN, (s) => sub(s, '<key>RunAtLoad</key>', '<key>RunAtLaod</key>'), 'unknown key "RunAtLaod" (not in launchd.plist(5))'],
  ['a unit that differs from the spec', SCAN, (s) => sub(s, '<integer>900</integer>', '<integer>60</integer>'), "differs from the spec's unit com.runlayer.aiwatch in StartInterval"],
  ['a default on a secret in the Jamf schema', 'com.runlayer.aiwatch.jamf.schema.json', (s) => sub(s, '"minLength": 1,\n      "maxLength": 512,', '"minLength": 1,\n      "default": "rl_org_x",\n      "maxLength": 512,'), 'OrgApiKey is a secret and must have no default'],
  ['a broken Jamf schema', 'com.runlayer.aiwatch.jamf.schema.json', (s) => sub(s, '"properties": {', '"properties": {,'), 'not valid JSON'],
  ['a bad Host in the Intune fragment', 'com.runlayer.aiwatch.intune.plist', (s) => sub(s, 'https://acme.runlayer.com', 'https://acme.runlayer.com/path'), 'Host "https://acme.runlayer.com/path" expected the tenant origin only'],
  ['a key without a value in the Intune fragment', 'com.runlayer.aiwatch.intune.plist', (s) => sub(s, '<key>Sessions</key><true/>', '<key>Sessions</key>'), 'key without a value'],
  ['a boolean as a string in Jamf values', 'com.runlayer.aiwatch.jamf.values.json', (s) => sub(s, '"Sessions": true', '"Sessions": "yes"'), 'Sessions must be a boolean, found a string'],
];

describe('verify finds each planted problem', () => {
  it.each(planted)('%s', async (_n, base, plant, expected) => {
    const r = await verifyText(base, plant(text(base)));
    if (expected === '') expect(r.problems).toEqual([]);
    else expect(r.problems.map((p) => `${p.where}: ${p.message}`).join('\n')).toContain(expected);
  });
  it('a file nobody knows is a problem too', async () => {
    const r = await verifyText('notes.txt', 'hello');
    expect(r.kind).toBe('unknown');
    expect(r.problems[0]!.message).toMatch(/not a kind of file verify knows/);
  });
});

describe("where Apple's schemas come from", () => {
  it('the shipped data: no note, Apple\'s rules apply', async () => {
    const { [APPLE_DM_ENV]: _unset, ...env } = process.env;
    const bad = await verifyText(PPPC, planted[9]![2](text(PPPC)), env);
    expect(bad.notes).toEqual([]);
    expect(bad.problems.map((p) => p.message)).toContain('expected <integer>, found <string> (Apple schema TopLevel.yaml)');
  });
  it(`a checkout named by ${APPLE_DM_ENV}: said in a note`, async () => {
    const good = await verifyText(PPPC, text(PPPC), { ...process.env, [APPLE_DM_ENV]: APPLE_DM_FIXTURE });
    expect(good.problems).toEqual([]);
    expect(good.notes).toEqual([`Apple's payload schemas read from ${path.join(APPLE_DM_FIXTURE, 'mdm', 'profiles')} (${APPLE_DM_ENV})`]);
  });
  it(`${APPLE_DM_ENV} naming no checkout is an input error (exit 3), never a quiet fallback to fewer rules`, async () => {
    const missing = path.join(APPLE_DM_FIXTURE, 'no-such-checkout'); // never created
    await expect(verifyText(PPPC, text(PPPC), { ...process.env, [APPLE_DM_ENV]: missing })).rejects.toThrow(
      new InputFileError(missing, `${APPLE_DM_ENV} names no apple/device-management checkout (expected mdm/profiles/TopLevel.yaml and mdm/profiles/CommonPayloadKeys.yaml)`),
    );
  });
  it('without them (library use) our own rules still apply', () => {
    const r = verifyProfileText(planted[9]![2](text(PPPC)), PPPC, { spec });
    expect(r.problems.map((p) => p.message)).toContain('expected <integer>, found <string>');
  });
});

describe('detection', () => {
  it('other JSON is not taken for Jamf values or a schema', async () => {
    const r = await verifyText('manifest.json', JSON.stringify({ version: '1.0.0', files: [{ name: 'a.pkg' }] }));
    expect(r.kind).toBe('unknown');
  });
  it('a generic XML plist is read for structure only', async () => {
    const ok = await verifyText('x.plist', '<?xml version="1.0"?>\n<plist version="1.0"><dict><key>A</key><integer>1</integer></dict></plist>\n');
    expect([ok.kind, ok.problems]).toEqual(['plist', []]);
    const bad = await verifyText('x.plist', '<?xml version="1.0"?>\n<plist version="1.0"><dict><key>A</key><integer>one</integer></dict></plist>\n');
    expect(bad.problems.map((p) => p.message)).toEqual(['<integer> "one" is not an integer']);
  });
});

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSpec, loadDefaultSpec, loadSpec } from '../../src/config/spec.js';
import { parseTenantInput } from '../../src/config/tenant.js';
import { schemaProblems } from '../../src/config/validate.js';
import { InputFileError, UsageError } from '../../src/errors.js';
import { Secret } from '../../src/secret.js';

describe('deployment spec', () => {
  it('loads the aiwatch defaults from the declarative data', () => {
    const s = loadDefaultSpec();
    expect(s.identifier).toBe('com.runlayer.aiwatch');
    expect(s.teamId).toBe('AF2M8HC7A2');
    expect(s.installPath).toBe('/usr/local/lib/runlayer/aiwatch/aiwatch');
    expect(s.units.map((u) => [u.label, u.kind, u.plistPath])).toEqual([
      ['com.runlayer.aiwatch', 'agent', '/Library/LaunchAgents/com.runlayer.aiwatch.plist'],
      ['com.runlayer.aiwatch.bootstrap', 'daemon', '/Library/LaunchDaemons/com.runlayer.aiwatch.bootstrap.plist'],
      ['com.runlayer.aiwatch.enroll', 'agent', '/Library/LaunchAgents/com.runlayer.aiwatch.enroll.plist'],
    ]);
    const boot = s.units.find((u) => u.kind === 'daemon')!;
    expect(boot.plist).toMatchObject({ RunAtLoad: true, StartInterval: 3600, ThrottleInterval: 60, KeepAlive: { SuccessfulExit: false } });
    expect((boot.plist.ProgramArguments as string[]).slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(s.loginItems).toEqual([expect.objectContaining({ ruleType: 'LabelPrefix', ruleValue: 'com.runlayer.aiwatch' })]);
  });

  it('the bundled data passes its JSON Schemas (checked here and with checkBundled, not at every start of the CLI)', () => {
    expect(buildSpec(undefined, { checkBundled: true })).toEqual(loadDefaultSpec());
    // The check is live: the same schemas reject a broken copy of each bundled file.
    const root = path.resolve(import.meta.dirname, '../..');
    const read = (f: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(root, f), 'utf8')) as Record<string, unknown>;
    expect(schemaProblems('deployment.schema.json', { ...read('profiles/deployment.json'), teamId: 'lower' }, 'd')).not.toEqual([]);
    expect(schemaProblems('profiles-data.schema.json#/definitions/pppc', { services: 'none' }, 'p')).not.toEqual([]);
    expect(schemaProblems('profiles-data.schema.json#/definitions/loginItems', { rules: [{ ruleType: 'Nope' }] }, 'l')).not.toEqual([]);
    expect(schemaProblems('tenant-keys.schema.json', { keys: [{ name: 1 }] }, 't')).not.toEqual([]);
  });

  it('--spec overrides values and re-derives labels', () => {
    const s = buildSpec({ data: { identifier: 'com.example.staging', teamId: 'ABCDE12345', labelPrefix: 'com.example.staging', domain: 'com.example.staging' }, subject: 'staging.json' });
    expect(s.teamId).toBe('ABCDE12345');
    expect(s.units.map((u) => u.label)).toContain('com.example.staging.enroll');
    expect(s.loginItems[0]!.ruleValue).toBe('com.example.staging');
  });

  it('scriptsTimeout: 600 by default (what pkgbuild writes), overridable, whole seconds 1…86400', () => {
    expect(loadDefaultSpec().scriptsTimeout).toBe(600);
    expect(buildSpec({ data: { scriptsTimeout: 1800 }, subject: 'slow.json' }).scriptsTimeout).toBe(1800);
    for (const bad of [0, 90_000, 1.5, '600']) {
      expect(() => buildSpec({ data: { scriptsTimeout: bad }, subject: 'bad.json' })).toThrow(/bad\.json: \/scriptsTimeout/);
    }
  });

  it('reports every bad value at once, naming the file, key and value', () => {
    let err: unknown;
    try {
      buildSpec({ data: { teamId: 'af2', installPath: 'relative/path', colour: 'red' }, subject: 'bad.json' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    const msg = (err as UsageError).message;
    expect(msg).toContain('bad.json: /teamId');
    expect(msg).toContain('"af2"');
    expect(msg).toContain('/installPath');
    expect(msg).toContain('unknown key "colour"');
  });

  it('refuses a unit label outside the login-items prefix', () => {
    const units = [{ label: 'com.other.agent', kind: 'agent', arguments: ['scan'], enrollmentGate: false, runAtLoad: true }];
    expect(() => buildSpec({ data: { units }, subject: 's.json' })).toThrow(/outside labelPrefix/);
  });

  it('a missing --spec file is an input-file error; invalid JSON a usage error', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spec-'));
    await expect(loadSpec(path.join(dir, 'nope.json'))).rejects.toBeInstanceOf(InputFileError);
    writeFileSync(path.join(dir, 'bad.json'), '{nope');
    await expect(loadSpec(path.join(dir, 'bad.json'))).rejects.toBeInstanceOf(UsageError);
  });
});

describe('tenant input', () => {
  const spec = loadDefaultSpec();
  const org = new Secret('rl_org_abc123', 'OrgApiKey');
  it('accepts a good tenant and applies defaults', () => {
    const t = parseTenantInput(spec, { Host: 'https://acme.runlayer.com/', OrgApiKey: org });
    expect(t).toMatchObject({ Host: 'https://acme.runlayer.com', Enforcement: true, Sessions: true });
  });
  it.each([
    ['http://acme.runlayer.com', /https/],
    ['https://user:pw@acme.runlayer.com', /credentials/],
    ['https://acme.runlayer.com/path', /path/],
    ['not a url', /https:\/\/ URL/],
  ])('refuses Host %s', (host, why) => {
    expect(() => parseTenantInput(spec, { Host: host, OrgApiKey: org })).toThrow(why);
  });
  it('masks secrets in messages and reports all problems', () => {
    let err: UsageError | undefined;
    try {
      parseTenantInput(spec, { Host: 'http://x', OrgApiKey: new Secret('rl_org_has space', 'OrgApiKey'), EnrollmentKey: new Secret('nope-secret', 'EnrollmentKey'), Enforcement: 'maybe' });
    } catch (e) {
      err = e as UsageError;
    }
    expect(err?.problems.length).toBe(4);
    expect(err?.message).not.toContain('has space');
    expect(err?.message).not.toContain('nope-secret');
    expect(err?.message).toContain('rl_org_********');
  });
});

/**
 * The Jamf driver's desired objects and plan comparison, without a server: the apply order, the version-aware group
 * criteria, the extension attribute's script (shellcheck, and run by dash on a machine without pkgutil: "not
 * installed"), the comparison after normalisation (unchanged / update with a field diff / drift / adopted), the
 * blocking rules, and that no secret value appears in any plan line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDefaultSpec } from '../../../src/config/spec.js';
import { parseTenantInput, type RawTenantValues } from '../../../src/config/tenant.js';
import { desiredObjects, versionScript, type DesiredObject } from '../../../src/mdm/jamf/desired.js';
import { applyBlocks, compare, type PlanEntry } from '../../../src/mdm/jamf/plan.js';
import { writeMarker } from '../../../src/rollout/marker.js';
import { describeWithTools } from '../../helpers/tools.js';
import { fakeRelease, fakeTarget, ORG_KEY } from './release.js';

const spec = loadDefaultSpec();

function desired(release = fakeRelease(), target = fakeTarget('http://127.0.0.1:1')): DesiredObject[] {
  const tenant = parseTenantInput(spec, target.tenant as RawTenantValues, 'tenant');
  return desiredObjects({ spec, release, target, tenant, prefix: 'aiwatch' });
}

describe('jamf: desired objects', () => {
  it('come in the safe order with stable names; the version-aware group is scope AND "EA is not version"', () => {
    const d = desired();
    expect(d.map((o) => `${o.role}: ${o.name}`)).toEqual([
      'smart-group: AI Watch',
      'extension-attribute: aiwatch version',
      'smart-group-version: AI Watch — aiwatch not 1.2.0',
      'profile-pppc: aiwatch — PPPC',
      'profile-loginitems: aiwatch — login items',
      'profile-tenant: aiwatch — tenant settings',
      'package: aiwatch-1.2.0-macos-arm64.pkg',
      'policy: aiwatch — install',
    ]);
    const v = d[2]!;
    expect(v.kind === 'smart-group' && v.role === 'smart-group-version' && v.criteria).toEqual([
      { name: 'Computer Group', priority: 0, andOr: 'and', searchType: 'member of', value: 'AI Watch', openingParen: false, closingParen: false },
      { name: 'aiwatch version', priority: 1, andOr: 'and', searchType: 'is not', value: '1.2.0', openingParen: false, closingParen: false },
    ]);
    // The policy name stays across releases; the group it is scoped to follows the version.
    const next = desired(fakeRelease({ version: '1.3.0' }));
    expect(next[7]!.name).toBe(d[7]!.name);
    expect(next[7]!.kind === 'policy' && next[7]!.scopeGroup).toBe('AI Watch — aiwatch not 1.3.0');
    expect(next[7]!.hash).not.toBe(d[7]!.hash);
  });

  it('the tenant profile holds the key, its plan value is a hash marked secret, and no plan line shows the key', () => {
    const d = desired();
    const tenant = d[5]!;
    expect(tenant.kind === 'profile' && tenant.payloads).toContain(ORG_KEY);
    const planned = d.map((o) => compare(o, undefined));
    const text = JSON.stringify(planned);
    expect(text).not.toContain(ORG_KEY);
    expect(text).not.toContain('cs-unit-test-secret');
    expect(planned[5]!.diff.find((f) => f.field === 'payload')).toMatchObject({ secret: true, to: expect.stringMatching(/^sha256:[0-9a-f]{12}$/) });
  });
});

describe('jamf: plan comparison', () => {
  const d = desired();
  const profile = d[3]!;
  const observedProfile = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
    id: '5',
    name: profile.name,
    description: writeMarker('kept by the admin', { kind: profile.role, sha256: profile.hash, version: '1.2.0' }),
    level: 'computer',
    distributionMethod: 'Install Automatically',
    payloads: `${profile.kind === 'profile' ? profile.payloads : ''}\r\n`,
    scope: { allComputers: false, groups: ['AI Watch'], others: 0 },
    ...over,
  });

  it('a server copy equal after normalising (CRLF, trailing space) with our marker is unchanged', () => {
    expect(compare(profile, observedProfile() as never)).toMatchObject({ action: 'unchanged', id: '5', diff: [] });
  });

  it('observed (for status): the marker hash found on an existing object; nothing for an absent one; a package or policy also its version', () => {
    expect(compare(profile, observedProfile() as never).observed).toEqual({ hash: profile.hash });
    expect(compare(profile, undefined)).not.toHaveProperty('observed');
    const other = 'c'.repeat(64);
    const changed = compare(profile, observedProfile({ description: writeMarker('', { kind: profile.role, sha256: other, version: '1.1.0' }) }) as never);
    expect(changed).toMatchObject({ action: 'update', observed: { hash: other } });
    expect(changed.observed).not.toHaveProperty('version');
    // An object made by hand exists but carries no marker: observed, without a hash.
    expect(compare(profile, observedProfile({ description: 'made in the console' }) as never).observed).toEqual({});
    const pkg = d[6]!;
    const policy = d[7]!;
    const marker = (o: DesiredObject, version: string, hash = o.hash): string => writeMarker('', { kind: o.role, sha256: hash, version });
    const observedPkg = { id: '3', packageName: pkg.name, fileName: pkg.name, notes: marker(pkg, '1.2.0'), hashType: null, hashValue: null, md5: null, sha256: null, size: null, cloudTransferStatus: null, record: {} };
    expect(compare(pkg, observedPkg as never).observed).toEqual({ hash: pkg.hash, version: '1.2.0' });
    const observedPolicy = { id: '4', name: policy.name, selfServiceDescription: marker(policy, '1.1.0', 'd'.repeat(64)), enabled: true, frequency: 'Ongoing', triggerCheckin: true, packages: [], recon: true, scope: { allComputers: false, groups: [], others: 0 } };
    expect(compare(policy, observedPolicy as never).observed).toEqual({ hash: 'd'.repeat(64), version: '1.1.0' });
  });

  it('a field changed in the console with our marker intact is drift: an update naming the field', () => {
    const p = compare(profile, observedProfile({ scope: { allComputers: true, groups: [], others: 0 } }) as never);
    expect(p).toMatchObject({ action: 'update', reason: 'drift' });
    expect(p.diff).toEqual([{ field: 'scope', from: '["(all computers)"]', to: '["AI Watch"]' }]);
  });

  it('an equal object made by hand (no marker) is adopted: an update that only adds the marker', () => {
    const p = compare(profile, observedProfile({ description: '' }) as never);
    expect(p.action).toBe('update');
    expect(p.diff.map((f) => f.field)).toEqual(['marker']);
  });

  it('an old release\'s version-aware group is renamed in place (a name diff), not created anew', () => {
    const v = d[2]!;
    const old = { id: '9', name: 'AI Watch — aiwatch not 1.1.0', description: writeMarker('', { kind: 'smart-group-version', sha256: 'b'.repeat(64), version: '1.1.0' }), criteria: v.kind === 'smart-group' && v.role !== 'existing-group' ? v.criteria.map((c, i) => (i === 1 ? { ...c, value: '1.1.0' } : c)) : [] };
    const p = compare(v, old as never);
    expect(p.action).toBe('update');
    expect(p.id).toBe('9');
    expect(p.diff.map((f) => f.field)).toEqual(['name', 'criteria', 'marker']);
  });
});

describe('jamf: blocking', () => {
  const entries = (release = fakeRelease(), target = fakeTarget('http://127.0.0.1:1')): PlanEntry[] =>
    desired(release, target).map((o) => ({ desired: o, observed: undefined, planned: compare(o, undefined) }));

  it('a PPPC requirement the binary does not satisfy blocks the PPPC profile and everything after it', () => {
    const release = fakeRelease({ trust: { pppcMatchesBinary: false, problems: ['identifier com.other.app is not the binary\'s com.runlayer.aiwatch'] } });
    const e = entries(release);
    applyBlocks(e, release, false);
    expect(e.map((x) => x.planned.action)).toEqual(['create', 'create', 'create', 'blocked', 'blocked', 'blocked', 'blocked', 'blocked']);
    expect(e[3]!.planned.reason).toContain('com.other.app');
  });

  it('a pkg not notarized blocks the package and policy, unless the target is a test server', () => {
    const release = fakeRelease({ trust: { notarizedStapled: false } });
    const e = entries(release);
    applyBlocks(e, release, false);
    expect(e.map((x) => x.planned.action)).toEqual(['create', 'create', 'create', 'create', 'create', 'create', 'blocked', 'blocked']);
    expect(e[6]!.planned.reason).toContain('not notarized and stapled');
    const t = entries(release);
    applyBlocks(t, release, true);
    expect(t.every((x) => x.planned.action === 'create')).toBe(true);
  });

  it('a blocked object keeps what was observed (status still shows the hash and version found)', () => {
    const release = fakeRelease({ trust: { notarizedStapled: false } });
    const d = desired(release);
    const pkg = d[6]!;
    const found = { id: '3', packageName: pkg.name, fileName: pkg.name, notes: writeMarker('', { kind: 'package', sha256: pkg.hash, version: '1.2.0' }), hashType: null, hashValue: null, md5: null, sha256: null, size: null, cloudTransferStatus: null, record: {} };
    const e = d.map((o, i) => ({ desired: o, observed: i === 6 ? (found as never) : undefined, planned: compare(o, i === 6 ? (found as never) : undefined) }));
    applyBlocks(e, release, false);
    expect(e[6]!.planned).toMatchObject({ action: 'blocked', id: '3', observed: { hash: pkg.hash, version: '1.2.0' } });
    expect(e[7]!.planned).toMatchObject({ action: 'blocked' });
    expect(e[7]!.planned).not.toHaveProperty('observed');
  });

  it('a missing existing scope group blocks the whole target', () => {
    const target = fakeTarget('http://127.0.0.1:1', { scope: { group: 'Pilot Macs' } });
    const e = entries(fakeRelease(), target);
    applyBlocks(e, fakeRelease(), false);
    expect(e.every((x) => x.planned.action === 'blocked')).toBe(true);
    expect(e[0]!.planned.reason).toContain('scope group "Pilot Macs" does not exist');
  });
});

describeWithTools(['shellcheck', 'dash'], 'jamf: the version extension attribute script', () => {
  const script = versionScript("com.runlayer.aiwatch.pkg");
  it('passes shellcheck', () => {
    const r = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: script });
    expect(r.stdout.toString() + r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
  });

  it('prints <result>not installed</result> where there is no receipt (no pkgutil here), and quotes an odd identifier', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ea-'));
    const file = path.join(dir, 'ea.sh');
    writeFileSync(file, versionScript("it's; rm -rf x"));
    const r = spawnSync('dash', [file]);
    expect(r.stdout.toString()).toBe('<result>not installed</result>\n');
    expect(r.status).toBe(0);
    expect(spawnSync('dash', ['-n', file]).status).toBe(0);
  });
});

/** The code's table of tenant keys (src/config/tenant-keys.ts) against profiles/tenant-keys.json, and the one map it types. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { parseTenantInput } from '../../src/config/tenant.js';
import { TENANT_KEY_NAMES, tenantKeyTableProblems, tenantPreferences } from '../../src/config/tenant-keys.js';
import { Secret } from '../../src/secret.js';

type Def = { name: string; type: string; secret: boolean; required: boolean; default?: unknown };
const shipped = (JSON.parse(readFileSync('profiles/tenant-keys.json', 'utf8')) as { keys: Def[] }).keys;
const WHERE = 'profiles/tenant-keys.json';

describe('tenant key table', () => {
  it('matches the shipped definitions: same names in the same order, same kinds', () => {
    expect(tenantKeyTableProblems(shipped, WHERE)).toEqual([]);
    expect(TENANT_KEY_NAMES).toEqual(shipped.map((d) => d.name));
  });

  it('refuses a renamed, missing or reordered key, naming the file and both lists', () => {
    const renamed = shipped.map((d) => (d.name === 'DeviceName' ? { ...d, name: 'ComputerName' } : d));
    expect(tenantKeyTableProblems(renamed, WHERE)).toEqual([expect.stringMatching(/^profiles\/tenant-keys\.json: the keys must be Host, .*DeviceName.*, got .*ComputerName/)]);
    expect(tenantKeyTableProblems(shipped.slice(1), WHERE)).toHaveLength(1);
    expect(tenantKeyTableProblems([...shipped].reverse(), WHERE)).toHaveLength(1);
  });

  it('refuses a key whose kind changed: a secret made plain, a boolean made a string, a defaulted key left without one', () => {
    const change = (name: string, patch: Partial<Def>): Def[] => shipped.map((d) => (d.name === name ? { ...d, ...patch } : d));
    expect(tenantKeyTableProblems(change('EnrollmentKey', { secret: false }), WHERE)).toEqual([`${WHERE}: EnrollmentKey is defined as string, the code expects secret (src/config/tenant-keys.ts)`]);
    expect(tenantKeyTableProblems(change('Sessions', { type: 'string' }), WHERE)).toEqual([`${WHERE}: Sessions is defined as string!, the code expects boolean! (src/config/tenant-keys.ts)`]);
    expect(tenantKeyTableProblems(change('Enforcement', { default: undefined }), WHERE)).toEqual([`${WHERE}: Enforcement is defined as boolean, the code expects boolean! (src/config/tenant-keys.ts)`]);
    // A key may be required without the code relying on it (OrgApiKey): no problem either way.
    expect(tenantKeyTableProblems(change('OrgApiKey', { required: false }), WHERE)).toEqual([]);
  });
});

describe('the one map of tenant values', () => {
  it('keeps the definition names from the raw values to the preference dictionary, secrets wrapped until then', () => {
    const spec = loadDefaultSpec();
    const t = parseTenantInput(spec, { Host: 'HTTPS://Acme.Runlayer.com:443/', OrgApiKey: new Secret('rl_org_k1', 'OrgApiKey'), Username: 'ada' });
    expect(Object.keys(t)).toEqual(['Host', 'OrgApiKey', 'Username', 'Enforcement', 'Sessions']);
    expect(t.OrgApiKey).toBeInstanceOf(Secret);
    expect(tenantPreferences(t)).toEqual({ Host: 'https://acme.runlayer.com', OrgApiKey: 'rl_org_k1', Username: 'ada', Enforcement: true, Sessions: true });
  });
});

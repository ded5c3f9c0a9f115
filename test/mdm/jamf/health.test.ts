/**
 * The Jamf driver's health inventory (issue 13, target option `healthInventory: true`) against the local Jamf Pro
 * server: after the existing objects, the extension attribute "aiwatch health" (the release's aiwatch-jamf-ea.sh,
 * as rendered by src/doctor) and the smart group "<scope> — aiwatch unhealthy" (in the scope AND the EA is like
 * "unhealthy"); a second apply makes 0 writes; console drift is repaired; a release without the script blocks only
 * those two objects; the option is validated.
 */
import { describe, expect, it } from 'vitest';
import { loadDefaultSpec } from '../../../src/config/spec.js';
import { renderDoctorScripts } from '../../../src/doctor/doctor-macos.js';
import { jamfDriver } from '../../../src/mdm/jamf/driver.js';
import type { DriverContext, MdmSession, PlannedObject, ReleaseContent, ResolvedTarget, RolloutTarget } from '../../../src/rollout/model.js';
import { Secret } from '../../../src/secret.js';
import type { JamfServer } from '../../helpers/servers/jamf/server.js';
import { jamfServer } from '../../helpers/servers/jamf/vitest.js';
import { fakeRelease, fakeTarget } from './release.js';

const ctx = (): DriverContext => ({ signal: new AbortController().signal, http: { backoffMs: 1, sleep: async () => undefined } });
const EA_SCRIPT = renderDoctorScripts(loadDefaultSpec()).jamfAttribute;

async function server(options: Record<string, unknown> = { healthInventory: true }): Promise<{ s: JamfServer; target: ResolvedTarget }> {
  const s = await jamfServer();
  const c = s.clients[0]!;
  const target = fakeTarget(s.url, {
    credentials: { clientId: c.id, clientSecret: new Secret(c.secret, 'clientSecret') },
    scope: { smartGroup: { name: 'AI Watch', criteria: [{ name: 'Computer Name', searchType: 'like', value: 'mac-', andOr: 'and' }] } },
    options,
  });
  return { s, target };
}

/** A release with the Jamf health script (null: one built before issue 13, without it). */
function release(script: string | null = EA_SCRIPT): ReleaseContent {
  return { ...fakeRelease(), ...(script === null ? {} : { healthScripts: { jamfExtensionAttribute: script } }) };
}

async function run(target: ResolvedTarget, r: ReleaseContent): Promise<{ plan: PlannedObject[]; session: MdmSession }> {
  const session = await jamfDriver.connect(target, r, ctx());
  const plan = await session.plan();
  for (const o of plan) if (o.action === 'create' || o.action === 'update') await session.apply(o);
  return { plan, session };
}

const writes = (s: JamfServer): string[] => s.log.filter((e) => e.kind === 'write').map((e) => `${e.method} ${e.object}`);

describe('jamf health inventory (options.healthInventory)', () => {
  it('creates the health EA and the unhealthy group after everything else; the group holds the unhealthy Macs of the scope; a second apply makes 0 writes', async () => {
    const { s, target } = await server();
    const first = await run(target, release());
    expect(first.plan.map((o) => `${o.action} ${o.kind} ${o.name}`).slice(-3)).toEqual([
      'create policy aiwatch — install',
      'create extension-attribute aiwatch health',
      'create smart-group AI Watch — aiwatch unhealthy',
    ]);
    expect(first.plan).toHaveLength(10);
    expect(s.validationFailures).toEqual([]);
    expect(s.unknownRequests).toEqual([]);
    expect(writes(s).slice(-2)).toEqual(['POST extension-attribute', 'POST smart-group']);
    const firstCounts = { reads: s.counts().reads, writes: s.counts().writes };
    expect(first.session.counts().writes).toBe(11);

    const ea = [...s.store.eas.values()].find((e) => e.name === 'aiwatch health')!;
    expect(ea).toMatchObject({ inputType: 'SCRIPT', dataType: 'STRING', enabled: true, scriptContents: EA_SCRIPT });
    expect(String(ea.description)).toMatch(/aiwatch-deploy: extension-attribute-health sha256=[0-9a-f]{64} version=1\.2\.0/);
    const group = [...s.store.groups.values()].find((g) => g.name === 'AI Watch — aiwatch unhealthy')!;
    expect(group.criteria.map((c) => `${c.andOr} ${c.name} ${c.searchType} ${c.value}`)).toEqual(['and Computer Group member of AI Watch', 'and aiwatch health like unhealthy']);

    // What the script reports (docs/troubleshooting.md) decides membership: only unhealthy Macs in the scope.
    s.store.addMac('mac-sick', { 'aiwatch health': '1.2.0; unhealthy: fda,launchd:com.runlayer.aiwatch' });
    s.store.addMac('mac-ok', { 'aiwatch health': '1.2.0; healthy' });
    s.store.addMac('mac-warn', { 'aiwatch health': '1.2.0; healthy; warnings: legacy' });
    s.store.addMac('mac-new');
    s.store.addMac('other-sick', { 'aiwatch health': 'not installed; unhealthy: receipt' });
    const names = (ids: number[]): string[] => ids.map((id) => s.store.macs.find((m) => m.id === id)!.name);
    expect(names(s.store.members(group))).toEqual(['mac-sick']);

    s.resetLog();
    const second = await run(target, release());
    expect(second.plan.map((o) => o.action)).toEqual(Array(10).fill('unchanged'));
    expect(second.plan.map((o) => o.observed?.hash === o.hash)).toEqual(Array(10).fill(true));
    expect(s.counts().writes).toBe(0);
    expect(second.session.counts().writes).toBe(0);
    console.log(`healthInventory: first apply ${firstCounts.reads} reads, ${firstCounts.writes} writes; second apply ${s.counts().reads} reads, ${s.counts().writes} writes`);
  });

  it('without the option nothing of it is planned; with it, drift in the console (script, criteria) is repaired', async () => {
    const off = await server({});
    expect((await run(off.target, release())).plan.map((o) => o.name).filter((n) => n.includes('health'))).toEqual([]);

    const { s, target } = await server();
    await run(target, release());
    const ea = [...s.store.eas.values()].find((e) => e.name === 'aiwatch health')!;
    ea.scriptContents = '#!/bin/sh\necho "<result>healthy</result>"\n';
    const group = [...s.store.groups.values()].find((g) => g.name === 'AI Watch — aiwatch unhealthy')!;
    group.criteria = group.criteria.slice(0, 1);
    s.resetLog();
    const { plan } = await run(target, release());
    const health = plan.slice(-2);
    expect(health.map((o) => `${o.action} ${o.reason} ${o.diff.map((d) => d.field).join(',')}`)).toEqual(['update drift script', 'update drift criteria']);
    expect(writes(s)).toEqual(['PUT extension-attribute', 'PUT smart-group']);
    expect(s.validationFailures).toEqual([]);
    expect([...s.store.eas.values()].find((e) => e.name === 'aiwatch health')!.scriptContents).toBe(EA_SCRIPT);
    s.resetLog();
    expect((await run(target, release())).plan.every((o) => o.action === 'unchanged')).toBe(true);
    expect(s.counts().writes).toBe(0);
  });

  it('a release without the Jamf health script blocks only the health objects, naming the release and what to do', async () => {
    const { s, target } = await server();
    const { plan } = await run(target, release(null));
    expect(plan.slice(0, 8).map((o) => o.action)).toEqual(Array(8).fill('create'));
    const blocked = plan.slice(-2);
    expect(blocked.map((o) => `${o.action} ${o.name}`)).toEqual(['blocked aiwatch health', 'blocked AI Watch — aiwatch unhealthy']);
    for (const o of blocked) expect(o.reason).toMatch(/^release 1\.2\.0 holds no Jamf health script \(aiwatch-jamf-ea\.sh.*rebuild the release with this version/);
    expect(writes(s).filter((w) => w.includes('extension-attribute'))).toEqual(['POST extension-attribute']); // the version EA only
    expect([...s.store.eas.values()].map((e) => e.name)).toEqual(['aiwatch version']);
  });

  it('validate: healthInventory must be a boolean', () => {
    const t: RolloutTarget = { name: 'acme', mdm: 'jamf', url: 'https://acme.jamfcloud.com', credentials: { clientId: 'ci', clientSecret: { env: 'S' } }, tenant: {}, scope: { group: 'Pilot' }, testServer: false, options: { healthInventory: 'yes' } };
    expect(jamfDriver.validate(t)).toEqual(['target acme: options.healthInventory must be true or false, got "yes"']);
    expect(jamfDriver.validate({ ...t, options: { healthInventory: false } })).toEqual([]);
  });
});

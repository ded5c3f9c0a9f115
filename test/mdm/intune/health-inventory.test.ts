// options.healthInventory on an Intune target (issue 13): the release's aiwatch-intune-attribute.sh published as a
// macOS custom attribute script (deviceCustomAttributeShellScript) after the macOS objects, assigned to the group,
// against the local Graph server that validates every body against Microsoft's description. Idempotent, drift
// repaired, blocked when the release has no such script; without the option nothing changes.
import { afterEach, describe, expect, it } from 'vitest';
import { intuneDriver } from '../../../src/mdm/intune/driver.js';
import type { DriverContext, PlannedObject, ReleaseContent, ResolvedTarget, RolloutTarget } from '../../../src/rollout/model.js';
import { Secret } from '../../../src/secret.js';
import type { IntuneServer } from '../../helpers/servers/intune/server.js';
import { intuneServer, useAzurite } from '../../helpers/servers/intune/vitest.js';
import { fakeRelease, ORG_KEY } from '../jamf/release.js';

useAzurite();
const GROUP = '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
const CLIENT_ID = '66666666-7777-8888-9999-000000000000';
const CLIENT_SECRET = 'intune-health-client-secret';
const SCRIPT = '#!/bin/sh\n# aiwatch-intune-attribute.sh (test text)\nprintf \'%s\\n\' "1.2.0; healthy"\n';
let g: IntuneServer;
const start = async (): Promise<IntuneServer> => (g = await intuneServer({ clients: [{ id: CLIENT_ID, secret: CLIENT_SECRET }] }));

afterEach(() => {
  expect(g.validationFailures).toEqual([]);
  expect(g.unknownRequests).toEqual([]);
  expect(g.commitProblems).toEqual([]);
});

function target(options: Record<string, unknown> = { healthInventory: true }): ResolvedTarget {
  return {
    name: 'contoso',
    mdm: 'intune',
    url: g.graphUrl,
    credentials: { tenantId: g.tenantId, clientId: CLIENT_ID, clientSecret: new Secret(CLIENT_SECRET, 'clientSecret') },
    tenant: { Host: 'https://contoso.runlayer.com', OrgApiKey: new Secret(ORG_KEY, 'OrgApiKey') },
    scope: { group: GROUP },
    testServer: false,
    options: { authority: g.url, ...options },
  };
}

const ctx = (): DriverContext => ({ signal: new AbortController().signal, http: { backoffMs: 1, sleep: async () => undefined } });
const withScript = (r: ReleaseContent, text = SCRIPT): ReleaseContent => ({ ...r, healthScripts: { intuneAttribute: text } });

async function applyAll(release: ReleaseContent, t = target()): Promise<{ plan: PlannedObject[]; writes: number }> {
  const s = await intuneDriver.connect(t, release, ctx());
  const plan = await s.plan();
  for (const o of plan) if (o.action !== 'blocked') await s.apply(o);
  return { plan, writes: s.counts().writes };
}

const attribute = (): Record<string, unknown>[] => [...g.store.objects.deviceCustomAttributeShellScripts.values()];
const ATTR = '/beta/deviceManagement/deviceCustomAttributeShellScripts';

describe('intune options.healthInventory: the macOS health custom attribute', () => {
  it('first apply makes it after the macOS objects and assigns it; the second sends no write', async () => {
    await start();
    const release = withScript(fakeRelease({ size: 2000 }));
    const first = await applyAll(release);
    expect(first.plan.map((o) => `${o.action} ${o.kind} ${o.name}`)).toEqual([
      'create profile aiwatch — PPPC',
      'create profile aiwatch — login items',
      'create profile aiwatch — tenant settings',
      'create app aiwatch agent (macOS)',
      'create script aiwatch — health (macOS)',
    ]);
    const writes = g.sequence({ writesOnly: true });
    expect(writes.slice(-2)).toEqual([`POST ${ATTR}`, `POST ${ATTR}/{id}/assign`]);
    expect(writes.indexOf('POST /beta/deviceAppManagement/mobileApps/{id}/assign')).toBe(writes.length - 3);
    const [a] = attribute();
    expect(attribute()).toHaveLength(1);
    expect(a).toMatchObject({
      '@odata.type': '#microsoft.graph.deviceCustomAttributeShellScript',
      displayName: 'aiwatch — health (macOS)',
      customAttributeName: 'AiwatchHealth',
      customAttributeType: 'string',
      fileName: 'aiwatch-intune-attribute.sh',
      runAsAccount: 'system',
    });
    expect(Buffer.from(String(a!.scriptContent), 'base64').toString('utf8')).toBe(SCRIPT);
    expect(String(a!.description)).toMatch(/^aiwatch-deploy: attribute-health sha256=[0-9a-f]{64} version=1\.2\.0$/);
    expect(g.store.assignments.get(String(a!.id))).toEqual([
      expect.objectContaining({ '@odata.type': '#microsoft.graph.deviceManagementScriptAssignment', target: { '@odata.type': '#microsoft.graph.groupAssignmentTarget', groupId: GROUP } }),
    ]);

    g.resetLog();
    const second = await applyAll(release);
    expect(second.plan.map((o) => o.action)).toEqual(Array(5).fill('unchanged'));
    expect(second.plan[4]!.observed).toEqual({ hash: first.plan[4]!.hash });
    expect(second.writes).toBe(0);
    expect(g.sequence({ writesOnly: true })).toEqual([]);
    expect(g.sequence().filter((l) => l.includes('CustomAttribute'))).toEqual([`GET ${ATTR}`, `GET ${ATTR}/{id}`, `GET ${ATTR}/{id}/assignments`]);
    expect(JSON.stringify([first, second, g.log])).not.toContain(CLIENT_SECRET);
  });

  it('drift (script edited, assignment removed in the console) is shown and repaired; a new script updates it', async () => {
    await start();
    const release = withScript(fakeRelease({ size: 2000 }));
    await applyAll(release);
    const a = attribute()[0]!;
    a.scriptContent = Buffer.from('#!/bin/sh\necho healthy\n').toString('base64');
    g.store.assignments.set(String(a.id), []);
    g.resetLog();
    const drift = await applyAll(release);
    expect(drift.plan[4]).toMatchObject({ action: 'update', reason: 'drift', diff: [{ field: 'scriptContent' }, { field: 'assignments', from: '[]' }] });
    expect(g.sequence({ writesOnly: true })).toEqual([`PATCH ${ATTR}/{id}`, `POST ${ATTR}/{id}/assign`]);
    expect(Buffer.from(String(attribute()[0]!.scriptContent), 'base64').toString('utf8')).toBe(SCRIPT);
    expect((await applyAll(release)).writes).toBe(0);

    g.resetLog();
    const changed = await applyAll(withScript(release, SCRIPT.replace('test text', 'next')));
    expect(changed.plan.map((o) => o.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged', 'update']);
    expect(g.sequence({ writesOnly: true })).toEqual([`PATCH ${ATTR}/{id}`]);
    expect(attribute()).toHaveLength(1);
  });

  it('a release without the script blocks only the attribute, naming the release and what to do', async () => {
    await start();
    const { plan } = await applyAll(fakeRelease({ size: 2000 }));
    expect(plan.map((o) => o.action)).toEqual(['create', 'create', 'create', 'create', 'blocked']);
    expect(plan[4]!.reason).toMatch(/^release 1\.2\.0 carries no aiwatch-intune-attribute\.sh .*build it again with this version of aiwatch-deploy/);
    expect(attribute()).toEqual([]);
  });

  it('without the option nothing is read or written for it; a non-boolean option is refused at validation', async () => {
    await start();
    const { plan } = await applyAll(withScript(fakeRelease({ size: 2000 })), target({}));
    expect(plan).toHaveLength(4);
    expect(g.sequence().some((l) => l.includes('CustomAttribute'))).toBe(false);
    const asWritten = (options: Record<string, unknown>): RolloutTarget => ({ ...target(options), credentials: { tenantId: g.tenantId, clientId: CLIENT_ID, clientSecret: { env: 'INTUNE_SECRET' } }, tenant: { Host: 'https://contoso.runlayer.com', OrgApiKey: { env: 'ORG_KEY' } } });
    expect(intuneDriver.validate(asWritten({ healthInventory: 'yes' }))).toEqual(['target contoso: options.healthInventory must be true or false, got "yes"']);
    expect(intuneDriver.validate(asWritten({ healthInventory: true }))).toEqual([]);
  });
});

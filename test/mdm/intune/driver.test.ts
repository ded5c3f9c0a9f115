// The Intune driver end to end against the small local Graph + token + Blob server (graph-fake.ts): a first apply
// creates everything in order and uploads the pkg encrypted (the server decrypts it with the fileEncryptionInfo sent
// and compares); a second plans all unchanged and sends no write; drift is shown and repaired; faults survived
// (429 + Retry-After, 401 → sign in again, SAS expired mid-upload → renewUpload, a commit that stays pending); an
// apply interrupted after the commit is finished by the next without a second content version.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { intuneDriver } from '../../../src/mdm/intune/driver.js';
import type { DriverContext, PlannedObject, ReleaseContent, ResolvedTarget } from '../../../src/rollout/model.js';
import { Secret } from '../../../src/secret.js';
import { fakeRelease, ORG_KEY } from '../jamf/release.js';
import { startFakeGraph, type FakeGraph } from './graph-fake.js';

const GROUP = '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
const CLIENT_SECRET = 'intune-unit-client-secret';
let g: FakeGraph;
beforeEach(async () => {
  g = await startFakeGraph();
});
afterEach(() => g.close());

function target(over: Partial<ResolvedTarget> = {}): ResolvedTarget {
  return {
    name: 'contoso',
    mdm: 'intune',
    url: g.graphUrl,
    credentials: { tenantId: 'tenant', clientId: '66666666-7777-8888-9999-000000000000', clientSecret: new Secret(CLIENT_SECRET, 'clientSecret') },
    tenant: { Host: 'https://contoso.runlayer.com', OrgApiKey: new Secret(ORG_KEY, 'OrgApiKey') },
    scope: { group: GROUP },
    testServer: false,
    options: { authority: g.base, windows: true },
    ...over,
  };
}

const notes: string[] = [];
const progress: [string, number, number][] = [];
const ctx = (): DriverContext => ({ signal: new AbortController().signal, http: { backoffMs: 1, sleep: async () => {} }, onNote: (m) => notes.push(m), onUploadProgress: (o, d, t) => progress.push([o, d, t]) });

async function applyAll(release: ReleaseContent, t = target()): Promise<{ plan: PlannedObject[]; counts: { reads: number; writes: number; uploadedBytes: number } }> {
  const s = await intuneDriver.connect(t, release, ctx());
  const plan = await s.plan();
  for (const o of plan) await s.apply(o);
  return { plan, counts: s.counts() };
}

async function pkgBytes(release: ReleaseContent): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of release.pkg.read()) parts.push(c);
  return Buffer.concat(parts);
}

describe('intune driver against the local Graph server', () => {
  it('first apply creates all in order and uploads the pkg; the second sends no write', async () => {
    const release = fakeRelease({ size: 300_001 });
    const first = await applyAll(release);
    expect(first.plan.map((o) => `${o.action} ${o.kind} ${o.name}`)).toEqual([
      'create profile aiwatch — PPPC',
      'create profile aiwatch — login items',
      'create profile aiwatch — tenant settings',
      'create app aiwatch agent (macOS)',
      'create app aiwatch agent (Windows)',
      'create script aiwatch — install (Windows)',
      'create script aiwatch — health (Windows)',
    ]);
    const writes = g.log.filter((l) => !l.startsWith('GET') && !l.includes('/token'));
    expect(writes.map((l) => l.replace(/id-\d+/g, 'ID').replace(/\/blob\/.*\?/, '/blob/FILE?'))).toEqual([
      'POST /beta/deviceManagement/deviceConfigurations',
      'POST /beta/deviceManagement/deviceConfigurations/ID/assign',
      'POST /beta/deviceManagement/deviceConfigurations',
      'POST /beta/deviceManagement/deviceConfigurations/ID/assign',
      'POST /beta/deviceManagement/deviceConfigurations',
      'POST /beta/deviceManagement/deviceConfigurations/ID/assign',
      'POST /beta/deviceAppManagement/mobileApps',
      'POST /beta/deviceAppManagement/mobileApps/ID/microsoft.graph.macOSPkgApp/contentVersions',
      'POST /beta/deviceAppManagement/mobileApps/ID/microsoft.graph.macOSPkgApp/contentVersions/1/files',
      'PUT /blob/FILE?comp=block',
      'PUT /blob/FILE?comp=blocklist',
      'POST /beta/deviceAppManagement/mobileApps/ID/microsoft.graph.macOSPkgApp/contentVersions/1/files/ID/commit',
      'PATCH /beta/deviceAppManagement/mobileApps/ID',
      'POST /beta/deviceAppManagement/mobileApps/ID/assign',
      'POST /beta/deviceAppManagement/mobileApps',
      'POST /beta/deviceAppManagement/mobileApps/ID/microsoft.graph.win32LobApp/contentVersions',
      'POST /beta/deviceAppManagement/mobileApps/ID/microsoft.graph.win32LobApp/contentVersions/1/files',
      'PUT /blob/FILE?comp=block',
      'PUT /blob/FILE?comp=blocklist',
      'POST /beta/deviceAppManagement/mobileApps/ID/microsoft.graph.win32LobApp/contentVersions/1/files/ID/commit',
      'PATCH /beta/deviceAppManagement/mobileApps/ID',
      'POST /beta/deviceAppManagement/mobileApps/ID/assign',
      'POST /beta/deviceManagement/deviceHealthScripts',
      'POST /beta/deviceManagement/deviceHealthScripts/ID/assign',
      'POST /beta/deviceManagement/deviceHealthScripts',
      'POST /beta/deviceManagement/deviceHealthScripts/ID/assign',
    ]);
    const contents = [...g.decrypted.values()];
    expect(contents).toHaveLength(2);
    expect(contents[0]!.equals(await pkgBytes(release))).toBe(true);
    // The Win32 content is the .intunewin inner zip of the install scripts: unzip (an independent reader) lists them.
    const zip = path.join(mkdtempSync(path.join(tmpdir(), 'intune-win32-')), 'IntunePackage.zip');
    writeFileSync(zip, contents[1]!);
    const listed = execFileSync('unzip', ['-Z1', zip]).toString('utf8').trim().split('\n').sort();
    expect(listed).toEqual(expect.arrayContaining(['Detect-Aiwatch.ps1', 'Install-AiwatchDetect.ps1', 'Remediate-Aiwatch.ps1', 'Uninstall-Aiwatch.ps1']));
    expect(execFileSync('unzip', ['-p', zip, 'Detect-Aiwatch.ps1']).toString('utf8')).toMatch(/\r\n/);
    expect(first.counts.writes).toBe(writes.length);
    expect(progress.find(([o, d, t]) => o === 'app "aiwatch agent (macOS)"' && d === t)?.[1]).toBe(300_001 + 48 + 16 - (300_001 % 16));
    const app = [...g.objects.values()].find((o) => o['@odata.type'] === '#microsoft.graph.macOSPkgApp')!;
    expect(app.committedContentVersion).toBe('1');
    expect(String(app.notes)).toMatch(/^aiwatch-deploy: app-macos sha256=[0-9a-f]{64} version=1\.2\.0$/);

    g.log.length = 0;
    const second = await applyAll(release);
    expect(second.plan.map((o) => o.action)).toEqual(Array(7).fill('unchanged'));
    expect(second.counts.writes).toBe(0);
    // observed (for status): nothing before the first apply; after it every marker holds the desired hash, and the
    // macOS app carries the release's version.
    expect(first.plan.filter((o) => o.observed !== undefined)).toEqual([]);
    expect(second.plan.map((o) => o.observed?.hash === o.hash)).toEqual(Array(7).fill(true));
    expect(second.plan.map((o) => o.observed?.version ?? '-')).toEqual(['-', '-', '-', '1.2.0', '-', '-', '-']);
    expect(g.log.filter((l) => !l.startsWith('GET') && !l.includes('/token'))).toEqual([]);
    expect(JSON.stringify([first, second, notes])).not.toContain(ORG_KEY);
    expect(JSON.stringify([first, second, notes, g.log])).not.toContain(CLIENT_SECRET);
  });

  it('drift made in the console is shown (secret payload as a hash) and repaired; a new release uploads a new content version', async () => {
    const release = fakeRelease();
    await applyAll(release);
    const tenantProfile = [...g.objects.values()].find((o) => o.displayName === 'aiwatch — tenant settings')!;
    tenantProfile.configurationXml = Buffer.from('<key>Host</key><string>https://evil</string>').toString('base64');
    const s = await intuneDriver.connect(target(), release, ctx());
    const plan = await s.plan();
    const t = plan.find((o) => o.name === 'aiwatch — tenant settings')!;
    expect(t).toMatchObject({ action: 'update', reason: 'drift', diff: [{ field: 'configurationXml', secret: true }], observed: { hash: t.hash } });
    for (const o of plan) await s.apply(o);
    expect((await (await intuneDriver.connect(target(), release, ctx())).plan()).every((o) => o.action === 'unchanged')).toBe(true);

    const next = fakeRelease({ version: '1.3.0', seed: 11, size: 123_457 });
    const { plan: up } = await applyAll(next);
    expect(up.filter((o) => o.action !== 'unchanged').map((o) => [o.name, o.diff.map((d) => d.field)])).toEqual([
      ['aiwatch agent (macOS)', ['fileName', 'primaryBundleVersion', 'includedApps', 'content', 'marker']],
    ]);
    const before = up.find((o) => o.name === 'aiwatch agent (macOS)')!;
    expect(before.observed).toEqual({ hash: expect.stringMatching(/^[0-9a-f]{64}$/), version: '1.2.0' });
    expect(before.observed!.hash).not.toBe(before.hash);
    const app = [...g.objects.values()].find((o) => o['@odata.type'] === '#microsoft.graph.macOSPkgApp')!;
    expect(app.committedContentVersion).toBe('2');
    expect(app.primaryBundleVersion).toBe('1.3.0');
  });

  it('survives 429 with Retry-After, a 401 (signs in again), an expired SAS mid-upload and a commit that stays pending', async () => {
    g.fail.push({ match: /^POST \/beta\/deviceManagement\/deviceConfigurations$/, status: 429, headers: { 'retry-after': '1' } });
    g.fail.push({ match: /^POST \/beta\/deviceAppManagement\/mobileApps$/, status: 401, body: '{"error":{"code":"InvalidAuthenticationToken"}}' });
    g.blob403Once = true;
    g.commitPendingPolls = 3;
    const release = fakeRelease({ size: 50_000 });
    await applyAll(release, target({ options: { authority: g.base } }));
    expect([...g.decrypted.values()][0]!.equals(await pkgBytes(release))).toBe(true);
    expect(g.log.filter((l) => l.endsWith('/renewUpload'))).toHaveLength(1);
    expect(g.log.filter((l) => l.includes('/token'))).toHaveLength(2);
    expect(notes.some((n) => /profile "aiwatch — PPPC": create: HTTP 429; it was not made: trying again/.test(n))).toBe(true);
    expect(notes.some((n) => /HTTP 403 \(the storage URI expired\): renewing it/.test(n))).toBe(true);
  });

  it('an apply interrupted after the commit is finished by the next one, without a second content version', async () => {
    const release = fakeRelease({ size: 70_000 });
    // The PATCH of committedContentVersion fails every retry: the run ends with a network error after the commit.
    for (let i = 0; i < 5; i += 1) g.fail.push({ match: /^PATCH \/beta\/deviceAppManagement\/mobileApps\/[^/]+$/, status: 503 });
    await expect(applyAll(release, target({ options: { authority: g.base } }))).rejects.toThrow(/intune contoso: app "aiwatch agent \(macOS\)": set committed content version .*HTTP 503; gave up after 5 attempts/);
    g.log.length = 0;
    const again = await applyAll(release, target({ options: { authority: g.base } }));
    expect(again.plan.find((o) => o.kind === 'app')).toMatchObject({ action: 'update' });
    expect(g.log.filter((l) => /contentVersions$|comp=block|\/commit$/.test(l) && !l.startsWith('GET'))).toEqual([]);
    const app = [...g.objects.values()].find((o) => o['@odata.type'] === '#microsoft.graph.macOSPkgApp')!;
    expect(app.committedContentVersion).toBe('1');
    expect((app._cvs as unknown[]).length).toBe(1);
    expect(notes.some((n) => /content version 1 already committed/.test(n))).toBe(true);
  });

  it('an unsigned pkg blocks the app (not the profiles, not Windows) unless the target is a test tenant', async () => {
    const release = fakeRelease({ trust: { developerIdSigned: false, notarizedStapled: false } });
    const s = await intuneDriver.connect(target(), release, ctx());
    const plan = await s.plan();
    expect(plan.map((o) => o.action)).toEqual(['create', 'create', 'create', 'blocked', 'create', 'create', 'create']);
    expect(plan[3]!.reason).toMatch(/not Developer ID signed and not notarized and stapled/);
    const test = await (await intuneDriver.connect(target({ testServer: true }), release, ctx())).plan();
    expect(test[3]!.action).toBe('create');
    // Blocked on a tenant that already has the app: status still sees the version it carries.
    const trusted = fakeRelease();
    await applyAll(trusted);
    const again = await (await intuneDriver.connect(target(), fakeRelease({ trust: { notarizedStapled: false } }), ctx())).plan();
    expect(again[3]).toMatchObject({ action: 'blocked', observed: { hash: again[3]!.hash, version: '1.2.0' } });
  });

  it('clear errors naming target, object and status: 401 after signing in again (exit 6), commitFileFailed, a commit pending too long', async () => {
    const release = fakeRelease({ size: 10_000 });
    const t = target({ options: { authority: g.base } });
    g.fail.push({ match: /^GET \/beta\/deviceManagement\/deviceConfigurations$/, status: 401 }, { match: /^GET \/beta\/deviceManagement\/deviceConfigurations$/, status: 401 });
    const e401 = await (await intuneDriver.connect(t, release, ctx())).plan().catch((x: unknown) => x);
    expect(e401).toMatchObject({ exitCode: 6 });
    expect((e401 as Error).message).toMatch(/^intune contoso: profile "aiwatch — PPPC": find by name: authentication refused \(HTTP 401\) after signing in again/);

    g.commitFails = true;
    const failed = await applyAll(release, t).catch((x: unknown) => x);
    expect((failed as Error).message).toMatch(/^intune contoso: app "aiwatch agent \(macOS\)": commit: content version 1 file id-\d+: uploadState commitFileFailed: Intune could not decrypt or verify/);
    // The next apply leaves the failed version and makes a new one.
    await applyAll(release, t);
    const app = [...g.objects.values()].find((o) => o['@odata.type'] === '#microsoft.graph.macOSPkgApp')!;
    expect(app.committedContentVersion).toBe('2');

    g.commitPendingPolls = 10_000;
    const pending = await applyAll(fakeRelease({ version: '1.4.0', size: 9_000 }), t).catch((x: unknown) => x);
    expect(pending).toMatchObject({ exitCode: 5 });
    expect((pending as Error).message).toMatch(/app "aiwatch agent \(macOS\)": commit: content version 3 file id-\d+ still not commitFileSuccess after 300 polls: run apply again to resume/);
    expect([e401, failed, pending].map((x) => (x as Error).message).join('\n')).not.toContain(CLIENT_SECRET);
  });

  it('a SAS about to expire is renewed before the next block, not after a refusal', async () => {
    g.sasLifetimeMs = 60_000; // under the two-minute margin
    const release = fakeRelease({ size: 5_000 });
    await applyAll(release, target({ options: { authority: g.base } }));
    const seq = g.log.filter((l) => /renewUpload|comp=block$/.test(l)).map((l) => (l.includes('renewUpload') ? 'renew' : 'block'));
    expect(seq.slice(0, 2)).toEqual(['renew', 'block']);
    expect([...g.decrypted.values()][0]!.equals(await pkgBytes(release))).toBe(true);
  });

  it('a create whose answer is lost (the connection drops after the server made it) is found by name, not made twice', async () => {
    g.dropAfter.push(/^POST \/beta\/deviceAppManagement\/mobileApps$/, /^POST \/beta\/deviceManagement\/deviceConfigurations$/);
    const release = fakeRelease({ size: 4_000 });
    await applyAll(release, target());
    const names = [...g.objects.values()].map((o) => o.displayName as string);
    expect(names.length).toBe(new Set(names).size);
    expect(names).toHaveLength(7);
    expect(notes.filter((n) => /create: connection.*but it was made: using it/.test(n))).toHaveLength(2);
    expect((await (await intuneDriver.connect(target(), release, ctx())).plan()).every((o) => o.action === 'unchanged')).toBe(true);
  });

  it('a collection that refuses $filter on displayName is read whole, once per run', async () => {
    g.refuseFilter.add('deviceManagement/deviceHealthScripts');
    const release = fakeRelease({ size: 3_000 });
    await applyAll(release, target());
    const second = await applyAll(release, target());
    expect(second.plan.every((o) => o.action === 'unchanged')).toBe(true);
    expect(notes.some((n) => /deviceHealthScripts refuses \$filter on displayName \(HTTP 400\): reading the whole list/.test(n))).toBe(true);
  });
});

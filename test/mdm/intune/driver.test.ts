// The Intune driver (src/mdm/intune) against the local Intune server (test/helpers/servers/intune: Graph beta + Entra
// token endpoint, every body validated against Microsoft's description) with the content in Azurite: a first apply
// creates everything in order and uploads the pkg and the Win32 content, which the server reads back from Azurite,
// decrypts with the fileEncryptionInfo sent and compares; a second plans all unchanged and sends no write; drift is
// shown and repaired; faults survived (429 + Retry-After, an expired token, a SAS that expires mid-upload — a real 403
// from Azurite —, a commit that stays pending, a reset connection); an apply interrupted after the commit is finished
// by the next without a second content version.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { intuneDriver } from '../../../src/mdm/intune/driver.js';
import type { DriverContext, PlannedObject, ReleaseContent, ResolvedTarget } from '../../../src/rollout/model.js';
import { Secret } from '../../../src/secret.js';
import type { IntuneServer } from '../../helpers/servers/intune/server.js';
import { intuneServer, useAzurite } from '../../helpers/servers/intune/vitest.js';
import { fakeRelease, ORG_KEY } from '../jamf/release.js';

useAzurite();
const GROUP = '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
const CLIENT_ID = '66666666-7777-8888-9999-000000000000';
const CLIENT_SECRET = 'intune-unit-client-secret';
let g: IntuneServer;
const start = async (): Promise<IntuneServer> => (g = await intuneServer({ clients: [{ id: CLIENT_ID, secret: CLIENT_SECRET }] }));

afterEach(() => {
  // Every body the driver sent matched Microsoft's description, and every commit decrypted.
  expect(g.validationFailures).toEqual([]);
  expect(g.unknownRequests).toEqual([]);
  expect(g.commitProblems).toEqual([]);
  notes.length = 0;
  progress.length = 0;
  sleeps.length = 0;
});

function target(over: Partial<ResolvedTarget> = {}): ResolvedTarget {
  return {
    name: 'contoso',
    mdm: 'intune',
    url: g.graphUrl,
    credentials: { tenantId: g.tenantId, clientId: CLIENT_ID, clientSecret: new Secret(CLIENT_SECRET, 'clientSecret') },
    tenant: { Host: 'https://contoso.runlayer.com', OrgApiKey: new Secret(ORG_KEY, 'OrgApiKey') },
    scope: { group: GROUP },
    testServer: false,
    options: { authority: g.url, windows: true },
    ...over,
  };
}

const notes: string[] = [];
const progress: [string, number, number][] = [];
const sleeps: number[] = [];
const ctx = (): DriverContext => ({
  signal: new AbortController().signal,
  http: {
    backoffMs: 1,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  },
  onNote: (m) => notes.push(m),
  onUploadProgress: (o, d, t) => progress.push([o, d, t]),
});

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

const app = (type = '#microsoft.graph.macOSPkgApp'): Record<string, unknown> => [...g.store.objects.mobileApps.values()].find((o) => o['@odata.type'] === type)!;

describe('intune driver against the local Graph server and Azurite', () => {
  it('first apply creates all in order and uploads both contents; the second sends no write', async () => {
    await start();
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
    // Writes, in order: each profile and Remediation made and assigned; each app made, its content uploaded and committed, pointed at and assigned.
    const profile = ['POST /beta/deviceManagement/deviceConfigurations', 'POST /beta/deviceManagement/deviceConfigurations/{id}/assign'];
    const script = ['POST /beta/deviceManagement/deviceHealthScripts', 'POST /beta/deviceManagement/deviceHealthScripts/{id}/assign'];
    const appWrites = (cast: string): string[] => [
      'POST /beta/deviceAppManagement/mobileApps',
      `POST /beta/deviceAppManagement/mobileApps/{id}/${cast}/contentVersions`,
      `POST /beta/deviceAppManagement/mobileApps/{id}/${cast}/contentVersions/{cv}/files`,
      `POST /beta/deviceAppManagement/mobileApps/{id}/${cast}/contentVersions/{cv}/files/{id}/commit`,
      'PATCH /beta/deviceAppManagement/mobileApps/{id}',
      'POST /beta/deviceAppManagement/mobileApps/{id}/assign',
    ];
    expect(g.sequence({ writesOnly: true })).toEqual([...profile, ...profile, ...profile, ...appWrites('microsoft.graph.macOSPkgApp'), ...appWrites('microsoft.graph.win32LobApp'), ...script, ...script]);
    // The content flow with its reads: resumable versions looked for, the SAS waited for (one pending read), the commit polled.
    const flow = (cast: string): string[] => {
      const p = `/beta/deviceAppManagement/mobileApps/{id}/${cast}/contentVersions`;
      return [`GET ${p}`, `POST ${p}`, `POST ${p}/{cv}/files`, `GET ${p}/{cv}/files/{id}`, `GET ${p}/{cv}/files/{id}`, `POST ${p}/{cv}/files/{id}/commit`, `GET ${p}/{cv}/files/{id}`];
    };
    expect(g.sequence().filter((l) => l.includes('/contentVersions'))).toEqual([...flow('microsoft.graph.macOSPkgApp'), ...flow('microsoft.graph.win32LobApp')]);

    expect(g.contents.map((c) => c.name)).toEqual(['aiwatch-1.2.0-macos-arm64.pkg', 'IntunePackage.intunewin']);
    expect(g.contents[0]!.bytes!.equals(await pkgBytes(release))).toBe(true);
    // The Win32 content is the .intunewin inner zip of the install scripts: unzip (an independent reader) lists them.
    const zip = path.join(mkdtempSync(path.join(tmpdir(), 'intune-win32-')), 'IntunePackage.zip');
    writeFileSync(zip, g.contents[1]!.bytes!);
    const listed = execFileSync('unzip', ['-Z1', zip]).toString('utf8').trim().split('\n').sort();
    expect(listed).toEqual(expect.arrayContaining(['Detect-Aiwatch.ps1', 'Install-AiwatchDetect.ps1', 'Remediate-Aiwatch.ps1', 'Uninstall-Aiwatch.ps1']));
    expect(execFileSync('unzip', ['-p', zip, 'Detect-Aiwatch.ps1']).toString('utf8')).toMatch(/\r\n/);
    // Writes counted by the driver: the Graph writes plus the Put Block and Put Block List of each content.
    expect(first.counts.writes).toBe(g.sequence({ writesOnly: true }).length + 4);
    expect(progress.find(([o, d, t]) => o === 'app "aiwatch agent (macOS)"' && d === t)?.[1]).toBe(300_001 + 48 + 16 - (300_001 % 16));
    expect(app().committedContentVersion).toBe('1');
    expect(app().publishingState).toBe('published');
    expect(String(app().notes)).toMatch(/^aiwatch-deploy: app-macos sha256=[0-9a-f]{64} version=1\.2\.0$/);

    g.resetLog();
    const second = await applyAll(release);
    expect(second.plan.map((o) => o.action)).toEqual(Array(7).fill('unchanged'));
    expect(second.counts.writes).toBe(0);
    expect(g.sequence({ writesOnly: true })).toEqual([]);
    expect(JSON.stringify([first, second, notes])).not.toContain(ORG_KEY);
    expect(JSON.stringify([first, second, notes, g.log])).not.toContain(CLIENT_SECRET);
  });

  it('drift made in the console is shown (secret payload as a hash) and repaired; a new release uploads a new content version', async () => {
    await start();
    const release = fakeRelease();
    await applyAll(release);
    const tenantProfile = [...g.store.objects.deviceConfigurations.values()].find((o) => o.displayName === 'aiwatch — tenant settings')!;
    tenantProfile.configurationXml = Buffer.from('<key>Host</key><string>https://evil</string>').toString('base64');
    const s = await intuneDriver.connect(target(), release, ctx());
    const plan = await s.plan();
    const t = plan.find((o) => o.name === 'aiwatch — tenant settings')!;
    expect(t).toMatchObject({ action: 'update', reason: 'drift', diff: [{ field: 'configurationXml', secret: true }] });
    for (const o of plan) await s.apply(o);
    expect((await (await intuneDriver.connect(target(), release, ctx())).plan()).every((o) => o.action === 'unchanged')).toBe(true);

    const next = fakeRelease({ version: '1.3.0', seed: 11, size: 123_457 });
    const { plan: up } = await applyAll(next);
    expect(up.filter((o) => o.action !== 'unchanged').map((o) => [o.name, o.diff.map((d) => d.field)])).toEqual([
      ['aiwatch agent (macOS)', ['fileName', 'primaryBundleVersion', 'includedApps', 'content', 'marker']],
    ]);
    expect(app().committedContentVersion).toBe('2');
    expect(app().primaryBundleVersion).toBe('1.3.0');
    expect(g.contents.at(-1)!.bytes!.equals(await pkgBytes(next))).toBe(true);
  });

  it('survives 429 with Retry-After, an expired token, a SAS that expires mid-upload (403 from Azurite) and a commit that stays pending', async () => {
    await start();
    g.inject({ method: 'POST', path: /^\/beta\/deviceManagement\/deviceConfigurations$/, action: { status: 429, retryAfter: 3 } });
    g.inject({ method: 'GET', path: /\/deviceConfigurations$/, skip: 1, action: { status: 429, retryAfter: 2 } });
    g.inject({ method: 'POST', path: /^\/beta\/deviceAppManagement\/mobileApps$/, action: { expireToken: true } });
    g.options.commitPendingPolls = 3;
    // Two blocks (8 MiB each): the SAS's stored access policy expires in Azurite after the first block was sent
    // (the second pass of the encryption reads past 8 MiB only once block 0 is uploaded).
    const release = fakeRelease({ size: 9 * 1024 * 1024 + 5 });
    const read = release.pkg.read;
    let pass = 0;
    let expired = false;
    release.pkg.read = async function* () {
      pass += 1;
      let at = 0;
      for await (const c of read()) {
        if (pass === 2 && at >= 8 * 1024 * 1024 + 65_536 && !expired) {
          expired = true;
          await g.expireSas();
        }
        at += c.length;
        yield c;
      }
    };
    await applyAll(release, target({ options: { authority: g.url } }));
    expect(expired).toBe(true);
    expect(g.contents[0]!.sha256).toBe(release.pkg.sha256);
    expect(g.sequence().filter((l) => l.endsWith('/renewUpload'))).toHaveLength(1);
    expect(g.log.filter((l) => l.kind === 'auth')).toHaveLength(2);
    expect(g.faultsFired).toEqual(['429 GET /beta/deviceManagement/deviceConfigurations', '429 POST /beta/deviceManagement/deviceConfigurations', 'token-expired POST /beta/deviceAppManagement/mobileApps']);
    // Retry-After is honoured by a read's retry (2 s) and by a create's look-up-then-retry (3 s) alike.
    expect(sleeps).toEqual(expect.arrayContaining([2000, 3000]));
    expect(notes.some((n) => /profile "aiwatch — PPPC": create: HTTP 429; it was not made: trying again/.test(n))).toBe(true);
    expect(notes.some((n) => /upload block 1: HTTP 403 \(the storage URI expired\): renewing it/.test(n))).toBe(true);
    expect(app().committedContentVersion).toBe('1');
  });

  it('an apply interrupted after the commit is finished by the next one, without a second content version', async () => {
    await start();
    const release = fakeRelease({ size: 70_000 });
    // The PATCH of committedContentVersion fails every retry: the run ends with a network error after the commit.
    g.inject({ method: 'PATCH', path: /^\/beta\/deviceAppManagement\/mobileApps\/[^/]+$/, times: 5, action: { status: 503 } });
    await expect(applyAll(release, target({ options: { authority: g.url } }))).rejects.toThrow(/intune contoso: app "aiwatch agent \(macOS\)": set committed content version .*HTTP 503; gave up after 5 attempts/);
    g.resetLog();
    const again = await applyAll(release, target({ options: { authority: g.url } }));
    expect(again.plan.find((o) => o.kind === 'app')).toMatchObject({ action: 'update' });
    expect(g.sequence({ writesOnly: true })).toEqual(['PATCH /beta/deviceAppManagement/mobileApps/{id}', 'POST /beta/deviceAppManagement/mobileApps/{id}/assign']);
    expect(app().committedContentVersion).toBe('1');
    expect(g.store.content.get(String(app().id))).toHaveLength(1);
    expect(g.contents).toHaveLength(1);
    expect(notes.some((n) => /content version 1 already committed/.test(n))).toBe(true);
  });

  it('an apply cut off after the upload but before the commit is resumed into the same file entry: new keys, the blob uploaded again, one content version', async () => {
    await start();
    const release = fakeRelease({ size: 80_000 });
    g.inject({ method: 'POST', path: /macOSPkgApp\/contentVersions\/1\/files\/[^/]+\/commit$/, times: 5, action: { reset: 'before' } });
    await expect(applyAll(release, target({ options: { authority: g.url } }))).rejects.toThrow(/intune contoso: app "aiwatch agent \(macOS\)": commit .*gave up after 5 attempts/);
    expect(g.contents).toEqual([]);
    g.resetLog();
    await applyAll(release, target({ options: { authority: g.url } }));
    expect(notes.some((n) => /content version 1 was not committed \(an earlier apply was interrupted\): uploading into it again/.test(n))).toBe(true);
    expect(g.sequence({ writesOnly: true }).filter((l) => /contentVersions(\/\{cv\}\/files)?$/.test(l))).toEqual([]);
    expect(g.store.content.get(String(app().id))).toHaveLength(1);
    expect(g.contents[0]!.bytes!.equals(await pkgBytes(release))).toBe(true);
    expect(app().committedContentVersion).toBe('1');
  });

  it('an unsigned pkg blocks the app (not the profiles, not Windows) unless the target is a test tenant', async () => {
    await start();
    const release = fakeRelease({ trust: { developerIdSigned: false, notarizedStapled: false } });
    const s = await intuneDriver.connect(target(), release, ctx());
    const plan = await s.plan();
    expect(plan.map((o) => o.action)).toEqual(['create', 'create', 'create', 'blocked', 'create', 'create', 'create']);
    expect(plan[3]!.reason).toMatch(/not Developer ID signed and not notarized and stapled/);
    const test = await (await intuneDriver.connect(target({ testServer: true }), release, ctx())).plan();
    expect(test[3]!.action).toBe('create');
  });

  it('clear errors naming target, object and status: 401 after signing in again (exit 6), commitFileFailed, a commit pending too long', async () => {
    await start();
    const release = fakeRelease({ size: 10_000 });
    const t = target({ options: { authority: g.url } });
    g.inject({ method: 'GET', path: /^\/beta\/deviceManagement\/deviceConfigurations$/, times: 2, action: { status: 401 } });
    const e401 = await (await intuneDriver.connect(t, release, ctx())).plan().catch((x: unknown) => x);
    expect(e401).toMatchObject({ exitCode: 6 });
    expect((e401 as Error).message).toMatch(/^intune contoso: profile "aiwatch — PPPC": find by name: authentication refused \(HTTP 401\) after signing in again/);

    g.options.commitFails = 1;
    const failed = await applyAll(release, t).catch((x: unknown) => x);
    expect((failed as Error).message).toMatch(/^intune contoso: app "aiwatch agent \(macOS\)": commit: content version 1 file [0-9a-f-]{36}: uploadState commitFileFailed: Intune could not decrypt or verify/);
    // The next apply leaves the failed version and makes a new one.
    await applyAll(release, t);
    expect(app().committedContentVersion).toBe('2');

    g.options.commitPendingPolls = 10_000;
    const pending = await applyAll(fakeRelease({ version: '1.4.0', size: 9_000 }), t).catch((x: unknown) => x);
    expect(pending).toMatchObject({ exitCode: 5 });
    expect((pending as Error).message).toMatch(/app "aiwatch agent \(macOS\)": commit: content version 3 file [0-9a-f-]{36} still not commitFileSuccess after 300 polls: run apply again to resume/);
    expect([e401, failed, pending].map((x) => (x as Error).message).join('\n')).not.toContain(CLIENT_SECRET);
  });

  it('a SAS that is short-lived is renewed before the next block, not after a refusal', async () => {
    await start();
    g.options.sasLifetimeMs = 60_000; // under the driver's two-minute margin
    const release = fakeRelease({ size: 5_000 });
    await applyAll(release, target({ options: { authority: g.url } }));
    const seq = g.sequence().filter((l) => /renewUpload$|files\/\{id\}\/commit$/.test(l));
    expect(seq[0]).toMatch(/renewUpload$/);
    expect(g.contents[0]!.bytes!.equals(await pkgBytes(release))).toBe(true);
  });

  it('a create whose answer is lost (the connection drops after the server made it) is found by name, not made twice', async () => {
    await start();
    g.inject({ method: 'POST', path: /^\/beta\/deviceAppManagement\/mobileApps$/, action: { reset: 'after' } });
    g.inject({ method: 'POST', path: /^\/beta\/deviceManagement\/deviceConfigurations$/, action: { reset: 'after' } });
    const release = fakeRelease({ size: 4_000 });
    await applyAll(release, target());
    const names = [...g.store.objects.mobileApps.values(), ...g.store.objects.deviceConfigurations.values(), ...g.store.objects.deviceHealthScripts.values()].map((o) => o.displayName as string);
    expect(names.length).toBe(new Set(names).size);
    expect(names).toHaveLength(7);
    expect(notes.filter((n) => /create: connection.*but it was made: using it/.test(n))).toHaveLength(2);
    expect((await (await intuneDriver.connect(target(), release, ctx())).plan()).every((o) => o.action === 'unchanged')).toBe(true);
  });

  it('a collection that refuses $filter on displayName is read whole, once per run; long lists are paged', async () => {
    await start();
    g.options.refuseFilter.add('deviceManagement/deviceHealthScripts');
    g.options.pageSize = 1;
    const release = fakeRelease({ size: 3_000 });
    await applyAll(release, target());
    const second = await applyAll(release, target());
    expect(second.plan.every((o) => o.action === 'unchanged')).toBe(true);
    expect(notes.some((n) => /deviceHealthScripts refuses \$filter on displayName \(HTTP 400\): reading the whole list/.test(n))).toBe(true);
    expect(g.log.some((l) => decodeURIComponent(l.path).includes('$skiptoken=1'))).toBe(true);
  });
});

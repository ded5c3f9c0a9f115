/**
 * The plan/apply engine over a small MDM (test/rollout/fake-mdm.ts): exit codes of plan, idempotence of apply, the
 * concurrency bound (observed with a gate, not timed), one target's failure isolated from the others, blocked targets
 * applying nothing, abort, and secrets masked in whatever a driver says.
 */
import { loadDefaultSpec } from '../../src/config/spec.js';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ExitCode, NetworkError } from '../../src/errors.js';
import { applyRollout, planRollout, worstExitCode } from '../../src/rollout/engine.js';
import type { ReleaseContent, ResolvedTarget } from '../../src/rollout/model.js';
import { renderReport } from '../../src/rollout/report.js';
import { Secret } from '../../src/secret.js';
import { fakeDriver, FakeServer } from './fake-mdm.js';

const CLIENT_SECRET = 'client-secret-ENGINE-7f3a';
const ORG_KEY = 'rl_org_ENGINEsecret123';

function release(trusted = true, version = '1.2.0'): ReleaseContent {
  const bytes = Buffer.alloc(300_000, 0x5a);
  const h = (a: string): string => createHash(a).update(bytes).digest('hex');
  return {
    version,
    spec: loadDefaultSpec(),
    pkg: {
      fileName: `aiwatch-${version}-macos-arm64.pkg`,
      size: bytes.length,
      sha256: h('sha256'),
      sha512: h('sha512'),
      md5: h('md5'),
      read: async function* () {
        for (let i = 0; i < bytes.length; i += 65536) yield bytes.subarray(i, i + 65536);
      },
    },
    profiles: { pppc: Buffer.from('pppc'), loginItems: Buffer.from('login items') },
    trust: trusted
      ? { developerIdSigned: true, notarizedStapled: true, pppcMatchesBinary: true, problems: [] }
      : { developerIdSigned: false, notarizedStapled: false, pppcMatchesBinary: true, problems: ['the pkg is not signed'] },
  };
}

function target(name: string, o: Partial<ResolvedTarget> = {}): ResolvedTarget {
  return {
    name,
    mdm: 'jamf',
    url: `https://${name}.example.test`,
    credentials: { clientId: `${name}-client`, clientSecret: new Secret(CLIENT_SECRET, 'credentials.clientSecret') },
    tenant: { Host: `https://${name}.runlayer.com`, OrgApiKey: new Secret(ORG_KEY, 'OrgApiKey'), Enforcement: true, Sessions: true },
    scope: { smartGroup: { name: 'AI Watch', criteria: [{ name: 'Operating System Version', searchType: 'greater than or equal', value: '13', andOr: 'and' }] } },
    testServer: false,
    options: {},
    ...o,
  };
}

const signal = (): AbortSignal => new AbortController().signal;

describe('plan', () => {
  it('says create on a fresh server (exit 8), unchanged after apply (exit 0), and writes nothing', async () => {
    const servers = new Map<string, FakeServer>();
    const drivers = { jamf: fakeDriver(servers) };
    const first = await planRollout([target('acme')], release(), { drivers, signal: signal() });
    expect(first.exitCode).toBe(ExitCode.pending);
    expect(first.targets[0]!.objects.map((o) => [o.kind, o.action])).toEqual([
      ['smart-group', 'create'], ['profile', 'create'], ['profile', 'create'], ['profile', 'create'], ['package', 'create'], ['policy', 'create'],
    ]);
    expect(first.targets[0]!.counts.writes).toBe(0);
    expect(servers.get('https://acme.example.test')!.objects.size).toBe(0);
    await applyRollout([target('acme')], release(), { drivers, signal: signal() });
    const again = await planRollout([target('acme')], release(), { drivers, signal: signal() });
    expect(again.exitCode).toBe(ExitCode.ok);
    expect(again.targets[0]!.objects.every((o) => o.action === 'unchanged')).toBe(true);
  });

  it('shows a changed tenant secret as an update whose values are hashes, never the key', async () => {
    const servers = new Map<string, FakeServer>();
    const drivers = { jamf: fakeDriver(servers) };
    await applyRollout([target('acme')], release(), { drivers, signal: signal() });
    const rotated = target('acme', { tenant: { Host: 'https://acme.runlayer.com', OrgApiKey: new Secret('rl_org_ROTATEDkey456', 'OrgApiKey'), Enforcement: true, Sessions: true } });
    const p = await planRollout([rotated], release(), { drivers, signal: signal() });
    const tenant = p.targets[0]!.objects.find((o) => o.name === 'AI Watch Tenant')!;
    expect(tenant.action).toBe('update');
    expect(tenant.diff).toEqual([{ field: 'OrgApiKey', from: expect.stringMatching(/^sha256:[0-9a-f]{12}$/), to: expect.stringMatching(/^sha256:[0-9a-f]{12}$/), secret: true }]);
    const text = renderReport(p);
    expect(text).toMatch(/OrgApiKey: "sha256:[0-9a-f]{12}" → "sha256:[0-9a-f]{12}"/);
    expect(text + JSON.stringify(p)).not.toContain('ROTATEDkey456');
    expect(p.exitCode).toBe(ExitCode.pending);
  });

  it('a blocked object makes exit 9; a failed target its own code; the worst wins and the others are still planned', async () => {
    const drivers = { jamf: fakeDriver(new Map(), { refuse: new Set(['down']) }) };
    const p = await planRollout([target('prod'), target('down'), target('lab', { testServer: true })], release(false), { drivers, signal: signal() });
    expect(p.targets.map((t) => [t.target, t.exitCode])).toEqual([['prod', ExitCode.blocked], ['down', ExitCode.network], ['lab', ExitCode.pending]]);
    expect(p.targets[0]!.objects.find((o) => o.kind === 'package')!.reason).toMatch(/not trusted/);
    expect(p.targets[1]!.error).toEqual({ kind: 'network', exitCode: 5, message: expect.stringMatching(/down: connect .*ECONNREFUSED/) });
    expect(p.exitCode).toBe(ExitCode.network);
  });
});

describe('apply', () => {
  it('performs the plan in order, then a second apply makes zero writes', async () => {
    const servers = new Map<string, FakeServer>();
    const drivers = { jamf: fakeDriver(servers) };
    const uploads: Array<[string, number, number]> = [];
    const first = await applyRollout([target('acme')], release(), { drivers, signal: signal(), onUploadProgress: (t, n, d, total) => uploads.push([`${t}/${n}`, d, total]) });
    expect(first.exitCode).toBe(ExitCode.ok);
    expect(first.targets[0]!.objects.map((o) => o.outcome)).toEqual(['done', 'done', 'done', 'done', 'done', 'done']);
    expect(first.targets[0]!.counts).toMatchObject({ writes: 6, uploadedBytes: 300_000 });
    expect(uploads.at(-1)).toEqual(['acme/aiwatch-1.2.0-macos-arm64.pkg', 300_000, 300_000]);
    const second = await applyRollout([target('acme')], release(), { drivers, signal: signal() });
    expect(second.exitCode).toBe(ExitCode.ok);
    expect(second.targets[0]!.counts.writes).toBe(0);
    expect(second.targets[0]!.objects.map((o) => o.outcome)).toEqual(Array(6).fill('unchanged'));
    // A new release: the package and the policy change, the profiles do not.
    const upgrade = await applyRollout([target('acme')], release(true, '1.3.0'), { drivers, signal: signal() });
    expect(upgrade.targets[0]!.objects.filter((o) => o.outcome === 'done').map((o) => o.kind)).toEqual(['package', 'policy']);
  });

  it('keeps at most --parallel targets at work at once, and does use that many', async () => {
    let inFlight = 0;
    let most = 0;
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const drivers = {
      jamf: fakeDriver(new Map(), {
        gate,
        onConnect: () => {
          most = Math.max(most, ++inFlight);
          // Once the bound is reached, let everyone through: more connects would push inFlight past it.
          if (inFlight === 3) open();
        },
        onClose: () => void inFlight--,
      }),
    };
    const targets = Array.from({ length: 12 }, (_, i) => target(`t${i}`));
    const r = await applyRollout(targets, release(), { drivers, parallel: 3, signal: signal() });
    expect(r.exitCode).toBe(ExitCode.ok);
    expect(most).toBe(3);
    expect(r.targets.map((t) => t.target)).toEqual(targets.map((t) => t.name));
  });

  it('one target failing mid-way stops only that target: its later objects are not run, the others finish', async () => {
    const drivers = { jamf: fakeDriver(new Map(), { failApply: new Set(['b/package']), unauthorized: new Set(['c']) }) };
    const r = await applyRollout([target('a'), target('b'), target('c'), target('d')], release(), { drivers, parallel: 2, signal: signal() });
    const b = r.targets[1]!;
    expect(b.objects.map((o) => [o.kind, o.outcome])).toEqual([
      ['smart-group', 'done'], ['profile', 'done'], ['profile', 'done'], ['profile', 'done'], ['package', 'failed'], ['policy', 'not-run'],
    ]);
    expect(b.exitCode).toBe(ExitCode.network);
    const failed = b.objects.find((o) => o.outcome === 'failed')!;
    expect(failed.error).toMatchObject({ kind: 'network', exitCode: 5 });
    expect(failed.error!.message).toMatch(/b: package "aiwatch-1\.2\.0-macos-arm64\.pkg": HTTP 503/);
    expect(failed.error!.message).not.toContain(CLIENT_SECRET);
    expect(r.targets[2]!.error).toMatchObject({ kind: 'rejected', exitCode: 6 });
    expect([r.targets[0]!.exitCode, r.targets[3]!.exitCode]).toEqual([0, 0]);
    expect(r.exitCode).toBe(ExitCode.rejected);
    expect(renderReport(r)).not.toContain(CLIENT_SECRET);
  });

  it('a target with a blocked object applies nothing and says why; a test server target proceeds', async () => {
    const servers = new Map<string, FakeServer>();
    const drivers = { jamf: fakeDriver(servers) };
    const r = await applyRollout([target('prod'), target('lab', { testServer: true })], release(false), { drivers, signal: signal() });
    const [prod, lab] = r.targets;
    expect(prod!.counts.writes).toBe(0);
    expect(prod!.exitCode).toBe(ExitCode.blocked);
    expect(prod!.blocked).toMatch(/nothing applied: package "aiwatch-1\.2\.0-macos-arm64\.pkg" is blocked \(the pkg is not trusted/);
    expect(prod!.objects.map((o) => o.outcome)).toEqual(['not-run', 'not-run', 'not-run', 'not-run', 'blocked', 'not-run']);
    expect(lab!.exitCode).toBe(ExitCode.ok);
    expect(lab!.counts.writes).toBe(6);
    expect(r.exitCode).toBe(ExitCode.blocked);
  });

  it('an abort stops before the next object and the next target (exit 130); a later apply finishes the job', async () => {
    const servers = new Map<string, FakeServer>();
    const ac = new AbortController();
    const drivers = { jamf: fakeDriver(servers) };
    const r = await applyRollout([target('a'), target('b')], release(), {
      drivers,
      parallel: 1,
      signal: ac.signal,
      onUploadProgress: () => ac.abort(),
    });
    expect(r.targets[0]!.objects.map((o) => o.outcome)).toEqual(['done', 'done', 'done', 'done', 'done', 'not-run']);
    expect(r.targets[0]!.error).toMatchObject({ kind: 'interrupted', exitCode: 130 });
    expect(r.targets[1]!.error).toMatchObject({ kind: 'interrupted', exitCode: 130, message: 'target b: not started (interrupted)' });
    expect(r.exitCode).toBe(ExitCode.interrupted);
    const resumed = await applyRollout([target('a'), target('b')], release(), { drivers, signal: signal() });
    expect(resumed.targets.map((t) => t.objects.filter((o) => o.outcome === 'done').length)).toEqual([1, 6]);
    expect(resumed.exitCode).toBe(0);
  });

  it('a driver error that is not ours is reported as internal, exit 4, secrets masked', async () => {
    const base = fakeDriver(new Map());
    const drivers = {
      jamf: { ...base, connect: async () => Promise.reject(new Error(`boom ${CLIENT_SECRET}`)) },
    };
    const r = await planRollout([target('x')], release(), { drivers, signal: signal() });
    expect(r.targets[0]!.error).toEqual({ kind: 'internal', exitCode: ExitCode.tool, message: 'boom ********' });
  });
});

describe('worstExitCode', () => {
  it('ranks errors over blocked over pending over ok, interrupted first', () => {
    expect(worstExitCode([])).toBe(0);
    expect(worstExitCode([0, 8, 0])).toBe(8);
    expect(worstExitCode([8, 9, 8])).toBe(9);
    expect(worstExitCode([9, 5, 8])).toBe(5);
    expect(worstExitCode([5, 6])).toBe(6);
    expect(worstExitCode([6, 130, 5])).toBe(130);
  });
  it('NetworkError carries exit 5', () => {
    expect(new NetworkError('x').exitCode).toBe(5);
  });
});

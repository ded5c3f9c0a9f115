/**
 * src/rollout/status.ts without a server: a target's state from its plan report (error > blocked > drifted >
 * pending > current; drifted and pending disjoint), each profile's state from the marker hash observed, the versions
 * found, the table's escaping of server text, the --json error object, and that schemas/status.schema.json refuses
 * what it should (so the end-to-end test's validation cannot pass by accident). The end-to-end run over local Jamf
 * Pro and Intune servers is test/publish/status.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { validatorFor } from '../../src/config/validate.js';
import type { ObjectReport, RolloutReport, TargetReport } from '../../src/rollout/engine.js';
import { column, renderStatus, rolloutStatus, statusFailure, targetStatus } from '../../src/rollout/status.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

function obj(over: Partial<ObjectReport> & Pick<ObjectReport, 'kind' | 'name'>): ObjectReport {
  return { action: 'unchanged', diff: [], hash: A, observed: { hash: A }, ...over };
}

function target(name: string, objects: ObjectReport[], over: Partial<TargetReport> = {}): TargetReport {
  return { target: name, mdm: 'jamf', objects, counts: { reads: 3, writes: 0, uploadedBytes: 0 }, exitCode: 0, ...over };
}

const profiles = (over: Partial<ObjectReport>[] = []): ObjectReport[] =>
  ['aiwatch — PPPC', 'aiwatch — login items', 'aiwatch — tenant settings'].map((name, i) => obj({ kind: 'profile', name, ...over[i] }));

describe('status of one target', () => {
  it('current: every object unchanged with the desired hash; the version from the package and the policy', () => {
    const s = targetStatus(target('t', [...profiles(), obj({ kind: 'package', name: 'p.pkg', observed: { hash: A, version: '1.2.0' } }), obj({ kind: 'policy', name: 'install', observed: { hash: A, version: '1.2.0' } })]));
    expect(s).toMatchObject({ state: 'current', versions: ['1.2.0'], drifted: [], pending: [], blocked: [] });
    expect(s.profiles.map((p) => [p.column, p.state])).toEqual([['PPPC', 'current'], ['login items', 'current'], ['tenant settings', 'current']]);
  });

  it('profile states: drift (desired hash, fields changed), differs (another hash), unmarked (no marker), missing', () => {
    const s = targetStatus(
      target('t', profiles([
        { action: 'update', reason: 'drift', diff: [{ field: 'payload', from: 'x', to: 'y' }] },
        { action: 'update', observed: { hash: B }, diff: [{ field: 'marker', from: 'sha256=bbbb', to: 'sha256=aaaa' }] },
        { action: 'update', observed: {}, reason: 'not made by aiwatch-deploy: adopted (marker added)' },
      ]).concat(obj({ kind: 'profile', name: 'extra', action: 'create', observed: undefined }))),
    );
    expect(s.profiles.map((p) => [p.state, p.hash])).toEqual([['drift', A], ['differs', B], ['unmarked', null], ['missing', null]]);
    // Drift is its own list; the other updates and the create are pending: disjoint.
    expect(s.drifted.map((o) => o.name)).toEqual(['aiwatch — PPPC']);
    expect(s.pending.map((o) => `${o.action} ${o.name}`)).toEqual(['update aiwatch — login items', 'update aiwatch — tenant settings', 'create extra']);
    expect(s.state).toBe('drifted');
  });

  it('the worst state wins: error over blocked over drifted over pending; versions distinct in plan order', () => {
    const blocked = targetStatus(target('t', [obj({ kind: 'profile', name: 'p', action: 'update', reason: 'drift' }), obj({ kind: 'package', name: 'k', action: 'blocked', reason: 'not notarized', observed: { hash: B, version: '1.1.0' } }), obj({ kind: 'policy', name: 'i', observed: { hash: A, version: '1.0.0' } })]));
    expect(blocked).toMatchObject({ state: 'blocked', versions: ['1.1.0', '1.0.0'], blocked: [{ kind: 'package', name: 'k', action: 'blocked', reason: 'not notarized' }] });
    const failed = targetStatus(target('t', [], { error: { kind: 'network', exitCode: 5, message: 'jamf t: connection refused' }, exitCode: 5 }));
    expect(failed).toMatchObject({ state: 'error', versions: [], profiles: [], error: { kind: 'network' } });
    expect(targetStatus(target('t', [obj({ kind: 'package', name: 'k', action: 'create', observed: undefined })])).state).toBe('pending');
  });

  it('profile columns are the same for every driver\'s naming; another profile gets the end of its name', () => {
    expect(['aiwatch — PPPC', 'acme — login items', 'aiwatch — tenant settings'].map(column)).toEqual(['PPPC', 'login items', 'tenant settings']);
    expect(['AI Watch: privacy permissions (PPPC)', 'AI Watch: managed login items', 'AI Watch: tenant settings (privacy.login-items.example)'].map(column)).toEqual(['PPPC', 'login items', 'tenant settings']);
    expect(['aiwatch — Wi-Fi', 'Example: VPN', 'plain'].map(column)).toEqual(['Wi-Fi', 'VPN', 'plain']);
  });

  it('a version from a server is cut to 64 characters', () => {
    const s = targetStatus(target('t', [obj({ kind: 'app', name: 'a', observed: { version: '9'.repeat(500) } })]));
    expect(s.versions[0]).toHaveLength(64);
  });
});

describe('the table and the --json error', () => {
  const report = (targets: TargetReport[], exitCode: number): RolloutReport => ({ mode: 'plan', targets, exitCode });

  it('server text is escaped (control and bidi characters), hashes are cut to 8 hex, one summary line', () => {
    const evil = 'aiwatch — login\u001b[2J items\u202e';
    const r = report([target('x', profiles([{}, { name: evil, action: 'update', reason: 'drift', diff: [{ field: 'level', from: 'user', to: 'computer' }] }]), { exitCode: 8 })], 8);
    const text = renderStatus(rolloutStatus(r, '1.2.0'));
    expect(text).not.toMatch(/[\u001b\u202e]/);
    expect(text).toContain('\\u001b[2J');
    expect(text).toMatch(/^ {2}x +jamf +none +aaaaaaaa current +aaaaaaaa drift +aaaaaaaa current +1 +0 +0 +- +drifted$/m);
    expect(text).not.toContain('a'.repeat(9));
    expect(text.split('\n').at(-1)).toBe('status: 1 target(s): 0 current, 0 pending, 1 drifted, 0 blocked, 0 failed (3 read requests, 0 write)');
  });

  it('the error kind: pending (8), blocked (9), else the error that decided the exit code; one problem per target not current', () => {
    const ok = target('ok', profiles());
    const drift = target('d', profiles([{ action: 'update', reason: 'drift' }]), { exitCode: 8 });
    const blocked = target('b', [obj({ kind: 'package', name: 'k', action: 'blocked', reason: 'why' })], { exitCode: 9 });
    const down = target('n', [], { error: { kind: 'network', exitCode: 5, message: 'jamf n: HTTP 503; gave up after 5 attempts' }, exitCode: 5 });
    expect(statusFailure(rolloutStatus(report([ok, drift], 8), '1'))).toEqual({ kind: 'pending', message: '1 of 2 target(s) not current', problems: ['d: drifted: 1 drifted, 0 pending'] });
    expect(statusFailure(rolloutStatus(report([drift, blocked], 9), '1')).kind).toBe('blocked');
    expect(statusFailure(rolloutStatus(report([ok, blocked, down], 5), '1'))).toEqual({
      kind: 'network',
      message: '2 of 3 target(s) not current',
      problems: ['b: blocked: 1 object(s) blocked', 'n: error: jamf n: HTTP 503; gave up after 5 attempts'],
    });
  });

  it('schemas/status.schema.json accepts a result and refuses a write, a short hash, an unknown state, ok with an error', () => {
    const s = rolloutStatus(report([target('ok', profiles())], 0), '1.2.0');
    const json = { ok: true, rollout: 'r.yaml', release: { zip: 'z.zip', version: s.version }, summary: s.summary, targets: s.targets, warnings: [] };
    const validate = validatorFor('status.schema.json');
    expect(validate(json), JSON.stringify(validate.errors)).toBe(true);
    const bad = (mutate: (j: typeof json) => void): boolean => {
      const j = structuredClone(json);
      mutate(j);
      return validate(j);
    };
    expect(bad((j) => void (j.summary.writes = 1))).toBe(false);
    expect(bad((j) => void (j.targets[0]!.profiles[0]!.hash = 'abc'))).toBe(false);
    expect(bad((j) => void ((j.targets[0] as { state: string }).state = 'fine'))).toBe(false);
    expect(bad((j) => void Object.assign(j, { error: { kind: 'pending', exitCode: 8, message: '', problems: [] } }))).toBe(false);
    expect(bad((j) => void Object.assign(j, { ok: false }))).toBe(false);
  });
});

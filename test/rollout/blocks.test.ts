/**
 * The release-trust blocking every driver's plan shares (src/rollout/blocks.ts): a PPPC mismatch blocks the PPPC
 * profile and everything after it (only the Mac objects where a target also serves Windows), an untrusted pkg blocks
 * what delivers it and what installs it unless the target is a test server, and a blocked line keeps its id and what
 * was observed.
 */
import { describe, expect, it } from 'vitest';
import { applyReleaseBlocks, block, pkgTrustProblem, type Blockable } from '../../src/rollout/blocks.js';
import type { ObjectKind, PlannedObject, ReleaseContent } from '../../src/rollout/model.js';

type Trust = ReleaseContent['trust'];
const TRUSTED: Trust = { developerIdSigned: true, notarizedStapled: true, pppcMatchesBinary: true, problems: [] };
// Only the trust facts are read by these rules.
const release = (t: Partial<Trust>): ReleaseContent => ({ trust: { ...TRUSTED, ...t } }) as ReleaseContent;

interface E extends Blockable {
  desired: { role: string; kind: ObjectKind };
}

function entries(...roles: [string, ObjectKind][]): E[] {
  return roles.map(([role, kind], i) => ({ desired: { role, kind }, planned: { kind, name: `${role} ${i}`, hash: `h${i}`, action: 'create', diff: [{ field: 'x', from: null, to: 'y' }] } }));
}

const actions = (es: E[]): string[] => es.map((e) => `${e.desired.role}:${e.planned.action}${e.planned.reason ? ` (${e.planned.reason})` : ''}`);
const rules = { isPackage: (e: E) => e.desired.kind === 'package', needsPackage: (e: E) => e.desired.role === 'policy' };

describe('the release-trust blocks of a plan', () => {
  it('block the PPPC profile and every object after it when its code requirement does not match the binary', () => {
    const es = entries(['smart-group', 'smart-group'], ['profile-pppc', 'profile'], ['profile-tenant', 'profile'], ['package', 'package']);
    applyReleaseBlocks(es, release({ pppcMatchesBinary: false, problems: ['team ABC is not XYZ'] }), false, rules);
    expect(actions(es)).toEqual([
      'smart-group:create',
      "profile-pppc:blocked (the PPPC profile's code requirement does not match the binary in the pkg: team ABC is not XYZ)",
      'profile-tenant:blocked (the PPPC profile is blocked (its code requirement does not match the binary); nothing after it is applied)',
      'package:blocked (the PPPC profile is blocked (its code requirement does not match the binary); nothing after it is applied)',
    ]);
  });

  it('block only the Mac objects after the PPPC profile on a target that also serves other platforms', () => {
    const es = entries(['profile-pppc', 'profile'], ['app-macos', 'app'], ['app-windows', 'app'], ['remediation-install', 'script']);
    applyReleaseBlocks(es, release({ pppcMatchesBinary: false }), false, { isPackage: (e) => e.desired.role === 'app-macos', forMac: (e) => e.desired.kind !== 'script' && e.desired.role !== 'app-windows' });
    expect(actions(es)).toEqual([
      "profile-pppc:blocked (the PPPC profile's code requirement does not match the binary in the pkg)",
      'app-macos:blocked (the PPPC profile is blocked (its code requirement does not match the binary); nothing after it is applied on Macs)',
      'app-windows:create',
      'remediation-install:create',
    ]);
  });

  it('block the package and what installs it when the pkg is not trusted, except on a test server', () => {
    const untrusted = release({ notarizedStapled: false });
    const es = entries(['profile-pppc', 'profile'], ['package', 'package'], ['policy', 'policy']);
    applyReleaseBlocks(es, untrusted, false, rules);
    const why = 'the pkg is not notarized and stapled; a production Mac would refuse or warn (set testServer: true only for a test server)';
    expect(actions(es)).toEqual(['profile-pppc:create', `package:blocked (${why})`, `policy:blocked (the package is blocked: ${why})`]);
    const onTest = entries(['package', 'package'], ['policy', 'policy']);
    applyReleaseBlocks(onTest, untrusted, true, rules);
    expect(actions(onTest)).toEqual(['package:create', 'policy:create']);
  });

  it('name both missing facts, and the test target by the MDM’s word', () => {
    expect(pkgTrustProblem(release({}))).toBeUndefined();
    expect(pkgTrustProblem(release({ developerIdSigned: false, notarizedStapled: false }), 'tenant')).toBe(
      'the pkg is not Developer ID signed and not notarized and stapled; a production Mac would refuse or warn (set testServer: true only for a test tenant)',
    );
  });

  it('keep the id and what was observed of a blocked line, and drop its diff', () => {
    const e: { planned: PlannedObject } = { planned: { kind: 'package', name: 'p', hash: 'h', action: 'update', diff: [{ field: 'x', from: 'a', to: 'b' }], id: '42', observed: { hash: 'old', version: '1.0.0' }, reason: 'drift' } };
    block(e, 'because');
    expect(e.planned).toEqual({ kind: 'package', name: 'p', hash: 'h', action: 'blocked', diff: [], reason: 'because', id: '42', observed: { hash: 'old', version: '1.0.0' } });
  });
});

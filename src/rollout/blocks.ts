/**
 * The release-trust blocking of a plan: policy of the rollout, the same for every MDM, decided before any request
 * could write, from the trust facts of the release (rollout/release.ts):
 *
 *  - a PPPC code requirement that the binary in the pkg does not satisfy blocks the PPPC profile and every object
 *    after it (a Mac must never get a pkg whose privacy grants do not apply to it); on a target that also serves
 *    other platforms (Intune), only the objects for Macs after it;
 *  - a pkg that is not Developer ID signed, notarized and stapled blocks the objects that deliver it (and those that
 *    install it), unless the target is a test server.
 *
 * A driver says which of its objects deliver the pkg and adds its own rules before these (Jamf: a scope group that
 * does not exist; Kandji: a blueprint that does not exist).
 */
import type { PlannedObject, ReleaseContent } from './model.js';

/** A plan entry of any driver: what it wants and its planned line. */
export interface Blockable {
  desired: { role: string };
  planned: PlannedObject;
}

/** Turn an entry's planned line into `blocked` for `reason`, keeping its id and what was observed (in place). */
export function block(e: { planned: PlannedObject }, reason: string): void {
  const { id, observed } = e.planned;
  e.planned = { kind: e.planned.kind, name: e.planned.name, hash: e.planned.hash, action: 'blocked', diff: [], reason, ...(id ? { id } : {}), ...(observed ? { observed } : {}) };
}

/** The release's trust facts → why the pkg is blocked, if it is (`testTarget`: what a test target is called to this MDM). */
export function pkgTrustProblem(release: ReleaseContent, testTarget = 'server'): string | undefined {
  const missing: string[] = [];
  if (!release.trust.developerIdSigned) missing.push('not Developer ID signed');
  if (!release.trust.notarizedStapled) missing.push('not notarized and stapled');
  return missing.length === 0 ? undefined : `the pkg is ${missing.join(' and ')}; a production Mac would refuse or warn (set testServer: true only for a test ${testTarget})`;
}

export interface ReleaseBlockRules<E extends Blockable> {
  /** The objects that deliver the pkg: blocked by an untrusted pkg. */
  isPackage: (e: E) => boolean;
  /** The objects that install the package: blocked because it is. */
  needsPackage?: (e: E) => boolean;
  /** On a target that also serves other platforms: the objects that go to Macs (only those are blocked after a PPPC mismatch). */
  forMac?: (e: E) => boolean;
  /** What a test target is called to this MDM (default "server"). */
  testTarget?: string;
}

/** Turn objects into `blocked` by the rules in the header (in place). */
export function applyReleaseBlocks<E extends Blockable>(entries: E[], release: ReleaseContent, testServer: boolean, rules: ReleaseBlockRules<E>): void {
  const pppcAt = entries.findIndex((e) => e.desired.role === 'profile-pppc');
  if (!release.trust.pppcMatchesBinary && pppcAt >= 0) {
    const why = release.trust.problems.length > 0 ? `: ${release.trust.problems.join('; ')}` : '';
    block(entries[pppcAt]!, `the PPPC profile's code requirement does not match the binary in the pkg${why}`);
    const after = `the PPPC profile is blocked (its code requirement does not match the binary); nothing after it is applied${rules.forMac ? ' on Macs' : ''}`;
    for (const e of entries.slice(pppcAt + 1)) if (!rules.forMac || rules.forMac(e)) block(e, after);
    return;
  }
  const trust = testServer ? undefined : pkgTrustProblem(release, rules.testTarget);
  if (!trust) return;
  for (const e of entries) {
    if (rules.isPackage(e)) block(e, trust);
    if (rules.needsPackage?.(e)) block(e, `the package is blocked: ${trust}`);
  }
}

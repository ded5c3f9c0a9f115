/**
 * The verifiers of single artifacts behind `aiwatch-deploy verify FILE…` and the members of a release zip: a static
 * map from the file kinds of src/read/kinds.ts (the detection table `inspect` uses too) to the checks that read
 * such a file and return every problem. The release zip's own verifier (src/verify/zip.ts), which uses these for
 * its members, is added by src/verify/run.ts. To add a kind: a row in read/kinds.ts and its check here.
 */
import { detectKind, FILE_KINDS, type FileKind } from '../read/kinds.js';
import type { Check, Verifier } from './context.js';
import { checkPkg } from './pkg.js';
import { PROFILE_CHECKS } from './profile-verifiers.js';
import { checkPs1File, verifyIntuneWinFile } from './windows.js';
import { withWindowsCrossChecks } from './doctor-windows.js';

/** The verifiers built from `checks`, in the table's precedence order. */
export function verifiersFor(checks: Partial<Record<FileKind, Check>>): Verifier[] {
  return FILE_KINDS.flatMap((r) => {
    const check = checks[r.kind];
    return check ? [{ kind: r.kind, describe: r.label, check }] : [];
  });
}

/** The checks of single artifacts, by kind. */
export const ARTIFACT_CHECKS: Partial<Record<FileKind, Check>> = {
  'powershell-script': withWindowsCrossChecks(checkPs1File),
  pkg: checkPkg,
  intunewin: verifyIntuneWinFile,
  ...PROFILE_CHECKS,
};

/** The verifiers of single artifacts (every kind but the release zip), in precedence order. */
export const ARTIFACT_VERIFIERS: readonly Verifier[] = verifiersFor(ARTIFACT_CHECKS);

/** The first of `verifiers` whose kind the file is, given its leading bytes. */
export function detectVerifier(verifiers: readonly Verifier[], head: Uint8Array, file: string): Verifier | undefined {
  const kind = detectKind(head, file, verifiers.map((v) => v.kind));
  return verifiers.find((v) => v.kind === kind);
}

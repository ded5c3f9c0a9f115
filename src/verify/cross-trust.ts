/**
 * Who signed the agent binary inside a package, said loudly (src/sign/binary-trust.ts decides whether a signer is
 * an Apple Developer ID Application, chain to Apple Root CA checked): the PPPC profile's requirement starts
 * `anchor apple generic`, so on a Mac the Full Disk Access grant never matches a binary signed otherwise.
 *
 *  - in a release zip: such a binary is a problem unless `manifest.json` says `developmentBuild: true` (then a
 *    `DEVELOPMENT BUILD` note); the manifest's `developmentBuild` and `binary.developerId` must tell the truth;
 *  - in a package verified on its own (no manifest to say "development build"): a problem when the package itself
 *    is signed by an Apple Developer ID Installer (a distribution package must not carry it), else a note;
 *  - a CMS signature that does not verify with its own certificate is a problem everywhere (forged or damaged).
 * The agent binary is the payload program at the install path (the manifest's, or the spec's), or the only one.
 */
import type { DeploymentSpec } from '../config/spec-types.js';
import type { Problem } from '../errors.js';
import { memberWhere, type PkgContents, type PayloadProgram } from '../read/pkg-read.js';
import type { XarSignatureReport } from '../read/signature.js';
import { codeSignerTrust } from '../sign/binary-trust.js';
import type { CrossResult, ReleaseArtifacts } from './cross-types.js';

export interface AgentBinaryTrust {
  /** Absolute install path of the program. */
  path: string;
  /** Every slice signed by an Apple Developer ID Application. */
  developerId: boolean;
  /** Why not, as a clause (`is unsigned`, `is signed by "…", a certificate that does not chain to Apple Root CA …`). */
  why?: string;
  /** The signer's common name, when a slice names one. */
  signer?: string;
  /** The first slice that is not: unsigned, ad hoc, or signed by someone else (`untrusted`). */
  kind?: 'unsigned' | 'adhoc' | 'untrusted';
  /** A slice's CMS signature does not verify with its own certificate. */
  forged?: string;
}

const abs = (payloadPath: string): string => payloadPath.replace(/^\./, '') || '/';

/** Evaluate one payload program (every slice). */
export function programTrust(prog: PayloadProgram): AgentBinaryTrust {
  const out: AgentBinaryTrust = { path: abs(prog.path), developerId: true };
  const fail = (why: string, kind: AgentBinaryTrust['kind']): void => {
    out.developerId = false;
    out.why ??= why;
    out.kind ??= kind;
  };
  const slices = prog.macho?.slices ?? [];
  if (slices.length === 0) fail(prog.error ? `cannot be read (${prog.error})` : 'is not a Mach-O program', 'unsigned');
  for (const s of slices) {
    const sig = s.codeSignature;
    const at = slices.length > 1 ? `${s.arch} slice ` : '';
    if (!sig) fail(`${at}is unsigned`, 'unsigned');
    else if (sig.adhoc || !sig.cms?.der) fail(`${at}is ad-hoc signed (no certificate)`, 'adhoc');
    else {
      const t = codeSignerTrust(sig.cms.der);
      out.signer ??= t.signer;
      if (!t.signatureVerifies) out.forged ??= `${at}${t.problem}`;
      if (!t.trusted) fail(`${at}${t.problem}`, 'untrusted');
    }
  }
  return out;
}

/** The agent binary of a component: the program at `installPath`, or the only program. */
function agentProgram(programs: readonly PayloadProgram[], installPath: string | undefined): PayloadProgram | undefined {
  return programs.find((p) => abs(p.path) === installPath) ?? (programs.length === 1 ? programs[0] : undefined);
}

/** The build's words (src/release/release.ts warningsFor): `DEVELOPMENT BUILD: the agent binary … is signed by "…", not by …`. */
function devNote(t: AgentBinaryTrust): string {
  const what =
    t.kind === 'unsigned' ? 'is unsigned, not signed'
    : t.kind === 'adhoc' ? 'is ad-hoc signed, not signed'
    : t.signer !== undefined ? `is signed by "${t.signer}", not` : 'is not signed';
  return `DEVELOPMENT BUILD: the agent binary ${t.path} ${what} by an Apple Developer ID; the PPPC grant will not match on a Mac`;
}

/** The release-zip rules (see the module comment). */
export function releaseTrustRules(a: ReleaseArtifacts, r: CrossResult): void {
  const m = a.manifest;
  const c = a.pkg?.contents.components[0];
  const prog = c && agentProgram(c.programs, m?.installPath);
  if (!m || !a.pkg || !c || !prog) return; // no readable manifest: that is the problem reported
  const t = programTrust(prog);
  const where = `${a.zip}:${memberWhere(a.pkg.name, `${c.prefix}Payload`)}:${prog.path}`;
  const mWhere = `${a.zip}:manifest.json`;
  if (t.forged) r.problems.push({ where, message: t.forged });
  const dev = m.developmentBuild;
  if (dev !== undefined && typeof dev !== 'boolean') r.problems.push({ where: mWhere, message: `developmentBuild is ${JSON.stringify(dev)}, expected true or false` });
  if (!t.developerId) {
    if (dev === true) r.notes.push(devNote(t));
    else r.problems.push({ where, message: `${t.why}, and the release does not say it is a development build (manifest.json developmentBuild is not true): on a Mac the PPPC grant would never match it and Gatekeeper would refuse it; sign it with a Developer ID Application certificate, or rebuild with --development-build` });
  } else if (dev === true) {
    r.problems.push({ where: mWhere, message: `developmentBuild is true, but the agent binary ${t.path} is signed by an Apple Developer ID ("${t.signer}")` });
  }
  const claimed = m.binary?.developerId;
  if (claimed !== undefined && claimed !== t.developerId) {
    r.problems.push({ where: mWhere, message: `binary.developerId is ${String(claimed)}, but the agent binary ${t.path} ${t.developerId ? 'is' : `${t.why}: it is not`} signed by an Apple Developer ID` });
  }
}

/** The rule for a package verified on its own (see the module comment). */
export function pkgTrustRules(file: string, contents: PkgContents, signature: XarSignatureReport | undefined, spec: Pick<DeploymentSpec, 'installPath'>): { problems: Problem[]; notes: string[] } {
  const out = { problems: [] as Problem[], notes: [] as string[] };
  const c = contents.components[0];
  const prog = c && agentProgram(c.programs, spec.installPath);
  if (!c || !prog) return out;
  const t = programTrust(prog);
  const where = `${memberWhere(file, `${c.prefix}Payload`)}:${prog.path}`;
  if (t.forged) out.problems.push({ where, message: t.forged });
  if (t.developerId) return out;
  const distribution = signature?.chainsToApple === true && signature.developerIdInstaller;
  if (distribution) {
    out.problems.push({ where, message: `${t.why}, yet the package is signed for distribution by an Apple Developer ID Installer: on a Mac the PPPC grant would never match the agent; sign the binary with a Developer ID Application certificate before packaging` });
  } else {
    out.notes.push(`${devNote(t)} (a development build; the package is not signed by an Apple Developer ID Installer either)`);
  }
  return out;
}

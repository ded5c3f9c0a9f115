/**
 * `verify FILE.pkg`: every problem of a flat package at once — the xar container (src/pkg/xar-verify.ts: header,
 * TOC checksum, every member's checksums), the members' consistency (src/verify/pkg-rules.ts: Bom ↔ Payload; src/verify/bom-slices.ts: the Bom's Mach-O slice records,
 * PackageInfo counts and scripts, Distribution ↔ components and architectures), the launchd plists in the payload
 * (src/verify/launchd-plist.ts), the Mach-O programs' signatures against their bytes, and the package signatures
 * (src/read/signature.ts: RSA and CMS over the TOC checksum, timestamp). Trust (a chain to Apple, a Developer
 * ID Installer leaf), the absence of a signature and stapled tickets are reported as notes, not problems: a
 * development build is unsigned by design.
 */
import { InputFileError, type Problem } from '../errors.js';
import { bufferSource, type NamedSource } from '../formats/source.js';
import { findXarEntry, openXar, type XarArchive } from '../pkg/xar-reader.js';
import { verifyXar } from '../pkg/xar-verify.js';
import { memberWhere, readPkgArchive, type PkgContents } from '../read/pkg-read.js';
import { analyzeXarSignature, type XarSignatureReport } from '../read/signature.js';
import { bomSliceProblems } from './bom-slices.js';
import { pkgTrustRules } from './cross-trust.js';
import { launchdPlistProblems } from './launchd-plist.js';
import {
  bomPayloadProblems,
  distributionProblems,
  memberProblems,
  ownershipProblems,
  payloadCountProblems,
  programProblems,
  scriptsProblems,
} from './pkg-rules.js';
import { inputName, type CheckInput, type VerifyContext } from './context.js';

export interface PkgVerification {
  problems: Problem[];
  notes: string[];
  /** What was read (undefined when the file is not a readable xar). */
  contents?: PkgContents;
  signature?: XarSignatureReport;
}

/** Members whose bytes the xar check found damaged (the members its problems are placed at): not examined further. */
function damagedMembers(xarProblems: readonly Problem[]): Set<string> {
  return new Set(xarProblems.flatMap((p) => (p.at?.member !== undefined ? [p.at.member] : [])));
}

function contentProblems(p: PkgContents, damaged: ReadonlySet<string>, ctx: Pick<VerifyContext, 'spec'>): Problem[] {
  const out: Problem[] = [];
  const present = (path: string): boolean => findXarEntry(p.archive, path)?.type === 'file';
  if (p.distribution?.error && !damaged.has('Distribution')) out.push({ where: memberWhere(p.file, 'Distribution'), message: `cannot be read: ${p.distribution.error}` });
  out.push(...(p.distribution?.problems ?? []));
  for (const c of p.components) {
    const ok = (m: string): boolean => !damaged.has(`${c.prefix}${m}`);
    const errors = Object.fromEntries(Object.entries(c.errors).filter(([m]) => ok(m)));
    out.push(...memberProblems(p.file, { ...c, errors }, present));
    if (ok('PackageInfo')) out.push(...(c.packageInfo?.problems ?? []));
    if (ok('Bom') && ok('Payload')) out.push(...bomPayloadProblems(p.file, c), ...bomSliceProblems(p.file, c));
    if (ok('Payload')) {
      out.push(...ownershipProblems(p.file, c), ...programProblems(p.file, c));
      for (const l of c.launchdPlists) out.push(...launchdPlistProblems(l.text, `${memberWhere(p.file, `${c.prefix}Payload`)}:${l.path}`, ctx));
    }
    if (ok('PackageInfo') && ok('Payload')) out.push(...payloadCountProblems(p.file, c));
    if (ok('PackageInfo') && ok('Scripts')) out.push(...scriptsProblems(p.file, c));
  }
  if (!damaged.has('Distribution')) out.push(...distributionProblems(p));
  return out;
}

function signatureNotes(s: XarSignatureReport, staples: number): string[] {
  const notes: string[] = [];
  if (!s.signed) notes.push('not signed: Installer and MDMs treat it as unsigned (sign it with a Developer ID Installer identity for distribution)');
  else {
    notes.push(`signature: ${s.status}`);
    if (s.chain[0]) notes.push(`signed by "${s.chain[0].commonName}"${s.cms?.timestamp ? `, timestamp ${s.cms.timestamp.genTime}` : s.cms ? ', no timestamp' : ''}`);
  }
  notes.push(staples > 0 ? `stapled notarization ticket: ${staples === 1 ? 'yes' : `${staples} tickets (the last one counts)`}` : 'no stapled notarization ticket');
  return notes;
}

/**
 * Verify the package at `input`: a path, or a named source (a pkg stored in a release zip, read in place and named
 * `zip:entry`). Throws only when the file cannot be read at all.
 */
export async function verifyPkgFile(input: string | NamedSource, ctx: Pick<VerifyContext, 'spec'>): Promise<PkgVerification> {
  const file = typeof input === 'string' ? input : input.name;
  let archive: XarArchive;
  try {
    archive = await openXar(input, { strict: false });
  } catch (e) {
    if (!(e instanceof InputFileError) || e.file !== file) throw e;
    return { problems: await verifyXar(input), notes: [] };
  }
  // The members' checksums (one more read of each) run alongside the read of the contents: the Payload's inflate
  // leaves this thread waiting for part of its read, and the hashing fits there.
  const [read, checked] = await Promise.allSettled([readPkgArchive(archive), verifyXar(archive)]);
  if (read.status === 'rejected') throw read.reason;
  if (checked.status === 'rejected') throw checked.reason;
  const contents = read.value;
  const xar = checked.value;
  const signature = await analyzeXarSignature(contents.archive);
  const problems = [
    ...xar,
    ...contentProblems(contents, damagedMembers(xar), ctx),
    ...signature.problems.map((message) => ({ where: `${file}:signature`, message })),
  ];
  return { problems, notes: signatureNotes(signature, contents.archive.staples.length), contents, signature };
}

/**
 * `verify FILE.pkg` on its own (not inside a release zip, whose manifest says whether it is a development build);
 * named bytes are read as a source in memory.
 */
export async function checkPkg(input: CheckInput, ctx: VerifyContext): Promise<Problem[]> {
  const file = inputName(input);
  const r = await verifyPkgFile(typeof input === 'string' ? input : { name: file, source: bufferSource(input.bytes) }, ctx);
  // Who signed the agent binary (src/verify/cross-trust.ts).
  const trust = r.contents ? pkgTrustRules(file, r.contents, r.signature, ctx.spec) : { problems: [], notes: [] };
  [...r.notes, ...trust.notes].forEach(ctx.note);
  return [...r.problems, ...trust.problems];
}

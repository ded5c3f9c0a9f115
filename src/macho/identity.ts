/**
 * The identity of a Mach-O program, computed once for `inspect`, `verify` and the release binary check: per slice
 * the architecture, file type, signature kind (signed with a CMS signature / ad hoc / unsigned), signing
 * identifier, team, CodeDirectory flags, hash type, cdhash, the signing certificate's common name and team (OU),
 * the CMS signing time, and — when the image bytes or a streamed scan's verdicts are at hand — whether the
 * CodeDirectory's hashes still match them; for the whole file the weakest signature and the identifier and team
 * its signed slices share. Also the one text of CodeDirectory flags.
 *
 * Does not cover: trusting the CMS signature's chain (src/sign/binary-trust.ts), the release rules (src/sign/binary-check.ts).
 */
import { CS_RUNTIME } from './constants.js';
import { verifyCodeDirectory } from './codesign.js';
import type { StreamVerdict } from './hash-stream.js';
import { MachOFormatError, parseMachO, type MachOFile, type MachOSlice } from './macho.js';

export type SignatureKind = 'signed' | 'adhoc' | 'unsigned';

/** Weakest first: the order in which a file's signature is the weakest of its slices'. */
export const SIGNATURE_RANK: Record<SignatureKind, number> = { unsigned: 0, adhoc: 1, signed: 2 };

export interface SliceIdentity {
  arch: string;
  /** MH_EXECUTE, MH_DYLIB … */
  fileType: string;
  signature: SignatureKind;
  identifier?: string;
  teamId?: string;
  /** CodeDirectory flags and their names (runtime, adhoc, linker-signed …). */
  flags?: number;
  flagNames: string[];
  hardenedRuntime: boolean;
  hashType?: string;
  cdhash?: string;
  /** Common name and OU (team) of the leaf certificate in the CMS blob. */
  signer?: string;
  signerTeam?: string;
  signingTime?: string;
  /** Whether the CodeDirectory's page and special-slot hashes match the image (only when the bytes were given). */
  hashesMatch?: boolean;
  /** What differs, when they do not match (first few). */
  mismatches?: string[];
}

export interface MachOIdentity {
  kind: 'thin' | 'fat';
  size: number;
  arches: string[];
  /** The weakest signature of any slice. */
  signature: SignatureKind;
  /** Identifier / team shared by every signed slice (undefined when slices disagree or none is signed). */
  identifier?: string;
  teamId?: string;
  slices: SliceIdentity[];
}

/** What the CodeDirectory hashes are checked against: the file's bytes, or the verdicts of a streamed scan (file-scan.ts). */
export type HashEvidence = Uint8Array | { verdicts: ReadonlyArray<StreamVerdict | undefined> };

export function signatureKind(s: MachOSlice): SignatureKind {
  if (!s.codeSignature) return 'unsigned';
  return s.codeSignature.adhoc ? 'adhoc' : 'signed';
}

function hashMismatches(s: MachOSlice, evidence: HashEvidence, index: number): ReadonlyArray<{ what: string }> | undefined {
  const sig = s.codeSignature;
  const cd = sig?.codeDirectory;
  if (!sig || !cd) return undefined;
  if (!(evidence instanceof Uint8Array)) return evidence.verdicts[index]?.mismatches;
  const image = evidence.subarray(s.offset, s.offset + s.size);
  return verifyCodeDirectory(image, image.subarray(sig.dataoff, sig.dataoff + sig.datasize), sig, cd);
}

/** The identity of slice number `index`; with `evidence`, also whether its CodeDirectory hashes match. */
export function sliceIdentity(s: MachOSlice, evidence?: HashEvidence, index = 0): SliceIdentity {
  const sig = s.codeSignature;
  const cd = sig?.codeDirectory;
  const leaf = sig?.cms?.summary?.certificates[0];
  const id: SliceIdentity = {
    arch: s.arch,
    fileType: s.fileTypeName,
    signature: signatureKind(s),
    flagNames: cd?.flagNames ?? [],
    hardenedRuntime: cd ? (cd.flags & CS_RUNTIME) !== 0 : false,
  };
  if (cd) Object.assign(id, { identifier: cd.identifier, flags: cd.flags, hashType: cd.hashTypeName });
  if (cd?.teamId !== undefined) id.teamId = cd.teamId;
  if (cd?.cdhash !== undefined) id.cdhash = cd.cdhash;
  if (leaf?.commonName !== undefined) id.signer = leaf.commonName;
  if (leaf?.organizationalUnit !== undefined) id.signerTeam = leaf.organizationalUnit;
  if (sig?.cms?.summary?.signingTime !== undefined) id.signingTime = sig.cms.summary.signingTime;
  const bad = evidence ? hashMismatches(s, evidence, index) : undefined;
  if (bad) {
    id.hashesMatch = bad.length === 0;
    if (bad.length > 0) id.mismatches = bad.slice(0, 3).map((b) => b.what);
  }
  return id;
}

/** The identity of a parsed Mach-O file; pass the file's bytes (or a streamed scan's verdicts) to also check the CodeDirectory hashes. */
export function machoIdentity(file: MachOFile, evidence?: HashEvidence): MachOIdentity {
  const slices = file.slices.map((s, i) => sliceIdentity(s, evidence, i));
  const weakest = slices.reduce<SignatureKind>((w, s) => (SIGNATURE_RANK[s.signature] < SIGNATURE_RANK[w] ? s.signature : w), 'signed');
  const out: MachOIdentity = { kind: file.kind, size: file.size, arches: slices.map((s) => s.arch), signature: slices.length ? weakest : 'unsigned', slices };
  const signed = slices.filter((s) => s.identifier !== undefined);
  const ids = new Set(signed.map((s) => s.identifier));
  const teams = new Set(signed.map((s) => s.teamId));
  if (signed.length > 0 && ids.size === 1) out.identifier = signed[0]!.identifier;
  if (signed.length > 0 && teams.size === 1 && signed[0]!.teamId !== undefined) out.teamId = signed[0]!.teamId;
  return out;
}

/**
 * CodeDirectory flags as text: `0x10000(runtime)` / `0x0(none)` in a report (`list`), `0x10000 runtime` / `0x2` in a
 * sentence (`words`, the release check's messages).
 */
export function flagText(id: Pick<SliceIdentity, 'flags' | 'flagNames'>, style: 'list' | 'words' = 'list'): string {
  const hex = `0x${(id.flags ?? 0).toString(16)}`;
  if (style === 'list') return `${hex}(${id.flagNames.join(',') || 'none'})`;
  return id.flagNames.length ? `${hex} ${id.flagNames.join(',')}` : hex;
}

/** Parse `data` as Mach-O, naming it `name` in errors; undefined (with the reason) when it is not Mach-O. */
export function tryParseMachO(data: Uint8Array, name: string): { file?: MachOFile; error?: string } {
  try {
    return { file: parseMachO(data, { name }) };
  } catch (e) {
    if (e instanceof MachOFormatError) return { error: e.detail };
    throw e;
  }
}

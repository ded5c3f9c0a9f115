/**
 * The identity of a Mach-O program as `inspect` and `verify` report it: per slice the architecture, file type,
 * signature kind (signed with a CMS signature / ad hoc / unsigned), signing identifier, team, CodeDirectory flags,
 * hash type, cdhash, the signing certificate's common name and team (OU), the CMS signing time, and — when the
 * image bytes are at hand — whether the CodeDirectory's hashes still match them. Also `inspect` of a bare binary:
 * this summary followed by the full dump of src/macho/describe.ts.
 *
 * Does not cover: trusting the CMS signature's chain (Gatekeeper's job; the demo binaries are signed by a DEMO key).
 */
import { InputFileError } from '../errors.js';
import { describeNonMachO } from '../macho/binary-check.js';
import { CS_RUNTIME } from '../macho/constants.js';
import { verifyCodeDirectory } from '../macho/codesign.js';
import { describeMachO, MachOFormatError, parseMachO, type MachOFile, type MachOSlice } from '../macho/macho.js';
import { scanMachOFile, type MachOScan } from '../macho/file-scan.js';
import type { StreamVerdict } from '../macho/hash-stream.js';
import type { SignatureKind } from '../macho/binary-check.js';
import { jsonSafe } from './format.js';

export type { SignatureKind } from '../macho/binary-check.js';

export interface SliceIdentity {
  arch: string;
  /** MH_EXECUTE, MH_DYLIB … */
  fileType: string;
  signature: SignatureKind;
  identifier?: string;
  teamId?: string;
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

const RANK: Record<SignatureKind, number> = { unsigned: 0, adhoc: 1, signed: 2 };

/** What the CodeDirectory hashes are checked against: the file's bytes, or the verdicts of a streamed scan (macho-file-scan.ts). */
export type HashEvidence = Uint8Array | { verdicts: ReadonlyArray<StreamVerdict | undefined> };

function sliceIdentity(s: MachOSlice, evidence: HashEvidence | undefined, index: number): SliceIdentity {
  const sig = s.codeSignature;
  const cd = sig?.codeDirectory;
  const leaf = sig?.cms?.summary?.certificates[0];
  const id: SliceIdentity = {
    arch: s.arch,
    fileType: s.fileTypeName,
    signature: !sig ? 'unsigned' : sig.adhoc ? 'adhoc' : 'signed',
    flagNames: cd?.flagNames ?? [],
    hardenedRuntime: cd ? (cd.flags & CS_RUNTIME) !== 0 : false,
  };
  if (cd) Object.assign(id, { identifier: cd.identifier, flags: cd.flags, hashType: cd.hashTypeName });
  if (cd?.teamId !== undefined) id.teamId = cd.teamId;
  if (cd?.cdhash !== undefined) id.cdhash = cd.cdhash;
  if (leaf?.commonName !== undefined) id.signer = leaf.commonName;
  if (leaf?.organizationalUnit !== undefined) id.signerTeam = leaf.organizationalUnit;
  if (sig?.cms?.summary?.signingTime !== undefined) id.signingTime = sig.cms.summary.signingTime;
  if (evidence && sig && cd) {
    let bad: ReadonlyArray<{ what: string }> | undefined;
    if (evidence instanceof Uint8Array) {
      const image = evidence.subarray(s.offset, s.offset + s.size);
      bad = verifyCodeDirectory(image, image.subarray(sig.dataoff, sig.dataoff + sig.datasize), sig, cd);
    } else bad = evidence.verdicts[index]?.mismatches;
    if (bad) {
      id.hashesMatch = bad.length === 0;
      if (bad.length > 0) id.mismatches = bad.slice(0, 3).map((b) => b.what);
    }
  }
  return id;
}

/** The identity of a parsed Mach-O file; pass the file's bytes (or a streamed scan's verdicts) to also check the CodeDirectory hashes. */
export function machoIdentity(file: MachOFile, evidence?: HashEvidence): MachOIdentity {
  const slices = file.slices.map((s, i) => sliceIdentity(s, evidence, i));
  const weakest = slices.reduce<SignatureKind>((w, s) => (RANK[s.signature] < RANK[w] ? s.signature : w), 'signed');
  const out: MachOIdentity = { kind: file.kind, size: file.size, arches: slices.map((s) => s.arch), signature: slices.length ? weakest : 'unsigned', slices };
  const signed = slices.filter((s) => s.identifier !== undefined);
  const ids = new Set(signed.map((s) => s.identifier));
  const teams = new Set(signed.map((s) => s.teamId));
  if (signed.length > 0 && ids.size === 1) out.identifier = signed[0]!.identifier;
  if (signed.length > 0 && teams.size === 1 && signed[0]!.teamId !== undefined) out.teamId = signed[0]!.teamId;
  return out;
}

function flagText(s: SliceIdentity): string {
  return `0x${(s.flags ?? 0).toString(16)}(${s.flagNames.join(',') || 'none'})`;
}

/** One line per slice: `arm64: MH_EXECUTE, signed: identifier …, team …, flags …, …`. */
export function formatIdentityLines(id: MachOIdentity): string[] {
  return id.slices.map((s) => {
    const parts = [`${s.arch}: ${s.fileType}`];
    if (s.signature === 'unsigned') parts.push('unsigned');
    else {
      parts.push(s.signature === 'signed' ? 'signed (CMS)' : 'ad-hoc signed');
      parts.push(`identifier ${s.identifier ?? '?'}`, `team ${s.teamId ?? 'not set'}`, `flags ${flagText(s)}`);
      if (s.hashType) parts.push(`${s.hashType} cdhash ${s.cdhash ?? '?'}`);
      if (s.signer) parts.push(`signer "${s.signer}"${s.signerTeam ? ` (OU ${s.signerTeam})` : ''}`);
      if (s.signingTime) parts.push(`signed ${s.signingTime}`);
      if (s.hashesMatch !== undefined) parts.push(s.hashesMatch ? 'hashes match' : `HASHES DO NOT MATCH (${s.mismatches?.join(', ')})`);
    }
    return parts.join(', ');
  });
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

export interface BinaryInspection {
  text: string;
  /** `macho`: the parsed file made JSON-safe (bigints as numbers/strings, bytes as hex). */
  json: { kind: 'macho'; file: string; identity: MachOIdentity; macho: unknown };
}

/**
 * `inspect` of a bare binary: identity summary, then the full Mach-O description. The file is scanned as a stream
 * (headers and signatures by range, one pass for the hashes: src/macho/file-scan.ts), so memory does not grow
 * with its size; the Mach-O reader's limits (30 slices, 16 MiB of load commands, …) apply.
 */
export async function inspectBinary(file: string, name = file): Promise<BinaryInspection> {
  let scan: MachOScan;
  try {
    scan = await scanMachOFile(file, 'inspect');
  } catch (e) {
    if (e instanceof MachOFormatError) throw new InputFileError(file, `not a readable Mach-O file: ${e.detail}`, { cause: e });
    throw e;
  }
  if (!scan.parsed) throw new InputFileError(file, `not a readable Mach-O file: ${describeNonMachO(scan.head) ?? 'no Mach-O magic'}`);
  const parsed: MachOFile = { ...scan.parsed, name };
  const identity = machoIdentity(parsed, { verdicts: scan.verdicts });
  const head = [`${name}: Mach-O ${identity.kind === 'fat' ? 'universal' : 'thin'} (${identity.arches.join(', ')}), ${scan.size} bytes`, ...formatIdentityLines(identity).map((l) => `  ${l}`), ''];
  return { text: `${head.join('\n')}\n${describeMachO(parsed)}`, json: { kind: 'macho', file: name, identity, macho: jsonSafe(parsed) } };
}

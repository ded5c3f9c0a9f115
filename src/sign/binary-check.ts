/**
 * The release input check: is this file the aiwatch agent binary the spec describes — a macOS Mach-O executable of
 * the requested architecture(s), signed with a certificate (not ad hoc) under the signing identifier and team the
 * PPPC profile's designated requirement pins (reference mdm-payloads.md §2), by an Apple Developer ID Application
 * certificate (the requirement's `anchor apple generic …`, binary-trust.ts), with the hardened runtime
 * notarization requires, and a signature that still matches the bytes?
 *
 * Refusals are one {@link ReleaseBinaryError} (InputFileError, exit 3) listing every problem found, each saying what
 * was found and what was expected: an empty file, ELF, PE, a script, an archive, not Mach-O, not an executable, a thin
 * binary of the wrong architecture, a universal binary without the requested one, unsigned / ad-hoc (unless
 * `allowUnsigned`), a signer that is not an Apple Developer ID (unless `allowUntrustedSigner`), a CMS signature that
 * does not verify, identifier or team not matching (both values shown), no hardened runtime, hashes not matching.
 * On success it returns the identity for the release manifest. A path is checked in one streamed pass
 * (src/macho/file-scan.ts), so a 256 MiB binary costs a few MiB of memory, not its size.
 *
 * Does not cover: certificate validity dates and revocation, the notarization ticket (notary/ and the Apple tools
 * do that); Gatekeeper policy.
 */
import { InputFileError } from '../errors.js';
import { codeSignerTrust, type CodeSignerTrust, type TrustAnchors } from './binary-trust.js';
import { MH_EXECUTE } from '../macho/constants.js';
import { scanMachOBytes, scanMachOFile, startMachOScan, type MachOScan } from '../macho/file-scan.js';
import type { StreamVerdict } from '../macho/hash-stream.js';
import { flagText, SIGNATURE_RANK, sliceIdentity, type SignatureKind, type SliceIdentity } from '../macho/identity.js';
import { MachOFormatError, type MachOFile, type MachOSlice } from '../macho/macho.js';
import { describeNonMachO } from '../macho/non-macho.js';


export type ReleaseArch = 'arm64' | 'x86_64' | 'universal';

export interface ReleaseBinarySpec {
  /** What the package is for: one architecture, or `universal` (arm64 + x86_64). */
  arch: ReleaseArch;
  /** Expected signing identifier, e.g. com.runlayer.aiwatch. */
  identifier: string;
  /** Expected Developer ID team, e.g. AF2M8HC7A2. */
  teamId: string;
  /** Accept unsigned and ad-hoc signed binaries (development builds); their identity is then not checked. Default false. */
  allowUnsigned?: boolean;
  /**
   * Accept a signature by a certificate that is not an Apple Developer ID Application (a test or demo certificate):
   * development builds. Identifier, team and hardened runtime are still checked. Default false.
   */
  allowUntrustedSigner?: boolean;
  /** Where a trusted signer's chain must end; default Apple's (certs/apple). Tests give a throwaway PKI. */
  anchors?: TrustAnchors;
  /** How the input is named in messages; default `--binary`. */
  what?: string;
}

/** A slice as the release check reports it: its identity (src/macho/identity.ts), where it is, and whether its signer is trusted. */
export type ReleaseSlice = Pick<SliceIdentity, 'arch' | 'signature' | 'identifier' | 'teamId' | 'flags' | 'flagNames' | 'hardenedRuntime' | 'hashType' | 'cdhash' | 'signer'> & {
  offset: number;
  size: number;
  /** For a signed slice: whether its signer is an Apple Developer ID Application (and why not). */
  signerTrust?: CodeSignerTrust;
};

export interface ReleaseBinaryIdentity {
  size: number;
  sha256: string;
  universal: boolean;
  /** Architectures in file order (lipo order for universal binaries). */
  arches: string[];
  /** The weakest signature of any slice. */
  signature: SignatureKind;
  identifier?: string;
  teamId?: string;
  hardenedRuntime: boolean;
  /** Every slice is signed by an Apple Developer ID Application certificate (what the PPPC requirement needs). */
  developerId: boolean;
  /** Why not, for the first slice that is not (`is unsigned`, `is signed by "…", a certificate that …`). */
  notDeveloperId?: string;
  slices: ReleaseSlice[];
}

/** The binary is not usable as the release input. `problems` lists every reason. */
export class ReleaseBinaryError extends InputFileError {
  constructor(
    file: string,
    readonly problems: string[],
  ) {
    super(file, problems.join('; '));
  }
}

const REQUIRED: Record<ReleaseArch, string[]> = { arm64: ['arm64'], x86_64: ['x86_64'], universal: ['arm64', 'x86_64'] };

function archProblems(file: MachOFile, spec: ReleaseBinarySpec): string[] {
  const have = file.slices.map((s) => s.arch);
  const missing = REQUIRED[spec.arch].filter((a) => !have.includes(a));
  if (!missing.length) return [];
  if (file.kind === 'fat') return [`is a universal binary of ${have.join(' + ')}, with no ${missing.join(' or ')} slice`];
  const expected = spec.arch === 'universal' ? 'a universal binary with arm64 and x86_64 slices' : `${spec.arch} (or a universal binary with an ${spec.arch} slice)`;
  return [`is a thin ${have[0]} binary; expected ${expected}`];
}

function releaseSlice(s: MachOSlice, anchors: TrustAnchors | undefined): ReleaseSlice {
  const { arch, signature, identifier, teamId, flags, flagNames, hardenedRuntime, hashType, cdhash, signer } = sliceIdentity(s);
  const der = s.codeSignature?.cms?.der;
  return {
    arch,
    offset: s.offset,
    size: s.size,
    signature,
    identifier,
    teamId,
    flags,
    flagNames,
    hardenedRuntime,
    hashType,
    cdhash,
    signer,
    ...(signature === 'signed' && der ? { signerTrust: codeSignerTrust(der, anchors) } : {}),
  };
}

/** Problems of one slice's signature: integrity always, identity unless unsigned/ad-hoc is allowed. */
function sliceProblems(verdict: StreamVerdict | undefined, s: MachOSlice, id: ReleaseSlice, spec: ReleaseBinarySpec, prefix: string): string[] {
  const sig = s.codeSignature;
  const out: string[] = [];
  if (s.fileType !== MH_EXECUTE) out.push(`${prefix}is a Mach-O ${s.fileTypeDescription} (${s.fileTypeName}); expected an executable (MH_EXECUTE)`);
  if (sig && !sig.codeDirectory) return [...out, `${prefix}has a code signature without a CodeDirectory (a broken signature)`];
  if (verdict?.count) {
    const n = verdict.count;
    out.push(`${prefix}the code signature does not match the file (${verdict.mismatches[0]!.what} hash differs${n > 1 ? `, and ${n - 1} more` : ''}): the binary was changed after it was signed`);
  }
  if (id.signature !== 'signed') {
    if (!spec.allowUnsigned) {
      out.push(id.signature === 'unsigned'
        ? `${prefix}is not code-signed (no LC_CODE_SIGNATURE); expected a Developer ID signature with identifier "${spec.identifier}" and team ${spec.teamId}`
        : `${prefix}has only an ad-hoc signature (flags ${flagText(id, 'words')}, no CMS signature); expected a Developer ID signature with identifier "${spec.identifier}" and team ${spec.teamId}`);
    }
    return out;
  }
  if (id.identifier !== spec.identifier) out.push(`${prefix}signing identifier is "${id.identifier}", expected "${spec.identifier}" (the PPPC designated requirement pins it)`);
  if (id.teamId !== spec.teamId) out.push(id.teamId ? `${prefix}team ID is ${id.teamId}, expected ${spec.teamId}` : `${prefix}has no team ID in its CodeDirectory, expected ${spec.teamId}`);
  const cms = sig?.cms?.summary;
  if (cms && !cms.parsed) out.push(`${prefix}the CMS signature blob is not readable CMS SignedData (${cms.error})`);
  else if (cms && !cms.messageDigest) out.push(`${prefix}the CMS signature has no signed message digest, so it does not bind the CodeDirectory`);
  if (sig?.cms?.digestMatches === false) out.push(`${prefix}the CMS signature was made over another CodeDirectory (its message digest differs): the signature was copied from another binary or the CodeDirectory was edited`);
  const certTeam = sig?.cms?.summary?.certificates[0]?.organizationalUnit;
  if (certTeam && id.teamId && certTeam !== id.teamId) out.push(`${prefix}the signing certificate's team (OU ${certTeam}) differs from the CodeDirectory's team ${id.teamId}`);
  if (!id.hardenedRuntime) out.push(`${prefix}is signed without the hardened runtime (flags ${flagText(id, 'words')}); notarization requires it (codesign --options runtime)`);
  const trust = id.signerTrust;
  if (trust && !trust.signatureVerifies) {
    if (cms?.parsed !== false) out.push(`${prefix}${trust.problem}`); // an unreadable blob is reported above
  }
  else if (trust && !trust.trusted && !spec.allowUntrustedSigner) {
    out.push(`${prefix}${trust.problem}: on a Mac the PPPC requirement (anchor apple generic …) would never match it and Gatekeeper would refuse it; expected a Developer ID Application signature (a development build says so with --development-build)`);
  }
  return out;
}

/** Why a slice is not signed by an Apple Developer ID Application, or undefined when it is. */
function notDeveloperId(id: ReleaseSlice): string | undefined {
  if (id.signature === 'unsigned') return 'is unsigned';
  if (id.signature === 'adhoc') return 'is ad-hoc signed (no certificate)';
  if (!id.signerTrust) return 'has no readable CMS signature';
  return id.signerTrust.problem;
}

/** Turn a scan into the identity, or one ReleaseBinaryError listing every problem. */
function assess(scan: MachOScan, file: string, spec: ReleaseBinarySpec): ReleaseBinaryIdentity {
  const what = spec.what ?? '--binary';
  const parsed = scan.parsed;
  if (!parsed) throw new ReleaseBinaryError(file, [`${what}: ${describeNonMachO(scan.head) ?? 'is not a Mach-O file'}; expected a macOS Mach-O executable`]);
  const ids = parsed.slices.map((s) => releaseSlice(s, spec.anchors));
  const problems = archProblems(parsed, spec);
  parsed.slices.forEach((s, i) => problems.push(...sliceProblems(scan.verdicts[i], s, ids[i]!, spec, parsed.kind === 'fat' ? `${s.arch} slice: ` : '')));
  if (problems.length) throw new ReleaseBinaryError(file, problems.map((p) => `${what}: ${p}`));
  const weakest = ids.reduce((a, b) => (SIGNATURE_RANK[b.signature] < SIGNATURE_RANK[a.signature] ? b : a));
  const why = ids.map(notDeveloperId).find((p) => p !== undefined);
  return {
    size: scan.size,
    sha256: scan.sha256,
    universal: parsed.kind === 'fat',
    arches: ids.map((s) => s.arch),
    signature: weakest.signature,
    identifier: weakest.identifier,
    teamId: weakest.teamId,
    hardenedRuntime: ids.every((s) => s.hardenedRuntime),
    developerId: why === undefined,
    ...(why !== undefined ? { notDeveloperId: why } : {}),
    slices: ids,
  };
}

/** A malformed Mach-O structure is a refusal like any other, in the same words. */
function asRefusal(e: unknown, file: string, spec: ReleaseBinarySpec): unknown {
  return e instanceof MachOFormatError ? new ReleaseBinaryError(file, [`${spec.what ?? '--binary'}: ${e.detail}`]) : e;
}

/** Check bytes already in memory; `file` names them in messages. */
export function checkReleaseBinaryBytes(data: Uint8Array, file: string, spec: ReleaseBinarySpec): ReleaseBinaryIdentity {
  let scan: MachOScan;
  try {
    scan = scanMachOBytes(data, file);
  } catch (e) {
    throw asRefusal(e, file, spec);
  }
  return assess(scan, file, spec);
}

/**
 * Check the release binary: a path (streamed in one pass: headers and signatures read by range, every page hash and
 * the file's SHA-256 computed chunk by chunk, so memory does not grow with the binary), bytes in memory (named
 * "binary" in messages), or `{ name, data }`.
 */
export async function checkReleaseBinary(
  input: string | Uint8Array | { name: string; data: Uint8Array },
  spec: ReleaseBinarySpec,
): Promise<ReleaseBinaryIdentity> {
  if (input instanceof Uint8Array) return checkReleaseBinaryBytes(input, 'binary', spec);
  if (typeof input !== 'string') return checkReleaseBinaryBytes(input.data, input.name, spec);
  let scan: MachOScan;
  try {
    scan = await scanMachOFile(input, spec.what ?? '--binary');
  } catch (e) {
    throw asRefusal(e, input, spec);
  }
  return assess(scan, input, spec);
}

/** A release check whose file bytes are fed by a reader that goes through the binary anyway (the build's cpio writer). */
export interface ReleaseBinaryCheckFeed {
  /** The binary's next bytes, in order from offset 0. */
  update(chunk: Uint8Array): void;
  /** After the whole file: the identity, or one ReleaseBinaryError listing every problem (hashes included). */
  finish(): ReleaseBinaryIdentity;
}

/**
 * Start the release check of a path so that its one pass over the bytes is shared: everything decided by the headers
 * and the signature (what the file is, architectures, identifier, team, hardened runtime, the CMS signature and its
 * signer) is checked now, before anything is built — a binary refused on those grounds is refused here, after a
 * full scan so the message lists the hash verdict too, exactly as {@link checkReleaseBinary}; the page hashes and the
 * file's SHA-256 come from the bytes fed later.
 */
export async function startReleaseBinaryCheck(file: string, spec: ReleaseBinarySpec): Promise<ReleaseBinaryCheckFeed> {
  const what = spec.what ?? '--binary';
  let feed: Awaited<ReturnType<typeof startMachOScan>>;
  try {
    feed = await startMachOScan(file, what);
    // Everything but the hashes, now: verdicts not yet known count as none found.
    assess({ head: feed.head, size: feed.size, sha256: '', parsed: feed.parsed, verdicts: [] }, file, spec);
  } catch (e) {
    if (e instanceof ReleaseBinaryError) {
      await checkReleaseBinary(file, spec); // throws the full list, the hash verdict included
      throw e;
    }
    throw asRefusal(e, file, spec);
  }
  return {
    update: (chunk) => feed.update(chunk),
    finish: () => {
      let scan: MachOScan;
      try {
        scan = feed.finish();
      } catch (e) {
        throw asRefusal(e, file, spec);
      }
      return assess(scan, file, spec);
    },
  };
}

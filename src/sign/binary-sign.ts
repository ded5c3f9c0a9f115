/**
 * Signing the aiwatch agent binary (a Mach-O, thin or universal) for release: Developer ID Application identity,
 * hardened runtime, secure timestamp, and the signing identifier of the deployment spec — what notarization and the
 * PPPC designated requirement (identifier + team) need. The signature itself is made by an external tool:
 *   - `codesign` on macOS, with an identity from a keychain (`--identity NAME [--keychain K]`);
 *   - `rcodesign` anywhere it is on PATH, with a .p12 (`--p12 F` + password), checked here first: password, key
 *     match and validity dates, and (unless `allowUntrusted`) a Developer ID Application leaf chained to Apple.
 * `auto` picks codesign on macOS when a keychain identity is given, otherwise rcodesign when installed, and
 * otherwise fails with a ToolError naming both ways. Checked in this order, so each failure has its exit code
 * (README "Exit codes"): the .p12 (password 2; unreadable, dates, usage, chain 3), the tool (missing 4), the tool
 * itself (failing 4 — unless its time-stamp server, asked once then, is unreachable 5 or refusing 6).
 *
 * The tool works on a private copy; the result is read back (src/sign/binary-check.ts: signed with a certificate,
 * the identifier, the team, hardened runtime, page hashes) before it is moved onto `out` atomically, so a tool that
 * exits 0 without signing cannot slip through, and `out` may be the input itself.
 * Not covered: entitlements, bundles, notarizing the bare binary (the pkg is what gets notarized).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { InputFileError, ToolError, UsageError } from '../errors.js';
import { moveIntoPlace, readInputFile, withTempDir, writeFileAtomic, writeStreamAtomic } from '../io/fs.js';
import { describeNonMachO } from '../macho/non-macho.js';
import { checkReleaseBinaryBytes, ReleaseBinaryError, type ReleaseArch } from './binary-check.js';
import { CS_RUNTIME } from '../macho/constants.js';
import { parseMachO } from '../macho/macho.js';
import type { Secret } from '../secret.js';
import { codesignSign, RCODESIGN, rcodesignSign } from '../tools/codesign.js';
import { hasTool } from '../tools/run.js';
import { extendedKeyUsages, hasExtension } from './certificate.js';
import { loadSigningIdentity, type SigningIdentity } from './identity.js';
import { OID } from './oids.js';
import { APPLE_TIMESTAMP_URL, timestampCauseOf } from './timestamp.js';

export type BinarySignerName = 'codesign' | 'rcodesign';

export type BinarySignIdentity =
  /** A keychain identity for codesign: common name ("Developer ID Application: …") or SHA-1 hash. */
  | { kind: 'keychain'; name: string; keychain?: string }
  /** A PKCS#12 file for rcodesign. */
  | { kind: 'p12'; file: string; password?: Secret };

export interface BinarySignOptions {
  input: string;
  /** Where the signed binary goes (may be `input`: replaced atomically). */
  out: string;
  /** Signing identifier, e.g. com.runlayer.aiwatch. */
  identifier: string;
  /** Team the signature must carry (read back); not checked with `allowUntrusted`. */
  teamId: string;
  /** Default `auto`. */
  signer?: 'auto' | BinarySignerName;
  identity: BinarySignIdentity;
  /** Time-stamp server; default Apple's; null: no timestamp (notarization then refuses the binary). */
  timestampUrl?: string | null;
  /** Accept a certificate that is not a Developer ID Application chained to Apple (tests). Default false. */
  allowUntrusted?: boolean;
  /** For certificate validity. */
  clock: () => Date;
  /** Default process.platform. */
  platform?: NodeJS.Platform;
  signal?: AbortSignal;
}

export interface BinarySignResult {
  signer: BinarySignerName;
  /** The tool's argv (paths of private temporary files included; no secret is ever on it). */
  argv: string[];
  /** What the signed binary carries, as read back. */
  identity: SignedBinarySummary;
  warnings: string[];
}

const BOTH_WAYS =
  'sign the binary with codesign on macOS (--identity "Developer ID Application: …" from a keychain) or with rcodesign on any OS ' +
  '(--p12 FILE; install it with `cargo install apple-codesign` or a release from github.com/indygreg/apple-platform-rs)';

/** A tool requested for the other kind of identity: a usage error, found before any file is read. */
function checkSignerRequest(o: Pick<BinarySignOptions, 'signer' | 'identity'>): void {
  const requested = o.signer ?? 'auto';
  const kind = o.identity.kind;
  if (requested === 'codesign' && kind !== 'keychain') throw new UsageError('--signer codesign signs with a keychain identity: give --identity NAME (import the .p12 into a keychain first), or use --signer rcodesign with --p12');
  if (requested === 'rcodesign' && kind !== 'p12') throw new UsageError('--signer rcodesign signs with a .p12: give --p12 FILE (and its password), or use --signer codesign with --identity on macOS');
}

/** Which tool signs, from the request, the identity given and what is installed. */
export async function chooseBinarySigner(o: Pick<BinarySignOptions, 'signer' | 'identity' | 'platform'>): Promise<BinarySignerName> {
  checkSignerRequest(o);
  const requested = o.signer ?? 'auto';
  const platform = o.platform ?? process.platform;
  const kind = o.identity.kind;
  if (requested !== 'auto') return requested;
  if (kind === 'keychain') {
    if (platform === 'darwin') return 'codesign';
    throw new ToolError('codesign', `a keychain identity (--identity) needs Apple's codesign, which exists only on macOS (this is ${platform}); ${BOTH_WAYS}`);
  }
  if (await hasTool(RCODESIGN)) return 'rcodesign';
  throw new ToolError(RCODESIGN, `not found on PATH, and there is no other way to sign a binary with a .p12 here; ${BOTH_WAYS}`);
}

/** Why a checked identity is not a Developer ID Application chained to Apple, or undefined. */
export function applicationIdentityProblem(id: SigningIdentity): string | undefined {
  const name = id.summary.commonName;
  if (!extendedKeyUsages(id.leaf).includes(OID.ekuCodeSigning)) {
    return `"${name}" cannot sign code: its extended key usage lacks codeSigning (${OID.ekuCodeSigning})`;
  }
  if (!hasExtension(id.leaf, OID.extDeveloperIdApplication)) {
    return `"${name}" is not a Developer ID Application certificate (no ${OID.extDeveloperIdApplication} extension)`;
  }
  if (!id.appleIntermediate) return `"${name}" does not chain to Apple Root CA through a Developer ID Certification Authority`;
  return undefined;
}

async function checkP12(o: BinarySignOptions, src: Extract<BinarySignIdentity, { kind: 'p12' }>): Promise<string[]> {
  const id = await loadSigningIdentity({ kind: 'p12', file: src.file, password: src.password }, { purpose: 'profile', clock: o.clock });
  const problem = applicationIdentityProblem(id);
  if (problem && !o.allowUntrusted) {
    throw new InputFileError(src.file, `${problem}; expected a "Developer ID Application: …" identity (pass --allow-untrusted to sign anyway, for tests: Gatekeeper and the notary will refuse it)`);
  }
  return problem ? [`${problem}; signing anyway (--allow-untrusted): Gatekeeper and the notary will refuse this binary`] : [];
}

/** What the signed binary carries, as read back. */
export interface SignedBinarySummary {
  arches: string[];
  identifier?: string;
  teamId?: string;
  hardenedRuntime: boolean;
}

/** Team problems, which `allowUntrusted` tolerates (a test certificate has no Apple team). */
const TEAM_PROBLEM = /team ID is |has no team ID|signing certificate's team/;

/** Read the tool's output back: signed, identifier, team and Developer ID signer (unless allowUntrusted), runtime, page hashes. */
function readBack(data: Uint8Array, file: string, o: BinarySignOptions, tool: string): SignedBinarySummary {
  const parsed = parseMachO(data, { name: file });
  const arch = (parsed.kind === 'fat' ? 'universal' : parsed.slices[0]!.arch) as ReleaseArch;
  try {
    checkReleaseBinaryBytes(data, file, { arch, identifier: o.identifier, teamId: o.teamId, what: `${tool} output`, allowUntrustedSigner: o.allowUntrusted });
  } catch (e) {
    if (!(e instanceof ReleaseBinaryError) || !o.allowUntrusted) throw e;
    const rest = e.problems.filter((p) => !TEAM_PROBLEM.test(p));
    if (rest.length) throw new ReleaseBinaryError(file, rest);
  }
  const cds = parsed.slices.map((s) => s.codeSignature?.codeDirectory);
  return {
    arches: parsed.slices.map((s) => s.arch),
    identifier: cds[0]?.identifier,
    teamId: cds[0]?.teamId,
    hardenedRuntime: cds.every((cd) => cd !== undefined && (cd.flags & CS_RUNTIME) !== 0),
  };
}

async function copyTo(input: string, target: string): Promise<void> {
  await writeStreamAtomic(target, async (out) => {
    await pipeline(createReadStream(input), out, { end: false });
  }, { mode: 0o700 });
}

/** Sign `o.input` into `o.out` (see the module comment). */
export async function signBinary(o: BinarySignOptions): Promise<BinarySignResult> {
  checkSignerRequest(o);
  const data = await readInputFile(o.input, 'binary');
  const foreign = describeNonMachO(data);
  if (foreign) throw new InputFileError(o.input, `binary: ${foreign}; expected a macOS Mach-O executable`);
  const warnings = o.identity.kind === 'p12' ? await checkP12(o, o.identity) : [];
  const signer = await chooseBinarySigner(o);
  const mode = (await stat(o.input)).mode & 0o777;
  return withTempDir('sign-binary', async (tmp) => {
    const signed = path.join(tmp, path.basename(o.input));
    const timestampUrl = o.timestampUrl === undefined ? APPLE_TIMESTAMP_URL : o.timestampUrl;
    let argv: string[];
    try {
      if (o.identity.kind === 'keychain') {
        await copyTo(o.input, signed);
        const ts = o.timestampUrl === APPLE_TIMESTAMP_URL ? undefined : o.timestampUrl;
        argv = await codesignSign({ file: signed, identity: o.identity.name, keychain: o.identity.keychain, identifier: o.identifier, timestampUrl: ts }, { signal: o.signal });
      } else {
        const passwordFile = path.join(tmp, 'p12-password');
        await writeFileAtomic(passwordFile, o.identity.password?.reveal() ?? '', { mode: 0o600 });
        const secrets = o.identity.password ? [o.identity.password] : [];
        argv = await rcodesignSign({ input: o.input, output: signed, p12: o.identity.file, passwordFile, identifier: o.identifier, timestampUrl }, { secrets, signal: o.signal });
      }
    } catch (e) {
      throw await timestampCauseOf(e, timestampUrl, { signal: o.signal });
    }
    const identity = readBack(await readInputFile(signed, `${signer} output`), o.input, o, signer);
    await moveIntoPlace(signed, o.out, { mode });
    return { signer, argv, identity, warnings };
  });
}

/**
 * `inspect` of a bare binary: the identity summary (src/macho/identity.ts, one line per slice) followed by the full
 * dump of src/macho/describe.ts; and the identity lines the package report shows for each program in a payload.
 *
 * Does not cover: trusting the CMS signature's chain (Gatekeeper's job; the demo binaries are signed by a DEMO key).
 */
import { InputFileError } from '../errors.js';
import { describeNonMachO } from '../macho/non-macho.js';
import { flagText, machoIdentity, type MachOIdentity } from '../macho/identity.js';
import { describeMachO, MachOFormatError, type MachOFile } from '../macho/macho.js';
import { scanMachOFile, type MachOScan } from '../macho/file-scan.js';
import { jsonSafe } from './format.js';

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

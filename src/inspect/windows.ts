/**
 * `inspect` of the Windows artifacts:
 *
 * - `FILE.ps1`: size, encoding, line endings, line count, and the Authenticode signature (src/read/ps-signature.ts:
 *   signer, certificates, signing time, timestamp, whether the text still matches what was signed). The script's
 *   text is never printed: it may hold an organization key.
 * - `FILE.intunewin`: Detection.xml (name, setup file, sizes, digest) and the checks of src/read/intunewin-read.ts,
 *   the outer and the decrypted inner zip listings, and each script inside as above. The EncryptionKey, MacKey and
 *   InitializationVector are the package's secrets (anyone holding them can decrypt it): only their presence and
 *   length are shown, as for the Mac.
 *
 * Not covered: MSI setup files (their MsiInfo), scripts other than `.ps1`.
 *
 * Bounded: a script over Intune's 200 KB (LIMITS['ps1.bytes']) is refused from its size, unread (InputLimitError,
 * exit 3); a .intunewin is decrypted as a stream into a private temporary folder and its inner zip read within the
 * zip reader's limits.
 */
import path from 'node:path';
import { InputFileError } from '../errors.js';
import { withLazyTempDir } from '../io/fs.js';
import { INTUNE_SCRIPT_MAX_BYTES } from '../intune/intune-checks.js';
import { readIntuneWin, type IntuneWinDetection } from '../read/intunewin-read.js';
import { InputLimitError } from '../formats/limits.js';
import { readZip, type ZipEntryInfo, type ZipReadEntry } from '../formats/zip.js';
import { innerEntries, oversizeText, readScriptFile } from '../read/ps1-read.js';
import { errorText } from '../read/streams.js';
import type { CertificateSummary } from '../sign/certificate.js';
import { certificateLines, heading, indent, rows, text } from './format.js';
import { readPsSignature, scriptText, type PsSignatureReport } from '../read/ps-signature.js';
import type { NamedSource } from '../formats/source.js';

export interface Ps1Report {
  kind: 'ps1';
  file: string;
  size: number;
  encoding: 'ASCII' | 'UTF-8' | 'UTF-8 with BOM' | 'UTF-16LE';
  lineEndings: { crlf: number; lf: number; cr: number };
  lines: number;
  signature: PsSignatureReport;
}

export interface SecretField {
  present: boolean;
  bytes: number;
}

export interface IntuneWinReport {
  kind: 'intunewin';
  file: string;
  detection?: {
    name: string;
    setupFile: string;
    fileName: string;
    unencryptedContentSize: string;
    encryption: { encryptionKey: SecretField; macKey: SecretField; initializationVector: SecretField; mac: SecretField };
    profileIdentifier: string;
    fileDigest: string;
    fileDigestAlgorithm: string;
  };
  outer: ZipEntryInfo[];
  inner?: ZipEntryInfo[];
  innerError?: string;
  scripts: Ps1Report[];
  problems: string[];
}

function encodingOf(b: Buffer): Ps1Report['encoding'] {
  if (b[0] === 0xff && b[1] === 0xfe) return 'UTF-16LE';
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return 'UTF-8 with BOM';
  return b.every((x) => x < 0x80) ? 'ASCII' : 'UTF-8';
}

/** Describe a script from its bytes; `name` is how it is named in the output. */
export async function ps1Report(bytes: Buffer, name: string): Promise<Ps1Report> {
  const t = scriptText(bytes);
  const crlf = t.match(/\r\n/g)?.length ?? 0;
  const lf = (t.match(/\n/g)?.length ?? 0) - crlf;
  const cr = (t.match(/\r/g)?.length ?? 0) - crlf;
  const lines = t === '' ? 0 : t.split(/\r\n|\n|\r/).length - (/[\r\n]$/.test(t) ? 1 : 0);
  return { kind: 'ps1', file: name, size: bytes.length, encoding: encodingOf(bytes), lineEndings: { crlf, lf, cr }, lines, signature: await readPsSignature(t) };
}

export async function inspectPs1(file: string, name = file): Promise<Ps1Report> {
  const script = await readScriptFile(file, 'inspect');
  if (!('bytes' in script)) throw new InputLimitError(file, 'ps1.bytes', `${oversizeText(script.size)}: not an Intune script`);
  return ps1Report(script.bytes, name);
}

function secretField(b64: string): SecretField {
  return { present: b64 !== '', bytes: Buffer.from(b64, 'base64').length };
}

function detectionSummary(d: IntuneWinDetection): NonNullable<IntuneWinReport['detection']> {
  return {
    name: d.name,
    setupFile: d.setupFile,
    fileName: d.fileName,
    unencryptedContentSize: d.unencryptedContentSize,
    encryption: { encryptionKey: secretField(d.encryptionKey), macKey: secretField(d.macKey), initializationVector: secretField(d.initializationVector), mac: secretField(d.mac) },
    profileIdentifier: d.profileIdentifier,
    fileDigest: d.fileDigest,
    fileDigestAlgorithm: d.fileDigestAlgorithm,
  };
}

const listing = (entries: readonly ZipReadEntry[]): ZipEntryInfo[] =>
  entries.map((e) => ({ name: e.name, mode: e.mode, size: e.size, compressedSize: e.compressedSize, mtime: e.mtime }));

async function innerContents(file: string, r: IntuneWinReport, innerZip: string | NamedSource): Promise<void> {
  let entries: ZipReadEntry[];
  try {
    entries = await innerEntries(innerZip);
  } catch (e) {
    if (e instanceof InputLimitError) throw new InputLimitError(file, e.limit, `the decrypted content: ${errorText(e)}`);
    r.innerError = `the decrypted content is not a readable zip (${(e as Error).message})`;
    return;
  }
  r.inner = listing(entries);
  for (const e of entries) {
    if (!/\.ps1$/i.test(e.name)) continue;
    if (!e.data) throw new InputLimitError(file, 'ps1.bytes', `${e.name}: ${oversizeText(e.size)}`);
    r.scripts.push(await ps1Report(e.data, e.name));
  }
}

/** Describe a .intunewin. InputFileError when it is not a readable zip; InputLimitError past a reader limit. */
export async function inspectIntuneWin(file: string, name = file): Promise<IntuneWinReport> {
  return withLazyTempDir('inspect-intunewin', async (dir) => {
    let outer: ZipReadEntry[];
    let read: Awaited<ReturnType<typeof readIntuneWin>>;
    try {
      outer = await readZip(file);
      read = await readIntuneWin(file, { spill: async () => path.join(await dir(), 'inner.zip') });
    } catch (e) {
      if (e instanceof InputFileError) throw e;
      throw new InputFileError(file, `inspect: not a readable .intunewin zip (${(e as Error).message})`, { cause: e });
    }
    const r: IntuneWinReport = {
      kind: 'intunewin',
      file: name,
      outer: listing(outer),
      scripts: [],
      problems: read.problems.map((p) => (p.startsWith(`${file}: `) ? p.slice(file.length + 2) : p)),
    };
    if (read.detection) r.detection = detectionSummary(read.detection);
    if (read.inner) await innerContents(file, r, read.inner);
    return r;
  });
}

function signerLine(s: PsSignatureReport): string {
  if (!s.signed) return 'not signed';
  const integrity = s.problems.length === 0 ? 'text matches the signature, signature verifies' : `${s.problems.length} PROBLEM(S)`;
  return `signed by "${s.signer?.subject ?? 'unknown signer'}"; ${integrity}`;
}

function signatureLines(s: PsSignatureReport): string[] {
  const out = [heading('Authenticode signature'), `  ${signerLine(s)}`];
  if (s.signed) {
    out.push(
      ...rows([
        ['digest', s.digestAlgorithm && `${s.digestAlgorithm} over the first ${s.coveredLength} characters (UTF-16LE): ${s.digestMatches ? 'matches the text' : 'DOES NOT MATCH the text'}`],
        ['PKCS#7 signature', s.signatureVerifies === undefined ? undefined : s.signatureVerifies ? 'verifies with the signer certificate' : 'DOES NOT VERIFY'],
        ['signing time', s.signingTime],
        ['timestamp', s.timestamped ? 'yes' : 'none'],
      ]),
      '  Certificates:',
      ...s.certificates.flatMap((c: CertificateSummary, i) => indent(certificateLines(c, i + 1), 3)),
    );
  }
  return [...out, ...s.problems.map((p) => `  PROBLEM: ${p}`)];
}

function endingsText(e: Ps1Report['lineEndings']): string {
  const kinds = ([[e.crlf, 'CRLF'], [e.lf, 'LF'], [e.cr, 'lone CR']] as const).filter(([n]) => n > 0);
  if (kinds.length === 0) return 'none';
  if (kinds.length === 1) return `${kinds[0]![1]} only (${kinds[0]![0]})${e.crlf > 0 ? '' : '; Intune scripts need CRLF'}`;
  return `MIXED: ${kinds.map(([n, k]) => `${n} ${k}`).join(', ')}`;
}

function ps1Lines(r: Ps1Report): string[] {
  return [
    ...rows([
      ['size', `${r.size} bytes${r.size > INTUNE_SCRIPT_MAX_BYTES ? ` (OVER Intune's ${INTUNE_SCRIPT_MAX_BYTES}-byte limit)` : ''}`],
      ['encoding', r.encoding],
      ['line endings', endingsText(r.lineEndings)],
      ['lines', r.lines],
    ]),
    ...signatureLines(r.signature),
  ];
}

/** The text `inspect` prints for a script (no script text). */
export function formatPs1Report(r: Ps1Report): string {
  return text([`${r.file}: PowerShell script`, ...ps1Lines(r)]);
}

/** One line per script inside a package. */
function scriptLine(r: Ps1Report): string {
  const problems = r.signature.problems.map((p) => `\n    PROBLEM: ${p}`).join('');
  return `  ${r.file}: ${r.size} bytes, ${r.encoding}, line endings ${endingsText(r.lineEndings)}; ${signerLine(r.signature)}${problems}`;
}

function detectionLines(d: NonNullable<IntuneWinReport['detection']>): string[] {
  const secret = (f: SecretField) => (f.present ? `present, ${f.bytes} bytes (not shown)` : 'MISSING');
  return [
    heading('Detection.xml'),
    ...rows([
      ['Name', d.name],
      ['SetupFile', d.setupFile],
      ['FileName', d.fileName],
      ['UnencryptedContentSize', `${d.unencryptedContentSize} bytes`],
      ['EncryptionKey', secret(d.encryption.encryptionKey)],
      ['MacKey', secret(d.encryption.macKey)],
      ['InitializationVector', secret(d.encryption.initializationVector)],
      ['Mac', secret(d.encryption.mac)],
      ['ProfileIdentifier', d.profileIdentifier],
      ['FileDigest', `${d.fileDigest} (${d.fileDigestAlgorithm})`],
    ]),
  ];
}

function zipLines(title: string, entries: readonly ZipEntryInfo[]): string[] {
  const width = Math.max(0, ...entries.map((e) => e.name.length));
  const method = (e: ZipEntryInfo) => (e.compressedSize === e.size ? 'stored' : `${e.compressedSize} in the zip`);
  return [heading(title), ...entries.map((e) => `  ${e.name.padEnd(width)}  ${String(e.size).padStart(8)} bytes (${method(e)})  ${e.mtime}`)];
}

/** The text `inspect` prints for a .intunewin (no key, no script text). */
export function formatIntuneWinReport(r: IntuneWinReport): string {
  const check = r.problems.length === 0 ? 'HMAC, IV, decryption, size and digest check out' : `${r.problems.length} PROBLEM(S)`;
  const lines = [`${r.file}: Win32 app package (.intunewin); ${check}`, ...r.problems.map((p) => `  PROBLEM: ${p}`), ''];
  if (r.detection) lines.push(...detectionLines(r.detection), '');
  lines.push(...zipLines('outer zip', r.outer), '');
  if (r.inner) lines.push(...zipLines(`inner zip (decrypted, ${r.inner.length} files)`, r.inner));
  else lines.push(heading('inner zip'), `  ${r.innerError ?? 'not available: the content does not decrypt'}`);
  if (r.scripts.length > 0) lines.push('', heading('scripts (inspect a .ps1 for its certificates)'), ...r.scripts.map(scriptLine));
  return text(lines);
}

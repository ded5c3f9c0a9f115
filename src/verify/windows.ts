/**
 * `verify` of the Windows artifacts `aiwatch-deploy intune` writes:
 *
 * - `FILE.ps1`: the text rules of src/intune/intune-checks.ts (ASCII, CRLF only, no byte-order mark, Intune's 200 KB),
 *   PowerShell syntax (src/read/ps-parse.ts: no ERROR or MISSING node), and the Authenticode signature block
 *   (src/read/ps-signature.ts: framing, a script changed after signing, a signature that does not verify). Signed
 *   or not is a note: scripts are signed only on request. With `--ca-file` the signature must also chain to one of
 *   those anchors, checked by `osslsigncode verify` (src/tools/osslsigncode.ts); an unsigned script then fails.
 * - `FILE.intunewin`: src/read/intunewin-read.ts (outer entries, Detection.xml, HMAC, IV, decryption, size and
 *   SHA-256 of the inner zip), Detection.xml's names, the inner zip readable and holding the setup file, and every
 *   `.ps1` inside checked as above.
 *
 * Problems never quote script text: the scripts may hold an organization key. Not covered: whether Windows trusts
 * the publisher (the device's Trusted Publishers store decides), MSI setup files.
 *
 * Bounded: a script over Intune's 200 KB (LIMITS['ps1.bytes']) is that one problem, found from its size before it
 * is read or parsed; a .intunewin is decrypted as a stream into a private temporary folder and its inner zip read
 * within the zip reader's limits, scripts over the limit listed, not read.
 */
import path from 'node:path';
import { InputFileError, type Problem } from '../errors.js';
import { withLazyTempDir, withTempDir, writeFileAtomic } from '../io/fs.js';
import { scriptTextProblems } from '../intune/intune-checks.js';
import { readIntuneWin } from '../read/intunewin-read.js';
import { innerEntries, oversizeText, readScriptFile } from '../read/ps1-read.js';
import { PsParseLimit, PsParserUnavailable, psIssueMessage, psSyntaxIssues } from '../read/ps-parse.js';
import { child, parseXml, type XmlElement } from '../formats/xml-tree.js';
import type { ZipReadEntry } from '../formats/zip.js';
import { readPsSignature, scriptText, type PsSignatureReport } from '../read/ps-signature.js';
import { errorText } from '../read/streams.js';
import { osslsigncodeVerify, osslsigncodeVersion } from '../tools/osslsigncode.js';
import { inputName, type CheckInput, type VerifyContext } from './context.js';
import { LIMITS } from '../formats/limits.js';

type ScriptContext = Pick<VerifyContext, 'caFile' | 'signal' | 'note'>;

/** The text rules; a UTF-16 file is one problem (the rules are about bytes, which it fails from the first). */
function textProblems(bytes: Buffer, where: string): Problem[] {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return [{ where, message: 'is UTF-16LE; generated PowerShell must be ASCII with CRLF line ends' }];
  const text = bytes.toString('utf8');
  const rules = (t: string) => scriptTextProblems(where, t).map((m) => (m.startsWith(`${where}: `) ? m.slice(where.length + 2) : m));
  let messages = rules(text);
  if (text.startsWith('\uFEFF')) {
    // The BOM is reported as such; the ASCII rule looks past it (it names only the first non-ASCII character).
    const ascii = (m: string) => /^line \d+ holds U\+/.test(m);
    messages = [...messages.filter((m) => !ascii(m)), ...rules(text.slice(1)).filter(ascii)];
  }
  return messages.map((message) => ({ where, message }));
}

async function syntaxProblems(text: string, where: string, ctx: ScriptContext): Promise<Problem[]> {
  try {
    // PowerShell takes a leading U+FEFF as the byte-order mark it is (the text rules report it); the grammar does not.
    return (await psSyntaxIssues(text.replace(/^\uFEFF/, ''))).map((i) => ({ where, message: psIssueMessage(i) }));
  } catch (e) {
    if (e instanceof PsParseLimit) return [{ where, message: `PowerShell syntax not checked: ${e.message}` }];
    if (!(e instanceof PsParserUnavailable)) throw e;
    ctx.note(`PowerShell syntax not checked: ${e.message}`);
    return [];
  }
}

/** The telling lines of osslsigncode's report (it prints no script text), without OpenSSL's raw error stack. */
function osslFailure(output: string): string {
  const lines = output.split('\n').map((l) => l.trim());
  const telling = lines.filter((l) => /^Error:|MISMATCH|^Signature verification: failed|^No signature found|^Unable/i.test(l));
  return [...new Set(telling.length > 0 ? telling : lines.filter(Boolean).slice(-2))].slice(0, 4).join('; ');
}

/** Where a script comes from: a file of its own (osslsigncode reads it in place), or an entry of a package. */
export type ScriptSource = { file: string } | { entry: string };

/** `osslsigncode verify` against the --ca-file anchors, on the file or on a private copy of the entry. */
async function trustProblems(bytes: Buffer, where: string, caFile: string, ctx: ScriptContext, source: ScriptSource): Promise<Problem[]> {
  await osslsigncodeVersion({ signal: ctx.signal });
  const run = (f: string) => osslsigncodeVerify(f, caFile, { signal: ctx.signal });
  const r =
    'file' in source
      ? await run(source.file)
      : await withTempDir('verify-ps1', async (dir) => {
          const copy = path.join(dir, path.basename(source.entry));
          await writeFileAtomic(copy, bytes, { mode: 0o600 });
          return run(copy);
        });
  return r.ok ? [] : [{ where, message: `osslsigncode verify against --ca-file failed: ${osslFailure(r.output)}` }];
}

function signatureNote(sig: PsSignatureReport, trusted: boolean): string {
  if (!sig.signed) return 'not Authenticode-signed (intune --sign-pfx signs; needed where signature checks are enforced)';
  const who = sig.signer ? `"${sig.signer.subject}"` : 'an unknown signer';
  return `Authenticode-signed by ${who}, ${sig.timestamped ? 'timestamped' : 'no timestamp'}${trusted ? '; chains to --ca-file (osslsigncode verify)' : ''}`;
}

export interface ScriptCheck {
  problems: Problem[];
  /** What the signature is, for a note: `not Authenticode-signed …` or `Authenticode-signed by …`. */
  signature: string;
}

/**
 * Every problem of one PowerShell script, and what its signature is. `where` names it in problems (a path, or
 * `package.intunewin:Name.ps1`).
 */
export async function checkPsScript(bytes: Buffer, where: string, ctx: ScriptContext, source: ScriptSource): Promise<ScriptCheck> {
  const text = scriptText(bytes);
  const problems = [...textProblems(bytes, where), ...(await syntaxProblems(text, where, ctx))];
  const sig = await readPsSignature(text);
  problems.push(...sig.problems.map((message) => ({ where: `${where}:signature`, message })));
  let trusted = false;
  if (ctx.caFile) {
    const trust = sig.signed ? await trustProblems(bytes, where, ctx.caFile, ctx, source) : [{ where, message: 'not signed, so it cannot chain to --ca-file' }];
    trusted = sig.signed && trust.length === 0;
    problems.push(...trust);
  }
  return { problems, signature: signatureNote(sig, trusted) };
}

/** The problem of a script too large to be an Intune script: found from its size, the script not read. */
function oversizeScript(size: number, where: string): Problem {
  return { where, message: oversizeText(size) };
}

const DETECTION_SHAPE: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['', ['Name', 'UnencryptedContentSize', 'FileName', 'SetupFile', 'EncryptionInfo']],
  ['EncryptionInfo', ['EncryptionKey', 'MacKey', 'InitializationVector', 'Mac', 'ProfileIdentifier', 'FileDigest', 'FileDigestAlgorithm']],
];

/**
 * Detection.xml read with the strict reader: well-formed, root ApplicationInfo, every element Intune reads present.
 * Empty list: sound (or not read at all, which readIntuneWin reports).
 */
function detectionShapeProblems(file: string, xml: string | undefined): Problem[] {
  const where = `${file}:Detection.xml`;
  if (xml === undefined) return [];
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (e) {
    return [{ where, message: `not well-formed XML: ${(e as Error).message}` }];
  }
  if (root.name !== 'ApplicationInfo') return [{ where, message: `root element must be ApplicationInfo, got ${root.name}` }];
  const missing: string[] = [];
  for (const [parent, names] of DETECTION_SHAPE) {
    const p = parent === '' ? root : child(root, parent);
    if (p) for (const n of names) if (!child(p, n)) missing.push(parent === '' ? n : `${parent}/${n}`);
  }
  return missing.length > 0 ? [{ where, message: `missing ${missing.join(', ')}` }] : [];
}

function detectionValueProblems(file: string, d: { name: string; setupFile: string; fileName: string }): Problem[] {
  const where = `${file}:Detection.xml`;
  const out: Problem[] = [];
  if (d.name === '') out.push({ where, message: 'Name is empty (Intune shows it as the app name)' });
  if (d.setupFile === '') out.push({ where, message: 'SetupFile is empty (Intune runs it)' });
  if (d.fileName !== 'IntunePackage.intunewin') out.push({ where, message: `FileName must be IntunePackage.intunewin, got ${JSON.stringify(d.fileName)}` });
  return out;
}

/** The package-level problems: zip entries, Detection.xml, HMAC, decryption, size and digest. */
function packageProblems(file: string, r: Awaited<ReturnType<typeof readIntuneWin>>): Problem[] {
  const problems: Problem[] = r.problems.map((p) => ({ where: file, message: p.startsWith(`${file}: `) ? p.slice(file.length + 2) : p }));
  const shape = detectionShapeProblems(file, r.detectionXml);
  // No cascade: values read from a broken document are all "wrong"; the broken document is the one problem.
  if (shape.length > 0) return [...problems.filter((p) => !p.message.startsWith('Detection.xml:')), ...shape];
  return r.detection ? [...problems, ...detectionValueProblems(file, r.detection)] : problems;
}

/**
 * Every problem of a `.intunewin`; scripts inside are checked like .ps1 files. Given named bytes (a release zip's
 * member: none the release writes), they are copied to the private folder first, since the reader decrypts from a
 * file, and problems are named by `input.name`.
 */
export async function verifyIntuneWinFile(input: CheckInput, ctx: ScriptContext): Promise<Problem[]> {
  if (typeof input === 'string') return withLazyTempDir('verify-intunewin', (dir) => intuneWinProblems(input, dir, ctx));
  return withTempDir('verify-intunewin', async (dir) => {
    const copy = path.join(dir, 'member.intunewin');
    await writeFileAtomic(copy, input.bytes, { mode: 0o600 });
    const named = (where: string): string => (where === copy || where.startsWith(`${copy}:`) ? `${input.name}${where.slice(copy.length)}` : where);
    return (await intuneWinProblems(copy, async () => dir, ctx)).map((p) => ({ where: named(p.where), message: p.message }));
  });
}

/** The problems of the .intunewin at `file`, its decrypted content spilled to the private folder `dir()` when large. */
async function intuneWinProblems(file: string, dir: () => Promise<string>, ctx: ScriptContext): Promise<Problem[]> {
  let r: Awaited<ReturnType<typeof readIntuneWin>>;
  try {
    r = await readIntuneWin(file, { spill: async () => path.join(await dir(), 'inner.zip') });
  } catch (e) {
    if (e instanceof InputFileError && e.file === file) return [{ where: file, message: errorText(e) }];
    return [{ where: file, message: `not a readable zip (${(e as Error).message})` }];
  }
  const problems = packageProblems(file, r);
  if (!r.inner) return problems;
  if (problems.length > 0) {
    // No cascade: content that fails its HMAC or digest is not worth reading file by file.
    ctx.note('the decrypted content was not examined: the package problems come first');
    return problems;
  }
  let entries: ZipReadEntry[];
  try {
    entries = await innerEntries(r.inner);
  } catch (e) {
    const message = e instanceof InputFileError ? `the decrypted content: ${errorText(e)}` : `the decrypted content is not a readable zip (${(e as Error).message})`;
    return [...problems, { where: `${file}:IntunePackage.intunewin`, message }];
  }
  const names = entries.map((e) => e.name);
  const setup = r.detection?.setupFile ?? '';
  if (setup !== '' && !names.includes(setup)) problems.push({ where: file, message: `setup file ${JSON.stringify(setup)} is not in the package (it holds ${JSON.stringify(names)})` });
  ctx.note(`setup file ${setup || '(none)'}; ${names.length} file(s) in the package: ${names.join(', ')}`);
  const bySignature = new Map<string, string[]>();
  for (const e of entries) {
    if (!/\.ps1$/i.test(e.name)) continue;
    if (!e.data) {
      problems.push(oversizeScript(e.size, `${file}:${e.name}`));
      continue;
    }
    const c = await checkPsScript(e.data, `${file}:${e.name}`, ctx, { entry: e.name });
    problems.push(...c.problems);
    bySignature.set(c.signature, [...(bySignature.get(c.signature) ?? []), e.name]);
  }
  for (const [signature, scripts] of bySignature) ctx.note(`${scripts.join(', ')}: ${signature}`);
  return problems;
}

/**
 * `verify FILE.ps1` (or a script's named bytes, a member of a release zip): the text rules, syntax and signature;
 * over Intune's limit, that one problem (unread).
 */
export async function checkPs1File(input: CheckInput, ctx: VerifyContext): Promise<Problem[]> {
  const file = inputName(input);
  const script = typeof input === 'string' ? await readScriptFile(input, 'verify') : input.bytes.length > LIMITS['ps1.bytes'] ? { size: input.bytes.length } : { bytes: input.bytes };
  if (!('bytes' in script)) return [oversizeScript(script.size, file)];
  const c = await checkPsScript(script.bytes, file, ctx, typeof input === 'string' ? { file } : { entry: file });
  ctx.note(c.signature);
  return c.problems;
}

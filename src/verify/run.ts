/**
 * Running the verifiers over files: read each file's head, pick its verifier (the first kind of src/read/kinds.ts
 * that a verifier checks and whose detection accepts the file), run the check, collect problems and
 * notes per file. A file no verifier recognises is reported as a problem of kind `unknown`, an empty one as kind
 * `empty`, and one that cannot be read (missing, a folder, no permission) as kind `unreadable` — after which the
 * other files are still checked, so one typo does not hide every other verdict. A reader limit hit (an
 * InputLimitError of src/formats/limits.ts: a hostile or damaged file) is that file's problem.
 */
import { InputFileError, type Problem } from '../errors.js';
import { checkInputFile } from '../io/fs.js';
import { InputLimitError } from '../formats/limits.js';
import { readHead } from '../read/kinds.js';
import type { Check, VerifyContext } from './context.js';
import { ARTIFACT_CHECKS, detectVerifier, verifiersFor } from './registry.js';
import { verifyReleaseZip } from './zip.js';

/** Every verifier `verify` knows: the single artifacts and the release zip, in the precedence of src/read/kinds.ts. */
const VERIFIERS = verifiersFor({ ...ARTIFACT_CHECKS, 'release-zip': releaseZipCheck() });

/** The release zip's check: `verify` hands it paths only (named bytes are a release zip's members, never a zip). */
function releaseZipCheck(): Check {
  return async (input, ctx) => {
    if (typeof input !== 'string') throw new Error(`${input.name}: a release zip is verified from its path`);
    return verifyReleaseZip(input, ctx);
  };
}

export interface FileReport {
  file: string;
  kind: string;
  describe: string;
  problems: Problem[];
  notes: string[];
}

/** The report of a file that cannot be read (kind `unreadable`), or undefined when it can. */
async function unreadable(file: string): Promise<FileReport | undefined> {
  try {
    await checkInputFile(file, 'verify');
    return undefined;
  } catch (e) {
    if (!(e instanceof InputFileError)) throw e;
    const prefix = `${file}: verify: `;
    const message = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
    return { file, kind: 'unreadable', describe: 'unreadable file', problems: [{ where: file, message }], notes: [] };
  }
}

/** Verify each file in turn; a file that cannot be read is reported (kind `unreadable`) and the others still checked. */
export async function verifyFiles(files: readonly string[], base: Omit<VerifyContext, 'note'>): Promise<FileReport[]> {
  const reports: FileReport[] = [];
  for (const file of files) {
    const notes: string[] = [];
    const cannot = await unreadable(file);
    if (cannot) {
      reports.push(cannot);
      continue;
    }
    const head = await readHead(file);
    if (head.length === 0) {
      reports.push({ file, kind: 'empty', describe: 'empty file', problems: [{ where: file, message: 'empty file (0 bytes): nothing to check' }], notes });
      continue;
    }
    const v = detectVerifier(VERIFIERS, head, file);
    if (!v) {
      const kinds = VERIFIERS.map((r) => r.describe).join(', ');
      reports.push({ file, kind: 'unknown', describe: 'unrecognised file', problems: [{ where: file, message: `not a kind of file verify knows (${kinds})` }], notes });
      continue;
    }
    let problems: Problem[];
    try {
      problems = await v.check(file, { ...base, note: (m) => notes.push(m) });
    } catch (e) {
      // A reader limit (src/formats/limits.ts) is a finding about this file, reported as its problem (exit 1).
      if (!(e instanceof InputLimitError)) throw e;
      problems = [{ where: file, message: e.message.startsWith(`${e.file}: `) ? e.message.slice(e.file.length + 2) : e.message }];
    }
    reports.push({ file, kind: v.kind, describe: v.describe, problems, notes });
  }
  return reports;
}

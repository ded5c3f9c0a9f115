/**
 * Running the verifiers over files: read each file's head, pick its verifier, run the check, collect problems and
 * notes per file. A file no verifier recognises is reported as a problem of kind `unknown`.
 */
import { open } from 'node:fs/promises';
import type { Problem } from '../errors.js';
import { checkInputFile } from '../io/fs.js';
import { detectVerifier, HEAD_BYTES, registeredVerifiers, type VerifyContext } from './registry.js';

export interface FileReport {
  file: string;
  kind: string;
  describe: string;
  problems: Problem[];
  notes: string[];
}

async function readHead(file: string): Promise<Uint8Array> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Check that every file exists and is readable (InputFileError otherwise), then verify each in turn. */
export async function verifyFiles(files: readonly string[], base: Omit<VerifyContext, 'note'>): Promise<FileReport[]> {
  for (const f of files) await checkInputFile(f, 'verify');
  const reports: FileReport[] = [];
  for (const file of files) {
    const notes: string[] = [];
    const v = detectVerifier(await readHead(file), file);
    if (!v) {
      const kinds = registeredVerifiers().map((r) => r.describe).join(', ');
      reports.push({ file, kind: 'unknown', describe: 'unrecognised file', problems: [{ where: file, message: `not a kind of file verify knows (${kinds})` }], notes });
      continue;
    }
    const problems = await v.check(file, { ...base, note: (m) => notes.push(m) });
    reports.push({ file, kind: v.kind, describe: v.describe, problems, notes });
  }
  return reports;
}

/** Run the CLI in-process (src/cli/main.ts) with captured stdout/stderr and an injected environment. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (when --json was given). */
  json: () => Record<string, unknown>;
}

export async function cli(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: string; isTTY?: boolean; signal?: AbortSignal } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    stdin: Readable.from(opts.stdin === undefined ? [] : [Buffer.from(opts.stdin)]),
    env: opts.env ?? {},
    cwd: opts.cwd ?? process.cwd(),
    isTTY: opts.isTTY ?? false,
    signal: opts.signal ?? new AbortController().signal,
  });
  return { code, stdout, stderr, json: () => JSON.parse(stdout) as Record<string, unknown> };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `aiwatch-${prefix}-`));
}

/**
 * The single boundary through which aiwatch-deploy runs external programs (execa). It checks the program exists
 * before running it, captures output, redacts secrets from anything it reports, and turns a failure into a
 * {@link ToolError} (exit code 4) carrying the tail of the program's output.
 */
import { execa } from 'execa';
import { ToolError } from '../errors.js';
import { redact, type Secret } from '../secret.js';

export interface RunOptions {
  cwd?: string;
  /** Extra environment for the child; secrets go here (never argv). */
  env?: Record<string, string>;
  /** Bytes or text for the child's stdin. */
  input?: string | Uint8Array;
  /** Secrets to mask in any output we report. */
  secrets?: readonly Secret[];
  /** Exit codes that count as success (default [0]). */
  okExitCodes?: readonly number[];
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

const TAIL_LINES = 20;

function tail(text: string): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-TAIL_LINES).join('\n');
}

/** Whether `tool` can be found on PATH (or is an existing path). */
export async function hasTool(tool: string): Promise<boolean> {
  const r = await execa('sh', ['-c', 'command -v "$1"', 'sh', tool], { reject: false });
  return r.exitCode === 0;
}

/** Run `tool args…`; resolves with its output, or throws ToolError when missing or failing. */
export async function runTool(tool: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  if (!(await hasTool(tool))) {
    throw new ToolError(tool, `not found on PATH; install it or choose another option (see README "Requirements")`);
  }
  const secrets = opts.secrets ?? [];
  const r = await execa(tool, [...args], {
    cwd: opts.cwd,
    env: opts.env,
    input: opts.input,
    reject: false,
    timeout: opts.timeoutMs,
    cancelSignal: opts.signal,
    encoding: 'utf8',
    stripFinalNewline: false,
  });
  const stdout = String(r.stdout ?? '');
  const stderr = String(r.stderr ?? '');
  const ok = opts.okExitCodes ?? [0];
  if (r.exitCode === undefined || !ok.includes(r.exitCode)) {
    const why = r.timedOut ? 'timed out' : r.exitCode === undefined ? `was killed (${r.signal ?? 'unknown signal'})` : `exited with ${r.exitCode}`;
    throw new ToolError(tool, why, redact(tail(`${stderr}\n${stdout}`), secrets));
  }
  return { exitCode: r.exitCode, stdout, stderr };
}

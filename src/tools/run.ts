/**
 * The single boundary through which aiwatch-deploy runs external programs (execa). It finds the program on PATH
 * itself (no shell), captures output, redacts secrets from anything it reports, and turns a failure into a
 * {@link ToolError} (exit code 4) carrying the tail of the program's output.
 *
 * What a child gets (issue 16): never our environment. Keys and passwords may sit in it (AIWATCH_ORG_API_KEY,
 * AIWATCH_PFX_PASSWORD, a CI runner's tokens), and anything we run — and anything it runs — could read them. A child
 * gets only {@link CHILD_ENV_NAMES} copied from ours: PATH, HOME, the locale, TMPDIR, TZ, the login name, plus what
 * the tools we run document needing: the proxy and CA-bundle variables of libcurl/OpenSSL (osslsigncode -ts,
 * rcodesign's timestamp request) and DEVELOPER_DIR (which Xcode codesign/productsign/pkgbuild use on macOS).
 * Secrets reach a child only through its stdin or a 0600 file in a private 0700 folder. Every child runs under
 * umask 077, so what a tool writes next to a secret (osslsigncode's signed copy of a script holding the key) is
 * private from its first byte; a file that leaves the private folder gets its mode from src/io.
 */
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { ToolError } from '../errors.js';
import { redact, type Secret } from '../secret.js';

/** The variables a child may inherit from us (when we have them); nothing else is passed. */
export const CHILD_ENV_NAMES: readonly string[] = [
  'PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'LC_MESSAGES', 'TZ', 'TMPDIR',
  'http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY', 'SSL_CERT_FILE', 'SSL_CERT_DIR',
  'DEVELOPER_DIR',
];

/** Names that must never reach a child, even as an explicit extra. */
const SECRET_NAME = /^AIWATCH_|PASSWORD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|(^|_)KEY($|_)/i;

export interface RunOptions {
  cwd?: string;
  /** Extra, non-secret environment for the child (a secret-looking name is a programming error). */
  env?: Record<string, string>;
  /** Bytes or text for the child's stdin; the one channel for a secret besides a 0600 file. */
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

/** The environment a child gets: {@link CHILD_ENV_NAMES} from `from`, plus `extra`. */
export function childEnv(extra: Record<string, string> = {}, from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of CHILD_ENV_NAMES) {
    const v = from[name];
    if (v !== undefined) env[name] = v;
  }
  for (const [name, v] of Object.entries(extra)) {
    if (SECRET_NAME.test(name)) throw new Error(`internal: ${name} looks like a secret; secrets reach a tool through stdin or a 0600 file, never its environment`);
    env[name] = v;
  }
  return env;
}

async function isProgram(file: string): Promise<boolean> {
  try {
    await fsp.access(file, constants.X_OK);
    return (await fsp.stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * The program `tool` names: a path (with a slash) as it is, otherwise the first executable regular file of that name
 * in a PATH folder — found here, so nothing runs to look. Empty PATH entries (the current folder) are skipped.
 */
export async function resolveTool(tool: string, searchPath = process.env.PATH ?? ''): Promise<string | undefined> {
  if (tool.includes('/')) return (await isProgram(tool)) ? path.resolve(tool) : undefined;
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir === '' || !path.isAbsolute(dir)) continue;
    const file = path.join(dir, tool);
    if (await isProgram(file)) return file;
  }
  return undefined;
}

/** Whether `tool` can be found on PATH (or is an executable file). */
export async function hasTool(tool: string): Promise<boolean> {
  return (await resolveTool(tool)) !== undefined;
}

/** Run `tool args…`; resolves with its output, or throws ToolError when missing or failing. */
export async function runTool(tool: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const program = await resolveTool(tool);
  if (!program) {
    throw new ToolError(tool, `not found on PATH; install it or choose another option (see README "Requirements")`);
  }
  const secrets = opts.secrets ?? [];
  // umask 077 for the child (execa cannot set one): `sh` sets it and execs the program, so the PID, signals and
  // exit status are the program's. osslsigncode creates its output 0666 & ~umask and refuses an existing one.
  // execa (~110 modules) is loaded by the first tool run, not by every command's start (docs/benchmarks.md).
  const { execa } = await import('execa');
  const r = await execa('/bin/sh', ['-c', 'umask 077 && exec "$0" "$@"', program, ...args], {
    cwd: opts.cwd,
    env: childEnv(opts.env),
    extendEnv: false,
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

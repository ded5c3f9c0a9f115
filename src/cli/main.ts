/**
 * The CLI entry: parses the whole argv first (src/cli/parse.ts: a usage error runs nothing), then runs the chosen
 * command, prints its result and maps every error to the exit code in README "Exit codes". This is the only place
 * that decides an exit code. Everything printed passes one redaction step (src/cli/redact.ts): messages and --json
 * against the secrets collected from argv and the environment, and key-shaped runs everywhere — the text result
 * on stdout (a printed script, a report) gets only the latter, so that a short password given by mistake cannot
 * blank words of a script. With --json, stdout carries one object: the result plus `warnings`, or `{ok: false, error: {kind, exitCode, message, problems},
 * warnings}` for any failure.
 */
import { BUILDER_VERSION } from '../config/package-version.js';
import { AiwatchError, ExitCode, UsageError } from '../errors.js';
import type { CliContext, CommandResult } from './command.js';
import { stableJson } from '../formats/json.js';
import { parseArgv } from './parse.js';
import { createRedactor, maskKeyShapes, secretValues } from './redact.js';

export interface MainIo {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  stdin?: NodeJS.ReadableStream;
  env?: NodeJS.ProcessEnv;
  isTTY?: boolean;
  cwd?: string;
  signal?: AbortSignal;
}

/** An AbortSignal fired by SIGINT/SIGTERM while a command runs; `release` removes the handlers afterwards. */
function processSignal(): { signal: AbortSignal; release: () => void } {
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: ac.signal,
    release: () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
}

interface Printer {
  json: boolean;
  /** stdout, for messages and --json. */
  out: (text: string) => void;
  /** stdout, for a command's text result. */
  result: (text: string) => void;
  err: (text: string) => void;
  warnings: string[];
}

const withNewline = (t: string): string => (t.endsWith('\n') ? t : `${t}\n`);

/** The kind of a failure known only by its exit code (a result without `failure`). */
function kindOfExit(code: number): string {
  const names: Record<number, string> = { 1: 'problems', 2: 'usage', 3: 'input-file', 4: 'tool', 5: 'network', 6: 'rejected', 130: 'interrupted' };
  return names[code] ?? 'failed';
}

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[], io: MainIo = {}): Promise<number> {
  const env = io.env ?? process.env;
  const cwd = io.cwd ?? process.cwd();
  const redact = createRedactor(secretValues(argv, cwd, env));
  const rawOut = io.stdout ?? ((t: string) => void process.stdout.write(t));
  const rawErr = io.stderr ?? ((t: string) => void process.stderr.write(t));
  const p: Printer = {
    json: argv.includes('--json') || argv.includes('--json=true'),
    out: (t) => rawOut(redact(t)),
    result: (t) => rawOut(maskKeyShapes(t)),
    err: (t) => rawErr(redact(t)),
    warnings: [],
  };
  if (argv.length === 1 && argv[0] === '--version') {
    p.out(`${BUILDER_VERSION}\n`);
    return ExitCode.ok;
  }

  const parsed = await parseArgv(argv, process.stdout.columns);
  if (parsed.kind === 'help') {
    p.out(parsed.text);
    return ExitCode.ok;
  }
  if (parsed.kind === 'error') return report(parsed.error, p);
  p.json = parsed.args.json === true;

  const own = io.signal ? undefined : processSignal();
  const ctx: CliContext = {
    json: p.json,
    stdout: p.out,
    stderr: p.err,
    stdin: io.stdin ?? process.stdin,
    env,
    isTTY: io.isTTY ?? Boolean(process.stderr.isTTY),
    cwd,
    signal: io.signal ?? own!.signal,
    warn: (message) => {
      p.warnings.push(message);
      if (!p.json) p.err(`WARNING: ${message}\n`);
    },
  };
  let result: CommandResult;
  try {
    result = await parsed.command.run(parsed.args, ctx);
  } catch (e) {
    return report(e, p);
  } finally {
    own?.release();
  }
  return print(result, p);
}

function print(result: CommandResult, p: Printer): number {
  const exitCode = result.exitCode ?? ExitCode.ok;
  if (!p.json) {
    if (result.text) p.result(withNewline(result.text));
    return exitCode;
  }
  const body: Record<string, unknown> = { ...(result.json as Record<string, unknown>), warnings: [...p.warnings, ...(result.warnings ?? [])] };
  if (exitCode !== ExitCode.ok && body.error === undefined) {
    const f = result.failure ?? { kind: kindOfExit(exitCode), message: result.text.split('\n')[0] ?? '', problems: [] };
    body.error = { kind: f.kind, exitCode, message: f.message, problems: [...f.problems] };
  }
  p.out(stableJson(body));
  return exitCode;
}

function report(e: unknown, p: Printer): number {
  let error: { kind: string; exitCode: number; message: string; problems: string[] };
  if (e instanceof AiwatchError) {
    error = { kind: e.kind, exitCode: e.exitCode, message: e.message, problems: e instanceof UsageError ? e.problems : [e.message] };
    p.err(`aiwatch-deploy: ${e.message}\n`);
  } else {
    const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
    error = { kind: 'internal', exitCode: ExitCode.tool, message: e instanceof Error ? e.message : String(e), problems: [] };
    p.err(`aiwatch-deploy: internal error: ${message}\n`);
  }
  if (p.json) p.out(stableJson({ ok: false, error, warnings: p.warnings }));
  return error.exitCode;
}

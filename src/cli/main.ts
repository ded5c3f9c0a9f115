/**
 * The CLI entry: builds yargs from the command table, runs the chosen command, prints its result and maps every
 * error to the exit code in README "Exit codes". This is the only place that decides an exit code.
 */
import yargs from 'yargs';
import { BUILDER_VERSION } from '../config/package-version.js';
import { AiwatchError, ExitCode, UsageError } from '../errors.js';
import type { CliContext, CommandResult } from './command.js';
import { commands } from './commands/index.js';
import { stableJson } from './json.js';

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

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[], io: MainIo = {}): Promise<number> {
  const out = io.stdout ?? ((t: string) => void process.stdout.write(t));
  const err = io.stderr ?? ((t: string) => void process.stderr.write(t));
  const wantsJson = argv.includes('--json');
  if (argv.length === 1 && argv[0] === '--version') {
    out(`${BUILDER_VERSION}\n`);
    return ExitCode.ok;
  }
  let result: CommandResult | undefined;
  let failure: unknown;

  const ctxBase = {
    json: wantsJson,
    stdout: out,
    stderr: err,
    stdin: io.stdin ?? process.stdin,
    env: io.env ?? process.env,
    isTTY: io.isTTY ?? Boolean(process.stderr.isTTY),
    cwd: io.cwd ?? process.cwd(),
  };

  let parser = yargs(argv)
    .scriptName('aiwatch-deploy')
    .usage('$0 <command> [options]\n\nBuild, sign, notarize and verify an MDM rollout of the aiwatch agent.')
    .option('json', { type: 'boolean', default: false, describe: 'Print a machine-readable JSON result on stdout' })
    .strict()
    .demandCommand(1, 'Name a command; see --help.')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 110))
    .exitProcess(false)
    .showHelpOnFail(false)
    .fail((msg, e) => {
      failure = e ?? new UsageError(msg);
    })
    .version(false)
    .help();

  for (const c of commands) {
    parser = parser.command(
      c.command,
      c.describe,
      (y) => {
        let b = c.builder(y);
        for (const [cmd, what] of c.examples) b = b.example(cmd, what);
        return b;
      },
      async (args) => {
        const own = io.signal ? undefined : processSignal();
        const ctx: CliContext = { ...ctxBase, signal: io.signal ?? own!.signal };
        try {
          result = await c.run(args as Record<string, unknown>, ctx);
        } finally {
          own?.release();
        }
      },
    );
  }

  let helpText = '';
  try {
    await parser.parseAsync(argv, {}, (e, _args, output) => {
      if (e) failure ??= e;
      helpText = output;
    });
  } catch (e) {
    failure ??= e;
  }
  if (failure === undefined && helpText && result === undefined) {
    out(helpText.endsWith('\n') ? helpText : `${helpText}\n`);
    return ExitCode.ok;
  }
  if (failure !== undefined) return report(failure, wantsJson, out, err);
  if (!result) return ExitCode.ok;
  if (wantsJson) out(stableJson(result.json));
  else if (result.text) out(result.text.endsWith('\n') ? result.text : `${result.text}\n`);
  return result.exitCode ?? ExitCode.ok;
}

function report(e: unknown, json: boolean, out: (t: string) => void, err: (t: string) => void): number {
  if (e instanceof AiwatchError) {
    if (json) {
      const problems = e instanceof UsageError ? e.problems : [e.message];
      out(stableJson({ ok: false, error: { kind: e.kind, exitCode: e.exitCode, message: e.message, problems } }));
    }
    err(`aiwatch-deploy: ${e.message}\n`);
    return e.exitCode;
  }
  // yargs' own validation errors (unknown option, missing argument) are usage errors.
  if (e instanceof Error && e.name === 'YError') {
    if (json) out(stableJson({ ok: false, error: { kind: 'usage', exitCode: ExitCode.usage, message: e.message, problems: [e.message] } }));
    err(`aiwatch-deploy: ${e.message}\n`);
    return ExitCode.usage;
  }
  const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
  err(`aiwatch-deploy: internal error: ${message}\n`);
  return ExitCode.tool;
}

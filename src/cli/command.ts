/**
 * The shape of a CLI command. Commands are adapters of a few dozen lines: parse options (yargs builder), call the
 * library, return a result. `main.ts` prints the result (text, or JSON with `--json`) and maps errors to exit codes.
 */
import type { Argv } from 'yargs';

/** Everything a command may touch of the process, injectable for tests. */
export interface CliContext {
  /** `--json` was given: the result's `json` is printed on stdout, progress and text are suppressed. */
  json: boolean;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  /** stderr is a terminal: progress bars may be drawn. */
  isTTY: boolean;
  cwd: string;
  /** Aborted on SIGINT/SIGTERM; long work checks it and cleans up. */
  signal: AbortSignal;
  /**
   * A warning the user must see: printed at once on stderr as `WARNING: …` (not with --json), and carried in the
   * `warnings` array of the --json output, success or failure.
   */
  warn: (message: string) => void;
}

export interface CommandResult {
  /** Printed when not `--json`. */
  text: string;
  /** Printed (stable key order, 2-space indent) with `--json`. Must never contain a revealed secret. */
  json: unknown;
  /** Default 0. */
  exitCode?: number;
  /** Warnings that are part of the result (already in `text`): added to the `warnings` of the --json output. */
  warnings?: readonly string[];
  /**
   * With a non-zero `exitCode`: what failed, for the `error` object of the --json output
   * (`{kind, exitCode, message, problems}`, as every failure has). Not printed in text mode: `text` says it.
   */
  failure?: { kind: string; message: string; problems: readonly string[] };
}

export interface AiwatchCommand {
  /** yargs command string, e.g. `tenant`, `verify <files..>`. */
  command: string;
  describe: string;
  /** `[command line, what it does]`, shown in --help. */
  examples: ReadonlyArray<readonly [string, string]>;
  builder: (y: Argv) => Argv;
  run: (args: Record<string, unknown>, ctx: CliContext) => Promise<CommandResult>;
}

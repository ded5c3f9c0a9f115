/**
 * The shape of a CLI command. Commands are adapters of a few dozen lines: declare options (data, src/cli/options.ts),
 * call the library, return a result. `defineCommand` turns a declaration into the yargs builder and a `run` that
 * receives arguments typed from the declaration. `main.ts` prints the result (text, or JSON with `--json`) and maps
 * errors to exit codes.
 */
import type { Argv } from 'yargs';
import { declareOptions, declarePositionals, readArgs, type InferArgs, type OptionDefs, type OptionGroups, type PositionalDefs } from './options.js';

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

/** A command as parse.ts and main.ts see it: the yargs builder, and `run` over what yargs parsed. */
export interface AiwatchCommand {
  /** yargs command string, e.g. `tenant`, `verify <files..>`. */
  command: string;
  describe: string;
  /** `[command line, what it does]`, shown in --help. */
  examples: ReadonlyArray<readonly [string, string]>;
  builder: (y: Argv) => Argv;
  /** Checks the parsed values against the declaration (a usage error if one does not fit), then runs. */
  run: (parsed: Readonly<Record<string, unknown>>, ctx: CliContext) => Promise<CommandResult>;
}

/** A command as it is written: its options as data, `run` typed from them. */
export interface CommandDef<O extends OptionDefs, P extends PositionalDefs> {
  command: string;
  describe: string;
  examples: ReadonlyArray<readonly [string, string]>;
  /** The positionals of `command`, in its order. */
  positionals?: P;
  /**
   * Options that cannot be declared before the CLI starts (the tenant flags, derived from profiles/tenant-keys.json
   * by tenant-flags.ts): declared first, read from the same arguments by their own parser, which checks each value.
   */
  runtimeOptions?: (y: Argv) => Argv;
  options: O;
  groups?: OptionGroups;
  run: (args: InferArgs<O, P>, ctx: CliContext) => Promise<CommandResult>;
}

/** The builder and the checked, typed `run` of a declared command. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- no positionals is the common case
export function defineCommand<const O extends OptionDefs, const P extends PositionalDefs = {}>(def: CommandDef<O, P>): AiwatchCommand {
  return {
    command: def.command,
    describe: def.describe,
    examples: def.examples,
    builder: (y) => {
      const b = declarePositionals(y, def.positionals);
      return declareOptions(def.runtimeOptions ? def.runtimeOptions(b) : b, def.options, def.groups);
    },
    run: (parsed, ctx) => Promise.resolve().then(() => def.run(readArgs(parsed, def.options, def.positionals), ctx)),
  };
}

/**
 * Parsing argv for main.ts, before anything runs. yargs is built from the command table in strict mode; its command
 * handlers only record the chosen command and its arguments, so a command runs only after the whole argv was
 * validated (yargs calls a handler even when its own validation failed, when `.fail` does not throw). Checked here
 * beyond yargs, each a usage error: a switch given a value other than true/false (`--enforcement=maybe` would
 * otherwise read as false), a single-valued option given twice (`--out a --out b` would become `a,b`), an option or
 * positional given an empty value (`--out` at the end would become the working folder). yargs' own messages are
 * tidied: camelCase duplicates of unknown flags dropped, a near miss of a known flag suggested.
 */
import yargs, { type Argv } from 'yargs';
import { UsageError } from '../errors.js';
import type { AiwatchCommand } from './command.js';
import { commandsFor } from './commands/index.js';
import { optionWords } from './options.js';

export type ParseOutcome =
  | { kind: 'help'; text: string }
  | { kind: 'command'; command: AiwatchCommand; args: Record<string, unknown> }
  | { kind: 'error'; error: unknown };

/** What yargs' `getOptions()` returns (the part read here; absent from @types/yargs). */
interface DeclaredOptions {
  boolean: string[];
  string: string[];
  array: string[];
  key: Record<string, boolean>;
}

const USAGE = '$0 <command> [options]\n\nBuild, sign, notarize and verify an MDM rollout of the aiwatch agent.';

/** The value-carrying tokens of argv, up to `--`. */
function flagTokens(argv: readonly string[]): string[] {
  return optionWords(argv).filter((t) => t.startsWith('--'));
}

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** `--x=value` for a switch: only true and false are values of a switch; `--no-x` takes none. */
export function switchValueProblems(argv: readonly string[], booleans: readonly string[]): string[] {
  const isSwitch = (n: string): boolean => booleans.includes(n) || booleans.includes(kebab(n));
  const out: string[] = [];
  for (const t of flagTokens(argv)) {
    const m = /^--([^=]+)=([\s\S]*)$/.exec(t);
    if (!m) continue;
    const [, name, value] = m as unknown as [string, string, string];
    const negated = name.startsWith('no-') && isSwitch(name.slice(3)) && !isSwitch(name);
    const base = negated ? name.slice(3) : name;
    if (negated) out.push(`${t}: --${base} is a switch and --no-${base} takes no value; write --${base} or --no-${base}`);
    else if (isSwitch(name) && value !== 'true' && value !== 'false') {
      out.push(`${t}: --${name} is a switch; write --${name} or --no-${name} (or --${name}=true / --${name}=false)`);
    }
  }
  return out;
}

/**
 * Options given twice that take one value, and options or positionals given an empty value — also an option
 * written last or before another flag, which yargs would quietly turn into its default (`--out` → `out`).
 */
function valueProblems(argv: readonly string[], args: Record<string, unknown>, o: DeclaredOptions, positionals: readonly string[]): string[] {
  const out: string[] = [];
  const takesValue = (n: string): boolean => n in o.key && !o.boolean.includes(n) && !o.array.includes(n);
  const tokens = flagTokens(argv);
  const head = optionWords(argv);
  for (const [i, t] of head.entries()) {
    if (!tokens.includes(t) || t.includes('=')) continue;
    const name = kebab(t.slice(2));
    const next = head[i + 1];
    if (takesValue(name) && (next === undefined || next.startsWith('-'))) out.push(`--${name}: expected a value, got none`);
  }
  for (const key of Object.keys(o.key)) {
    if (!takesValue(key)) continue;
    const v = args[key];
    const shown = positionals.includes(key) ? `<${key}>` : `--${key}`;
    if (Array.isArray(v)) out.push(`${shown} was given ${v.length} times (${v.map((x) => JSON.stringify(String(x))).join(', ')}); give it once`);
    else if (v === '' && !out.includes(`${shown}: expected a value, got none`)) out.push(`${shown}: expected a value, got an empty one`);
  }
  return out;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j += 1) d[0]![j] = j;
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const row = d[i]!;
      row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The known flag nearest to an unknown one, when it is a plausible slip (at most 2 edits, fewer for short names). */
function nearest(name: string, known: readonly string[]): string | undefined {
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(name, k);
    if (!best || d < best.d) best = { k, d };
  }
  return best && best.d <= Math.min(2, Math.floor(name.length / 3)) ? best.k : undefined;
}

/** Flags a release renamed, with what replaced them: named in the unknown-flag message instead of a guess. */
const RENAMED: Readonly<Record<string, string>> = {
  'allow-unsigned-binary': '--development-build (it also covers a binary signed by a certificate that is not an Apple Developer ID)',
};

/** yargs' messages, made plainer: "Unknown arguments: bogus-flag, bogusFlag" names the flag once, with a suggestion. */
function tidyMessage(message: string, argv: readonly string[], o: DeclaredOptions | undefined, command: AiwatchCommand | undefined): string {
  const unknown = /^Unknown arguments?: (.*)$/s.exec(message);
  if (unknown) {
    const names = unknown[1]!.split(', ');
    const kept = names.filter((n) => !names.some((m) => m !== n && m.includes('-') && m.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase()) === n));
    const flags = new Set(flagTokens(argv).map((t) => t.replace(/^--(no-)?/, '').replace(/=[\s\S]*$/, '')));
    const known = o ? Object.keys(o.key).filter((k) => k !== 'version') : [];
    const shown = kept.map((n) => {
      if (RENAMED[n]) return `${n} (renamed: use ${RENAMED[n]})`;
      const hint = flags.has(n) ? nearest(n, known) : undefined;
      return hint ? `${n} (did you mean --${hint}?)` : n;
    });
    return `Unknown argument${shown.length > 1 ? 's' : ''}: ${shown.join(', ')}`;
  }
  const given = argv.find((a) => !a.startsWith('-'));
  if (/^Did you mean /.test(message) && given) return `Unknown command: ${given}. ${message}`;
  const few = /^Not enough non-option arguments: got (\d+)/.exec(message);
  if (command && few) {
    const missing = command.command.split(' ').filter((w) => w.startsWith('<')).slice(Number(few[1]));
    if (missing.length > 0) return `Missing required argument${missing.length > 1 ? 's' : ''}: ${missing.join(', ')} (usage: aiwatch-deploy ${command.command})`;
  }
  return message;
}

/** The positional names of a yargs command string: `verify <files..>` → ['files']. */
function positionalsOf(command: string): string[] {
  return [...command.matchAll(/[<[]([^\]>.]+)(?:\.\.)?[\]>]/g)].map((m) => m[1]!);
}

/** `--help` or `-h` before `--`: the help will be printed. */
function asksForHelp(argv: readonly string[]): boolean {
  return optionWords(argv).some((a) => a === '-h' || /^--help(=|$)/.test(a));
}

/** Parse `argv` completely; nothing of a command runs here. `columns` sets the help width. */
export async function parseArgv(argv: string[], columns: number): Promise<ParseOutcome> {
  let failure: { message: string; error?: unknown } | undefined;
  let chosen: AiwatchCommand | undefined;
  let declared: DeclaredOptions | undefined;
  let parsedArgs: Record<string, unknown> | undefined;

  let parser: Argv = yargs(argv)
    .scriptName('aiwatch-deploy')
    .usage(USAGE)
    .option('json', { type: 'boolean', default: false, describe: 'Print a machine-readable JSON result on stdout' })
    .strict()
    .demandCommand(1, 'Name a command; see --help.')
    .recommendCommands()
    // yargs renders the whole help of the chosen command after every parse (to cache it), even when nobody reads it;
    // wrapping it to the terminal costs ~40–130 ms of a start (string widths of every option), so only a run that
    // asks for help gets it wrapped (docs/benchmarks.md "Start-up").
    .wrap(asksForHelp(argv) ? Math.min(110, columns || 110) : null)
    .exitProcess(false)
    .showHelpOnFail(false)
    .fail((msg, e) => {
      failure ??= { message: msg ?? (e instanceof Error ? e.message : String(e)), error: e ?? undefined };
    })
    .version(false)
    .help();

  for (const c of await commandsFor(argv)) {
    parser = parser.command(
      c.command,
      c.describe,
      (y) => {
        let b = c.builder(y);
        for (const [cmd, what] of c.examples) b = b.example(cmd, what);
        chosen = c;
        declared = (b as unknown as { getOptions: () => DeclaredOptions }).getOptions();
        return b;
      },
      (args) => {
        parsedArgs = args;
      },
    );
  }

  let helpText = '';
  try {
    await parser.parseAsync(argv, {}, (e, _args, output) => {
      if (e) failure ??= { message: e.message, error: e };
      helpText = output;
    });
  } catch (e) {
    failure ??= { message: e instanceof Error ? e.message : String(e), error: e };
  }
  // A switch given a value explains the yargs failure it may cause (`--no-x=false` reads as an unknown `no-x`).
  const switches = declared ? switchValueProblems(argv, declared.boolean) : [];
  if (switches.length > 0 && !helpText) return { kind: 'error', error: new UsageError(switches) };
  if (failure !== undefined) {
    const e = failure.error;
    // yargs' validation passes no error or a YError; anything else (a builder bug) is reported as it is.
    if (e === undefined || (e instanceof Error && e.name === 'YError')) return { kind: 'error', error: new UsageError(tidyMessage(failure.message, argv, declared, chosen)) };
    return { kind: 'error', error: e };
  }
  if (helpText && parsedArgs === undefined) return { kind: 'help', text: helpText.endsWith('\n') ? helpText : `${helpText}\n` };
  if (!chosen || !parsedArgs || !declared) return { kind: 'error', error: new UsageError('Name a command; see --help.') };
  const problems = valueProblems(argv, parsedArgs, declared, positionalsOf(chosen.command));
  if (problems.length > 0) return { kind: 'error', error: new UsageError(problems) };
  return { kind: 'command', command: chosen, args: parsedArgs };
}

/**
 * Command options declared as data, and the argument types derived from them (after unjs/citty). A command lists
 * its positionals and options as constant objects; `declareOptions` turns them into yargs calls (the help text is
 * yargs' own, so it is unchanged by the declaration style) and `InferArgs` derives what `run` receives: a string
 * option is `string | undefined`, a switch `boolean` (with a default) or `boolean | undefined`, choices their union,
 * an option with `demandOption` or a default is always present. `readArgs` checks the parsed values against the
 * same declarations at run time, so the type is a promise kept, not a cast: an option given twice, an empty value
 * or a value of the wrong kind is a usage error even when a caller parses argv without src/cli/parse.ts.
 */
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';

/** The words of argv before `--` (after it every word is a value, for flags and commands alike). */
export function optionWords(argv: readonly string[]): readonly string[] {
  const end = argv.indexOf('--');
  return end < 0 ? argv : argv.slice(0, end);
}

export interface OptionDef {
  /** Omitted only with `choices` (shown then without a `[string]` tag). */
  readonly type?: 'string' | 'boolean' | 'number' | 'array';
  readonly choices?: readonly string[];
  /** true, or the message yargs prints when the option is missing. */
  readonly demandOption?: true | string;
  readonly default?: string | boolean | number | readonly string[];
  readonly describe?: string;
  readonly hidden?: boolean;
}

/** A positional of the command string: `<file>` is one string, `<files..>` (array) at least one. */
export interface PositionalDef {
  readonly type: 'string';
  readonly array?: true;
  readonly describe: string;
}

export type OptionDefs = Readonly<Record<string, OptionDef>>;
export type PositionalDefs = Readonly<Record<string, PositionalDef>>;

/** Help sections: the options named, under a title. */
export type OptionGroups = ReadonlyArray<readonly [readonly string[], string]>;

type Choice<D> = D extends { readonly choices: readonly (infer C extends string)[] } ? C : string;
type ValueOf<D> = D extends { readonly type: 'boolean' } ? boolean : D extends { readonly type: 'number' } ? number : D extends { readonly type: 'array' } ? Choice<D>[] : Choice<D>;
type AlwaysPresent<D> = D extends { readonly demandOption: true | string } ? true : D extends { readonly default: unknown } ? true : false;

/** The parsed options of `O`. */
export type InferOptions<O extends OptionDefs> = { readonly [K in keyof O]: AlwaysPresent<O[K]> extends true ? ValueOf<O[K]> : ValueOf<O[K]> | undefined };
/** The parsed positionals of `P` (all required: the command strings use `<…>`). */
export type InferPositionals<P extends PositionalDefs> = { readonly [K in keyof P]: P[K] extends { readonly array: true } ? string[] : string };
/** What a command's `run` receives. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- no positionals is the common case
export type InferArgs<O extends OptionDefs, P extends PositionalDefs = {}> = InferPositionals<P> & InferOptions<O>;

/** The yargs calls for positionals. */
export function declarePositionals(y: Argv, positionals: PositionalDefs | undefined): Argv {
  let b = y;
  for (const [name, def] of Object.entries(positionals ?? {})) b = b.positional(name, { ...def });
  return b;
}

/** The yargs calls for options, in declaration order, then the help groups. */
export function declareOptions(y: Argv, options: OptionDefs, groups: OptionGroups = []): Argv {
  let b = y;
  for (const [name, def] of Object.entries(options)) b = b.option(name, typeof def.default === 'object' ? { ...def, default: [...def.default] } : { ...def });
  // An option named `version` (build's agent version) is ours: yargs' own --version is turned off, else yargs warns.
  if (Object.hasOwn(options, 'version')) b = b.version(false);
  for (const [names, title] of groups) b = b.group([...names], title);
  return b;
}

function kindOf(v: unknown): string {
  return Array.isArray(v) ? 'a list' : v === '' ? 'an empty value' : typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** What is wrong with one parsed value, or undefined. */
function valueProblem(flag: string, def: OptionDef | PositionalDef, v: unknown, required: boolean): string | undefined {
  if (v === undefined) return required ? `${flag} is required` : undefined;
  const many = def.type === 'array' || ('array' in def && def.array === true);
  const choices = 'choices' in def ? def.choices : undefined;
  const one = (x: unknown): string | undefined => {
    if (def.type === 'boolean') return typeof x === 'boolean' ? undefined : `${flag} is a switch, got ${kindOf(x)}`;
    if (def.type === 'number') return typeof x === 'number' && !Number.isNaN(x) ? undefined : `${flag}: expected a number, got ${kindOf(x)}`;
    if (typeof x !== 'string' || x === '') return `${flag}: expected one value, got ${kindOf(x)}`;
    return choices && !choices.includes(x) ? `${flag}: expected one of ${choices.join(', ')}, got ${JSON.stringify(x)}` : undefined;
  };
  if (!many) return one(v);
  if (!Array.isArray(v)) return `${flag}: expected a list, got ${kindOf(v)}`;
  return v.map(one).find((p) => p !== undefined);
}

/** Every parsed value fits its declaration: the type guard behind `readArgs`. */
function fits<O extends OptionDefs, P extends PositionalDefs>(raw: Readonly<Record<string, unknown>>, options: O, positionals: P | undefined, problems: string[]): raw is InferArgs<O, P> {
  for (const [name, def] of Object.entries(positionals ?? {})) {
    const p = valueProblem(`<${name}>`, def, raw[name], true);
    if (p) problems.push(p);
  }
  for (const [name, def] of Object.entries(options)) {
    const p = valueProblem(`--${name}`, def, raw[name], def.demandOption !== undefined || def.default !== undefined);
    if (p) problems.push(p);
  }
  return problems.length === 0;
}

/** The typed arguments of a command from what yargs parsed; a value that does not fit is a usage error. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- no positionals is the common case
export function readArgs<O extends OptionDefs, P extends PositionalDefs = {}>(raw: Readonly<Record<string, unknown>>, options: O, positionals?: P): InferArgs<O, P> {
  const problems: string[] = [];
  if (!fits(raw, options, positionals, problems)) throw new UsageError(problems);
  return raw;
}

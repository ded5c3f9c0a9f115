/**
 * src/cli/options.ts and defineCommand: the argument types derived from a command's option declarations (checked by
 * tsc, which compiles this file), the yargs calls made from them, and the run-time check that makes the type a kept
 * promise: a value that does not fit its declaration is a usage error, and the command does not run.
 */
import { PassThrough } from 'node:stream';
import yargs from 'yargs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { defineCommand, type CliContext } from '../../src/cli/command.js';
import { declareOptions, readArgs, type InferArgs } from '../../src/cli/options.js';
import { UsageError } from '../../src/errors.js';

const OPTIONS = {
  out: { type: 'string', describe: 'Output' },
  dir: { type: 'string', default: 'out', describe: 'Folder' },
  csv: { type: 'string', demandOption: 'give --csv', describe: 'CSV' },
  arch: { type: 'string', choices: ['arm64', 'x86_64'], default: 'arm64', describe: 'Arch' },
  format: { type: 'array', choices: ['json', 'plist'], default: ['json'], describe: 'Formats' },
  demo: { type: 'boolean', default: false, describe: 'Demo' },
  stdin: { type: 'boolean', describe: 'Read stdin' },
  count: { type: 'number', describe: 'How many' },
} as const;
const POSITIONALS = { files: { type: 'string', array: true, describe: 'Files' }, name: { type: 'string', describe: 'Name' } } as const;

type Args = InferArgs<typeof OPTIONS, typeof POSITIONALS>;

const parsed = (argv: string[]): Record<string, unknown> => declareOptions(yargs(argv).exitProcess(false).strict(), OPTIONS).parseSync();

function ctx(): CliContext {
  const stdin = new PassThrough();
  stdin.end();
  return { json: false, stdout: () => undefined, stderr: () => undefined, stdin, env: {}, isTTY: false, cwd: '/', signal: new AbortController().signal, warn: () => undefined };
}

describe('typed command arguments', () => {
  it('derives the type of each option from its declaration', () => {
    expectTypeOf<Args['out']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Args['dir']>().toEqualTypeOf<string>();
    expectTypeOf<Args['csv']>().toEqualTypeOf<string>();
    expectTypeOf<Args['arch']>().toEqualTypeOf<'arm64' | 'x86_64'>();
    expectTypeOf<Args['format']>().toEqualTypeOf<Array<'json' | 'plist'>>();
    expectTypeOf<Args['demo']>().toEqualTypeOf<boolean>();
    expectTypeOf<Args['stdin']>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf<Args['count']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<Args['files']>().toEqualTypeOf<string[]>();
    expectTypeOf<Args['name']>().toEqualTypeOf<string>();
  });

  it('reads what yargs parsed from the same declarations, defaults included', () => {
    const a = readArgs(parsed(['--csv', 't.csv', '--arch', 'x86_64', '--format', 'json', '--format', 'plist', '--count', '3']), OPTIONS);
    expect([a.csv, a.dir, a.arch, a.format, a.demo, a.stdin, a.out, a.count]).toEqual(['t.csv', 'out', 'x86_64', ['json', 'plist'], false, undefined, undefined, 3]);
  });

  it('refuses every value that does not fit its declaration, all at once', () => {
    const raw = { out: ['a', 'b'], dir: '', csv: undefined, arch: 'ppc', format: ['json', 'xml'], demo: 'yes', stdin: undefined, count: Number.NaN };
    let error: unknown;
    try {
      readArgs(raw, OPTIONS);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).problems).toEqual([
      '--out: expected one value, got a list',
      '--dir: expected one value, got an empty value',
      '--csv is required',
      '--arch: expected one of arm64, x86_64, got "ppc"',
      '--format: expected one of json, plist, got "xml"',
      '--demo is a switch, got "yes"',
      '--count: expected a number, got NaN',
    ]);
  });

  it('checks positionals: a list for `<files..>`, one value otherwise', () => {
    expect(() => readArgs({ files: 'a', name: ['x', 'y'], dir: 'o', csv: 'c', arch: 'arm64', format: ['json'], demo: false }, OPTIONS, POSITIONALS)).toThrow(
      /<files>: expected a list, got "a"/,
    );
  });

  it('defineCommand: run gets the typed arguments; a value that does not fit stops it before it runs', async () => {
    const seen: Array<'arm64' | 'x86_64'> = [];
    const command = defineCommand({
      command: 'demo',
      describe: 'a demo',
      examples: [],
      options: OPTIONS,
      run: (args) => {
        seen.push(args.arch);
        return Promise.resolve({ text: args.csv, json: { ok: true } });
      },
    });
    expect(await command.run(parsed(['--csv', 'x.csv']), ctx())).toEqual({ text: 'x.csv', json: { ok: true } });
    await expect(command.run({ ...parsed(['--csv', 'x.csv']), arch: 'ppc' }, ctx())).rejects.toThrow(/--arch: expected one of arm64, x86_64, got "ppc"/);
    expect(seen).toEqual(['arm64']);
  });
});

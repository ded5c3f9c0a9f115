import { PassThrough } from 'node:stream';
import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import type { CliContext } from '../../src/cli/command.js';
import { addIdentityFlags, IDENTITY_OPTIONS, identitySourceFromArgs, PKG_SIGNING_OPTIONS, timestampUrlFromArgs } from '../../src/cli/commands/identity-flags.js';
import { readArgs } from '../../src/cli/options.js';
import { UsageError } from '../../src/errors.js';

const parse = (argv: string[], allowUntrusted = true) =>
  readArgs(addIdentityFlags(yargs(argv).exitProcess(false).strict(), { allowUntrusted }).parseSync(), { ...IDENTITY_OPTIONS, ...PKG_SIGNING_OPTIONS });

function ctx(env: NodeJS.ProcessEnv = {}, stdinText?: string): CliContext {
  const stdin = new PassThrough();
  stdin.end(stdinText ?? '');
  return { json: false, stdout: () => undefined, stderr: () => undefined, stdin, env, isTTY: false, cwd: '/work', signal: new AbortController().signal, warn: () => undefined };
}

describe('identity flags', () => {
  it('pkg signing: Apple timestamp by default, --timestamp-url, --no-timestamp', () => {
    expect(timestampUrlFromArgs(parse([]))).toBe('http://timestamp.apple.com/ts01');
    expect(timestampUrlFromArgs(parse(['--timestamp-url', 'http://127.0.0.1:9/ts']))).toBe('http://127.0.0.1:9/ts');
    expect(timestampUrlFromArgs(parse(['--no-timestamp']))).toBeNull();
    expect(() => timestampUrlFromArgs(parse(['--timestamp-url', 'ftp:x']))).toThrow(/--timestamp-url: expected an http\(s\) URL, got "ftp:x"/);
    expect(() => parse(['--allow-untrusted'], false)).toThrow(/Unknown argument/);
  });

  it('resolves paths against the working folder and reads the password from stdin, env or file', async () => {
    const src = await identitySourceFromArgs(parse(['--p12', 'id.p12', '--p12-password-stdin']), ctx({}, 'pässword\n'));
    expect(src).toMatchObject({ kind: 'p12', file: '/work/id.p12' });
    expect(src.password?.reveal()).toBe('pässword');
    expect(String(src.password)).toBe('********');
    const env = await identitySourceFromArgs(parse(['--key', 'k.pem', '--cert', 'c.pem', '--chain', 'ch.pem']), ctx({ AIWATCH_P12_PASSWORD: 'x' }));
    expect(env).toMatchObject({ kind: 'pem', keyFile: '/work/k.pem', certFile: '/work/c.pem', chainFile: '/work/ch.pem' });
    expect(env.password?.label).toBe('AIWATCH_P12_PASSWORD');
  });

  it('refuses a password on argv, two password sources, two identities, or none', async () => {
    await expect(identitySourceFromArgs(parse(['--p12', 'a', '--p12-password', 'hunter2']), ctx())).rejects.toThrow(UsageError);
    await expect(identitySourceFromArgs(parse(['--p12', 'a', '--p12-password-stdin']), ctx({ AIWATCH_P12_PASSWORD: 'x' }))).rejects.toThrow(/give it one way only/);
    await expect(identitySourceFromArgs(parse(['--p12', 'a', '--key', 'k', '--cert', 'c']), ctx())).rejects.toThrow(/either as --p12, or as --key and --cert/);
    await expect(identitySourceFromArgs(parse(['--cert', 'c']), ctx())).rejects.toThrow(/--cert needs --key/);
    await expect(identitySourceFromArgs(parse([]), ctx())).rejects.toThrow(/a signing identity is required/);
  });
});

/**
 * CLI flags for a signing identity, shared by every command that signs (`sign-profile`, the pkg build):
 * `--p12 F` with its password from `--p12-password-file F`, `--p12-password-stdin` or AIWATCH_P12_PASSWORD
 * (`--p12-password` itself exists only to be refused without echoing it), or `--key F --cert F [--chain F]`
 * (an encrypted key takes the same password flags). Where a pkg is signed, also `--allow-untrusted`,
 * `--timestamp-url URL` (default Apple's) and `--no-timestamp`.
 */
import path from 'node:path';
import type { Argv } from 'yargs';
import { readSecret } from '../../config/secrets.js';
import { UsageError } from '../../errors.js';
import type { IdentitySource } from '../../sign/identity.js';
import { APPLE_TIMESTAMP_URL } from '../../sign/timestamp.js';
import type { CliContext } from '../command.js';
import { declareOptions, type InferOptions, type OptionDefs } from '../options.js';

export const P12_PASSWORD_ENV = 'AIWATCH_P12_PASSWORD';

/** The signing identity: a .p12 or PEM files, the password from a file, stdin or the environment. */
export const IDENTITY_OPTIONS = {
  p12: { type: 'string', describe: 'Signing identity: PKCS#12 file (.p12/.pfx) with the private key and certificate(s)' },
  'p12-password-file': { type: 'string', describe: `Password of --p12 (or of an encrypted --key), read from this file (or ${P12_PASSWORD_ENV}, or --p12-password-stdin)` },
  'p12-password-stdin': { type: 'boolean', describe: 'Read the --p12 password from standard input' },
  'p12-password': { type: 'string', hidden: true },
  key: { type: 'string', describe: 'Signing identity as PEM: the private key (with --cert)' },
  cert: { type: 'string', describe: 'Signing identity as PEM: the certificate (with --key)' },
  chain: { type: 'string', describe: 'Intermediate (and root) certificates, PEM, for --key/--cert' },
} as const satisfies OptionDefs;

/** Where a pkg (or a binary) is signed: an untrusted certificate for tests, and the timestamp. */
export const PKG_SIGNING_OPTIONS = {
  'allow-untrusted': {
    type: 'boolean',
    default: false,
    describe: 'Sign with a certificate that is not a Developer ID Installer chained to Apple (tests only: Installer calls the result untrusted)',
  },
  'timestamp-url': { type: 'string', default: APPLE_TIMESTAMP_URL, describe: 'RFC 3161 time-stamp server for the pkg signature' },
  timestamp: { type: 'boolean', default: true, describe: 'Timestamp the pkg signature (--no-timestamp: offline, but the signature then lapses with the certificate)' },
} as const satisfies OptionDefs;

export type IdentityArgs = InferOptions<typeof IDENTITY_OPTIONS>;
export type PkgSigningArgs = InferOptions<typeof PKG_SIGNING_OPTIONS>;

/** The identity flags on a yargs instance (with the pkg signing ones when `allowUntrusted`): for library tests. */
export function addIdentityFlags(y: Argv, opts: { allowUntrusted: boolean }): Argv {
  return declareOptions(y, opts.allowUntrusted ? { ...IDENTITY_OPTIONS, ...PKG_SIGNING_OPTIONS } : IDENTITY_OPTIONS);
}

/** The timestamp URL for createXarSigner from `--timestamp-url` / `--no-timestamp` (null: no timestamp). */
export function timestampUrlFromArgs(args: PkgSigningArgs): string | null {
  if (!args.timestamp) return null;
  const url = args['timestamp-url'];
  if (!/^https?:\/\/[^\s/]+/.test(url)) throw new UsageError(`--timestamp-url: expected an http(s) URL, got ${JSON.stringify(url)}`);
  return url;
}

/** The refusal of a password given on argv (`--p12-password`), whether or not anything is signed; else undefined. */
export function passwordOnArgvProblem(args: Pick<IdentityArgs, 'p12-password'>): string | undefined {
  if (args['p12-password'] === undefined) return undefined;
  return `--p12-password: passwords are not accepted on the command line (they would show in the process list and shell history); use --p12-password-file, --p12-password-stdin or ${P12_PASSWORD_ENV}`;
}

/** The identity source from parsed flags, the password read from its file / stdin / environment. */
export async function identitySourceFromArgs(args: IdentityArgs, ctx: CliContext): Promise<IdentitySource> {
  const onArgv = passwordOnArgvProblem(args);
  if (onArgv) throw new UsageError(onArgv);
  const abs = (v: string | undefined): string | undefined => (v === undefined ? undefined : path.resolve(ctx.cwd, v));
  const [p12, key, cert, chain] = [abs(args.p12), abs(args.key), abs(args.cert), abs(args.chain)];
  const pwFile = abs(args['p12-password-file']);
  const stdin = args['p12-password-stdin'] === true;
  const password = await readSecret(
    { file: pwFile, stdin, envName: P12_PASSWORD_ENV, flag: 'p12-password', kind: 'password', label: pwFile ? '--p12-password-file' : stdin ? '--p12-password-stdin' : P12_PASSWORD_ENV },
    { env: ctx.env, stdin: ctx.stdin },
  );
  if (p12 && (key || cert || chain)) throw new UsageError('give the signing identity either as --p12, or as --key and --cert [--chain], not both');
  if (p12) return { kind: 'p12', file: p12, password };
  if (key && cert) return { kind: 'pem', keyFile: key, certFile: cert, chainFile: chain, password };
  if (key || cert) throw new UsageError(`--${key ? 'key' : 'cert'} needs --${key ? 'cert' : 'key'}: a PEM identity is a private key and its certificate`);
  throw new UsageError('a signing identity is required: --p12 FILE (password via --p12-password-file or AIWATCH_P12_PASSWORD), or --key FILE --cert FILE [--chain FILE]');
}

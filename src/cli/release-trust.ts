/**
 * The trust chain of `build`: the option groups (signing the pkg and profiles, signing the agent binary,
 * notarization and stapling) and the steps they turn into for src/release/release.ts:
 *   - `--sign`           → an XarSigner (Developer ID Installer identity): the product archive is signed as written;
 *   - `--sign-profiles`  → the PPPC and login-items profiles in the zip are CMS-signed (same identity; unsigned is the
 *                          default because most MDMs want unsigned uploads);
 *   - `--sign-binary`    → the agent binary is signed (codesign / rcodesign, src/sign/binary-sign.ts) before packaging;
 *   - `--notarize`, `--staple` → `afterPkg` (src/release/notarize-step.ts): submit the staged pkg, wait for
 *                          Accepted, staple the ticket.
 * Everything that can be checked before the build is (flags, identity and password, API key), so a bad password
 * fails in a second, not after the payload is compressed. Any failure propagates out of buildRelease, whose staging
 * folder is removed: nothing reaches `--out`, and the exit code is the error's (5 network/timeout, 6 rejected …).
 */
import path from 'node:path';
import type { Argv } from 'yargs';
import { readSecret } from '../config/secrets.js';
import type { DeploymentSpec } from '../config/spec-types.js';
import { UsageError } from '../errors.js';
import { DEFAULT_NOTARY_URL } from '../notary/client.js';
import type { ApiKey } from '../notary/jwt.js';
import { parseDuration } from '../notary/poll.js';
import { DEFAULT_TICKET_URL } from '../notary/ticket.js';
import { notarizeStep } from '../release/notarize-step.js';
import { serviceUrlProblems } from '../notary/url.js';
import type { XarSigner } from '../pkg/xar.js';
import { type BinarySignIdentity, signBinary } from '../sign/binary-sign.js';
import { loadSigningIdentity, type SigningIdentity } from '../sign/identity.js';
import { createXarSigner } from '../sign/pkg-signer.js';
import { signProfile } from '../sign/profile-sign.js';
import type { CliContext } from './command.js';
import { addIdentityFlags, identitySourceFromArgs, passwordOnArgvProblem, timestampUrlFromArgs } from './commands/identity-flags.js';
import { notaryKeyFromArgs } from './notary-key.js';

export const BINARY_P12_PASSWORD_ENV = 'AIWATCH_BINARY_P12_PASSWORD';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

const IDENTITY_FLAGS = ['p12', 'p12-password-file', 'p12-password-stdin', 'key', 'cert', 'chain'];
const BINARY_FLAGS = ['binary-p12', 'binary-p12-password-file', 'binary-identity', 'binary-keychain'];

/** The build options of the trust chain, in three help groups. */
export function addReleaseTrustOptions(y: Argv): Argv {
  return addIdentityFlags(y, { allowUntrusted: true })
    .option('sign', { type: 'boolean', default: false, describe: 'Sign the .pkg as it is written (Developer ID Installer identity: --p12 or --key/--cert)' })
    .option('sign-profiles', { type: 'boolean', default: false, describe: 'CMS-sign the PPPC and login-items profiles in the zip with the same identity (default: unsigned, what most MDMs want)' })
    .option('sign-binary', { type: 'boolean', default: false, describe: 'Sign the agent binary first: hardened runtime, timestamp, the spec identifier (codesign on macOS, rcodesign elsewhere)' })
    .option('binary-identity', { type: 'string', describe: 'codesign: keychain identity, e.g. "Developer ID Application: Runlayer (AF2M8HC7A2)"' })
    .option('binary-keychain', { type: 'string', describe: 'codesign: keychain file to search' })
    .option('binary-p12', { type: 'string', describe: `rcodesign: Developer ID Application identity (.p12); password via --binary-p12-password-file or ${BINARY_P12_PASSWORD_ENV}` })
    .option('binary-p12-password-file', { type: 'string', describe: 'Password of --binary-p12, read from this file' })
    .option('binary-signer', { type: 'string', choices: ['auto', 'codesign', 'rcodesign'], default: 'auto', describe: 'Tool that signs the binary' })
    .option('notarize', { type: 'boolean', default: false, describe: "Submit the signed .pkg to Apple's notary service and wait for Accepted (needs --sign)" })
    .option('staple', { type: 'boolean', default: false, describe: 'Staple the notarization ticket to the .pkg (with --notarize, or for a pkg Apple already notarized)' })
    .option('api-key', { type: 'string', describe: 'App Store Connect Team API key file, AuthKey_<ID>.p8 (env AIWATCH_NOTARY_KEY_FILE)' })
    .option('api-key-id', { type: 'string', describe: 'Its key ID (env AIWATCH_NOTARY_KEY_ID)' })
    .option('api-issuer', { type: 'string', describe: 'Issuer ID, a UUID (env AIWATCH_NOTARY_ISSUER)' })
    .option('timeout', { type: 'string', default: '30m', describe: 'Stop waiting for the notary after this long (90s, 30m, 1h): exit 5' })
    .option('notary-url', { type: 'string', default: DEFAULT_NOTARY_URL, describe: 'Notary API base URL' })
    .option('s3-url', { type: 'string', describe: "S3-compatible endpoint replacing Apple's upload host (testing)" })
    .option('ticket-url', { type: 'string', default: DEFAULT_TICKET_URL, describe: 'Ticket lookup URL' })
    .group(['sign', 'sign-profiles', ...IDENTITY_FLAGS, 'allow-untrusted', 'timestamp-url', 'timestamp'], 'Signing the pkg and profiles:')
    .group(['sign-binary', 'binary-signer', ...BINARY_FLAGS], 'Signing the agent binary:')
    .group(['notarize', 'staple', 'api-key', 'api-key-id', 'api-issuer', 'timeout', 'notary-url', 's3-url', 'ticket-url'], 'Notarization and stapling:');
}

/** What buildRelease receives: each present only when asked for. */
export interface ReleaseTrust {
  signer?: XarSigner;
  signProfile?: (bytes: Uint8Array, name: string) => Promise<Uint8Array>;
  signBinary?: (input: string, out: string) => Promise<void>;
  afterPkg?: (pkgFile: string) => Promise<{ notarized: boolean; stapled: boolean }>;
}

/** Injected by library tests (the CLI uses the defaults). */
export interface TrustDeps {
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Ticket lookups after a fresh Accepted, and the pauses between them; default 10 s, 20 s, 30 s, 60 s, 60 s. */
  ticketWaitsMs?: readonly number[];
}

export { TICKET_WAITS_MS } from '../release/notarize-step.js';

const given = (args: Record<string, unknown>, names: readonly string[]): string[] => names.filter((n) => args[n] !== undefined && args[n] !== false);

/** Every flag combination problem at once. */
function flagProblems(args: Record<string, unknown>): string[] {
  const p: string[] = [];
  const onArgv = passwordOnArgvProblem(args);
  if (onArgv) p.push(onArgv);
  const sign = args.sign === true;
  if (args.notarize === true && !sign) p.push('--notarize needs --sign: Apple notarizes only signed packages');
  if (args.staple === true && !sign) p.push('--staple needs --sign (and --notarize, unless Apple already notarized this exact pkg)');
  const ids = given(args, IDENTITY_FLAGS);
  if (ids.length && !sign && args['sign-profiles'] !== true) p.push(`--${ids[0]} was given but nothing is signed with it: add --sign and/or --sign-profiles`);
  const bins = given(args, BINARY_FLAGS);
  if (bins.length && args['sign-binary'] !== true) p.push(`--${bins[0]} was given without --sign-binary`);
  if (args.notarize === true) p.push(...serviceUrlProblems({ '--notary-url': str(args['notary-url']), '--s3-url': str(args['s3-url']) }));
  if (args.staple === true) p.push(...serviceUrlProblems({ '--ticket-url': str(args['ticket-url']) }));
  if (args.notarize === true) {
    const t = parseDuration(String(args.timeout ?? '30m'));
    if (t === undefined || t <= 0) p.push(`--timeout: expected a duration like 90s, 30m or 1h, got ${JSON.stringify(args.timeout)}`);
  }
  return p;
}


async function binaryIdentity(args: Record<string, unknown>, ctx: CliContext): Promise<BinarySignIdentity> {
  const name = str(args['binary-identity']);
  const p12 = str(args['binary-p12']);
  if (name && p12) throw new UsageError('--sign-binary: give --binary-identity (codesign, keychain) or --binary-p12 (rcodesign), not both');
  if (name) return { kind: 'keychain', name, keychain: str(args['binary-keychain']) && path.resolve(ctx.cwd, str(args['binary-keychain'])!) };
  if (!p12) throw new UsageError('--sign-binary needs an identity: --binary-identity "Developer ID Application: …" (codesign, macOS) or --binary-p12 FILE (rcodesign)');
  const pwFile = str(args['binary-p12-password-file']);
  const password = await readSecret(
    { file: pwFile && path.resolve(ctx.cwd, pwFile), envName: BINARY_P12_PASSWORD_ENV, flag: 'binary-p12-password', kind: 'password', label: pwFile ? '--binary-p12-password-file' : BINARY_P12_PASSWORD_ENV },
    { env: ctx.env, stdin: ctx.stdin },
  );
  return { kind: 'p12', file: path.resolve(ctx.cwd, p12), password };
}

function progressOf(ctx: CliContext): (line: string) => void {
  return (line) => {
    if (!ctx.json) ctx.stderr(`${line}\n`);
  };
}

function afterPkgStep(args: Record<string, unknown>, ctx: CliContext, apiKey: ApiKey | undefined, deps: TrustDeps): ReleaseTrust['afterPkg'] {
  return notarizeStep({
    notarize: args.notarize === true ? { apiKey: apiKey!, notaryUrl: str(args['notary-url']), s3Endpoint: str(args['s3-url']), timeoutMs: parseDuration(String(args.timeout ?? '30m')) } : undefined,
    staple: args.staple === true ? { ticketUrl: str(args['ticket-url']) } : undefined,
    progress: progressOf(ctx), onWarning: ctx.warn, signal: ctx.signal, fetch: deps.fetch, sleep: deps.sleep, now: deps.now, ticketWaitsMs: deps.ticketWaitsMs,
  });
}

async function pkgIdentity(args: Record<string, unknown>, ctx: CliContext, clock: () => Date): Promise<SigningIdentity | undefined> {
  const sign = args.sign === true;
  if (!sign && args['sign-profiles'] !== true) return undefined;
  const identity = await loadSigningIdentity(await identitySourceFromArgs(args, ctx), {
    purpose: sign ? 'installer' : 'profile',
    allowUntrusted: args['allow-untrusted'] === true,
    clock,
  });
  for (const w of identity.warnings) ctx.warn(w);
  return identity;
}

/**
 * Turn the trust options into release steps, checking everything that can be checked before the build.
 * signingTime and certificate validity use the real clock (signing is the one exception to the build clock).
 */
export async function releaseTrustFromArgs(args: Record<string, unknown>, ctx: CliContext, spec: DeploymentSpec, deps: TrustDeps = {}): Promise<ReleaseTrust> {
  const problems = flagProblems(args);
  if (problems.length) throw new UsageError(problems);
  const clock = (): Date => (deps.now ? new Date(deps.now()) : new Date());
  const timestampUrl = timestampUrlFromArgs(args);
  const identity = await pkgIdentity(args, ctx, clock);
  const apiKey = args.notarize === true ? await notaryKeyFromArgs(args, ctx, '--notarize: ') : undefined;
  const trust: ReleaseTrust = {};
  if (identity && args.sign === true) trust.signer = createXarSigner(identity, { clock, timestampUrl, timestamp: { signal: ctx.signal, sleep: deps.sleep } });
  if (identity && args['sign-profiles'] === true) trust.signProfile = (bytes, name) => signProfile(bytes, identity, { clock }, name);
  if (args['sign-binary'] === true) {
    const id = await binaryIdentity(args, ctx);
    const say = progressOf(ctx);
    trust.signBinary = async (input, out) => {
      const r = await signBinary({
        input, out, identity: id, identifier: spec.identifier, teamId: spec.teamId, clock, timestampUrl, signal: ctx.signal,
        signer: String(args['binary-signer'] ?? 'auto') as 'auto', allowUntrusted: args['allow-untrusted'] === true,
      });
      for (const w of r.warnings) ctx.warn(w);
      say(`signed ${path.basename(input)} with ${r.signer}: identifier ${r.identity.identifier}, team ${r.identity.teamId ?? 'none'}, hardened runtime ${r.identity.hardenedRuntime ? 'on' : 'OFF'}`);
    };
  }
  trust.afterPkg = afterPkgStep(args, ctx, apiKey, deps);
  return trust;
}

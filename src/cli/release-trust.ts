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
import { IDENTITY_OPTIONS, identitySourceFromArgs, PKG_SIGNING_OPTIONS, passwordOnArgvProblem, timestampUrlFromArgs } from './commands/identity-flags.js';
import { NOTARY_KEY_OPTIONS, notaryKeyFromArgs } from './notary-key.js';
import { declareOptions, type InferOptions, type OptionDefs } from './options.js';

export const BINARY_P12_PASSWORD_ENV = 'AIWATCH_BINARY_P12_PASSWORD';

const IDENTITY_FLAGS = ['p12', 'p12-password-file', 'p12-password-stdin', 'key', 'cert', 'chain'] as const;
const BINARY_FLAGS = ['binary-p12', 'binary-p12-password-file', 'binary-identity', 'binary-keychain'] as const;

/** The build options of the trust chain. */
export const RELEASE_TRUST_OPTIONS = {
  ...IDENTITY_OPTIONS,
  ...PKG_SIGNING_OPTIONS,
  sign: { type: 'boolean', default: false, describe: 'Sign the .pkg as it is written (Developer ID Installer identity: --p12 or --key/--cert)' },
  'sign-profiles': { type: 'boolean', default: false, describe: 'CMS-sign the PPPC and login-items profiles in the zip with the same identity (default: unsigned, what most MDMs want)' },
  'sign-binary': { type: 'boolean', default: false, describe: 'Sign the agent binary first: hardened runtime, timestamp, the spec identifier (codesign on macOS, rcodesign elsewhere)' },
  'binary-identity': { type: 'string', describe: 'codesign: keychain identity, e.g. "Developer ID Application: Runlayer (AF2M8HC7A2)"' },
  'binary-keychain': { type: 'string', describe: 'codesign: keychain file to search' },
  'binary-p12': { type: 'string', describe: `rcodesign: Developer ID Application identity (.p12); password via --binary-p12-password-file or ${BINARY_P12_PASSWORD_ENV}` },
  'binary-p12-password-file': { type: 'string', describe: 'Password of --binary-p12, read from this file' },
  'binary-signer': { type: 'string', choices: ['auto', 'codesign', 'rcodesign'], default: 'auto', describe: 'Tool that signs the binary' },
  notarize: { type: 'boolean', default: false, describe: "Submit the signed .pkg to Apple's notary service and wait for Accepted (needs --sign)" },
  staple: { type: 'boolean', default: false, describe: 'Staple the notarization ticket to the .pkg (with --notarize, or for a pkg Apple already notarized)' },
  ...NOTARY_KEY_OPTIONS,
  timeout: { type: 'string', default: '30m', describe: 'Stop waiting for the notary after this long (90s, 30m, 1h): exit 5' },
  'notary-url': { type: 'string', default: DEFAULT_NOTARY_URL, describe: 'Notary API base URL' },
  's3-url': { type: 'string', describe: "S3-compatible endpoint replacing Apple's upload host (testing)" },
  'ticket-url': { type: 'string', default: DEFAULT_TICKET_URL, describe: 'Ticket lookup URL' },
} as const satisfies OptionDefs;

export type ReleaseTrustArgs = InferOptions<typeof RELEASE_TRUST_OPTIONS>;

/** The three help groups of the trust options. */
export const RELEASE_TRUST_GROUPS = [
  [['sign', 'sign-profiles', ...IDENTITY_FLAGS, 'allow-untrusted', 'timestamp-url', 'timestamp'], 'Signing the pkg and profiles:'],
  [['sign-binary', 'binary-signer', ...BINARY_FLAGS], 'Signing the agent binary:'],
  [['notarize', 'staple', 'api-key', 'api-key-id', 'api-issuer', 'timeout', 'notary-url', 's3-url', 'ticket-url'], 'Notarization and stapling:'],
] as const;

/** The trust options on a yargs instance: for library tests (`build` declares them with its own). */
export function addReleaseTrustOptions(y: Argv): Argv {
  return declareOptions(y, RELEASE_TRUST_OPTIONS, RELEASE_TRUST_GROUPS);
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


const given = <K extends keyof ReleaseTrustArgs>(args: ReleaseTrustArgs, names: readonly K[]): K[] => names.filter((n) => args[n] !== undefined && args[n] !== false);

/** Every flag combination problem at once. */
function flagProblems(args: ReleaseTrustArgs): string[] {
  const p: string[] = [];
  const onArgv = passwordOnArgvProblem(args);
  if (onArgv) p.push(onArgv);
  const sign = args.sign;
  if (args.notarize && !sign) p.push('--notarize needs --sign: Apple notarizes only signed packages');
  if (args.staple && !sign) p.push('--staple needs --sign (and --notarize, unless Apple already notarized this exact pkg)');
  const ids = given(args, IDENTITY_FLAGS);
  if (ids.length && !sign && !args['sign-profiles']) p.push(`--${ids[0]} was given but nothing is signed with it: add --sign and/or --sign-profiles`);
  const bins = given(args, BINARY_FLAGS);
  if (bins.length && !args['sign-binary']) p.push(`--${bins[0]} was given without --sign-binary`);
  if (args.notarize) p.push(...serviceUrlProblems({ '--notary-url': args['notary-url'], '--s3-url': args['s3-url'] }));
  if (args.staple) p.push(...serviceUrlProblems({ '--ticket-url': args['ticket-url'] }));
  if (args.notarize) {
    const t = parseDuration(args.timeout);
    if (t === undefined || t <= 0) p.push(`--timeout: expected a duration like 90s, 30m or 1h, got ${JSON.stringify(args.timeout)}`);
  }
  return p;
}


async function binaryIdentity(args: ReleaseTrustArgs, ctx: CliContext): Promise<BinarySignIdentity> {
  const name = args['binary-identity'];
  const p12 = args['binary-p12'];
  if (name && p12) throw new UsageError('--sign-binary: give --binary-identity (codesign, keychain) or --binary-p12 (rcodesign), not both');
  if (name) return { kind: 'keychain', name, keychain: args['binary-keychain'] && path.resolve(ctx.cwd, args['binary-keychain']) };
  if (!p12) throw new UsageError('--sign-binary needs an identity: --binary-identity "Developer ID Application: …" (codesign, macOS) or --binary-p12 FILE (rcodesign)');
  const pwFile = args['binary-p12-password-file'];
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

function afterPkgStep(args: ReleaseTrustArgs, ctx: CliContext, apiKey: ApiKey | undefined, deps: TrustDeps): ReleaseTrust['afterPkg'] {
  return notarizeStep({
    notarize: args.notarize ? { apiKey: apiKey!, notaryUrl: args['notary-url'], s3Endpoint: args['s3-url'], timeoutMs: parseDuration(args.timeout) } : undefined,
    staple: args.staple ? { ticketUrl: args['ticket-url'] } : undefined,
    progress: progressOf(ctx), onWarning: ctx.warn, signal: ctx.signal, fetch: deps.fetch, sleep: deps.sleep, now: deps.now, ticketWaitsMs: deps.ticketWaitsMs,
  });
}

async function pkgIdentity(args: ReleaseTrustArgs, ctx: CliContext, clock: () => Date): Promise<SigningIdentity | undefined> {
  const sign = args.sign;
  if (!sign && !args['sign-profiles']) return undefined;
  const identity = await loadSigningIdentity(await identitySourceFromArgs(args, ctx), {
    purpose: sign ? 'installer' : 'profile',
    allowUntrusted: args['allow-untrusted'],
    clock,
  });
  for (const w of identity.warnings) ctx.warn(w);
  return identity;
}

/**
 * Turn the trust options into release steps, checking everything that can be checked before the build.
 * signingTime and certificate validity use the real clock (signing is the one exception to the build clock).
 */
export async function releaseTrustFromArgs(args: ReleaseTrustArgs, ctx: CliContext, spec: DeploymentSpec, deps: TrustDeps = {}): Promise<ReleaseTrust> {
  const problems = flagProblems(args);
  if (problems.length) throw new UsageError(problems);
  const clock = (): Date => (deps.now ? new Date(deps.now()) : new Date());
  const timestampUrl = timestampUrlFromArgs(args);
  const identity = await pkgIdentity(args, ctx, clock);
  const apiKey = args.notarize ? await notaryKeyFromArgs(args, ctx, '--notarize: ') : undefined;
  const trust: ReleaseTrust = {};
  if (identity && args.sign) trust.signer = createXarSigner(identity, { clock, timestampUrl, timestamp: { signal: ctx.signal, sleep: deps.sleep } });
  if (identity && args['sign-profiles']) trust.signProfile = (bytes, name) => signProfile(bytes, identity, { clock }, name);
  if (args['sign-binary']) {
    const id = await binaryIdentity(args, ctx);
    const say = progressOf(ctx);
    trust.signBinary = async (input, out) => {
      const r = await signBinary({
        input, out, identity: id, identifier: spec.identifier, teamId: spec.teamId, clock, timestampUrl, signal: ctx.signal,
        signer: args['binary-signer'], allowUntrusted: args['allow-untrusted'],
      });
      for (const w of r.warnings) ctx.warn(w);
      say(`signed ${path.basename(input)} with ${r.signer}: identifier ${r.identity.identifier}, team ${r.identity.teamId ?? 'none'}, hardened runtime ${r.identity.hardenedRuntime ? 'on' : 'OFF'}`);
    };
  }
  trust.afterPkg = afterPkgStep(args, ctx, apiKey, deps);
  return trust;
}

/**
 * `aiwatch-deploy sign-pkg IN --out OUT`: adapter over src/sign/sign-pkg.ts. The default signer is ours (any OS):
 * a Developer ID Installer identity (--p12 or --key/--cert; the EKU and Apple chain are checked unless
 * --allow-untrusted), RSA + CMS signatures, a timestamp from --timestamp-url (Apple's by default). `--signer apple`
 * runs productsign with a keychain identity (macOS). OUT may be IN: the signed file replaces it atomically.
 */
import path from 'node:path';
import { ToolError, UsageError } from '../../errors.js';
import { loadSigningIdentity } from '../../sign/identity.js';
import { createXarSigner } from '../../sign/pkg-signer.js';
import { productsignPkgFile, signPkgFile, type SignPkgResult } from '../../sign/sign-pkg.js';
import { APPLE_TIMESTAMP_URL } from '../../sign/timestamp.js';
import { PRODUCTSIGN } from '../../tools/productsign.js';
import { hasTool } from '../../tools/run.js';
import { prepareOutput } from '../artifacts.js';
import { defineCommand, type CliContext } from '../command.js';
import type { InferOptions, OptionDefs } from '../options.js';
import { IDENTITY_OPTIONS, identitySourceFromArgs, PKG_SIGNING_OPTIONS, timestampUrlFromArgs } from './identity-flags.js';

const SIGN_PKG_OPTIONS = {
  out: { type: 'string', demandOption: true, describe: 'Where to write the signed package (may be IN: replaced atomically)' },
  signer: { type: 'string', choices: ['builtin', 'apple'], default: 'builtin', describe: 'builtin (any OS) or apple (productsign, macOS)' },
  identity: { type: 'string', describe: '--signer apple: keychain identity, e.g. "Developer ID Installer: Runlayer (AF2M8HC7A2)"' },
  keychain: { type: 'string', describe: '--signer apple: keychain file to search' },
  ...IDENTITY_OPTIONS,
  ...PKG_SIGNING_OPTIONS,
} as const satisfies OptionDefs;

type SignPkgArgs = InferOptions<typeof SIGN_PKG_OPTIONS>;

async function builtin(args: SignPkgArgs, ctx: CliContext, input: string, out: string): Promise<SignPkgResult> {
  const clock = (): Date => new Date();
  const identity = await loadSigningIdentity(await identitySourceFromArgs(args, ctx), { purpose: 'installer', allowUntrusted: args['allow-untrusted'], clock });
  for (const w of identity.warnings) ctx.warn(w);
  const signer = createXarSigner(identity, { clock, timestampUrl: timestampUrlFromArgs(args), timestamp: { signal: ctx.signal } });
  await prepareOutput(ctx, out, 'file');
  return signPkgFile(input, out, signer);
}

async function apple(args: SignPkgArgs, ctx: CliContext, input: string, out: string): Promise<SignPkgResult> {
  const problems: string[] = [];
  const identity = args.identity;
  if (!identity) problems.push('--signer apple needs --identity "Developer ID Installer: …" (a keychain identity; productsign cannot read a .p12)');
  if ([args.p12, args.key, args.cert, args.chain].some((f) => f !== undefined)) problems.push('--signer apple signs with a keychain identity (--identity); --p12/--key/--cert are for the builtin signer');
  if (timestampUrlFromArgs(args) !== null && timestampUrlFromArgs(args) !== APPLE_TIMESTAMP_URL) problems.push("--timestamp-url: productsign always uses Apple's time-stamp server");
  if (problems.length) throw new UsageError(problems);
  if (!(await hasTool(PRODUCTSIGN))) throw new ToolError(PRODUCTSIGN, 'not found: it ships with macOS only; on other systems use the default --signer builtin with --p12');
  const keychain = args.keychain && path.resolve(ctx.cwd, args.keychain);
  await prepareOutput(ctx, out, 'file');
  return productsignPkgFile(input, out, { identity: identity!, keychain, timestamp: args.timestamp }, ctx.signal);
}

export const signPkgCommand = defineCommand({
  command: 'sign-pkg <in>',
  describe: 'Sign a .pkg with a Developer ID Installer identity (RSA + CMS signatures, timestamped), like productsign',
  examples: [
    ['$0 sign-pkg out/aiwatch.pkg --out signed/aiwatch.pkg --p12 installer.p12 --p12-password-file pw.txt', 'sign with a .p12 (any OS)'],
    ['$0 sign-pkg aiwatch.pkg --out aiwatch.pkg --key key.pem --cert cert.pem', 'sign in place (replaced atomically)'],
    ['$0 sign-pkg aiwatch.pkg --out signed.pkg --signer apple --identity "Developer ID Installer: Runlayer (AF2M8HC7A2)"', 'productsign (macOS)'],
  ],
  positionals: { in: { type: 'string', describe: 'Flat package (.pkg) to sign; an existing signature is replaced' } },
  options: SIGN_PKG_OPTIONS,
  run: async (args, ctx) => {
    const input = path.resolve(ctx.cwd, args.in);
    const out = path.resolve(ctx.cwd, args.out);
    const r = args.signer === 'apple' ? await apple(args, ctx, input, out) : await builtin(args, ctx, input, out);
    const notes = [
      r.replacedSignature ? `note: ${args.in} was signed already; its signature was replaced` : '',
      r.droppedTicket ? `note: ${args.in} carried a stapled ticket; it was dropped (it names the old TOC checksum): notarize and staple again` : '',
    ].filter(Boolean);
    if (!ctx.json) for (const n of notes) ctx.stderr(`${n}\n`);
    return {
      text: `signed: ${path.relative(ctx.cwd, out) || out} by "${r.signer}" (TOC checksum sha1 ${r.tocChecksum})`,
      json: { ok: true, ...r },
    };
  },
});

/**
 * `aiwatch-deploy sign-binary FILE`: adapter over src/sign/binary-sign.ts. Signs the agent binary for release —
 * hardened runtime, secure timestamp, the spec's identifier — with codesign (macOS, `--identity` from a keychain) or
 * rcodesign (any OS, `--p12`). In place by default (replaced atomically), or to `--out`.
 */
import path from 'node:path';
import { loadSpec } from '../../config/spec.js';
import { UsageError } from '../../errors.js';
import { type BinarySignIdentity, signBinary } from '../../sign/binary-sign.js';
import { prepareOutput } from '../artifacts.js';
import { defineCommand, type CliContext } from '../command.js';
import type { InferOptions, OptionDefs } from '../options.js';
import { IDENTITY_OPTIONS, identitySourceFromArgs, PKG_SIGNING_OPTIONS, timestampUrlFromArgs } from './identity-flags.js';

const SIGN_BINARY_OPTIONS = {
  out: { type: 'string', describe: 'Where to write the signed binary (default: FILE, replaced atomically)' },
  signer: { type: 'string', choices: ['auto', 'codesign', 'rcodesign'], default: 'auto', describe: 'auto: codesign on macOS with --identity, else rcodesign' },
  identity: { type: 'string', describe: 'codesign: keychain identity, e.g. "Developer ID Application: Runlayer (AF2M8HC7A2)"' },
  keychain: { type: 'string', describe: 'codesign: keychain file to search' },
  identifier: { type: 'string', describe: 'Signing identifier (default: the spec identifier, com.runlayer.aiwatch)' },
  spec: { type: 'string', describe: 'Deployment spec JSON (identifier, teamId)' },
  ...IDENTITY_OPTIONS,
  ...PKG_SIGNING_OPTIONS,
} as const satisfies OptionDefs;

async function identityFrom(args: InferOptions<typeof SIGN_BINARY_OPTIONS>, ctx: CliContext): Promise<BinarySignIdentity> {
  const name = args.identity;
  if (name) {
    if (args.p12 || args.key) throw new UsageError('give --identity (a keychain identity, codesign) or --p12 (rcodesign), not both');
    return { kind: 'keychain', name, keychain: args.keychain && path.resolve(ctx.cwd, args.keychain) };
  }
  if (!args.p12 && !args.key) throw new UsageError('a signing identity is required: --identity "Developer ID Application: …" (codesign, macOS) or --p12 FILE (rcodesign)');
  const src = await identitySourceFromArgs(args, ctx);
  if (src.kind !== 'p12') throw new UsageError('--key/--cert: binary signing takes a .p12 (rcodesign) or a keychain identity (codesign); export the identity as .p12');
  return src;
}

export const signBinaryCommand = defineCommand({
  command: 'sign-binary <file>',
  describe: 'Sign the agent binary for release: Developer ID Application, hardened runtime, timestamp, the spec identifier',
  examples: [
    ['$0 sign-binary aiwatch --identity "Developer ID Application: Runlayer (AF2M8HC7A2)"', 'codesign on macOS, in place'],
    ['$0 sign-binary aiwatch --out signed/aiwatch --p12 application.p12 --p12-password-file pw.txt', 'rcodesign (Linux)'],
  ],
  positionals: { file: { type: 'string', describe: 'Mach-O binary (thin or universal)' } },
  options: SIGN_BINARY_OPTIONS,
  run: async (args, ctx) => {
    const input = path.resolve(ctx.cwd, args.file);
    const out = args.out ? path.resolve(ctx.cwd, args.out) : input;
    const spec = await loadSpec(args.spec && path.resolve(ctx.cwd, args.spec));
    await prepareOutput(ctx, out, 'file');
    const r = await signBinary({
      input, out, identity: await identityFrom(args, ctx), identifier: args.identifier ?? spec.identifier, teamId: spec.teamId,
      signer: args.signer, timestampUrl: timestampUrlFromArgs(args), allowUntrusted: args['allow-untrusted'],
      clock: () => new Date(), signal: ctx.signal,
    });
    for (const w of r.warnings) ctx.warn(w);
    const id = r.identity;
    return {
      text: `signed: ${path.relative(ctx.cwd, out) || out} with ${r.signer} (${id.arches.join(' + ')}; identifier ${id.identifier}, team ${id.teamId ?? 'none'}, hardened runtime ${id.hardenedRuntime ? 'on' : 'OFF'})`,
      json: { ok: true, input, out, signer: r.signer, identity: id },
    };
  },
});

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
import { requiredArg } from '../args.js';
import type { AiwatchCommand, CliContext } from '../command.js';
import { addIdentityFlags, identitySourceFromArgs, timestampUrlFromArgs } from './identity-flags.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

async function identityFrom(args: Record<string, unknown>, ctx: CliContext): Promise<BinarySignIdentity> {
  const name = str(args.identity);
  if (name) {
    if (str(args.p12) || str(args.key)) throw new UsageError('give --identity (a keychain identity, codesign) or --p12 (rcodesign), not both');
    return { kind: 'keychain', name, keychain: str(args.keychain) && path.resolve(ctx.cwd, str(args.keychain)!) };
  }
  if (!str(args.p12) && !str(args.key)) throw new UsageError('a signing identity is required: --identity "Developer ID Application: …" (codesign, macOS) or --p12 FILE (rcodesign)');
  const src = await identitySourceFromArgs(args, ctx);
  if (src.kind !== 'p12') throw new UsageError('--key/--cert: binary signing takes a .p12 (rcodesign) or a keychain identity (codesign); export the identity as .p12');
  return src;
}

export const signBinaryCommand: AiwatchCommand = {
  command: 'sign-binary <file>',
  describe: 'Sign the agent binary for release: Developer ID Application, hardened runtime, timestamp, the spec identifier',
  examples: [
    ['$0 sign-binary aiwatch --identity "Developer ID Application: Runlayer (AF2M8HC7A2)"', 'codesign on macOS, in place'],
    ['$0 sign-binary aiwatch --out signed/aiwatch --p12 application.p12 --p12-password-file pw.txt', 'rcodesign (Linux)'],
  ],
  builder: (y) =>
    addIdentityFlags(
      y
        .positional('file', { type: 'string', describe: 'Mach-O binary (thin or universal)' })
        .option('out', { type: 'string', describe: 'Where to write the signed binary (default: FILE, replaced atomically)' })
        .option('signer', { type: 'string', choices: ['auto', 'codesign', 'rcodesign'], default: 'auto', describe: 'auto: codesign on macOS with --identity, else rcodesign' })
        .option('identity', { type: 'string', describe: 'codesign: keychain identity, e.g. "Developer ID Application: Runlayer (AF2M8HC7A2)"' })
        .option('keychain', { type: 'string', describe: 'codesign: keychain file to search' })
        .option('identifier', { type: 'string', describe: 'Signing identifier (default: the spec identifier, com.runlayer.aiwatch)' })
        .option('spec', { type: 'string', describe: 'Deployment spec JSON (identifier, teamId)' }),
      { allowUntrusted: true },
    ),
  run: async (args, ctx) => {
    const input = path.resolve(ctx.cwd, requiredArg(args, 'file'));
    const out = str(args.out) ? path.resolve(ctx.cwd, str(args.out)!) : input;
    const spec = await loadSpec(str(args.spec) && path.resolve(ctx.cwd, str(args.spec)!));
    await prepareOutput(ctx, out, 'file');
    const r = await signBinary({
      input, out, identity: await identityFrom(args, ctx), identifier: str(args.identifier) ?? spec.identifier, teamId: spec.teamId,
      signer: String(args.signer) as 'auto', timestampUrl: timestampUrlFromArgs(args), allowUntrusted: args['allow-untrusted'] === true,
      clock: () => new Date(), signal: ctx.signal,
    });
    for (const w of r.warnings) ctx.warn(w);
    const id = r.identity;
    return {
      text: `signed: ${path.relative(ctx.cwd, out) || out} with ${r.signer} (${id.arches.join(' + ')}; identifier ${id.identifier}, team ${id.teamId ?? 'none'}, hardened runtime ${id.hardenedRuntime ? 'on' : 'OFF'})`,
      json: { ok: true, input, out, signer: r.signer, identity: id },
    };
  },
};

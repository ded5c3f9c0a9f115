/**
 * `aiwatch-deploy sign-profile IN --out OUT`: adapter over src/sign/profile-sign.ts. Any code-signing certificate
 * may sign a profile (no Developer ID Installer check). The output keeps the input's permission bits, so a tenant
 * profile holding keys (written 0600) stays 0600. signingTime is the current time: signing is the one exception to
 * the build clock.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { readInputFile, writeFileAtomic } from '../../io/fs.js';
import { loadSigningIdentity } from '../../sign/identity.js';
import { signProfile } from '../../sign/profile-sign.js';
import { prepareOutput } from '../artifacts.js';
import { defineCommand } from '../command.js';
import { IDENTITY_OPTIONS, identitySourceFromArgs } from './identity-flags.js';

export const signProfileCommand = defineCommand({
  command: 'sign-profile <in>',
  describe: 'Sign a configuration profile (.mobileconfig) as CMS with the profile attached, unchanged',
  examples: [
    ['$0 sign-profile out/com.runlayer.aiwatch.pppc.mobileconfig --out signed/pppc.mobileconfig --p12 id.p12 --p12-password-file pw.txt', 'sign with a .p12 identity'],
    ['$0 sign-profile tenant.mobileconfig --out tenant.signed.mobileconfig --key key.pem --cert cert.pem --chain chain.pem', 'sign with PEM files'],
  ],
  positionals: { in: { type: 'string', describe: 'Unsigned .mobileconfig (XML or binary plist)' } },
  options: { out: { type: 'string', demandOption: true, describe: 'Where to write the signed profile' }, ...IDENTITY_OPTIONS },
  run: async (args, ctx) => {
    const input = path.resolve(ctx.cwd, args.in);
    const out = path.resolve(ctx.cwd, args.out);
    const clock = (): Date => new Date();
    const identity = await loadSigningIdentity(await identitySourceFromArgs(args, ctx), { purpose: 'profile', clock });
    await prepareOutput(ctx, out, 'file');
    const profile = await readInputFile(input, 'profile');
    const signed = await signProfile(profile, identity, { clock }, input);
    await writeFileAtomic(out, signed, { mode: (await stat(input)).mode & 0o666 });
    const signer = identity.summary;
    return {
      text: `signed: ${out} (${signed.length} bytes) by "${signer.commonName}" (SHA-256 ${signer.sha256})`,
      json: { ok: true, input, out, bytes: signed.length, signer },
    };
  },
});

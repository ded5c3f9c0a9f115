/** `aiwatch-deploy inspect FILE`: adapter over src/inspect (a human dump of a pkg, release zip, binary, profile, .ps1 or .intunewin). */
import path from 'node:path';
import { loadSpec } from '../../config/spec.js';
import { inspectFile } from '../../inspect/index.js';
import { sweepDebris } from '../artifacts.js';
import { defineCommand } from '../command.js';

export const inspectCommand = defineCommand({
  command: 'inspect <file>',
  describe: 'Show what is inside a .pkg, a release zip, a Mach-O binary, a configuration profile, an Intune .ps1 script or a .intunewin',
  examples: [
    ['$0 inspect out/aiwatch-1.4.0-macos-arm64.pkg', 'xar TOC, signatures, Distribution, PackageInfo, lsbom listing, scripts, binary identity'],
    ['$0 inspect --scripts aiwatch.pkg', 'print the preinstall/postinstall scripts in full'],
    ['$0 inspect --json out/aiwatch-1.4.0-macos-arm64.zip', 'the same as JSON, nested pkg and profiles included'],
    ['$0 inspect out/intune/Install-AiwatchDetect.intunewin', 'Detection.xml (keys shown only as present), zip listings, the scripts inside'],
    ['$0 inspect out/intune/Detect-Aiwatch.ps1', 'size, encoding, line endings, Authenticode signer (never the script text)'],
  ],
  positionals: { file: { type: 'string', describe: 'The file to describe' } },
  options: {
    scripts: { type: 'boolean', default: false, describe: 'Show package scripts in full (default: their first lines)' },
    spec: { type: 'string', describe: 'Deployment spec JSON (which tenant keys are secret, masked in profiles)' },
  },
  run: async (args, ctx) => {
    const spec = await loadSpec(args.spec && path.resolve(ctx.cwd, args.spec));
    const given = args.file;
    await sweepDebris(ctx);
    const r = await inspectFile(path.resolve(ctx.cwd, given), {
      name: given,
      scripts: args.scripts,
      secretKeys: spec.tenantKeys.filter((k) => k.secret).map((k) => k.name),
    });
    return { text: r.text, json: { ok: true, ...(r.json as Record<string, unknown>) } };
  },
});

/** `aiwatch-deploy profiles --out DIR`: adapter over src/profiles/plan.ts (PPPC, login items, Jamf schema, launchd). */
import path from 'node:path';
import { loadSpec } from '../../config/spec.js';
import { planProfiles } from '../../profiles/plan.js';
import { prepareOutput, writeArtifacts } from '../artifacts.js';
import { defineCommand } from '../command.js';

export const profilesCommand = defineCommand({
  command: 'profiles',
  describe: 'Write the PPPC and login-items profiles, the Jamf custom schema and the launchd plists',
  examples: [
    ['$0 profiles --out out/', 'write out/com.runlayer.aiwatch.pppc.mobileconfig, …loginitems.mobileconfig, …jamf.schema.json, out/launchd/*.plist'],
    ['$0 profiles --out staging/ --spec staging.json', 'the same for another identifier / team / install path'],
  ],
  options: {
    out: { type: 'string', default: 'out', describe: 'Output folder' },
    spec: { type: 'string', describe: 'Deployment spec JSON overriding identifier, teamId, installPath, …' },
  },
  run: async (args, ctx) => {
    const spec = await loadSpec(args.spec && path.resolve(ctx.cwd, args.spec));
    const out = path.resolve(ctx.cwd, args.out);
    await prepareOutput(ctx, out, 'folder');
    const files = await writeArtifacts(out, planProfiles(spec));
    return {
      text: files.map((f) => `wrote ${path.relative(ctx.cwd, f.path) || f.path}`).join('\n'),
      json: { ok: true, out, files },
    };
  },
});

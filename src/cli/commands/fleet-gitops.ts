/**
 * `aiwatch-deploy fleet-gitops --release ZIP --host URL --out DIR`: adapter over src/mdm/fleet/gitops.ts. Reads and
 * verifies the release zip, takes the tenant's non-secret values (the keys become `$AIWATCH_ORG_API_KEY` /
 * `$AIWATCH_ENROLLMENT_KEY` for fleetctl gitops to fill), then writes the files atomically under --out.
 */
import path from 'node:path';
import type { Argv } from 'yargs';
import { loadDefaultSpec, loadSpec } from '../../config/spec.js';
import type { RawTenantValues } from '../../config/tenant-keys.js';
import { checkFleetGitops, GITOPS_VARIABLES, planFleetGitops } from '../../mdm/fleet/gitops.js';
import { loadRelease } from '../../rollout/release.js';
import { prepareOutput, writeArtifacts } from '../artifacts.js';
import { defineCommand } from '../command.js';

/** The tenant's non-secret keys as flags (`--host`, `--username`, `--sessions` / `--no-sessions`, …). */
function tenantValueFlags(y: Argv): Argv {
  let b = y;
  for (const d of loadDefaultSpec().tenantKeys.filter((k) => !k.secret)) {
    b = d.type === 'boolean' ? b.option(d.flag, { type: 'boolean', describe: `${d.name}: ${d.description}` }) : b.option(d.flag, { type: 'string', describe: `${d.name}: ${d.description}${d.required ? ' Required.' : ''}` });
  }
  return b;
}

export const fleetGitopsCommand = defineCommand({
  command: 'fleet-gitops',
  describe: 'Write the Fleet GitOps files for a release: the team-file fragment (profiles, software package, install policy), the profiles and the package file',
  examples: [
    ['$0 fleet-gitops --release out/aiwatch-1.2.0-macos-arm64.zip --host https://acme.runlayer.com --label macOS --out fleet-repo/', 'files under fleet-repo/lib/aiwatch/; merge team-fragment.yml into teams/<team>.yml'],
    ['$0 fleet-gitops --release r.zip --host https://acme.runlayer.com --keys fleets --pkg-url https://dl.example.com/aiwatch-1.2.0.pkg --out repo/', 'fleets-era key names; Fleet downloads the pkg'],
  ],
  runtimeOptions: tenantValueFlags,
  options: {
    release: { type: 'string', demandOption: true, describe: 'The release zip made by `aiwatch-deploy build` (verified before anything is written)' },
    out: { type: 'string', demandOption: true, describe: 'The GitOps repository root (files go under lib/aiwatch/)' },
    label: { type: 'string', describe: 'Limit the profiles and package to hosts with this Fleet label (labels_include_any)' },
    keys: { choices: ['teams', 'fleets'], default: 'teams', describe: 'YAML key names: teams (macos_settings.custom_settings; every Fleet with GitOps) or fleets (apple_settings.configuration_profiles; newest Fleet)' },
    'pkg-url': { type: 'string', describe: 'https URL Fleet downloads the pkg from (default: none, Fleet uses the pkg of the same hash uploaded before)' },
    'with-enrollment-key': { type: 'boolean', default: false, describe: `Also put $${GITOPS_VARIABLES.EnrollmentKey} in the tenant profile (auto-provisioning)` },
    spec: { type: 'string', describe: 'Deployment spec JSON the release was built with' },
  },
  run: async (args, ctx) => {
    const spec = await loadSpec(args.spec && path.resolve(ctx.cwd, args.spec));
    const tenant: Record<string, unknown> = {};
    for (const d of spec.tenantKeys.filter((k) => !k.secret)) if (args[d.flag as keyof typeof args] !== undefined) tenant[d.name] = args[d.flag as keyof typeof args];
    const input = { tenant: tenant as RawTenantValues, label: args.label, keys: args.keys, pkgUrl: args['pkg-url'], enrollmentKey: args['with-enrollment-key'] };
    checkFleetGitops(spec, input);
    const out = path.resolve(ctx.cwd, args.out);
    await prepareOutput(ctx, out, 'folder');
    const release = await loadRelease(path.resolve(ctx.cwd, args.release), { spec, env: ctx.env, shown: args.release, signal: ctx.signal });
    const artifacts = planFleetGitops({ release, ...input });
    const files = await writeArtifacts(out, artifacts);
    const variables = [GITOPS_VARIABLES.OrgApiKey, ...(args['with-enrollment-key'] ? [GITOPS_VARIABLES.EnrollmentKey] : [])];
    return {
      text: [...files.map((f) => `wrote ${path.relative(ctx.cwd, f.path) || f.path}`), `next: merge lib/aiwatch/team-fragment.yml into the team's file; give fleetctl gitops ${variables.map((v) => `$${v}`).join(' and ')} (docs/fleet.md)`].join('\n'),
      json: { ok: true, out, version: release.version, keys: args.keys, variables, files },
    };
  },
});

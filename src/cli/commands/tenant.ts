/**
 * `aiwatch-deploy tenant --host URL …`: adapter over src/profiles/plan.ts planTenant. The value flags are derived
 * from the tenant key definitions (tenant-flags.ts); secrets come from a file, stdin or the environment only.
 */
import path from 'node:path';
import { loadSpec } from '../../config/spec.js';
import { parseTenantInput, tenantPreferences } from '../../config/tenant.js';
import { planTenant, TENANT_FORMATS, tenantFileName } from '../../profiles/plan.js';
import { prepareOutput, writeArtifact } from '../artifacts.js';
import { defineCommand } from '../command.js';
import { addTenantFlags, tenantFlagHint, tenantRawFromArgs } from './tenant-flags.js';

export const tenantCommand = defineCommand({
  command: 'tenant',
  describe: 'Write the tenant-config profile (mobileconfig, MCX mobileconfig, Intune preference file or Jamf values)',
  examples: [
    ['$0 tenant --host https://acme.runlayer.com --org-api-key-file org.key --out acme.mobileconfig', 'profile for any MDM (written 0600)'],
    ['AIWATCH_ORG_API_KEY=… $0 tenant --host https://acme.runlayer.com --format intune-plist --out acme.plist', 'Intune "Preference file" upload'],
    ['$0 tenant --host https://acme.runlayer.com --org-api-key-stdin --no-sessions --format json --out acme.json < org.key', 'Jamf values, sessions off'],
  ],
  runtimeOptions: addTenantFlags,
  options: {
    format: { choices: TENANT_FORMATS, default: 'mobileconfig', describe: 'mobileconfig (payload type = domain), mcx (com.apple.ManagedClient.preferences), intune-plist (bare key/values), json (Jamf values)' },
    out: { type: 'string', describe: 'Output file (default: out/<domain>.tenant.mobileconfig, … by format)' },
    spec: { type: 'string', describe: 'Deployment spec JSON (domain, product title, organization)' },
  },
  run: async (args, ctx) => {
    const spec = await loadSpec(args.spec && path.resolve(ctx.cwd, args.spec));
    const format = args.format;
    const tenant = parseTenantInput(spec, await tenantRawFromArgs(spec, args, ctx), 'tenant', tenantFlagHint);
    const file = path.resolve(ctx.cwd, args.out ?? path.join('out', tenantFileName(spec, format)));
    await prepareOutput(ctx, file, 'file');
    const w = await writeArtifact(file, planTenant(spec, tenant, format));
    const present = tenantPreferences(tenant);
    const keys = spec.tenantKeys.filter((d) => d.secret && present[d.name] !== undefined).map((d) => d.name);
    return {
      text: `wrote ${path.relative(ctx.cwd, file) || file} (${format}, mode ${w.mode}${keys.length ? `: holds ${keys.join(' and ')}, keep it private` : ''})`,
      json: { ok: true, format, host: tenant.Host, secrets: keys, file: w },
    };
  },
});

/**
 * `aiwatch-deploy intune`: adapter over src/intune/intune-plan.ts (see docs/intune-windows.md). Tenant flags and
 * secret sources are those of `tenant` (tenant-flags.ts); Username and DeviceName are accepted but not used on Windows.
 */
import path from 'node:path';
import { buildEpoch } from '../../config/clock.js';
import { envNameForFlag, readSecret } from '../../config/secrets.js';
import { loadSpec } from '../../config/spec.js';
import { parseTenantInput } from '../../config/tenant.js';
import { UsageError } from '../../errors.js';
import { readInputText, writeFileAtomic } from '../../io/fs.js';
import { normaliseCaBundle } from '../../intune/intune-checks.js';
import { planIntune, planSummary } from '../../intune/intune-plan.js';
import type { IntuneInput } from '../../intune/intune.js';
import type { Secret } from '../../secret.js';
import { authenticodeSigner } from '../../sign/authenticode.js';
import { prepareOutput } from '../artifacts.js';
import { defineCommand, type CliContext } from '../command.js';
import type { InferOptions, OptionDefs } from '../options.js';
import { addTenantFlags, tenantFlagHint, tenantRawFromArgs } from './tenant-flags.js';

const INTUNE_OPTIONS = {
  'ca-bundle': { type: 'string', describe: 'PEM CA bundle for a TLS-inspecting proxy, installed with the scripts' },
  'sign-pfx': { type: 'string', describe: 'Authenticode-sign the scripts with this PKCS#12 file (needs osslsigncode ≥ 2.6)' },
  'pfx-password-file': { type: 'string', describe: 'File holding the PFX password (or env AIWATCH_PFX_PASSWORD)' },
  'sign-ca-file': { type: 'string', describe: 'PEM trust anchors for the check after signing (default: the PFX certificates + system roots)' },
  'sign-timestamp-url': { type: 'string', describe: 'RFC 3161 timestamp server for the signatures (needs network)' },
  'expected-publisher': { type: 'string', describe: 'Signer the doctor scripts require of the runlayer CLI (part of its Authenticode subject)' },
  intunewin: { type: 'boolean', default: false, describe: 'Also write the Win32 app package Install-AiwatchDetect.intunewin' },
  spec: { type: 'string', describe: 'Deployment spec overrides (JSON)' },
  out: { type: 'string', demandOption: true, describe: 'Output folder' },
} as const satisfies OptionDefs;

type IntuneArgs = InferOptions<typeof INTUNE_OPTIONS>;

/** The PFX password: --pfx-password-file or AIWATCH_PFX_PASSWORD. */
async function pfxPassword(args: IntuneArgs, ctx: CliContext): Promise<Secret | undefined> {
  const file = args['pfx-password-file'];
  const flag = 'pfx-password';
  return readSecret({ file: file && path.resolve(ctx.cwd, file), stdin: false, envName: envNameForFlag(flag), flag, label: 'PFX password', kind: 'password' }, ctx);
}

async function signerFrom(args: IntuneArgs, ctx: CliContext, description: string) {
  const pfx = args['sign-pfx'];
  const password = await pfxPassword(args, ctx);
  const stray = [password ? '--pfx-password-file (or AIWATCH_PFX_PASSWORD)' : '', args['sign-ca-file'] ? '--sign-ca-file' : '', args['sign-timestamp-url'] ? '--sign-timestamp-url' : ''].filter(Boolean);
  if (!pfx) {
    if (stray.length > 0) throw new UsageError(`${stray.join(', ')}: only used with --sign-pfx`);
    return undefined;
  }
  const caFile = args['sign-ca-file'];
  return authenticodeSigner({ pfxFile: path.resolve(ctx.cwd, pfx), password, caFile: caFile && path.resolve(ctx.cwd, caFile), timestampUrl: args['sign-timestamp-url'], description, signal: ctx.signal });
}

async function inputFrom(args: IntuneArgs, ctx: CliContext): Promise<IntuneInput> {
  const specFile = args.spec;
  const spec = await loadSpec(specFile && path.resolve(ctx.cwd, specFile));
  const tenant = parseTenantInput(spec, await tenantRawFromArgs(spec, args, ctx), 'intune', tenantFlagHint);
  const ca = args['ca-bundle'];
  const caBundlePem = ca ? normaliseCaBundle(await readInputText(path.resolve(ctx.cwd, ca), '--ca-bundle'), `--ca-bundle ${ca}`) : undefined;
  return { spec, tenant, options: { caBundlePem, expectedPublisher: args['expected-publisher'] }, specSubject: specFile ?? 'deployment spec' };
}

function describeText(summary: Record<string, unknown>, out: string): string {
  const files = summary.files as Array<{ name: string; mode: string; purpose: string }>;
  const lines = [`wrote ${files.length} files to ${out}${summary.signed ? ' (scripts Authenticode-signed and verified)' : ''}:`];
  for (const f of files) lines.push(`  ${f.name.padEnd(34)} ${f.mode}  ${f.purpose}`);
  lines.push('files marked 0600 hold a key: keep them out of version control and shared folders');
  lines.push('next: upload them as described in docs/intune-windows.md');
  return lines.join('\n');
}

export const intuneCommand = defineCommand({
  command: 'intune',
  describe: 'Write the Intune PowerShell scripts for Windows (Detect, Remediations, provisioning, uninstall), optionally signed and packaged as .intunewin',
  examples: [
    ['$0 intune --host https://acme.runlayer.com --org-api-key-file org.key --out out/intune', 'Detect scripts'],
    ['$0 intune --host https://acme.runlayer.com --org-api-key-file org.key --enrollment-key-file enroll.key --sign-pfx cs.pfx --pfx-password-file pw.txt --intunewin --out out/intune', 'everything, signed, with the Win32 app package'],
  ],
  runtimeOptions: addTenantFlags,
  options: INTUNE_OPTIONS,
  run: async (args, ctx) => {
    const input = await inputFrom(args, ctx);
    const signer = await signerFrom(args, ctx, input.spec.productTitle);
    await prepareOutput(ctx, path.resolve(ctx.cwd, args.out), 'folder');
    const plan = await planIntune(input, { signer, intunewin: args.intunewin, mtime: new Date(buildEpoch(ctx.env) * 1000) });
    const out = path.resolve(ctx.cwd, args.out);
    for (const a of plan.artifacts) await writeFileAtomic(path.join(out, a.name), a.bytes, { mode: a.mode });
    const summary = { ok: true, out, ...planSummary(plan, input), signer: signer ? (await signer.pfx()).signer : undefined };
    return { text: describeText(summary, args.out), json: summary };
  },
});

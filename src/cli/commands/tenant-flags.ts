/**
 * CLI flags derived from the tenant key definitions (profiles/tenant-keys.json), shared by `tenant` (and any
 * command that takes tenant values): a secret key `org-api-key` gets `--org-api-key-file`, `--org-api-key-stdin`
 * and the environment variable AIWATCH_ORG_API_KEY — and `--org-api-key` itself only to refuse it without echoing
 * the value; a string key gets `--<flag> VALUE`; a boolean key `--<flag>` / `--no-<flag>` with its default.
 */
import path from 'node:path';
import type { Argv } from 'yargs';
import { envNameForFlag, readSecret } from '../../config/secrets.js';
import { loadDefaultSpec } from '../../config/spec.js';
import type { DeploymentSpec } from '../../config/spec-types.js';
import { HOST_KEY, type RawTenantValues } from '../../config/tenant-keys.js';
import type { TenantKeyDef } from '../../config/spec-types.js';
import { UsageError } from '../../errors.js';
import type { CliContext } from '../command.js';

export function addTenantFlags(y: Argv): Argv {
  let b = y;
  for (const def of loadDefaultSpec().tenantKeys) {
    const what = `${def.name}: ${def.description}`;
    if (def.secret) {
      b = b
        .option(`${def.flag}-file`, { type: 'string', describe: `${what} Read from this file (or ${envNameForFlag(def.flag)}, or --${def.flag}-stdin).` })
        .option(`${def.flag}-stdin`, { type: 'boolean', describe: `Read ${def.name} from standard input.` })
        .option(def.flag, { type: 'string', hidden: true });
    } else if (def.type === 'boolean') {
      b = b.option(def.flag, { type: 'boolean', default: def.default as boolean | undefined, describe: `${what} (--no-${def.flag} to turn off)` });
    } else {
      b = b.option(def.flag, { type: 'string', describe: def.required ? `${what} Required.` : what });
    }
  }
  return b;
}

/** Where a tenant value is given on the command line, for messages: `--host V`, or a secret's file/stdin/env. */
export function tenantFlagHint(def: TenantKeyDef): string {
  if (def.secret) return `--${def.flag}-file FILE, --${def.flag}-stdin or ${envNameForFlag(def.flag)}`;
  return def.type === 'boolean' ? `--${def.flag} / --no-${def.flag}` : `--${def.flag} ${def.name === HOST_KEY ? 'URL' : 'VALUE'}`;
}

/** Tenant values from parsed flags, secrets read from their file / stdin / environment. */
export async function tenantRawFromArgs(spec: DeploymentSpec, args: Record<string, unknown>, ctx: CliContext): Promise<RawTenantValues> {
  const raw: Record<string, unknown> = {};
  const secrets = spec.tenantKeys.filter((d) => d.secret);
  for (const d of secrets) {
    if (args[d.flag] !== undefined) {
      throw new UsageError(`--${d.flag}: secrets are not accepted on the command line (they would show in the process list and shell history); use --${d.flag}-file, --${d.flag}-stdin or ${envNameForFlag(d.flag)}`);
    }
  }
  if (secrets.filter((d) => args[`${d.flag}-stdin`] === true).length > 1) {
    throw new UsageError(`only one secret can be read from standard input; give the others with --…-file or their environment variable`);
  }
  for (const d of spec.tenantKeys) {
    if (d.secret) {
      const file = args[`${d.flag}-file`];
      const src = { file: typeof file === 'string' ? path.resolve(ctx.cwd, file) : undefined, stdin: args[`${d.flag}-stdin`] === true, envName: envNameForFlag(d.flag), flag: d.flag, label: d.name };
      raw[d.name] = await readSecret(src, { env: ctx.env, stdin: ctx.stdin });
    } else if (args[d.flag] !== undefined) {
      raw[d.name] = d.type === 'boolean' ? Boolean(args[d.flag]) : String(args[d.flag]);
    }
  }
  return raw as RawTenantValues;
}

/**
 * Reading a rollout's secrets: every `{file: PATH}` / `{env: NAME}` reference of the selected targets (credentials
 * and tenant values) is read into a {@link Secret} before any target is connected, and the tenant values are
 * validated as `tenant` validates them (src/config/tenant.ts: Host's form, the key prefixes). Every problem is
 * collected and reported at once (UsageError, exit 2), each naming the target and the field — never the value, and
 * not a file's path either (a path may be the secret typed in the wrong place; the rollout file says which it is).
 *
 * A file read by group or others is used with a warning (chmod 600 advised): refusing would break a secret mounted
 * by a CI system, which often cannot set modes; the warning says so.
 */
import { stat } from 'node:fs/promises';
import type { DeploymentSpec } from '../config/spec-types.js';
import { SECRET_KEY_NAMES } from '../config/tenant-keys.js';
import { parseTenantInput, type RawTenantValues } from '../config/tenant.js';
import { UsageError } from '../errors.js';
import { readInputText } from '../io/fs.js';
import { Secret } from '../secret.js';
import type { ResolvedTarget, RolloutTarget, SecretRef } from './model.js';

/** The largest secret file read (a key or a client secret is far shorter). */
export const SECRET_FILE_MAX_BYTES = 64 * 1024;

export interface SecretIo {
  env: NodeJS.ProcessEnv;
  warn: (message: string) => void;
}

const isRef = (v: unknown): v is SecretRef => typeof v === 'object' && v !== null && !(v instanceof Secret);

/** One reference's value, or the problem (naming `where`, never the value or the path). */
async function readRef(ref: SecretRef, where: string, io: SecretIo): Promise<Secret | string> {
  if ('env' in ref) {
    const v = io.env[ref.env];
    if (v === undefined || v === '') return `${where}: the environment variable ${ref.env} is not set or empty`;
    return new Secret(v.replace(/\r?\n$/, ''), where);
  }
  const st = await stat(ref.file).catch(() => undefined);
  if (!st) return `${where}: its {file} does not exist (the path is not shown: it may be the secret itself)`;
  if (!st.isFile()) return `${where}: its {file} is not a regular file`;
  if (st.size > SECRET_FILE_MAX_BYTES) return `${where}: its {file} has ${st.size} bytes, over the ${SECRET_FILE_MAX_BYTES} a secret file may have`;
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    io.warn(`${where}: its {file} can be read by group or others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`);
  }
  let text: string;
  try {
    text = await readInputText(ref.file, where);
  } catch {
    return `${where}: its {file} cannot be read`;
  }
  const value = text.replace(/^\uFEFF/, '').replace(/\r?\n$/, '');
  if (value === '') return `${where}: its {file} is empty`;
  return new Secret(value, where);
}

/** Every reference of the targets read, tenant values validated; all problems at once. */
export async function resolveTargets(targets: readonly RolloutTarget[], spec: DeploymentSpec, io: SecretIo): Promise<ResolvedTarget[]> {
  const problems: string[] = [];
  const out: ResolvedTarget[] = [];
  for (const t of targets) {
    const subject = `target ${t.name}`;
    const credentials: ResolvedTarget['credentials'] = {};
    for (const [name, v] of Object.entries(t.credentials)) {
      if (!isRef(v)) credentials[name] = v;
      else {
        const r = await readRef(v, `${subject}: credentials.${name}`, io);
        if (typeof r === 'string') problems.push(r);
        else credentials[name] = new Secret(r.reveal(), `credentials.${name}`);
      }
    }
    const raw: Record<string, string | boolean | Secret> = {};
    let readable = true;
    for (const [name, v] of Object.entries(t.tenant)) {
      if (!isRef(v)) raw[name] = v;
      else {
        const r = await readRef(v, `${subject}: tenant.${name}`, io);
        if (typeof r === 'string') {
          problems.push(r);
          readable = false;
        } else {
          // A non-secret key may be given by reference too (a Host kept with the keys): it is then plain text.
          const secret = SECRET_KEY_NAMES.includes(name as (typeof SECRET_KEY_NAMES)[number]);
          raw[name] = secret ? new Secret(r.reveal(), name) : r.reveal();
        }
      }
    }
    let tenant: ResolvedTarget['tenant'] = {};
    if (readable) {
      try {
        tenant = { ...(parseTenantInput(spec, raw as RawTenantValues, `${subject}: tenant`) as Record<string, string | boolean | Secret>) };
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        problems.push(...e.problems);
      }
    }
    out.push({ ...t, credentials, tenant });
  }
  if (problems.length > 0) throw new UsageError(problems);
  return out;
}

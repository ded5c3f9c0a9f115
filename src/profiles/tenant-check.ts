/**
 * Checks tenant-config values found in a file (tenant profile in either encoding, Intune fragment, Jamf values
 * JSON) against the tenant key definitions: known keys only, the right plist/JSON type (a boolean written as the
 * string "true" would reach the agent as a string), and the same value rules `tenant` applies when generating
 * (via parseTenantInput, so secrets are masked in every message).
 */
import type { DeploymentSpec } from '../config/spec-types.js';
import { parseTenantInput, type RawTenantValues } from '../config/tenant.js';
import { UsageError, type Problem } from '../errors.js';
import { Secret } from '../secret.js';

/** A value as read from a file: its type name and, for strings and booleans, the value. */
export interface FoundValue {
  type: string;
  value?: string | boolean;
}

const SUBJECT = '\u0000subject';

/**
 * Problems of the tenant `values` (key → found value). `where` is the `file:path` of the dictionary; keys named
 * `Payload…` are skipped (they are the payload's own keys in the domain encoding).
 */
export function tenantValueProblems(spec: DeploymentSpec, values: Map<string, FoundValue>, where: string): Problem[] {
  const problems: Problem[] = [];
  const raw: Record<string, string | boolean | Secret> = {};
  const badType = new Set<string>();
  const names = spec.tenantKeys.map((d) => d.name);
  for (const [key, found] of values) {
    if (key.startsWith('Payload')) continue;
    const def = spec.tenantKeys.find((d) => d.name === key);
    if (!def) {
      problems.push({ where, message: `unknown key ${JSON.stringify(key)} for ${spec.domain} (known: ${names.join(', ')})` });
      continue;
    }
    if (found.type !== def.type || found.value === undefined) {
      badType.add(key);
      problems.push({ where, message: `${key} must be a ${def.type}, found a ${found.type}` });
      continue;
    }
    raw[key] = def.secret ? new Secret(String(found.value), key) : found.value;
  }
  try {
    parseTenantInput(spec, raw as RawTenantValues, SUBJECT);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    for (const line of e.problems) {
      const message = line.startsWith(`${SUBJECT}: `) ? line.slice(SUBJECT.length + 2) : line;
      if ([...badType].some((k) => message.startsWith(`${k} `))) continue;
      problems.push({ where, message });
    }
  }
  return problems;
}

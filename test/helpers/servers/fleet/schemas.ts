/**
 * The schemas the local Fleet server validates every request against: test/fixtures/vendor-api/fleet/
 * forms.schema.json, written from Fleet's own field names in the vendor slice beside it (fleet.json), compiled once
 * per process with ajv. A multipart form becomes an object first ({@link formObject}): text fields as strings,
 * repeatable fields as arrays, file parts as {filename, contentType, size, sha256}. Unknown fields are failures
 * (additionalProperties false): Fleet ignores a field it does not read, so a misspelt one would go unnoticed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import type { FormPart } from './multipart.js';

export const FLEET_SCHEMA_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../fixtures/vendor-api/fleet/forms.schema.json');

export type FormName = 'softwarePackageAdd' | 'softwarePackageModify' | 'configurationProfileAdd';
export type QueryName = 'configurationProfilesList' | 'configurationProfileGet' | 'softwareTitlesList' | 'softwareTitleGet' | 'none';

const REPEATABLE = new Set(['labels_include_any', 'labels_exclude_any', 'labels_include_all', 'labels', 'categories']);
const FILES = new Set(['software', 'profile']);

let ajv: Ajv | undefined;
const compiled = new Map<string, ValidateFunction>();

function validator(pointer: string): ValidateFunction {
  if (!ajv) {
    ajv = new Ajv({ strict: false, allErrors: true, logger: false });
    ajv.addSchema(JSON.parse(readFileSync(FLEET_SCHEMA_FILE, 'utf8')) as object);
  }
  let fn = compiled.get(pointer);
  if (!fn) {
    fn = ajv.compile({ $ref: `fleet-forms#/${pointer}` });
    compiled.set(pointer, fn);
  }
  return fn;
}

/** A parsed form as the object the schemas describe; a text field given twice is kept as a list (and then fails). */
export function formObject(parts: FormPart[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of parts) {
    if (FILES.has(p.name) || p.filename !== undefined) {
      out[p.name] = { filename: p.filename ?? '', ...(p.contentType ? { contentType: p.contentType } : {}), size: p.size, sha256: p.sha256 };
      continue;
    }
    const text = (p.bytes ?? Buffer.alloc(0)).toString('utf8');
    if (REPEATABLE.has(p.name)) out[p.name] = [...((out[p.name] as string[] | undefined) ?? []), text];
    else if (p.name in out) out[p.name] = [out[p.name], text];
    else out[p.name] = text;
  }
  return out;
}

function problems(fn: ValidateFunction, value: unknown, what: string): string[] {
  if (fn(value)) return [];
  return (fn.errors ?? []).map((e) => {
    const extra = e.keyword === 'additionalProperties' ? ` "${String((e.params as { additionalProperty?: string }).additionalProperty)}" is not a field Fleet reads` : '';
    return `${what}: ${e.instancePath || '(form)'} ${e.message ?? e.keyword}${extra}`;
  });
}

export function validateForm(name: FormName, form: Record<string, unknown>): string[] {
  return problems(validator(name), form, name);
}

export function validateQuery(name: QueryName, query: URLSearchParams): string[] {
  const obj: Record<string, unknown> = {};
  for (const [k, v] of query) obj[k] = k in obj ? [obj[k], v] : v;
  return problems(validator(`queries/${name}`), obj, `query of ${name}`);
}

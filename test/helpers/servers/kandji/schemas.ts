/**
 * The schemas the local Kandji server checks request bodies against, derived from Kandji's Postman collection
 * (test/fixtures/vendor-api/kandji/kandji.json) rather than written by hand, and compiled with ajv:
 *
 *  - form and multipart bodies (`body.fields`): every documented field is a property — `text` a string, `file` a
 *    file part —, nothing else is allowed (Kandji's server drops an unknown form field without a word, so a
 *    misspelt field in our client would go unnoticed against the real one). A field whose description starts
 *    "(Required)" is required; "(Required for X=Y)" is required when field X is Y; "Options are a, b, c" is an enum;
 *    a field whose example is "true" / "false" takes exactly those words.
 *  - JSON bodies (`body.parsed`): its keys are the properties, nothing else allowed; which are required is taken from
 *    the text (`// required` in the raw body, "(string, required)" in the description).
 *
 * A multipart body is checked as an object of its text fields plus a `{file: true}` marker per file part.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';

export const KANDJI_API_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../fixtures/vendor-api/kandji/kandji.json');

interface Field {
  key: string;
  type: 'text' | 'file';
  example: string | null;
  description: string | null;
}

interface CollectionRequest {
  name: string;
  description?: string;
  body?: { mode: string; fields?: Field[]; raw?: string; parsed?: Record<string, unknown> };
}

type Schema = Record<string, unknown>;

let requests: Record<string, CollectionRequest[]> | undefined;
const compiled = new Map<string, ValidateFunction>();
const ajv = new Ajv({ strict: false, allErrors: true, logger: false });

function collection(): Record<string, CollectionRequest[]> {
  requests ??= (JSON.parse(readFileSync(KANDJI_API_FILE, 'utf8')) as { requests: Record<string, CollectionRequest[]> }).requests;
  return requests;
}

/** The collection's request `key` (`/api/v1/library/custom-apps POST`). */
export function requestOf(key: string): CollectionRequest {
  const r = collection()[key]?.[0];
  if (!r) throw new Error(`kandji test server: no request ${key} in kandji.json`);
  return r;
}

/** The schema of a form / multipart body, from the documented fields. */
export function formSchema(key: string): Schema {
  const fields = requestOf(key).body?.fields ?? [];
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  const conditions: Schema[] = [];
  for (const f of fields) {
    const text = f.description ?? '';
    let s: Schema;
    if (f.type === 'file') s = { const: true };
    else {
      const options = /Options are ([a-z_]+(?:, [a-z_]+)+)/.exec(text);
      if (options) s = { enum: options[1]!.split(', ') };
      else if (f.example === 'true' || f.example === 'false') s = { enum: ['true', 'false'] };
      else s = { type: 'string' };
    }
    properties[f.key] = s;
    if (/^\(Required\)/.test(text)) required.push(f.key);
    const cond = /^\(Required for ([a-z_]+)=([a-z_]+)\)/.exec(text);
    if (cond) conditions.push({ if: { properties: { [cond[1]!]: { const: cond[2] } }, required: [cond[1]] }, then: { required: [f.key] } });
  }
  return { type: 'object', properties, required, additionalProperties: false, ...(conditions.length > 0 ? { allOf: conditions } : {}) };
}

/** The schema of a JSON body, from the example body and the text that says which keys are required. */
export function jsonSchema(key: string): Schema {
  const r = requestOf(key);
  const parsed = r.body?.parsed ?? {};
  const raw = r.body?.raw ?? '';
  const description = r.description ?? '';
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  for (const k of Object.keys(parsed)) {
    properties[k] = { type: 'string', minLength: 1 };
    const commentRequired = new RegExp(`//\\s*required[^\\n]*\\n\\s*"${k}"`).test(raw);
    const describedRequired = new RegExp(`${k} \\(string, required\\)`).test(description);
    if (commentRequired || describedRequired) required.push(k);
  }
  return { type: 'object', properties, required, additionalProperties: false };
}

/** Problems of `value` against the schema of `key` (`form` or `json`); [] when it conforms. */
export function validateBody(kind: 'form' | 'json', key: string, value: unknown): string[] {
  const id = `${kind} ${key}`;
  let fn = compiled.get(id);
  if (!fn) {
    fn = ajv.compile(kind === 'form' ? formSchema(key) : jsonSchema(key));
    compiled.set(id, fn);
  }
  if (fn(value)) return [];
  return (fn.errors ?? []).map((e) => {
    const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)} is not a field Kandji documents)` : '';
    const allowed = e.keyword === 'enum' ? ` (${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)})` : '';
    return `${e.instancePath || '(body)'} ${e.message ?? 'is invalid'}${extra}${allowed}`;
  });
}

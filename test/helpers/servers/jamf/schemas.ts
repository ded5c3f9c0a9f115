/**
 * The vendor's schemas for the local Jamf Pro server: Jamf's own API description (test/fixtures/vendor-api/jamf/
 * jamf.json, copied with its source and licence), compiled once per process with ajv, so every request body the
 * server accepts has the shape Jamf publishes.
 *
 * Three documents are registered: `jamf-pro` (Jamf Pro API components), `jamf-classic` (Classic API components) and
 * `jamf-auth` (the token endpoints). The OpenAPI 3.0 annotations ajv does not know (`example`, `xml`, `x-…`) are
 * ignored (strict: false); `nullable` is ajv's own keyword; formats (int32, binary, password) are not checked.
 *
 * Beyond the schemas, {@link unknownFields} names fields a schema does not declare: Jamf's schemas do not forbid
 * extra fields, and Jamf drops a field it does not know without a word, so a misspelt field in our client would go
 * unnoticed against a real server. The local server counts such a field as a validation failure.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';

export const JAMF_API_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../fixtures/vendor-api/jamf/jamf.json');

type Schema = Record<string, unknown>;
type Doc = 'jamf-pro' | 'jamf-classic' | 'jamf-auth';

interface Loaded {
  ajv: Ajv;
  docs: Record<Doc, Schema>;
  compiled: Map<string, ValidateFunction>;
}

let loaded: Loaded | undefined;

function load(): Loaded {
  if (loaded) return loaded;
  const api = JSON.parse(readFileSync(JAMF_API_FILE, 'utf8')) as {
    proApi: { components: Schema };
    classicApi: { components: Schema };
    auth: { schemas: Schema };
  };
  const docs: Record<Doc, Schema> = {
    'jamf-pro': { $id: 'jamf-pro', components: api.proApi.components },
    'jamf-classic': { $id: 'jamf-classic', components: api.classicApi.components },
    'jamf-auth': { $id: 'jamf-auth', auth: { schemas: api.auth.schemas } },
  };
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, logger: false });
  for (const d of Object.values(docs)) ajv.addSchema(d);
  loaded = { ajv, docs, compiled: new Map() };
  return loaded;
}

/** `jamf-pro` + `Package` → the schema object (for walking: XML mapping, unknown fields). */
export function schemaOf(doc: Doc, name: string): Schema {
  const d = load().docs[doc];
  const schemas = doc === 'jamf-auth' ? (d.auth as { schemas: Schema }).schemas : (d.components as { schemas: Schema }).schemas;
  const s = schemas[name];
  if (!s) throw new Error(`jamf test server: no schema ${name} in ${doc}`);
  return s as Schema;
}

/** Follow `$ref` (within `doc`) and merge `allOf` into one object schema with all properties. */
export function resolveSchema(doc: Doc, schema: Schema | undefined): Schema {
  let s = schema ?? {};
  for (let hops = 0; typeof s.$ref === 'string' && hops < 20; hops++) s = schemaOf(doc, (s.$ref as string).split('/').pop()!);
  if (Array.isArray(s.allOf)) {
    const merged: Schema = { type: 'object', properties: {} };
    for (const part of s.allOf as Schema[]) {
      const r = resolveSchema(doc, part);
      Object.assign(merged.properties as Schema, r.properties ?? {});
    }
    return merged;
  }
  return s;
}

export interface SchemaProblem {
  /** JSON pointer into the body, '' for the root. */
  field: string;
  message: string;
}

/**
 * Validate `value` against `doc`'s schema `name`: ajv's errors plus the fields the schema does not declare.
 * `partial`: a Classic PUT, which sends only what changes, so a missing required field is not a problem.
 */
export function validate(doc: Doc, name: string, value: unknown, o: { partial?: boolean } = {}): SchemaProblem[] {
  const l = load();
  const key = `${doc}#${name}`;
  let fn = l.compiled.get(key);
  if (!fn) {
    const ref = doc === 'jamf-auth' ? `${doc}#/auth/schemas/${name}` : `${doc}#/components/schemas/${name}`;
    fn = l.ajv.compile({ $ref: ref });
    l.compiled.set(key, fn);
  }
  const problems: SchemaProblem[] = fn(value) ? [] : (fn.errors ?? []).filter((e) => !(o.partial && e.keyword === 'required')).map((e) => ({ field: e.instancePath, message: `${e.instancePath || '(body)'} ${e.message ?? 'is invalid'}` }));
  for (const f of unknownFields(doc, schemaOf(doc, name), value, '')) problems.push({ field: f, message: `${f} is not a field of ${name} in Jamf's API description` });
  return problems;
}

/** JSON pointers of object keys that `schema` (resolved) does not declare, recursively. */
export function unknownFields(doc: Doc, schema: Schema, value: unknown, at: string): string[] {
  const s = resolveSchema(doc, schema);
  const out: string[] = [];
  if (Array.isArray(value)) {
    const items = s.items as Schema | undefined;
    if (items) value.forEach((v, i) => out.push(...unknownFields(doc, items, v, `${at}/${i}`)));
    return out;
  }
  if (value === null || typeof value !== 'object') return out;
  const props = s.properties as Record<string, Schema> | undefined;
  if (!props) return out;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (!(k in props)) out.push(`${at}/${k}`);
    else out.push(...unknownFields(doc, props[k]!, v, `${at}/${k}`));
  }
  return out;
}

/**
 * Microsoft's Graph (beta) description of the Intune objects, as JSON Schemas for ajv: the local Intune server
 * validates every request body with them. The source is test/fixtures/vendor-api/intune/graph-intune.json (a slice of
 * Microsoft's generated SDK models and CSDL type map; README there), whose types are not JSON Schema but a type map:
 * `{kind, baseType, "@odata.type", properties: {name: {type, nullable, readOnly, collection}}}`. This module turns
 * each type into a schema:
 *
 *  - the properties of the type and of its base types; read-only ones (the service sets them) and navigation
 *    properties (other entities) are left out, and every other field is refused (`additionalProperties: false`): Graph
 *    drops or refuses a field it does not know, so a misspelt field in our client would be a hidden bug;
 *  - Edm.String / DateTimeOffset / Duration / Date / TimeOfDay → string; Edm.Boolean → boolean; Edm.Int32 / Int64 →
 *    integer (Int32 bounded); other numbers → number; Edm.Binary → a base64 string; `enum:X` → X's members (a flags
 *    enum — one marked as a collection, e.g. windowsArchitecture — is a comma-separated string of members, as OData
 *    writes flags); `complex:X` → X or one of the types derived from it, chosen by `@odata.type`;
 *  - a property is nullable unless the description says `nullable: false`;
 *  - polymorphism: a value may carry `"@odata.type": "#microsoft.graph.T"` naming the type or one derived from it,
 *    and is then checked against that type (a complex type without a discriminator in the description may name
 *    itself, `#microsoft.graph.macOSMinimumOperatingSystem`, as Microsoft's example bodies do). A type whose own `@odata.type` is null (an abstract complex type such as
 *    deviceAndAppManagementAssignmentTarget) and the abstract entity bases the description's path notes name
 *    (mobileApp, mobileLobApp, deviceConfiguration: "POST … is polymorphic: the body must carry @odata.type") need it.
 *
 * Action bodies (assign, commit) are described inline in `paths`; {@link actionSchema} builds them the same way.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';

export const GRAPH_API_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../fixtures/vendor-api/intune/graph-intune.json');

interface Prop {
  type: string;
  nullable?: boolean | null;
  readOnly?: boolean;
  collection?: boolean;
  'x-edm'?: string;
}
interface TypeDef {
  kind: string;
  baseType: string | null;
  '@odata.type': string | null;
  properties: Record<string, Prop>;
}
interface PathOp {
  requestBody?: { $type?: string; inline?: boolean; properties?: Record<string, Prop> };
  success?: string;
}
export interface GraphApi {
  types: Record<string, TypeDef>;
  enums: Record<string, { members: string[] }>;
  paths: Record<string, Record<string, PathOp>>;
  auth: Record<string, unknown>;
}

type Schema = Record<string, unknown>;

/** Abstract entity bases: a body of one of these must say which derived type it is (graph-intune.json x-path-notes). */
const ABSTRACT = new Set(['mobileApp', 'mobileLobApp', 'deviceConfiguration']);
const BASE64 = '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$';

let loaded: { api: GraphApi; ajv: Ajv; compiled: Map<string, ValidateFunction> } | undefined;

export function graphApi(): GraphApi {
  return load().api;
}

function load(): NonNullable<typeof loaded> {
  if (loaded) return loaded;
  const api = JSON.parse(readFileSync(GRAPH_API_FILE, 'utf8')) as GraphApi;
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  const definitions: Record<string, Schema> = {};
  for (const name of Object.keys(api.types)) {
    definitions[`${name}.exact`] = exactSchema(api, name);
    definitions[name] = polySchema(api, name);
  }
  ajv.addSchema({ $id: 'graph', definitions });
  loaded = { api, ajv, compiled: new Map() };
  return loaded;
}

/** The types derived (directly or not) from `name`, and `name` itself. */
export function family(api: GraphApi, name: string): string[] {
  const out = [name];
  for (const [t, def] of Object.entries(api.types)) {
    let b = def.baseType;
    for (let hops = 0; b && hops < 10; hops++) {
      if (b === name) {
        out.push(t);
        break;
      }
      b = api.types[b]?.baseType ?? null;
    }
  }
  return out;
}

/** Every property of `name` with those of its bases (the nearest definition wins). */
export function allProps(api: GraphApi, name: string): Record<string, Prop> {
  const out: Record<string, Prop> = {};
  for (let t: string | null = name, hops = 0; t && hops < 10; t = api.types[t]?.baseType ?? null, hops++) {
    for (const [k, p] of Object.entries(api.types[t]?.properties ?? {})) if (!(k in out)) out[k] = p;
  }
  return out;
}

function propSchema(api: GraphApi, p: Prop): Schema | undefined {
  const [kind, ref] = p.type.includes(':') ? (p.type.split(':') as [string, string]) : ['edm', p.type];
  let one: Schema;
  if (kind === 'navigation') return undefined;
  if (kind === 'enum') {
    const members = api.enums[ref]?.members ?? [];
    if (p.collection) return withNull({ type: 'string', pattern: `^(?:${members.join('|')})(?:,(?:${members.join('|')}))*$` }, p);
    one = { type: 'string', enum: members };
  } else if (kind === 'complex') {
    one = { $ref: `graph#/definitions/${ref}` };
  } else if (/^Edm\.(String|DateTimeOffset|Duration|Date|TimeOfDay)$/.test(ref)) {
    one = { type: 'string' };
  } else if (ref === 'Edm.Boolean') {
    one = { type: 'boolean' };
  } else if (ref.startsWith('Edm.Binary')) {
    one = { type: 'string', pattern: BASE64 };
  } else if (ref.startsWith('number')) {
    one = p['x-edm'] === 'Edm.Int32' ? { type: 'integer', minimum: -2147483648, maximum: 2147483647 } : p['x-edm'] === 'Edm.Int64' ? { type: 'integer' } : { type: 'number' };
  } else {
    one = {};
  }
  return withNull(p.collection ? { type: 'array', items: one } : one, p);
}

function withNull(s: Schema, p: Prop): Schema {
  return p.nullable === false ? s : { anyOf: [s, { type: 'null' }] };
}

/** The writable fields of exactly `name`; `@odata.type` may name it. */
function exactSchema(api: GraphApi, name: string): Schema {
  const properties: Record<string, Schema> = {};
  for (const [k, p] of Object.entries(allProps(api, name))) {
    if (p.readOnly) continue;
    const s = propSchema(api, p);
    if (s) properties[k] = s;
  }
  // A complex type the description gives no discriminator (macOSMinimumOperatingSystem) may still carry the OData
  // type annotation naming itself, as Microsoft's own example bodies do.
  properties['@odata.type'] = { const: api.types[name]?.['@odata.type'] ?? `#microsoft.graph.${name}` };
  return { type: 'object', properties, additionalProperties: false };
}

/** `name` or a type derived from it, by `@odata.type`. */
function polySchema(api: GraphApi, name: string): Schema {
  const members = family(api, name);
  const typed = members.filter((t) => api.types[t]?.['@odata.type']);
  const needsType = ABSTRACT.has(name) || !api.types[name]?.['@odata.type'];
  const names = typed.map((t) => api.types[t]!['@odata.type']!);
  if (members.length === 1) return { $ref: `graph#/definitions/${name}.exact` };
  return {
    type: 'object',
    ...(needsType ? { required: ['@odata.type'] } : {}),
    properties: { '@odata.type': { enum: ABSTRACT.has(name) ? names.filter((n) => n !== api.types[name]!['@odata.type']) : names } },
    allOf: [
      ...typed.map((t) => ({ if: { properties: { '@odata.type': { const: api.types[t]!['@odata.type'] } }, required: ['@odata.type'] }, then: { $ref: `graph#/definitions/${t}.exact` } })),
      ...(needsType ? [] : [{ if: { not: { required: ['@odata.type'] } }, then: { $ref: `graph#/definitions/${name}.exact` } }]),
    ],
  };
}

/** The inline body of an action (`assign`, `commit`) from its path's description; no body described → `{}` only. */
export function actionSchema(api: GraphApi, op: PathOp): Schema {
  const properties: Record<string, Schema> = {};
  for (const [k, p] of Object.entries(op.requestBody?.properties ?? {})) properties[k] = propSchema(api, p) ?? {};
  return { type: 'object', properties, additionalProperties: false };
}

export interface Problem {
  field: string;
  message: string;
}

/**
 * Validate `body` for `method` on the described path `template` (graph-intune.json `paths` key): an entity body
 * against its type (polymorphic), an action body against its inline description.
 */
export function validateBody(template: string, method: string, body: unknown): Problem[] {
  const l = load();
  const op = l.api.paths[template]?.[method];
  if (!op) return [{ field: '', message: `${method} ${template} is not in Graph's description` }];
  const key = `${method} ${template}`;
  let fn = l.compiled.get(key);
  if (!fn) {
    const rb = op.requestBody;
    const schema = rb?.$type ? { $ref: `graph#/definitions/${rb.$type}` } : actionSchema(l.api, op);
    fn = l.ajv.compile(schema);
    l.compiled.set(key, fn);
  }
  if (fn(body)) return [];
  // `if/then` failures repeat the inner error; keep the inner ones.
  return (fn.errors ?? []).filter((e) => e.keyword !== 'if' && e.keyword !== 'anyOf').map((e) => ({ field: e.instancePath, message: `${e.instancePath || '(body)'} ${e.message ?? 'is invalid'}${e.keyword === 'additionalProperties' ? `: ${String((e.params as { additionalProperty?: string }).additionalProperty)}` : ''}` }));
}

/** The success status the description gives for `method` on `template` (e.g. "201 Created" → 201). */
export function successStatus(template: string, method: string): number {
  const s = load().api.paths[template]?.[method]?.success ?? '';
  const n = /^(\d{3})/.exec(s)?.[1];
  if (!n) throw new Error(`graph-intune.json gives no success status for ${method} ${template}`);
  return Number(n);
}

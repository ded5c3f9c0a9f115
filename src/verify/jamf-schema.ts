/**
 * Checks of a Jamf Pro custom schema (JSON Schema + json-editor keywords, see src/profiles/jamf-schema.ts) and of
 * a Jamf "values" JSON for our tenant domain.
 *
 * Schema: valid JSON, compiles as a JSON Schema (ajv), a root object with a title and non-empty `properties`, each
 * property with a type json-editor renders, `required` naming existing properties, `default` of the property's
 * type (and in its `enum`), `property_order`/`propertyOrder` integers that agree, compilable `pattern`s. When the
 * schema describes our tenant domain (its properties are tenant keys): every key present with its type, the same
 * required keys, and no `default` on a secret (Jamf would deliver it).
 * Does not cover: how a particular Jamf Pro version renders the form.
 */
import type { DeploymentSpec } from '../config/spec-types.js';
import type { Problem } from '../errors.js';
import { tenantValueProblems, type FoundValue } from '../profiles/tenant-check.js';
import { lazyRequire } from '../formats/lazy.js';

// Loaded on first use, not at every start of the CLI (src/formats/lazy.ts).
const ajv = lazyRequire<typeof import('ajv')>('ajv');

const TYPES = ['string', 'integer', 'number', 'boolean', 'array', 'object'];
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(type: string, v: unknown): boolean {
  const t = jsonType(v);
  return t === type || (type === 'number' && t === 'integer');
}

function parseJson(text: string, file: string, problems: Problem[]): unknown {
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    problems.push({ where: file, message: `not valid JSON (${(e as Error).message})` });
    return undefined;
  }
}

function propertyProblems(p: unknown, at: string, fail: (w: string, m: string) => void): void {
  if (!isObj(p)) return fail(at, 'must be an object');
  const type = p.type;
  if (typeof type !== 'string' || !TYPES.includes(type)) {
    if (!Array.isArray(p.anyOf) && !Array.isArray(p.oneOf)) fail(at, `type ${JSON.stringify(type)} is not one of ${TYPES.join(', ')}`);
  } else {
    if (p.default !== undefined && !typeMatches(type, p.default)) fail(at, `default ${JSON.stringify(p.default)} is not of type ${type} (Jamf: "Value must be of type ${type}")`);
    if (Array.isArray(p.enum) && p.default !== undefined && !p.enum.some((e) => e === p.default)) fail(at, `default ${JSON.stringify(p.default)} is not in its enum`);
  }
  const orders = ['property_order', 'propertyOrder'].filter((k) => p[k] !== undefined);
  for (const k of orders) if (!Number.isInteger(p[k])) fail(at, `${k} must be an integer, got ${JSON.stringify(p[k])}`);
  if (orders.length === 2 && p.property_order !== p.propertyOrder) fail(at, `property_order ${String(p.property_order)} and propertyOrder ${String(p.propertyOrder)} disagree`);
  if (typeof p.pattern === 'string') {
    try {
      new RegExp(p.pattern, 'u');
    } catch {
      fail(at, `pattern ${JSON.stringify(p.pattern)} is not a valid regular expression`);
    }
  }
}

function tenantRules(schema: Obj, props: Obj, spec: DeploymentSpec, file: string, fail: (w: string, m: string) => void): void {
  const names = Object.keys(props);
  const defs = spec.tenantKeys;
  if (names.length === 0 || !names.every((n) => defs.some((d) => d.name === n))) return;
  const required = Array.isArray(schema.required) ? (schema.required as unknown[]) : [];
  for (const d of defs) {
    const p = props[d.name];
    const at = `${file}:properties.${d.name}`;
    if (!isObj(p)) {
      fail(`${file}:properties`, `tenant key ${d.name} is missing`);
      continue;
    }
    if (p.type !== d.type) fail(at, `type must be ${d.type}, got ${JSON.stringify(p.type)}`);
    if (d.secret && p.default !== undefined) fail(at, `${d.name} is a secret and must have no default (Jamf would deliver it to every Mac)`);
    if (d.required !== required.includes(d.name)) fail(`${file}:required`, `${d.name} ${d.required ? 'must' : 'must not'} be required`);
  }
}

/** Every problem of a Jamf custom schema's text. */
export function jamfSchemaProblems(text: string, file: string, spec: DeploymentSpec): Problem[] {
  const problems: Problem[] = [];
  const fail = (where: string, message: string): void => void problems.push({ where, message });
  const schema = parseJson(text, file, problems);
  if (schema === undefined) return problems;
  if (!isObj(schema)) return [{ where: file, message: 'a Jamf custom schema must be a JSON object' }];
  try {
    new (ajv().Ajv)({ strict: false, allErrors: true, validateFormats: false, logger: false }).compile(schema);
  } catch (e) {
    fail(file, `is not a valid JSON Schema: ${(e as Error).message}`);
  }
  if (typeof schema.title !== 'string' || schema.title.trim() === '') fail(`${file}:title`, 'needs a title (Jamf shows it as the form header)');
  if (schema.type !== undefined && schema.type !== 'object') fail(`${file}:type`, `must be "object", got ${JSON.stringify(schema.type)}`);
  const props = schema.properties;
  if (!isObj(props) || Object.keys(props).length === 0) {
    fail(`${file}:properties`, 'must be an object with at least one property');
    return problems;
  }
  for (const [name, p] of Object.entries(props)) propertyProblems(p, `${file}:properties.${name}`, fail);
  if (schema.required !== undefined) {
    if (!Array.isArray(schema.required)) fail(`${file}:required`, 'must be an array of property names');
    else for (const r of schema.required) if (typeof r !== 'string' || !(r in props)) fail(`${file}:required`, `${JSON.stringify(r)} is not a property`);
  }
  if (isObj(schema.options) && schema.options.remove_empty_properties !== undefined && typeof schema.options.remove_empty_properties !== 'boolean') {
    fail(`${file}:options.remove_empty_properties`, 'must be a boolean');
  }
  tenantRules(schema, props, spec, file, fail);
  return problems;
}

/** Every problem of a Jamf values JSON (the tenant's key/values). */
export function jamfValuesProblems(text: string, file: string, spec: DeploymentSpec): Problem[] {
  const problems: Problem[] = [];
  const values = parseJson(text, file, problems);
  if (values === undefined) return problems;
  if (!isObj(values)) return [{ where: file, message: 'tenant values must be a JSON object' }];
  const found = new Map<string, FoundValue>();
  for (const [k, v] of Object.entries(values)) {
    const t = jsonType(v);
    found.set(k, { type: t, value: typeof v === 'string' || typeof v === 'boolean' ? v : undefined });
  }
  return tenantValueProblems(spec, found, file);
}

/**
 * ajv over the JSON Schemas in `schemas/`: one compiled validator per schema, and errors turned into
 * `file: /json/pointer message` lines, every problem at once.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import { lazyRequire } from '../formats/lazy.js';
import { SCHEMAS_DIR } from './paths.js';

// Loaded on the first check: a start that checks no JSON does not load ajv (src/formats/lazy.ts).
const ajvModule = lazyRequire<typeof import('ajv')>('ajv');
const addFormats = lazyRequire<(ajv: Ajv) => Ajv>('ajv-formats');

let ajv: Ajv | undefined;

/** The options of the one instance; exported for the test that checks every schema against the meta-schema. */
export const AJV_OPTIONS = { allErrors: true, strict: true, strictRequired: false, strictTypes: false, allowUnionTypes: true } as const;

function instance(): Ajv {
  if (ajv) return ajv;
  // The schemas are ours and checked against the draft-07 meta-schema by test/config/schemas.test.ts, so the run does
  // not compile the meta-schema to check them again (~15 ms of every start, docs/benchmarks.md).
  ajv = new (ajvModule().Ajv)({ ...AJV_OPTIONS, validateSchema: false });
  addFormats()(ajv);
  ajv.addFormat('regex', { validate: (s: string) => isRegex(s) });
  for (const f of readdirSync(SCHEMAS_DIR).sort()) {
    if (f.endsWith('.schema.json')) ajv.addSchema(JSON.parse(readFileSync(path.join(SCHEMAS_DIR, f), 'utf8')) as object);
  }
  return ajv;
}

function isRegex(s: string): boolean {
  try {
    new RegExp(s, 'u');
    return true;
  } catch {
    return false;
  }
}

/** A validator for `schemas/<file>` (optionally a `#/definitions/x` fragment). */
export function validatorFor(ref: string): ValidateFunction {
  const id = `https://aiwatch-deploy/schemas/${ref}`;
  const v = instance().getSchema(id);
  if (!v) throw new Error(`no schema ${ref} in ${SCHEMAS_DIR}`);
  return v;
}

function describe(e: ErrorObject): string {
  const at = e.instancePath || '/';
  switch (e.keyword) {
    case 'additionalProperties':
      return `${at}: unknown key "${String((e.params as { additionalProperty: string }).additionalProperty)}"`;
    case 'enum':
      return `${at}: must be one of ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`;
    case 'pattern':
      return `${at}: does not match the expected form ${(e.params as { pattern: string }).pattern}`;
    default:
      return `${at}: ${e.message ?? e.keyword}`;
  }
}

/** Validate `data` against `ref`; returns `subject: problem` lines (empty when valid). Shows the bad value. */
export function schemaProblems(ref: string, data: unknown, subject: string): string[] {
  const v = validatorFor(ref);
  if (v(data)) return [];
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of v.errors ?? []) {
    if (e.keyword === 'if' || e.keyword === 'oneOf' && (v.errors?.length ?? 0) > 1) continue;
    const value = valueAt(data, e.instancePath);
    const shown = value === undefined || typeof value === 'object' ? '' : `, got ${JSON.stringify(value)}`;
    const line = `${subject}: ${describe(e)}${shown}`;
    if (!seen.has(line)) {
      seen.add(line);
      out.push(line);
    }
  }
  return out;
}

function valueAt(data: unknown, pointer: string): unknown {
  let cur: unknown = data;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

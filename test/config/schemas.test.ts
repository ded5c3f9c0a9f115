/**
 * Every JSON Schema in schemas/ is valid draft-07 (and passes ajv's strict mode): the CLI loads them without checking
 * them against the meta-schema (src/config/validate.ts), so this test is where a broken schema is caught.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { SCHEMAS_DIR } from '../../src/config/paths.js';
import { AJV_OPTIONS, validatorFor } from '../../src/config/validate.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const files = readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.schema.json')).sort();

describe('schemas/', () => {
  it('holds the schemas the CLI uses', () => {
    expect(files).toEqual(expect.arrayContaining(['deployment.schema.json', 'launchd-unit.schema.json', 'profiles-data.schema.json', 'tenant-keys.schema.json']));
  });

  it.each(files)('%s is valid against the draft-07 meta-schema and compiles in strict mode', (f) => {
    const ajv = new Ajv({ ...AJV_OPTIONS, validateSchema: true });
    addFormats(ajv);
    ajv.addFormat('regex', { validate: () => true });
    const schema = JSON.parse(readFileSync(path.join(SCHEMAS_DIR, f), 'utf8')) as { $id: string };
    expect(ajv.validateSchema(schema), JSON.stringify(ajv.errors)).toBe(true);
    for (const other of files) ajv.addSchema(JSON.parse(readFileSync(path.join(SCHEMAS_DIR, other), 'utf8')) as object);
    expect(ajv.getSchema(schema.$id)).toBeTypeOf('function'); // compiles, $refs to the other schemas resolved
    expect(typeof validatorFor(f)).toBe('function');
  });

  it('the meta-schema check is not vacuous: a schema with an unknown type is refused', () => {
    const ajv = new Ajv({ ...AJV_OPTIONS, validateSchema: true });
    expect(ajv.validateSchema({ type: 'strng' })).toBe(false);
  });
});

/** The Jamf custom schema: compiled by ajv in strict mode (json-editor keywords declared), tenants validated. */
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { jamfSchema, renderJamfSchema, renderJamfValues } from '../../src/profiles/jamf-schema.js';
import { jamfSchemaProblems } from '../../src/verify/jamf-schema.js';
import { sampleTenant, spec } from './helpers.js';

function compile() {
  // strictTypes off only because json-editor's `format: checkbox` sits on booleans; unknown keywords still fail.
  const ajv = new Ajv({ strict: true, strictTypes: false, allErrors: true });
  // json-editor / Jamf keywords: declared so that any other unknown keyword still fails strict mode.
  ajv.addVocabulary(['property_order', 'propertyOrder', 'options']);
  ajv.addFormat('checkbox', true);
  return ajv.compile(JSON.parse(renderJamfSchema(spec)) as object);
}

describe('Jamf custom schema', () => {
  const validate = compile();
  const good = JSON.parse(renderJamfValues(spec, sampleTenant())) as Record<string, unknown>;

  it('has the Jamf dialect shape (§3.2–3.5)', () => {
    const s = jamfSchema(spec) as { title: string; type: string; options: object; required: string[]; properties: Record<string, Record<string, unknown>> };
    expect(s.title).toBe('Runlayer aiwatch (com.runlayer.aiwatch)');
    expect(s.type).toBe('object');
    expect(s.options).toEqual({ remove_empty_properties: true });
    expect(s.required).toEqual(['Host', 'OrgApiKey']);
    expect(Object.keys(s.properties)).toEqual(spec.tenantKeys.map((k) => k.name));
    for (const [name, p] of Object.entries(s.properties)) {
      expect(p.property_order).toBe(p.propertyOrder);
      expect((p.options as { infoText: string }).infoText).toContain(name);
      if (p.type === 'boolean') expect([p.format, p.default]).toEqual(['checkbox', true]);
    }
    expect(s.properties.OrgApiKey).not.toHaveProperty('default');
    expect(s.properties.EnrollmentKey).not.toHaveProperty('default');
    expect(s.properties.Host!.pattern).toBe('^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$');
  });

  it.each([
    ['the full sample tenant', good],
    ['only the required keys', { Host: 'https://acme.runlayer.com', OrgApiKey: 'rl_org_x' }],
    ['monitor only', { ...good, Enforcement: false, Sessions: false }],
    ['a port', { Host: 'https://acme.runlayer.com:8443', OrgApiKey: 'rl_org_x' }],
  ])('accepts %s', (_n, values) => {
    expect(validate(values), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each([
    ['no OrgApiKey', { Host: 'https://acme.runlayer.com' }, 'required'],
    ['an http host', { ...good, Host: 'http://acme.runlayer.com' }, 'pattern'],
    ['a host with a path', { ...good, Host: 'https://acme.runlayer.com/x' }, 'pattern'],
    ['a key without its prefix', { ...good, OrgApiKey: 'abc' }, 'pattern'],
    ['a key with a space', { ...good, EnrollmentKey: 'rl_enroll_a b' }, 'pattern'],
    ['an empty OrgApiKey', { ...good, OrgApiKey: '' }, 'minLength'],
    ['a boolean as a string', { ...good, Enforcement: 'true' }, 'type'],
    ['a 257-character username', { ...good, Username: 'x'.repeat(257) }, 'maxLength'],
  ])('rejects %s', (_n, values, keyword) => {
    expect(validate(values)).toBe(false);
    expect(validate.errors!.map((e) => e.keyword)).toContain(keyword);
  });

  it('passes our own schema checks, which catch a planted secret default and order mismatch', () => {
    expect(jamfSchemaProblems(renderJamfSchema(spec), 's.json', spec)).toEqual([]);
    const bad = JSON.parse(renderJamfSchema(spec)) as { properties: Record<string, Record<string, unknown>>; required: string[] };
    bad.properties.OrgApiKey!.default = 'rl_org_default';
    bad.properties.Host!.propertyOrder = 11;
    bad.properties.Sessions!.default = 'yes';
    bad.required = ['Host', 'Nope'];
    expect(jamfSchemaProblems(JSON.stringify(bad), 's.json', spec).map((p) => `${p.where}: ${p.message}`)).toEqual([
      's.json:properties.Host: property_order 10 and propertyOrder 11 disagree',
      's.json:properties.Sessions: default "yes" is not of type boolean (Jamf: "Value must be of type boolean")',
      's.json:required: "Nope" is not a property',
      's.json:properties.OrgApiKey: OrgApiKey is a secret and must have no default (Jamf would deliver it to every Mac)',
      's.json:required: OrgApiKey must be required',
    ]);
  });
});

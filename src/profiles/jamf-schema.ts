/**
 * The Jamf Pro "Application & Custom Settings → External Applications → Custom Schema" JSON for the tenant-config
 * domain, derived from the tenant key definitions (profiles/tenant-keys.json), and the matching "values" JSON.
 *
 * Dialect (Jamf renders the schema with json-editor): draft-07-compatible JSON Schema plus json-editor keywords —
 * `title` "<product> (<domain>)", `type: object`, `options.remove_empty_properties` (json-editor then drops "" and
 * {} but not `false`), `required`, per key `property_order` (Jamf's spelling) and `propertyOrder` (json-editor's;
 * both emitted, same value), `format: checkbox` for booleans, `pattern`/`maxLength` for strings, `options.infoText`
 * naming the preference key. Secrets get no `default` (Jamf emits defaults; a blank secret would be delivered).
 * Not used: the older anyOf "Not Configured" wrapper (no longer reliable in Jamf), `links`, `enum`.
 * The preference domain is typed into Jamf's form, not carried by the schema.
 */
import type { DeploymentSpec, TenantInput, TenantKeyDef } from '../config/spec-types.js';
import { tenantPreferences } from '../config/tenant-keys.js';

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** Spacing of property_order values, leaving room for keys inserted later. */
const ORDER_STEP = 10;

function property(def: TenantKeyDef, order: number): { [k: string]: Json } {
  const p: { [k: string]: Json } = { title: def.title, description: def.description, type: def.type };
  if (def.type === 'boolean') p.format = 'checkbox';
  if (def.type === 'string') {
    if (def.required) p.minLength = 1;
    if (def.maxLength !== undefined) p.maxLength = def.maxLength;
    if (def.pattern !== undefined) p.pattern = def.pattern;
  }
  if (def.default !== undefined && !def.secret) p.default = def.default;
  p.property_order = order;
  p.propertyOrder = order;
  const info = def.secret ? `Preference key ${def.name}. Secret: delivered to Macs in this profile.` : `Preference key ${def.name}.`;
  p.options = { infoText: info };
  return p;
}

/** The Jamf custom schema object for `spec`'s tenant keys. */
export function jamfSchema(spec: DeploymentSpec): { [k: string]: Json } {
  const properties: { [k: string]: Json } = {};
  spec.tenantKeys.forEach((def, i) => {
    properties[def.name] = property(def, (i + 1) * ORDER_STEP);
  });
  return {
    title: `${spec.productTitle} (${spec.domain})`,
    description: `Tenant configuration of the ${spec.productTitle} agent. Enter ${spec.domain} as the preference domain.`,
    type: 'object',
    options: { remove_empty_properties: true },
    required: spec.tenantKeys.filter((d) => d.required).map((d) => d.name),
    properties,
  };
}

/** `com.runlayer.aiwatch.jamf.schema.json`: two-space JSON in a fixed key order, final newline. */
export function renderJamfSchema(spec: DeploymentSpec): string {
  return `${JSON.stringify(jamfSchema(spec), null, 2)}\n`;
}

/** The tenant's values as a JSON object in key-definition order (what Jamf's form produces). Holds secrets. */
export function renderJamfValues(spec: DeploymentSpec, tenant: TenantInput): string {
  const prefs = tenantPreferences(tenant);
  const ordered: Record<string, string | boolean> = {};
  for (const def of spec.tenantKeys) if (prefs[def.name] !== undefined) ordered[def.name] = prefs[def.name]!;
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

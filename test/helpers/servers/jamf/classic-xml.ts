/**
 * Classic API bodies for the local Jamf Pro server: XML on the wire, checked as JSON against the Classic schemas.
 *
 * XML → JSON (guided by the schema, so the result is what the schema describes):
 *   - an element whose schema is an object becomes an object of its child elements (attributes are ignored; a
 *     repeated child keeps the last, as Jamf does);
 *   - an element whose schema is an array (`<computer_groups><size>1</size><computer_group>…</computer_group>…`)
 *     becomes an array of `{ <child name>: <child> }` — the item shape of the Classic schemas — and its `<size>`
 *     child (the list's count) is dropped;
 *   - a leaf becomes its text, converted by the schema's type: integer/number from decimal digits, boolean from
 *     `true`/`false`; text that does not convert stays a string, so ajv reports it;
 *   - an element the schema does not know is kept (as text, or as an object of its children) and later reported by
 *     unknownFields.
 * JSON → XML is the inverse (an array writes `<size>n</size>` and its items), used to answer GET.
 *
 * The parser is src/formats/xml-tree.ts (strict, hand-written); the client writes its XML with xmlbuilder2, so the
 * two sides do not share code.
 */
import { parseXml, serializeXml, textOf, type XmlElement, type XmlNode } from '../../../../src/formats/xml-tree.js';
import { resolveSchema } from './schemas.js';

type Schema = Record<string, unknown>;
export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

const childElements = (el: XmlElement): XmlElement[] => el.children.filter((c): c is XmlElement => typeof c !== 'string');

function isArraySchema(s: Schema): boolean {
  return s.type === 'array' || s.items !== undefined;
}

function leaf(text: string, s: Schema): Json {
  const t = text.trim();
  if ((s.type === 'integer' || s.type === 'number') && /^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (s.type === 'boolean' && (t === 'true' || t === 'false')) return t === 'true';
  return s.type === 'string' ? text : t;
}

/** One element's value as JSON, guided by its (unresolved) schema. */
export function xmlToJson(el: XmlElement, schema: Schema | undefined): Json {
  const s = resolveSchema('jamf-classic', schema);
  const kids = childElements(el);
  if (isArraySchema(s)) {
    const item = resolveSchema('jamf-classic', s.items as Schema | undefined);
    const props = (item.properties ?? {}) as Record<string, Schema>;
    return kids.filter((k) => k.name !== 'size').map((k) => ({ [k.name]: xmlToJson(k, props[k.name]) }));
  }
  const props = s.properties as Record<string, Schema> | undefined;
  if (props || (kids.length > 0 && s.type !== 'string')) {
    const out: Record<string, Json> = {};
    for (const k of kids) out[k.name] = xmlToJson(k, props?.[k.name]);
    return out;
  }
  return leaf(textOf(el), s);
}

/** Parse a Classic request body; the root must be `rootName`. Throws (XmlSyntaxError or Error) otherwise. */
export function parseClassicBody(xml: string, rootName: string, schema: Schema): Record<string, Json> {
  const root = parseXml(xml);
  if (root.name !== rootName) throw new Error(`root element <${root.name}>, expected <${rootName}>`);
  const v = xmlToJson(root, schema);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`<${rootName}> has no child elements`);
  return v;
}

function toElement(name: string, value: Json): XmlElement {
  if (Array.isArray(value)) {
    const items: XmlNode[] = [{ name: 'size', attrs: {}, children: [String(value.length)] }];
    for (const item of value) {
      if (item && typeof item === 'object' && !Array.isArray(item)) for (const [k, v] of Object.entries(item)) items.push(toElement(k, v));
    }
    return { name, attrs: {}, children: items };
  }
  if (value !== null && typeof value === 'object') return { name, attrs: {}, children: Object.entries(value).map(([k, v]) => toElement(k, v)) };
  return { name, attrs: {}, children: value === null ? [] : [String(value)] };
}

/** `{ general: {...} }` under `<policy>` → the XML document Jamf answers a GET with. */
export function jsonToClassicXml(rootName: string, value: Record<string, Json>): string {
  return classicXml(rootName, value);
}

/** Any JSON value under `rootName`; a list becomes `<size>n</size>` and its items (`<policies>` of a list GET). */
export function classicXml(rootName: string, value: Json): string {
  return serializeXml(toElement(rootName, value), { indent: '  ' });
}

/**
 * The JSON form of a Classic object as a Jamf server answers `Accept: application/json`: list items are the inner
 * objects (`"computer_groups": [{"id": 1, "name": "…"}]`), not `{computer_group: {…}}` as in the XML-shaped schema.
 */
export function classicJsonView(value: Json): Json {
  if (Array.isArray(value)) {
    return value.map((item) => {
      if (item && typeof item === 'object' && !Array.isArray(item)) {
        const entries = Object.entries(item).filter(([k]) => k !== 'size');
        if (entries.length === 1) return classicJsonView(entries[0]![1]);
      }
      return classicJsonView(item);
    });
  }
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, classicJsonView(v)]));
  return value;
}

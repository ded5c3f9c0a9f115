/**
 * A typed reader of XML property lists for `verify` and the tests: unlike the `plist` library (which returns plain
 * JS values), it keeps the plist type of every value — `<integer>1</integer>` and `<real>1</real>` and
 * `<string>1</string>` stay distinct — and it reports every structural problem at once instead of stopping or
 * silently fixing: duplicate dictionary keys (the library keeps the last), a key without a value, unknown
 * elements, text where none belongs, malformed integers, reals, dates and base64.
 *
 * Covers: what Apple's PropertyList-1.0.dtd allows (plist, dict, key, array, string, integer, real, date, data,
 * true, false) plus the value syntax CFPropertyList accepts (decimal or 0x integers, ISO-8601 `Z` dates).
 * Does not cover: binary and OpenStep plists (reported as such), encodings other than UTF-8.
 * Well-formedness is checked by src/formats/xml-tree.ts (strict; no DTD internal subsets, so no entity expansion), which
 * also bounds the nesting (256) and node count before this reader's recursion over the tree runs.
 */
import { problemAt, type Problem } from '../errors.js';
import { parseDocument, type XmlElement } from './xml-tree.js';

export type PNode =
  | { type: 'string'; value: string }
  | { type: 'integer'; value: bigint }
  | { type: 'real'; value: number }
  | { type: 'boolean'; value: boolean }
  | { type: 'date'; value: string }
  | { type: 'data'; value: Uint8Array }
  | { type: 'array'; items: PNode[] }
  | { type: 'dict'; entries: Map<string, PNode> };

export type PType = PNode['type'];

export interface PlistReadResult {
  /** Undefined when the document could not be read at all. */
  root?: PNode;
  problems: Problem[];
  /** The reader limit (src/formats/limits.ts) the document hit, when that is why it was not read. */
  limit?: 'xml.depth' | 'xml.nodes';
}

const INTEGER = /^[+-]?(?:0[xX][0-9A-Fa-f]+|[0-9]+)$/;
const REAL = /^(?:[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:inf|infinity)|nan)$/i;
const DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** `a.b[0].c` path notation used in every `where`. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  const safe = /^[A-Za-z0-9_.-]+$/.test(key) && !key.includes('..') ? key : JSON.stringify(key);
  return parent ? `${parent}.${safe}` : safe;
}

class Reader {
  readonly problems: Problem[] = [];
  constructor(readonly file: string) {}

  fail(path: string, message: string): void {
    this.problems.push(problemAt(path ? { file: this.file, path } : { file: this.file }, message));
  }

  text(el: XmlElement, path: string): string {
    let s = '';
    for (const c of el.children) {
      if (typeof c === 'string') s += c;
      else this.fail(path, `<${el.name}> must hold text only, found <${c.name}>`);
    }
    return s;
  }

  elementsOf(el: XmlElement, path: string): XmlElement[] {
    const out: XmlElement[] = [];
    for (const c of el.children) {
      if (typeof c !== 'string') out.push(c);
      else if (c.trim() !== '') this.fail(path, `text ${JSON.stringify(c.trim().slice(0, 40))} is not allowed inside <${el.name}>`);
    }
    return out;
  }

  value(el: XmlElement, path: string): PNode | undefined {
    if (Object.keys(el.attrs).length > 0) this.fail(path, `<${el.name}> takes no attributes`);
    switch (el.name) {
      case 'dict':
        return this.dict(el, path);
      case 'array':
        return { type: 'array', items: this.elementsOf(el, path).flatMap((c, i) => this.value(c, childPath(path, i)) ?? []) };
      case 'string':
        return { type: 'string', value: this.text(el, path) };
      case 'true':
      case 'false':
        if (el.children.length > 0) this.fail(path, `<${el.name}/> must be empty`);
        return { type: 'boolean', value: el.name === 'true' };
      default:
        return this.scalar(el, path);
    }
  }

  scalar(el: XmlElement, path: string): PNode | undefined {
    const raw = this.text(el, path);
    const t = raw.trim();
    switch (el.name) {
      case 'integer':
        if (INTEGER.test(t)) {
          const magnitude = BigInt(t.replace(/^[+-]/, ''));
          return { type: 'integer', value: t.startsWith('-') ? -magnitude : magnitude };
        }
        this.fail(path, `<integer> ${JSON.stringify(t)} is not an integer`);
        return undefined;
      case 'real':
        if (REAL.test(t)) return { type: 'real', value: Number(t) };
        this.fail(path, `<real> ${JSON.stringify(t)} is not a number`);
        return undefined;
      case 'date':
        if (DATE.test(t) && !Number.isNaN(Date.parse(t))) return { type: 'date', value: t };
        this.fail(path, `<date> ${JSON.stringify(t)} is not of the form YYYY-MM-DDTHH:MM:SSZ`);
        return undefined;
      case 'data': {
        const b64 = raw.replace(/\s+/g, '');
        if (BASE64.test(b64) && b64.length % 4 === 0) return { type: 'data', value: new Uint8Array(Buffer.from(b64, 'base64')) };
        this.fail(path, '<data> is not valid base64');
        return undefined;
      }
      default:
        this.fail(path, `<${el.name}> is not a property-list element`);
        return undefined;
    }
  }

  dict(el: XmlElement, path: string): PNode {
    const entries = new Map<string, PNode>();
    const kids = this.elementsOf(el, path);
    for (let i = 0; i < kids.length; i += 2) {
      const k = kids[i]!;
      if (k.name !== 'key') {
        this.fail(path, `expected <key> in <dict>, found <${k.name}>`);
        i -= 1;
        continue;
      }
      const key = this.text(k, path);
      const where = childPath(path, key);
      const v = kids[i + 1];
      if (!v || v.name === 'key') {
        this.fail(where, 'key without a value');
        i -= 1;
        if (!v) break;
        continue;
      }
      if (entries.has(key)) this.fail(where, 'duplicate key (readers silently keep one of them)');
      const node = this.value(v, where);
      if (node) entries.set(key, node);
    }
    return { type: 'dict', entries };
  }
}

/** Read an XML plist document. Never throws for bad input: everything wrong is in `problems`. */
export function readPlist(source: string | Uint8Array, file: string): PlistReadResult {
  const text = typeof source === 'string' ? source : Buffer.from(source).toString('utf8');
  const r = new Reader(file);
  if (text.startsWith('bplist')) {
    r.fail('', 'binary property list: convert it to XML (plutil -convert xml1) to verify it');
    return { problems: r.problems };
  }
  const doc = parseDocument(text, 'plist');
  if ('problem' in doc) {
    r.fail('', doc.problem);
    return doc.limit ? { problems: r.problems, limit: doc.limit } : { problems: r.problems };
  }
  const root = doc.root;
  const version = root.attrs.version;
  if (version !== undefined && version !== '1.0') r.fail('', `<plist version="${version}">, expected version="1.0"`);
  const kids = r.elementsOf(root, '');
  if (kids.length !== 1) r.fail('', `<plist> must hold exactly one value, found ${kids.length}`);
  const node = kids[0] ? r.value(kids[0], '') : undefined;
  return { root: node, problems: r.problems };
}

/** The entry `key` of a dict node, if `node` is a dict. */
export function dictGet(node: PNode | undefined, key: string): PNode | undefined {
  return node?.type === 'dict' ? node.entries.get(key) : undefined;
}

/** A string entry's value, if present and a string. */
export function dictString(node: PNode | undefined, key: string): string | undefined {
  const v = dictGet(node, key);
  return v?.type === 'string' ? v.value : undefined;
}

/** Plain JS value of a node (integers as numbers when safe): for comparisons in tests and messages. */
export function toPlain(node: PNode): unknown {
  switch (node.type) {
    case 'dict':
      return Object.fromEntries([...node.entries].map(([k, v]) => [k, toPlain(v)]));
    case 'array':
      return node.items.map(toPlain);
    case 'integer':
      return Number.isSafeInteger(Number(node.value)) ? Number(node.value) : node.value;
    default:
      return node.value;
  }
}

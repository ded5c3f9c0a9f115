/**
 * A small, strict XML reader for the simple documents inside a flat package (xar TOC, PackageInfo, Distribution),
 * and the bridge that serialises such a tree back through xmlbuilder2.
 *
 * Covers: elements, attributes, character data, the five predefined entities and numeric character references,
 * CDATA sections, comments, processing instructions, the XML declaration and a DOCTYPE without internal subset.
 * Does not cover: DTDs with an internal subset (rejected: no entity expansion from untrusted files), namespaces
 * (qualified names are kept as written, `xmlns` is an ordinary attribute), encodings other than UTF-8.
 *
 * Limits (src/formats/limits.ts): element nesting (`xml.depth`) and elements + text nodes + attributes (`xml.nodes`) are
 * counted while parsing, which is iterative (an explicit stack), as are the walkers here ({@link textOf}); a limit hit
 * is an {@link XmlLimitError}, a kind of XmlSyntaxError, so every caller reports it as the document's one problem.
 *
 * Why hand-written: xmlbuilder2's reader (our XML library for writing) is lenient — it accepts `<a><b></a>` and
 * unclosed elements — which a verifier must not; the only strict parser in node_modules is a transitive dependency
 * (of plist), not one of ours. Writing stays with xmlbuilder2 ({@link serializeXml}).
 */
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { lazyRequire } from './lazy.js';
import { LIMITS } from './limits.js';

const xmlbuilder2 = lazyRequire<typeof import('xmlbuilder2')>('xmlbuilder2');

export interface XmlElement {
  name: string;
  /** Attributes in document order. */
  attrs: Record<string, string>;
  /** Child elements and non-whitespace text, in document order. */
  children: XmlNode[];
}
export type XmlNode = XmlElement | string;

/** A well-formedness error, with 1-based line and column. */
export class XmlSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${message} (line ${line}, column ${column})`);
    this.name = 'XmlSyntaxError';
  }
}

/** The document exceeds a limit of {@link XmlLimits} (nesting, node count): hostile or far from what we read. */
export class XmlLimitError extends XmlSyntaxError {
  constructor(
    readonly limit: 'xml.depth' | 'xml.nodes',
    message: string,
    line: number,
    column: number,
  ) {
    super(message, line, column);
    this.name = 'XmlLimitError';
  }
}

export interface XmlLimits {
  /** Deepest element nesting accepted (default LIMITS['xml.depth']). */
  maxDepth?: number;
  /** Most elements + text nodes + attributes accepted (default LIMITS['xml.nodes']). */
  maxNodes?: number;
}

const NAME_START = /[A-Za-z_:\u0080-\uFFFF]/;
const NAME_RE = /[A-Za-z_:\u0080-\uFFFF][-A-Za-z0-9._:\u0080-\uFFFF]*/y;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

class Cursor {
  pos = 0;
  nodes = 0;
  constructor(
    readonly src: string,
    readonly maxNodes: number,
  ) {}

  fail(message: string, at = this.pos): never {
    const { line, column } = this.position(at);
    throw new XmlSyntaxError(message, line, column);
  }
  position(at: number): { line: number; column: number } {
    const before = this.src.slice(0, at);
    return { line: before.split('\n').length, column: at - before.lastIndexOf('\n') };
  }
  /** Count `n` more nodes against the document's budget. */
  spend(n: number): void {
    this.nodes += n;
    if (this.nodes > this.maxNodes) {
      const { line, column } = this.position(this.pos);
      throw new XmlLimitError('xml.nodes', `more than ${this.maxNodes} elements, text nodes and attributes: over the limit`, line, column);
    }
  }
  startsWith(s: string): boolean {
    return this.src.startsWith(s, this.pos);
  }
  expect(s: string): void {
    if (!this.startsWith(s)) this.fail(`expected "${s}"`);
    this.pos += s.length;
  }
  skipSpace(): void {
    while (this.pos < this.src.length && ' \t\r\n'.includes(this.src[this.pos]!)) this.pos += 1;
  }
  /** Advance past `end`, returning what came before it. */
  until(end: string, what: string): string {
    const i = this.src.indexOf(end, this.pos);
    if (i < 0) this.fail(`unterminated ${what}`);
    const s = this.src.slice(this.pos, i);
    this.pos = i + end.length;
    return s;
  }
  name(): string {
    NAME_RE.lastIndex = this.pos;
    const m = NAME_RE.exec(this.src);
    if (!m) this.fail('expected a name');
    this.pos += m[0].length;
    return m[0];
  }
}

function decodeEntities(raw: string, cur: Cursor, at: number): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(/&([^;&\s]*);?/g, (whole, ref: string) => {
    if (!whole.endsWith(';')) cur.fail(`bare "&" (write &amp;)`, at);
    if (ref in PREDEFINED) return PREDEFINED[ref]!;
    const m = /^#(?:x([0-9A-Fa-f]+)|([0-9]+))$/.exec(ref);
    if (!m) cur.fail(`unknown entity "&${ref};"`, at);
    const code = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2]!, 10);
    if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) cur.fail(`invalid character reference "&${ref};"`, at);
    return String.fromCodePoint(code);
  });
}

/** Comments, PIs and (outside the root) whitespace and a DOCTYPE. Returns true if something was skipped. */
function skipMisc(cur: Cursor, prolog: boolean): boolean {
  if (cur.startsWith('<!--')) {
    cur.pos += 4;
    const body = cur.until('-->', 'comment');
    if (body.includes('--')) cur.fail('"--" inside a comment');
    return true;
  }
  if (cur.startsWith('<?')) {
    cur.pos += 2;
    const target = cur.name();
    if (target.toLowerCase() === 'xml') cur.fail('XML declaration not at the start of the document');
    cur.until('?>', 'processing instruction');
    return true;
  }
  if (prolog && cur.startsWith('<!DOCTYPE')) {
    const body = cur.until('>', 'DOCTYPE');
    if (body.includes('[')) cur.fail('DOCTYPE with an internal subset is not accepted');
    return true;
  }
  return false;
}

function parseAttributes(cur: Cursor): { attrs: Record<string, string>; selfClosing: boolean } {
  const attrs: Record<string, string> = {};
  for (;;) {
    const hadSpace = /[\s]/.test(cur.src[cur.pos] ?? '');
    cur.skipSpace();
    if (cur.startsWith('/>')) return (cur.pos += 2), { attrs, selfClosing: true };
    if (cur.startsWith('>')) return (cur.pos += 1), { attrs, selfClosing: false };
    if (!hadSpace) cur.fail('expected whitespace, ">" or "/>"');
    const at = cur.pos;
    const name = cur.name();
    cur.skipSpace();
    cur.expect('=');
    cur.skipSpace();
    const quote = cur.src[cur.pos];
    if (quote !== '"' && quote !== "'") cur.fail(`attribute "${name}" value must be quoted`);
    cur.pos += 1;
    const raw = cur.until(quote, `attribute "${name}"`);
    if (raw.includes('<')) cur.fail(`"<" inside attribute "${name}"`, at);
    if (Object.hasOwn(attrs, name)) cur.fail(`duplicate attribute "${name}"`, at);
    // defineProperty: an attribute called "__proto__" is data, not a prototype change
    cur.spend(1);
    Object.defineProperty(attrs, name, { value: decodeEntities(raw, cur, at).replace(/[\t\r\n]/g, ' '), enumerable: true, writable: true, configurable: true });
  }
}

function pushText(parent: XmlElement | undefined, text: string, cur: Cursor, at: number): void {
  if (text === '') return;
  if (!parent) {
    if (text.trim() !== '') cur.fail('text outside the root element', at);
    return;
  }
  const last = parent.children[parent.children.length - 1];
  if (typeof last === 'string') parent.children[parent.children.length - 1] = last + text;
  else {
    cur.spend(1);
    parent.children.push(text);
  }
}

/**
 * Parse one document. Throws {@link XmlSyntaxError} if it is not well-formed, {@link XmlLimitError} (a kind of it)
 * if it nests deeper or holds more nodes than `limits` allow.
 */
export function parseXml(source: string, limits: XmlLimits = {}): XmlElement {
  const maxDepth = limits.maxDepth ?? LIMITS['xml.depth'];
  const cur: Cursor = new Cursor(source.replace(/^\uFEFF/, ''), limits.maxNodes ?? LIMITS['xml.nodes']);
  if (cur.startsWith('<?xml')) cur.until('?>', 'XML declaration');
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (cur.pos < cur.src.length) {
    const top = stack[stack.length - 1];
    const at = cur.pos;
    if (!cur.startsWith('<')) {
      const next = cur.src.indexOf('<', cur.pos);
      const raw = cur.src.slice(cur.pos, next < 0 ? undefined : next);
      cur.pos = next < 0 ? cur.src.length : next;
      pushText(top, decodeEntities(raw, cur, at), cur, at);
    } else if (top && cur.startsWith('<![CDATA[')) {
      cur.pos += 9;
      pushText(top, cur.until(']]>', 'CDATA section'), cur, at);
    } else if (skipMisc(cur, root === undefined && !top)) {
      continue;
    } else if (cur.startsWith('</')) {
      cur.pos += 2;
      const name = cur.name();
      cur.skipSpace();
      cur.expect('>');
      if (!top) cur.fail(`closing tag </${name}> without an open element`, at);
      if (top.name !== name) cur.fail(`</${name}> closes <${top.name}>`, at);
      stack.pop();
    } else {
      cur.pos += 1;
      if (!NAME_START.test(cur.src[cur.pos] ?? '')) cur.fail('expected an element name');
      if (!top && root) cur.fail('a second root element', at);
      const name = cur.name();
      const { attrs, selfClosing } = parseAttributes(cur);
      const el: XmlElement = { name, attrs, children: [] };
      cur.spend(1);
      if (top) top.children.push(el);
      else root = el;
      if (!selfClosing) {
        if (stack.length >= maxDepth) {
          const { line, column } = cur.position(at);
          throw new XmlLimitError('xml.depth', `elements nest deeper than ${maxDepth} levels: over the limit`, line, column);
        }
        stack.push(el);
      }
    }
  }
  if (stack.length > 0) cur.fail(`<${stack[stack.length - 1]!.name}> is not closed`);
  if (!root) cur.fail('no root element');
  dropIndentation(root);
  return root;
}

/**
 * Parse a document that must have root element `rootName`: the root, or the one problem that stops reading it
 * (not well-formed, another root, or a limit — then also named in `limit`). For readers that report problems
 * instead of throwing.
 */
export function parseDocument(
  source: string, rootName: string, limits: XmlLimits = {},
): { root: XmlElement } | { problem: string; limit?: XmlLimitError['limit'] } {
  let root: XmlElement;
  try {
    root = parseXml(source, limits);
  } catch (e) {
    if (e instanceof XmlLimitError) return { problem: `not read: ${e.message} (a hostile or damaged file)`, limit: e.limit };
    if (e instanceof XmlSyntaxError) return { problem: `not well-formed XML: ${e.message}` };
    throw e;
  }
  if (root.name !== rootName) return { problem: `root element is <${root.name}>, expected <${rootName}>` };
  return { root };
}

/** Whitespace-only text between child elements is layout, not content (every element, iteratively). */
function dropIndentation(root: XmlElement): void {
  const todo: XmlElement[] = [root];
  for (let el = todo.pop(); el; el = todo.pop()) {
    const hasElements = el.children.some((c) => typeof c !== 'string');
    if (hasElements) el.children = el.children.filter((c) => typeof c !== 'string' || c.trim() !== '');
    for (const c of el.children) if (typeof c !== 'string') todo.push(c);
  }
}

/** Child elements, optionally only those named `name`. */
export function elements(el: XmlElement, name?: string): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== 'string' && (name === undefined || c.name === name));
}

/** The last child element named `name` (Apple's xar repeats some elements; readers take the last). */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  const all = elements(el, name);
  return all[all.length - 1];
}

/** The text content of an element (concatenated in document order, not trimmed; walked iteratively). */
export function textOf(el: XmlElement): string {
  const parts: string[] = [];
  const todo: XmlNode[] = [...el.children].reverse();
  for (let n = todo.pop(); n !== undefined; n = todo.pop()) {
    if (typeof n === 'string') parts.push(n);
    else for (let i = n.children.length - 1; i >= 0; i--) todo.push(n.children[i]!);
  }
  return parts.join('');
}

/** Text of the last child named `name`, trimmed; undefined when absent. */
export function childText(el: XmlElement, name: string): string | undefined {
  const c = child(el, name);
  return c === undefined ? undefined : textOf(c).trim();
}

/**
 * xmlbuilder2 escapes `&` only when it does not start something shaped like an entity reference (`&amp;`, `&#38;`):
 * text that holds such a sequence literally (a .mobileconfig embedded as text holds many) would lose a level of
 * escaping. Escaping exactly those ampersands first makes the written text read back as it was given.
 */
function literal(text: string): string {
  return text.replace(/&(?=[A-Za-z]+;|#\d+;)/g, '&amp;');
}

/** Build `el` under `parent` with xmlbuilder2 (which escapes). */
function build(parent: XMLBuilder, el: XmlElement): void {
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(el.attrs)) attrs[k] = literal(v);
  const node = parent.ele(el.name, attrs);
  for (const c of el.children) {
    if (typeof c === 'string') node.txt(literal(c));
    else build(node, c);
  }
}

export interface SerializeOptions {
  /** Indent string for pretty printing (default one space, as Apple's xar writes its TOC). */
  indent?: string;
  /** Value of the declaration's encoding attribute (default "UTF-8"). */
  encoding?: string;
}

/** Serialise a tree with an XML declaration, pretty-printed, without a trailing newline. */
export function serializeXml(root: XmlElement, opts: SerializeOptions = {}): string {
  const doc = xmlbuilder2().create({ version: '1.0', encoding: opts.encoding ?? 'UTF-8' });
  build(doc, root);
  return doc.end({ prettyPrint: true, indent: opts.indent ?? ' ' });
}

/** Shorthand to build a tree: `el('size', {}, '20')`, `el('data', {}, [el(...), …])`. */
export function el(name: string, attrs: Record<string, string> = {}, content: string | XmlNode[] = []): XmlElement {
  return { name, attrs, children: typeof content === 'string' ? [content] : content };
}

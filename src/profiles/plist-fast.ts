/**
 * A direct XML plist writer for the tenant artifacts that `tenants` writes by the ten thousand (tenant profile,
 * Intune preference fragment): the same text src/formats/plist-serialize.ts produces through the `plist` library,
 * without building an xmlbuilder document per file — that cost ~0.2 ms and ~5 KB of garbage per artifact, most of
 * the CPU and the heap growth of a 10,000-row run (docs/decisions.md, issue 14).
 *
 * Covers: dict, array, string, integer/real, boolean — the plist lib's rules: tab indent, one element per line,
 * `<tag/>` for an empty string, array or dict, text and keys escaped as xmlbuilder does (`&` `<` `>` and CR as
 * `&#xD;`), numbers as `toString()` with `integer` for whole values, keys sorted byte-wise when asked.
 * Anything else — a date, data, a string or key XML 1.0 cannot carry, a non-finite number, null — is not written
 * here: the functions return undefined and the caller uses the library serializer, which formats or refuses it with
 * its own message. test/profiles/plist-fast.test.ts checks the output equals the library's for arbitrary values.
 */
import { byteCompare, plistStringProblem, serializePlist, serializePlistFragment, type PlistData, type PlistDict } from '../formats/plist-serialize.js';

const HEAD =
  '<?xml version="1.0" encoding="UTF-8"?>\n' + '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' + '<plist version="1.0">\n';

/** Not representable here: the library serializer decides. */
class Unsupported extends Error {}

const ESCAPE = /[&<>\r]/g;
const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#xD;' };

function text(s: string): string {
  if (plistStringProblem(s)) throw new Unsupported();
  return s.replace(ESCAPE, (c) => ENTITY[c]!);
}

function leaf(tag: string, s: string): string {
  return s === '' ? `<${tag}/>` : `<${tag}>${text(s)}</${tag}>`;
}

/** `value` as elements, each line prefixed by `indent` (pretty) or all on one line (`indent` undefined). */
function write(value: PlistData, indent: string | undefined, sort: boolean, out: string[]): void {
  const line = (s: string): void => void out.push(indent === undefined ? s : `${indent}${s}\n`);
  const inner = indent === undefined ? undefined : `${indent}\t`;
  if (typeof value === 'string') return line(leaf('string', value));
  if (typeof value === 'boolean') return line(value ? '<true/>' : '<false/>');
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Unsupported();
    return line(leaf(value % 1 === 0 ? 'integer' : 'real', value.toString()));
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return line('<array/>');
    line('<array>');
    for (const v of value) write(v, inner, sort, out);
    return line('</array>');
  }
  if (value === null || typeof value !== 'object' || value instanceof Date || value instanceof Uint8Array) throw new Unsupported();
  const keys = Object.keys(value);
  if (sort) keys.sort(byteCompare);
  if (keys.length === 0) return line('<dict/>');
  line('<dict>');
  for (const k of keys) {
    const v = (value as PlistDict)[k];
    if (v === undefined || v === null) throw new Unsupported();
    out.push(inner === undefined ? leaf('key', k) : `${inner}${leaf('key', k)}\n`);
    write(v, inner, sort, out);
  }
  return line('</dict>');
}

function attempt(fn: () => string): string | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}

/** Equal to `serializePlist(value, { sortKeys })`: written here when it can be, else by the library serializer. */
export function plistText(value: PlistData, sortKeys: boolean): string {
  const fast = attempt(() => {
    const out = [HEAD];
    write(value, '\t', sortKeys, out);
    out.push('</plist>\n');
    return out.join('');
  });
  return fast ?? serializePlist(value, { sortKeys });
}

/** Equal to `serializePlistFragment(dict, { sortKeys })`: bare `<key>…</key><value/>` lines, as Intune wants them. */
export function plistFragmentText(dict: PlistDict, sortKeys: boolean): string {
  const fast = attempt(() => {
    const keys = Object.keys(dict);
    if (sortKeys) keys.sort(byteCompare);
    const lines = keys.map((k) => {
      const v = dict[k];
      if (v === undefined || v === null) throw new Unsupported();
      const out = [leaf('key', k)];
      write(v, undefined, sortKeys, out);
      return out.join('');
    });
    return `${lines.join('\n')}\n`;
  });
  return fast ?? serializePlistFragment(dict, { sortKeys });
}

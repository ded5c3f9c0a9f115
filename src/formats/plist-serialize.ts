/**
 * The one way aiwatch-deploy writes XML property lists (profiles, launchd units, the Intune fragment): through the
 * `plist` library, tab-indented like Apple's own tools, with a final newline, and with the checks that library
 * leaves out.
 *
 * Covers: XML plists of string, integer, real, boolean, date, data, array and dict; optional byte-wise key sorting
 * (what `plutil -convert xml1` does, so the output does not depend on the order code happened to build a dict in);
 * the bare key/value fragment Intune's "Preference file" template wants.
 * Does not cover: binary or OpenStep plists (never written), reading (see plist-read.ts).
 *
 * Checks added on top of the library: `plist` silently drops null/undefined properties and throws an error that
 * quotes the whole value (possibly a secret) on characters XML 1.0 cannot carry; here both are refused up front
 * with a message naming the key path only.
 */
import { build } from 'plist';
import { UsageError } from '../errors.js';

export type PlistData = string | number | boolean | Date | Uint8Array | PlistData[] | PlistDict;
export interface PlistDict {
  [key: string]: PlistData;
}

export interface SerializeOptions {
  /** Sort dictionary keys byte-wise, recursively (default false: insertion order). */
  sortKeys?: boolean;
}

/** Characters outside XML 1.0's Char production (C0 controls except TAB/LF/CR, lone surrogates, U+FFFE/U+FFFF). */
const NOT_XML_CHAR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why `s` cannot be carried by an XML property list, or undefined if it can. Names the first offending code
 * point (never the string itself, which may be a secret).
 */
export function plistStringProblem(s: string): string | undefined {
  const m = NOT_XML_CHAR.exec(s);
  if (!m) return undefined;
  const cp = m[0].codePointAt(0)!;
  const name = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return cp >= 0xd800 && cp <= 0xdfff
    ? `contains an unpaired surrogate (${name}) at index ${m.index}, which XML cannot carry`
    : `contains ${name} at index ${m.index}, which XML 1.0 cannot carry`;
}

function check(value: unknown, where: string, sort: boolean): PlistData {
  if (value === null || value === undefined) throw new Error(`plist: ${where} is ${String(value)} (internal error: drop the key instead)`);
  if (typeof value === 'string') {
    const p = plistStringProblem(value);
    if (p) throw new UsageError(`${where} ${p}`);
    return value;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`plist: ${where} is ${value} (internal error: not representable)`);
    return value;
  }
  if (typeof value === 'boolean' || value instanceof Date || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map((v, i) => check(v, `${where}[${i}]`, sort));
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    if (sort) keys.sort(byteCompare);
    const out: PlistDict = {};
    for (const k of keys) {
      const kp = plistStringProblem(k);
      if (kp) throw new UsageError(`${where}: a key ${kp}`);
      out[k] = check((value as Record<string, unknown>)[k], where ? `${where}.${k}` : k, sort);
    }
    return out;
  }
  throw new Error(`plist: ${where} has unsupported type ${typeof value}`);
}

/** Byte-wise (UTF-16 code unit) comparison, independent of locale. */
export function byteCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A complete XML plist document (declaration, Apple DOCTYPE, `<plist version="1.0">`), ending in a newline. */
export function serializePlist(value: PlistData, opts: SerializeOptions = {}): string {
  const checked = check(value, '', opts.sortKeys === true);
  return `${build(checked, { pretty: true, indent: '\t', newline: '\n' })}\n`;
}

/**
 * The bare `<key>…</key><value/>` pairs of a dictionary, one pair per line, without declaration, `<plist>` or the
 * outer `<dict>`: the form Intune's macOS "Preference file" template requires. Each pair is rendered unindented on
 * its own line (splitting a pretty-printed document could cut a multi-line string value).
 */
export function serializePlistFragment(dict: PlistDict, opts: SerializeOptions = {}): string {
  const checked = check(dict, '', opts.sortKeys === true) as PlistDict;
  const lines: string[] = [];
  for (const [k, v] of Object.entries(checked)) {
    const doc = build({ [k]: v }, { pretty: false });
    const start = doc.indexOf('<dict>') + '<dict>'.length;
    const end = doc.lastIndexOf('</dict>');
    lines.push(doc.slice(start, end));
  }
  return `${lines.join('\n')}\n`;
}

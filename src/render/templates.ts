/**
 * The only place that uses handlebars, and only for scripts (`*.sh.hbs`, `*.ps1.hbs`): structured data (plist, XML,
 * JSON) always goes through a serializer. Templates are compiled `strict` (a missing key is an error, not an empty
 * string) with `noEscape` (HTML escaping would be wrong for scripts); every interpolated value must go through a
 * quoting helper:
 *   {{sh value}}   a POSIX shell single-quoted word: `'it'\''s'`
 *   {{ps value}}   a PowerShell single-quoted string: `'it''s'`, doubling U+2018–U+201B as well, since PowerShell
 *                  treats the typographic quotes like `'`.
 * A bare `{{value}}` is refused at render time unless the value is a number or boolean (see `assertQuoted`).
 * Partials come from `templates/partials/*.hbs` and are registered by file name.
 */
import type HandlebarsModule from 'handlebars';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lazyRequire } from '../formats/lazy.js';

// Loaded on first use, not at every start of the CLI (src/formats/lazy.ts).
const handlebars = lazyRequire<typeof HandlebarsModule>('handlebars');

/** The repository's (or installed package's) `templates/` folder. */
export const TEMPLATES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../templates');

const NUL_OR_NEWLINE_FREE = /^[^\0]*$/;

/** Quote `value` as one POSIX shell word. Rejects NUL, which no shell string can hold. */
export function shQuote(value: string): string {
  if (!NUL_OR_NEWLINE_FREE.test(value)) throw new Error(`cannot quote a value holding a NUL byte for sh: ${JSON.stringify(value)}`);
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Quote `value` as a PowerShell single-quoted string (verbatim; no expansion). */
export function psQuote(value: string): string {
  if (!NUL_OR_NEWLINE_FREE.test(value)) throw new Error(`cannot quote a value holding a NUL byte for PowerShell: ${JSON.stringify(value)}`);
  return `'${value.replace(/['\u2018\u2019\u201A\u201B]/g, (q) => q + q)}'`;
}

function toText(v: unknown, helper: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new Error(`{{${helper}}} expects a string, number or boolean, got ${v === undefined ? 'undefined' : typeof v}`);
}

function makeEnv(): typeof HandlebarsModule {
  const hb = handlebars().create();
  hb.registerHelper('sh', (v: unknown) => new hb.SafeString(shQuote(toText(v, 'sh'))));
  hb.registerHelper('ps', (v: unknown) => new hb.SafeString(psQuote(toText(v, 'ps'))));
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hb.registerHelper('int', (v: unknown) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`{{int}} expects an integer, got ${String(v)}`);
    return new hb.SafeString(String(v));
  });
  const partialsDir = path.join(TEMPLATES_DIR, 'partials');
  if (existsSync(partialsDir)) {
    for (const f of readdirSync(partialsDir).sort()) {
      if (f.endsWith('.hbs')) hb.registerPartial(f.replace(/\.hbs$/, ''), readFileSync(path.join(partialsDir, f), 'utf8'));
    }
  }
  return hb;
}

let env: typeof Handlebars | undefined;
const cache = new Map<string, HandlebarsTemplateDelegate>();

/**
 * Render `templates/<name>` (e.g. `postinstall.sh.hbs`) with `context`. Values must be quoted in the template
 * through `sh`/`ps`/`int`; a plain `{{x}}` of a string is refused so that no value reaches a script unquoted.
 */
export function renderTemplate(name: string, context: object): string {
  env ??= makeEnv();
  let tpl = cache.get(name);
  if (!tpl) {
    const source = readFileSync(path.join(TEMPLATES_DIR, name), 'utf8');
    assertQuoted(name, source);
    tpl = env.compile(source, { strict: true, noEscape: true, preventIndent: true });
    cache.set(name, tpl);
  }
  return tpl(context);
}

/**
 * Refuse a template in which a mustache outputs a value without a quoting helper. Allowed: block and control
 * syntax (`#`, `/`, `^`, `else`, `>` partials, `!` comments) and the helpers `sh`, `ps`, `int`.
 */
export function assertQuoted(name: string, source: string): void {
  const re = /\{\{\{?~?\s*([^}]*?)\s*~?\}?\}\}/g;
  for (const m of source.matchAll(re)) {
    const body = m[1] ?? '';
    if (/^[#/^>!]|^else\b/.test(body)) continue;
    if (/^(sh|ps|int)\s/.test(body)) continue;
    throw new Error(`${name}: unquoted interpolation {{${body}}}; use {{sh …}}, {{ps …}} or {{int …}}`);
  }
}

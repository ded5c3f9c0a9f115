/**
 * Hostile tenant values never change a script's structure. For each value the tenant validation accepts, every
 * generated script has the same tree-sitter shape as with a benign value, every occurrence of the value lies inside
 * a string literal, and that literal decodes (PowerShell verbatim-string rules) to exactly the value. Values the
 * validation refuses are shown refused, with the message naming the key and masking secrets. Finally the templates
 * are rendered with such values anyway (validation bypassed) to show the quoting alone keeps the structure, and
 * the ASCII gate then refuses the file.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parseTenantInput } from '../../src/config/tenant.js';
import type { TenantInput } from '../../src/config/spec-types.js';
import { UsageError } from '../../src/errors.js';
import { renderIntuneScripts, templateContext } from '../../src/intune/intune.js';
import { renderTemplate } from '../../src/render/templates.js';
import { Secret } from '../../src/secret.js';
import { ENROLL_KEY, HOST, ORG_KEY, spec, tenant } from './helpers.js';
import { asciiQuotes, psSyntaxProblems, shape, stringLiteralRanges } from './ps-parse.js';

/** Decode a PowerShell verbatim string literal: drop the outer quotes, undouble the (same-character) quote pairs. */
function decodeVerbatim(literal: string): string {
  return literal.slice(1, -1).replace(/(['\u2018-\u201B])\1/g, '$1');
}

/** Every occurrence of `value` is inside one string literal whose decoded text is exactly `value`. */
async function valueOnlyInLiterals(source: string, value: string, quoted: string): Promise<number> {
  const ranges = await stringLiteralRanges(source);
  let count = 0;
  for (let i = source.indexOf(quoted); i >= 0; i = source.indexOf(quoted, i + 1)) {
    const r = ranges.find(([s, e]) => s <= i && i + quoted.length <= e);
    expect(r, `occurrence at ${i} is outside any string literal`).toBeDefined();
    expect(r![0]).toBe(i);
    expect(r![1]).toBe(i + quoted.length);
    expect(decodeVerbatim(quoted)).toBe(value);
    count += 1;
  }
  return count;
}

const psLiteral = (v: string): string => `'${v.replace(/['\u2018-\u201B]/g, (q) => q + q)}'`;

// Printable ASCII without spaces: what the key pattern ^rl_org_[!-~]+$ lets through.
const ACCEPTED = [
  "rl_org_it's",
  "rl_org_'+$(Invoke-Expression('calc'))+'",
  'rl_org_"$(calc)"',
  'rl_org_$(calc)',
  'rl_org_`whoami`',
  'rl_org_;exit;#',
  "rl_org_''''",
  "rl_org_'@",
  'rl_org_<#',
  `rl_org_${'x'.repeat(502)}`,
];

function withKeys(org: string, enroll: string): TenantInput {
  return tenant({ OrgApiKey: new Secret(org, 'OrgApiKey'), EnrollmentKey: new Secret(enroll, 'EnrollmentKey') });
}

describe('hostile tenant values the validation accepts', () => {
  let benign: Record<string, string>;
  beforeAll(async () => {
    benign = {};
    for (const [name, text] of Object.entries(renderIntuneScripts({ spec, tenant: withKeys(ORG_KEY, ENROLL_KEY) }))) benign[name] = await shape(text);
  });

  for (const key of ACCEPTED) {
    it(`OrgApiKey/EnrollmentKey ${JSON.stringify(key.length > 40 ? `${key.slice(0, 20)}... (${key.length} chars)` : key)}: same structure, value only in its literal`, async () => {
      const enroll = key.replace(/^rl_org_/, 'rl_enroll_');
      const files = renderIntuneScripts({ spec, tenant: withKeys(key, enroll) });
      for (const [name, text] of Object.entries(files)) {
        expect(await psSyntaxProblems(text), name).toEqual([]);
        expect(await shape(text), name).toBe(benign[name]);
      }
      expect(await valueOnlyInLiterals(files['Invoke-AiwatchScan.ps1']!, key, psLiteral(key))).toBe(1);
      expect(await valueOnlyInLiterals(files['Invoke-AiwatchProvisioning.ps1']!, enroll, psLiteral(enroll))).toBe(1);
    });
  }
});

describe('hostile tenant values the validation refuses', () => {
  // Refused by the tenant validation, or else by the Intune renderer's own ASCII rule.
  const refused = (raw: Record<string, unknown>): UsageError => {
    try {
      const t = parseTenantInput(spec, { Host: HOST, OrgApiKey: new Secret(ORG_KEY, 'OrgApiKey'), ...raw }, 'intune');
      renderIntuneScripts({ spec, tenant: t });
    } catch (e) {
      if (e instanceof UsageError) return e;
      throw e;
    }
    throw new Error(`accepted: ${JSON.stringify(raw)}`);
  };

  const keyCases: Array<[string, string, RegExp]> = [
    ['typographic quote U+2018', 'rl_org_a\u2018b', /expected a key of the form rl_org_/],
    ['typographic quote U+2019', 'rl_org_a\u2019b', /expected a key of the form rl_org_/],
    ['typographic quote U+201A', 'rl_org_a\u201Ab', /expected a key of the form rl_org_/],
    ['typographic quote U+201B', 'rl_org_a\u201Bb', /expected a key of the form rl_org_/],
    ['a newline', "rl_org_a'\r\nRemove-Item C:\\", /must not contain control characters or line breaks/],
    ['a space', "rl_org_a' ; calc ; '", /expected a key of the form rl_org_/],
    ['1 KB', `rl_org_${'a'.repeat(1017)}`, /is 1024 characters long; at most 512 allowed/],
  ];
  for (const [what, value, message] of keyCases) {
    it(`OrgApiKey with ${what}: refused, the key masked in the message`, () => {
      const e = refused({ OrgApiKey: new Secret(value, 'OrgApiKey') });
      expect(e.message).toMatch(message);
      expect(e.message).toMatch(/^intune: OrgApiKey rl_org_\*{8} /);
      expect(e.message).not.toContain(value.slice(7, 12));
    });
  }

  const hostCases: Array<[string, RegExp]> = [
    ["https://acme.runlayer.com/'", /without a path/],
    ['https://acme.runlayer.com/$(calc)', /without a path/],
    ['https://acme.runlayer.com/`whoami`', /without a path/],
    ['https://acme.runlayer.com;calc', /expected a DNS host name|expected an https/],
    ['https://acme"runlayer.com', /expected a DNS host name|expected an https/],
    ['https://acme\u2018runlayer.com', /Host "https:\/\/acme\u2018runlayer\.com" expected ASCII only/],
    ['https://acme.runlayer.com\r\n$x', /control characters/],
    [`https://${'a'.repeat(1000)}.com`, /at most 253 allowed/],
    ["http://acme.runlayer.com", /expected https/],
  ];
  for (const [value, message] of hostCases) {
    it(`Host ${JSON.stringify(value.length > 40 ? `${value.slice(0, 30)}...` : value)}: refused`, () => {
      expect(refused({ Host: value }).message).toMatch(message);
    });
  }
});

describe('quoting alone keeps the structure (validation bypassed)', () => {
  const raw = (org: string, host = HOST): TenantInput => ({ ...tenant(), Host: host, OrgApiKey: new Secret(org, 'OrgApiKey') });
  const scan = (t: TenantInput): string => renderTemplate('Invoke-AiwatchScan.ps1.hbs', templateContext({ spec, tenant: t })).replace(/\r?\n/g, '\r\n');

  const values = [
    "it\u2018s", "a\u2019b", "a\u201Ab", "a\u201Bb", "\u2018\u2019\u201A\u201B'", "a'\r\nRemove-Item C:\\ -Recurse\r\n'", '"$(calc)"', '`whoami`', "x; exit 1; '", `${"'".repeat(1024)}`, 'x'.repeat(1024),
  ];
  for (const v of values) {
    it(`${JSON.stringify(v.length > 30 ? `${v.slice(0, 12)}... (${v.length} chars)` : v)} as key and as host`, async () => {
      const benign = await shape(scan(raw(ORG_KEY)));
      const text = scan(raw(v, `https://h/${v}`));
      expect(await psSyntaxProblems(asciiQuotes(text))).toEqual([]);
      expect(await shape(text)).toBe(benign);
      const literal = psLiteral(v).replace(/\r?\n/g, '\r\n');
      expect(await valueOnlyInLiterals(text, v.replace(/\r?\n/g, '\r\n'), literal)).toBe(1);
    });
  }

  it('the renderer then refuses such a value: nothing non-ASCII reaches a file', () => {
    expect(() => renderIntuneScripts({ spec, tenant: raw('rl_org_a\u2018b') })).toThrow(/^OrgApiKey: rl_org_\*{8} holds a character outside ASCII/);
  });
});

describe('the structure oracle can fail', () => {
  it('an unescaped quote, ASCII or typographic, changes the shape', async () => {
    const benign = await shape("$a = 'xy'\r\nexit 0\r\n");
    expect(await shape("$a = 'x''y'\r\nexit 0\r\n")).toBe(benign);
    expect(await shape("$a = 'x\u2018\u2018y'\r\nexit 0\r\n")).toBe(benign);
    expect(await shape("$a = 'x'+$(calc)+'y'\r\nexit 0\r\n")).not.toBe(benign);
    expect(await shape("$a = 'x\u2018+$(calc)+\u2019y'\r\nexit 0\r\n")).not.toBe(benign);
    expect(await shape("$a = 'x'\r\ncalc\r\n'y'\r\nexit 0\r\n")).not.toBe(benign);
  });
});

/**
 * Hostile Username/DeviceName values: each either round-trips exactly through every tenant encoding (read back by
 * the plist library, our reader and JSON) or is refused up front with a clear UsageError naming the key.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { parse } from 'plist';
import { describe, expect, it } from 'vitest';
import { parseTenantInput } from '../../src/config/tenant.js';
import { UsageError } from '../../src/errors.js';
import { planTenant, TENANT_FORMATS } from '../../src/profiles/plan.js';
import { wrapFragment } from '../../src/profiles/intune-fragment.js';
import { readPlist, toPlain } from '../../src/formats/plist-read.js';
import { verifyProfileText } from '../../src/profiles/verify-profile.js';
import { Secret } from '../../src/secret.js';
import { describeWithTools } from '../helpers/tools.js';
import { apple, CATALOG, spec } from './helpers.js';

const PIECES = ['<', '>', '&', '"', "'", ']]>', '<![CDATA[', '&amp;', '&#0;', '\u0000', '\u0001', '\u0008', '\t', '\n', '\r', '\u007f', '\u0085', '\u2028',
  '\u202e', '\u200f', '\u200e', '\u2066', '\ufeff', '\ufffe', '\uffff', '\ud800', '\udc00', '😀', 'é', 'e\u0301', ' ', '  ', '\\', '$(id)', '`', '%s'];
const piece = fc.oneof(fc.constantFrom(...PIECES), fc.string({ unit: 'grapheme', maxLength: 4 }), fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)));
/** Mostly short hostile strings; one in ten around 10 KB (over the 256-character limit). */
const hostile = fc.oneof(
  { arbitrary: fc.array(piece, { maxLength: 24 }).map((parts) => parts.join('')), weight: 9 },
  { arbitrary: fc.tuple(fc.array(piece, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1000, max: 1300 })).map(([p, n]) => p.join('').repeat(n).slice(0, 10240)), weight: 1 },
);

function values(username: string, deviceName: string): { Username: string; DeviceName: string } {
  return { Username: username, DeviceName: deviceName };
}

/** Render every format and read the two values back from each. */
function roundTrip(username: string, deviceName: string): Array<[string, unknown, unknown]> {
  const t = parseTenantInput(spec, { Host: 'https://acme.runlayer.com', OrgApiKey: new Secret('rl_org_k', 'OrgApiKey'), ...values(username, deviceName) });
  return TENANT_FORMATS.map((f) => {
    const text = Buffer.from(planTenant(spec, t, f).bytes).toString('utf8');
    if (f === 'json') {
      const j = JSON.parse(text) as Record<string, unknown>;
      return [f, j.Username, j.DeviceName];
    }
    const doc = f === 'intune-plist' ? wrapFragment(text) : text;
    const lib = JSON.stringify(parse(doc));
    const { root, problems } = readPlist(doc, f);
    expect(problems).toEqual([]);
    expect(JSON.stringify(toPlain(root!))).toBe(lib);
    if (f !== 'intune-plist') expect(verifyProfileText(doc, f, { spec, apple }).problems).toEqual([]);
    const settings = f === 'mobileconfig' ? (parse(doc) as { PayloadContent: Array<Record<string, unknown>> }).PayloadContent[0]!
      : f === 'mcx' ? (parse(doc) as { PayloadContent: Array<{ PayloadContent: Record<string, { Forced: Array<{ mcx_preference_settings: Record<string, unknown> }> }> }> }).PayloadContent[0]!.PayloadContent['com.runlayer.aiwatch']!.Forced[0]!.mcx_preference_settings
      : (parse(doc) as Record<string, unknown>);
    return [f, settings.Username, settings.DeviceName];
  });
}

describe('hostile Username / DeviceName', () => {
  it('round-trip exactly or are refused with a clear error naming the key (property, 400 runs)', () => {
    fc.assert(
      fc.property(hostile, hostile, (u, d) => {
        let rows: Array<[string, unknown, unknown]>;
        try {
          rows = roundTrip(u, d);
        } catch (e) {
          expect(e).toBeInstanceOf(UsageError);
          for (const msg of (e as UsageError).problems) {
            expect(msg).toMatch(/^tenant: (Username|DeviceName) "(?:[^"\\]|\\.)*" (must not contain|is \d+ characters long)/);
            expect(msg).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
          }
          return;
        }
        for (const [, gotU, gotD] of rows) {
          expect(gotU).toBe(u === '' ? undefined : u);
          expect(gotD).toBe(d === '' ? undefined : d);
        }
      }),
      { numRuns: 400 },
    );
  });
  it.each([
    ['XML specials and CDATA end', '<a href="x">&amp; ]]> \'q\'</a>'],
    ['RTL and bidi marks', '\u202eevil\u202c \u200fname\u200e \u2066x\u2069'],
    ['leading and trailing spaces', '  spaced  '],
    ['a byte-order mark and emoji', '\ufeff😀 e\u0301'],
  ])('%s round-trip', (_n, s) => {
    for (const [, u, d] of roundTrip(s, s)) expect([u, d]).toEqual([s, s]);
  });
  it.each([
    ['NUL', 'a\u0000b', /must not contain control characters/],
    ['a line break', 'a\nb', /must not contain control characters/],
    ['C1 control', 'a\u0085b', /must not contain control characters/],
    ['an unpaired surrogate', 'a\ud800b', /unpaired surrogates/],
    ['U+FFFE', 'a\ufffeb', /U\+FFFE/],
    ['10 KB', '<&>'.repeat(3414), /is 10242 characters long; at most 256 allowed/],
  ])('%s is refused with a clear message', (_n, s, why) => {
    expect(() => roundTrip(s, 'ok')).toThrow(why);
    try {
      roundTrip(s, 'ok');
    } catch (e) {
      expect((e as Error).message.length).toBeLessThan(300);
      expect((e as Error).message).toContain('Username');
    }
  });
});

describeWithTools(['xmllint'], 'hostile values read back by xmllint', () => {
  it('xmllint decodes the same Username from the tenant profile', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hostile-'));
    const samples = ['<a href="x">&amp; ]]> \'q\'</a>', '\u202eevil\u202c', '  spaced  ', '😀 e\u0301 "quoted"'];
    for (const [i, s] of samples.entries()) {
      const t = parseTenantInput(spec, { Host: 'https://acme.runlayer.com', OrgApiKey: new Secret('rl_org_k', 'OrgApiKey'), Username: s });
      const file = path.join(dir, `${i}.mobileconfig`);
      writeFileSync(file, planTenant(spec, t, 'mobileconfig').bytes);
      const r = spawnSync('xmllint', ['--nonet', '--xpath', 'string(//key[.="Username"]/following-sibling::*[1])', file], {
        encoding: 'utf8',
        env: { ...process.env, XML_CATALOG_FILES: CATALOG },
      });
      expect(r.status).toBe(0);
      expect(r.stdout.replace(/\n$/, '')).toBe(s);
    }
  });
});

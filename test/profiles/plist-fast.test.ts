/**
 * The direct plist writer of the tenant artifacts (src/profiles/plist-fast.ts) against the library serializer it
 * stands in for (src/formats/plist-serialize.ts over the `plist` package): byte-identical text for arbitrary values
 * — strings with markup, CR, tabs, non-ASCII and astral characters, empty containers, whole and fractional numbers,
 * nested dicts and arrays, sorted and unsorted — and the same refusal (the library's own error) for what XML 1.0
 * cannot carry. Then the real tenant artifacts, rendered both ways for arbitrary tenants.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { parseTenantInput } from '../../src/config/tenant.js';
import { tenantPreferences } from '../../src/config/tenant-keys.js';
import { serializePlist, serializePlistFragment, type PlistData, type PlistDict } from '../../src/formats/plist-serialize.js';
import { renderIntuneFragment } from '../../src/profiles/intune-fragment.js';
import { renderProfile } from '../../src/profiles/mobileconfig.js';
import { plistFragmentText, plistText } from '../../src/profiles/plist-fast.js';
import { renderTenantProfile, tenantProfile } from '../../src/profiles/tenant-profile.js';
import { Secret } from '../../src/secret.js';

const str = fc.oneof(
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: fc.constantFrom('a', '&', '<', '>', '"', "'", '\r', '\n', '\t', ' ', 'é', '😀', ']]>', '&amp;') }),
  fc.string({ unit: 'binary' }), // lone surrogates and C0 controls: both writers must refuse the same way
);
const value: fc.Arbitrary<PlistData> = fc.letrec<{ v: PlistData }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    str,
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(str, tie('v'), { maxKeys: 4 }) as fc.Arbitrary<PlistDict>,
  ),
})).v;

function outcome(fn: () => string): string {
  try {
    return fn();
  } catch (e) {
    return `THROWS ${(e as Error).constructor.name}: ${(e as Error).message}`;
  }
}

describe('plist-fast: the same text as the library serializer', () => {
  it('documents, sorted and in insertion order', () => {
    fc.assert(
      fc.property(value, fc.boolean(), (v, sort) => {
        expect(outcome(() => plistText(v, sort))).toBe(outcome(() => serializePlist(v, { sortKeys: sort })));
      }),
      { numRuns: 2000 },
    );
  });

  it('Intune fragments', () => {
    fc.assert(
      fc.property(fc.dictionary(str, value, { maxKeys: 6 }) as fc.Arbitrary<PlistDict>, fc.boolean(), (d, sort) => {
        expect(outcome(() => plistFragmentText(d, sort))).toBe(outcome(() => serializePlistFragment(d, { sortKeys: sort })));
      }),
      { numRuns: 1000 },
    );
  });

  it('hand-picked edges: empty string/array/dict, -0, 1e21, 0.1, CR, markup in keys', () => {
    const v: PlistDict = { '': '', 'a<b': [], c: {}, d: -0, e: 1e21, f: 0.1, g: 'x\r\ny & <z>', h: [[], {}, ''], i: false };
    expect(plistText(v, true)).toBe(serializePlist(v, { sortKeys: true }));
    expect(plistFragmentText(v, false)).toBe(serializePlistFragment(v, { sortKeys: false }));
    expect(plistText(v, true)).toContain('\t\t<key>a&lt;b</key>\n\t\t<array/>\n');
  });

  it('a date or data value goes to the library serializer', () => {
    const v: PlistDict = { when: new Date('2026-01-02T03:04:05Z'), blob: Uint8Array.from([1, 2, 3]) };
    expect(plistText(v, true)).toBe(serializePlist(v, { sortKeys: true }));
  });

  it('tenant profiles (both encodings) and Intune fragments of arbitrary tenants equal the library rendering', () => {
    const spec = loadDefaultSpec();
    const tenant = fc.record(
      {
        Host: fc.stringMatching(/^https:\/\/[a-z0-9.-]{1,30}\.com$/),
        OrgApiKey: fc.stringMatching(/^rl_org_[!-~]{1,60}$/),
        EnrollmentKey: fc.stringMatching(/^rl_enroll_[!-~]{1,60}$/),
        Username: fc.string({ unit: 'grapheme', minLength: 1 }),
        DeviceName: fc.string({ unit: fc.constantFrom('a', '&', '<', '>', '\r', '\n', '\t', ' ', 'é', '😀'), minLength: 1 }),
        Enforcement: fc.constantFrom('true', 'false'),
        Sessions: fc.constantFrom('true', 'false'),
      },
      { requiredKeys: ['Host', 'OrgApiKey'] },
    );
    fc.assert(
      fc.property(tenant, (raw) => {
        const values = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, k.endsWith('Key') ? new Secret(v, k) : v]));
        let t;
        try {
          t = parseTenantInput(spec, values, 'prop');
        } catch {
          return; // a value the tenant rules refuse (e.g. a control character in Username): nothing to render
        }
        for (const enc of ['domain', 'mcx'] as const) expect(renderTenantProfile(spec, t, enc)).toBe(renderProfile(tenantProfile(spec, t, enc)));
        expect(renderIntuneFragment(t)).toBe(serializePlistFragment(tenantPreferences(t), { sortKeys: true }));
      }),
      { numRuns: 300 },
    );
  });
});

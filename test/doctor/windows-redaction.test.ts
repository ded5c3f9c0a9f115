/**
 * The redaction rules of the support bundle (src/doctor/redaction.ts), proven in TypeScript with the same regex
 * semantics the PowerShell uses (.NET): secrets planted in every kind of text the Windows bundle collects — the
 * agent's logs (CLI output, tracebacks, HTTP headers), the scheduled-task XML, environment dumps, the doctor's
 * JSON — are all gone after redaction; the report's own words are left alone; the rules rendered into
 * Test-Aiwatch.ps1 are exactly these; and the portability check refuses what .NET and JS read differently.
 */
import { describe, expect, it } from 'vitest';
import { renderWindowsDoctorScripts, windowsRedactionRules, windowsSecretNames } from '../../src/doctor/doctor-windows.js';
import { WINDOWS_CHECKS } from '../../src/doctor/checks-windows.js';
import { portableRegexProblems, redact, redactionRules, REDACTED } from '../../src/doctor/redaction.js';
import { topLevelSettings } from '../../src/verify/doctor-windows.js';
import { spec, VARIANTS } from '../intune/helpers.js';
import { PLANTED } from './windows-planted.js';

describe('redaction of the Windows bundle', () => {
  const rules = windowsRedactionRules(spec);

  it.each(PLANTED)('%s: the planted secret is gone', (_what, text, secret) => {
    const out = redact(text, rules);
    expect(out).not.toContain(secret);
    expect(out).toContain(REDACTED);
  });

  it('a whole planted log: 0 secrets left, every other line unchanged', () => {
    const benign = ['2026-12-06T05:00:00+00:00 [401] scan starting as ACME\\jo', '2026-12-06T05:00:09+00:00 [401] exit code 2', 'Invoke-AiwatchScan finished with exit code 2'];
    const log = [...benign, ...PLANTED.map((p) => p[1])].join('\r\n');
    const out = redact(log, rules);
    for (const [, , secret] of PLANTED) expect(out).not.toContain(secret);
    expect(out.split('\r\n').slice(0, benign.length)).toEqual(benign);
    expect(out).not.toMatch(/PLANTED/);
  });

  it('leaves the report alone: titles, fixes and a key-shape line are not redacted', () => {
    const report = [
      ...WINDOWS_CHECKS.flatMap((c) => [c.title, c.fix]),
      'OrgApiKey present, prefix rl_org_ ok, 38 characters; EnrollmentKey missing',
      'Host https://acme.runlayer.com',
    ].join('\n');
    // The key-shape line names the prefix: that prefix followed by a space is not a key.
    expect(redact(report, rules)).toBe(report);
  });

  it('is idempotent', () => {
    const once = redact(PLANTED.map((p) => p[1]).join('\n'), rules);
    expect(redact(once, rules)).toBe(once);
  });

  it('covers the spec\'s secret names: the tenant keys, their environment variables, the installed variables', () => {
    expect(windowsSecretNames(spec)).toEqual(['OrgApiKey', 'EnrollmentKey', spec.windows.env.orgApiKey, spec.windows.env.enrollmentKey, 'AiwatchOrgApiKey', 'AiwatchEnrollmentKey']);
  });

  it('every rule is in the JS/.NET common subset, and replacements use only $1/$2 not followed by a digit', () => {
    for (const r of rules) {
      expect(portableRegexProblems(r.source), r.name).toEqual([]);
      expect(r.replacement.replace(/\$[12](?!\d)/g, ''), r.name).not.toMatch(/\$/);
    }
  });

  it('the rules rendered into Test-Aiwatch.ps1 are these, in order, as PowerShell verbatim strings', () => {
    const text = renderWindowsDoctorScripts(VARIANTS.full!()).find((f) => f.name === 'Test-Aiwatch.ps1')!.text;
    const block = text.slice(text.indexOf('$AiwatchRedactionRules = @(\r\n'));
    const rows = block.split('\r\n').slice(1, 1 + rules.length).map((l) => [...topLevelSettings(`$AiwatchRow = ${l}`).get('AiwatchRow')!]);
    expect(rows.map((r) => r.slice(0, 3))).toEqual(rules.map((r) => [r.name, r.source, r.replacement]));
  });
});

describe('the portability check can fail', () => {
  it.each([
    ['(?<=key=)\\S+', 'lookbehind'],
    ['(?<name>x)', 'named group'],
    ['(?i)key', 'inline option'],
    ['(?>a+)', 'atomic group'],
    ['\\p{L}+', 'Unicode class'],
    ['\\Akey', 'anchor or escape only one dialect knows'],
    ['(a)\\1', 'backreference'],
    ['a++', 'possessive quantifier'],
    ['key$|x', 'anchors only at the ends'],
    ['bearer\\s+\\S+', 'Unicode-aware in .NET only'],
    ['\\bkey\\b', 'Unicode-aware in .NET only'],
  ])('%s is refused (%s)', (source, what) => {
    expect(portableRegexProblems(source).join('; ')).toContain(what);
  });

  it('a secret name that is not an identifier is refused', () => {
    expect(() => redactionRules(['Org Key'])).toThrow(/secret name "Org Key" must be an identifier/);
  });
});

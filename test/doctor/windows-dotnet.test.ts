/**
 * The bundle's redaction run on .NET's regex engine, as Test-Aiwatch.ps1 runs it: PowerShell cannot run here, but
 * Mono can run the same `Regex.Replace(text, pattern, replacement, CultureInvariant)` calls and literal
 * replacements (test/fixtures/doctor/Redact.cs, compiled with mcs) over the rules read back from the rendered script.
 * Oracle: every planted secret is gone from the .NET output, and the .NET output equals the JavaScript `redact`
 * (plus the literal replacement) on the planted corpus and on random texts built from the rules' own trigger words,
 * quotes, separators and Unicode look-alikes (the Kelvin sign, U+0085, no-break and ideographic spaces), which is
 * what shows the rules to be in the common subset. Also on .NET: the pattern Read-AiwatchInstalledValue builds finds
 * Host and keys, hostile ones included, in the installed Invoke-Aiwatch*.ps1 exactly once.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { renderWindowsDoctorScripts, windowsRedactionRules, WINDOWS_DOCTOR_SCRIPTS } from '../../src/doctor/doctor-windows.js';
import { redact, REDACTED, type RedactionRule } from '../../src/doctor/redaction.js';
import { topLevelSettings } from '../../src/verify/doctor-windows.js';
import { describeWithTools } from '../helpers/tools.js';
import { renderIntuneScripts } from '../../src/intune/intune.js';
import { Secret } from '../../src/secret.js';
import { spec, tenant, VARIANTS } from '../intune/helpers.js';
import { HOSTILE_ORG, PLANTED } from './windows-planted.js';

const SOURCE = path.join(path.dirname(new URL(import.meta.url).pathname), '../fixtures/doctor/Redact.cs');
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** The rules as Test-Aiwatch.ps1 carries them: rows of $AiwatchRedactionRules, literals decoded. */
function renderedRules(): Array<Pick<RedactionRule, 'name' | 'source' | 'replacement'>> {
  const text = renderWindowsDoctorScripts(VARIANTS.full!()).find((f) => f.name === WINDOWS_DOCTOR_SCRIPTS.doctor)!.text;
  const lines = text.split('\r\n');
  const start = lines.indexOf('$AiwatchRedactionRules = @(');
  const rows: Array<Pick<RedactionRule, 'name' | 'source' | 'replacement'>> = [];
  for (const line of lines.slice(start + 1)) {
    if (line === ')') break;
    const [name, source, replacement] = topLevelSettings(`$AiwatchRow = ${line}`).get('AiwatchRow')!;
    rows.push({ name: name!, source: source!, replacement: replacement! });
  }
  return rows;
}

describeWithTools(['mcs', 'mono'], 'redaction on .NET (Mono) as Test-Aiwatch.ps1 applies it', () => {
  let dir: string;
  let exe: string;
  const rules = renderedRules();

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-redact-net-'));
    exe = path.join(dir, 'Redact.exe');
    execFileSync('mcs', ['-nologo', `-out:${exe}`, SOURCE], { stdio: 'pipe' });
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Redact each text on .NET with `rules` and the literal `secrets`. */
  const dotnet = (texts: readonly string[], secrets: readonly string[] = [], use: ReadonlyArray<Pick<RedactionRule, 'source' | 'replacement'>> = rules): string[] => {
    const input = [...use.map((r) => `R ${b64(r.source)} ${b64(r.replacement)}`), ...secrets.map((s) => `S ${b64(s)}`), ...texts.map((t) => `T ${b64(t)}`)].join('\n');
    const out = execFileSync('mono', [exe], { input: `${input}\n`, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const lines = out.split('\n').map((l) => l.replace(/\r$/, ''));
    if (lines.at(-1) === '') lines.pop();
    expect(lines).toHaveLength(texts.length);
    return lines.map((l) => Buffer.from(l, 'base64').toString('utf8'));
  };
  const js = (text: string, secrets: readonly string[] = []): string => secrets.reduce((t, s) => t.split(s).join(REDACTED), redact(text, windowsRedactionRules(spec)));

  it('the script carries the rules of src/doctor/redaction.ts and applies them the way Redact.cs does', () => {
    expect(rules).toEqual(windowsRedactionRules(spec).map(({ name, source, replacement }) => ({ name, source, replacement })));
    const text = renderWindowsDoctorScripts(VARIANTS.full!()).find((f) => f.name === WINDOWS_DOCTOR_SCRIPTS.doctor)!.text;
    expect(text).toContain('    $options = [Text.RegularExpressions.RegexOptions]::CultureInvariant\r\n    foreach ($rule in $AiwatchRedactionRules) {\r\n        $Text = [regex]::Replace($Text, $rule.Pattern, $rule.Replacement, $options)\r\n    }\r\n');
    expect(text).toContain("            $Text = $Text.Replace($secretValue, '[REDACTED]')\r\n");
  });

  it('every planted secret is gone, and .NET gives what JavaScript gives', () => {
    const texts = PLANTED.map((p) => p[1]);
    const net = dotnet(texts);
    for (const [i, [what, text, secret]] of PLANTED.entries()) {
      expect(net[i], what).not.toContain(secret);
      expect(net[i], what).toBe(js(text));
    }
  });

  it('the configured key values are replaced literally wherever the patterns miss them', () => {
    const value = 'opaque-Not-Key-Shaped-123';
    const texts = [`split across words: ${value}.`, `in a URL ?k=${value}&x=1`, `a hostile key ${HOSTILE_ORG.slice(7)} alone`];
    const net = dotnet(texts, [value, HOSTILE_ORG.slice(7)]);
    for (const [i, t] of texts.entries()) {
      expect(net[i]).not.toContain(value);
      expect(net[i]).not.toContain(HOSTILE_ORG.slice(7));
      expect(net[i]).toBe(js(t, [value, HOSTILE_ORG.slice(7)]));
    }
  });

  it('random texts from the rules\' trigger words, quotes, separators and Unicode look-alikes: .NET equals JavaScript', () => {
    const piece = fc.oneof(
      fc.constantFrom('rl_org_', 'rl_enroll_', 'Bearer', 'bEaReR', 'Authorization', 'OrgApiKey', 'ENROLLMENTKEY', 'RUNLAYER_API_KEY', 'AiwatchOrgApiKey', 'api_key', 'Api-Key', 'password', 'passwd', 'client_secret'),
      fc.constantFrom(' ', '\t', '\r\n', '\n', ':', '=', '"', "'", "''", ',', ';', '<key>', '</key>', '<string>', '</string>', '<', '$1', '$'),
      fc.constantFrom('\u212A', '\u0085', '\u00A0', '\u3000', '\uFEFF', '\u0130', '\u0131', '\u017F', 'K', 's'),
      fc.string({ unit: 'grapheme-ascii', maxLength: 8 }),
    );
    const texts = fc.sample(fc.array(piece, { maxLength: 24 }).map((a) => a.join('')), { numRuns: 400, seed: 0x5eed });
    const net = dotnet(texts);
    const differ = texts.map((t, i) => ({ t, net: net[i], js: js(t) })).filter((r) => r.net !== r.js);
    expect(differ.slice(0, 3)).toEqual([]);
    // The sample exercises the rules: a good share of the texts is changed by them.
    expect(texts.filter((t) => js(t) !== t).length).toBeGreaterThan(texts.length / 10);
  });

  it('Read-AiwatchInstalledValue finds Host and keys in the installed scripts on .NET, hostile keys included', () => {
    const text = renderWindowsDoctorScripts(VARIANTS.full!()).find((f) => f.name === WINDOWS_DOCTOR_SCRIPTS.doctor)!.text;
    const line = text.split('\r\n').find((l) => l.startsWith('    $pattern = '))!;
    // The pattern as PowerShell builds it: its two literals around the variable name.
    const [before, after] = topLevelSettings(`$AiwatchRow = ${line.trim().slice('$pattern = '.length)}`).get('AiwatchRow')!;
    const keys = ["rl_org_it's", "rl_org_'+$(Invoke-Expression('calc'))+'", 'rl_org_"$(calc)"', 'rl_org_`whoami`', "rl_org_''''", "rl_org_'@", 'rl_org_<#', HOSTILE_ORG];
    for (const org of keys) {
      const enroll = org.replace(/^rl_org_/, 'rl_enroll_');
      const t = tenant({ OrgApiKey: new Secret(org, 'OrgApiKey'), EnrollmentKey: new Secret(enroll, 'EnrollmentKey') });
      const scripts = renderIntuneScripts({ spec, tenant: t });
      const want: Array<[string, string, string]> = [
        ['Invoke-AiwatchScan.ps1', 'AiwatchTenantHost', t.Host],
        ['Invoke-AiwatchScan.ps1', 'AiwatchOrgApiKey', org],
        ['Invoke-AiwatchProvisioning.ps1', 'AiwatchOrgApiKey', org],
        ['Invoke-AiwatchProvisioning.ps1', 'AiwatchEnrollmentKey', enroll],
      ];
      for (const [file, name, value] of want) {
        const lines = scripts[file]!.split('\r\n');
        const input = lines.map((l) => `M ${b64(`${before}${name}${after}`)} ${b64(l)}`).join('\n');
        const out = execFileSync('mono', [exe], { input: `${input}\n`, encoding: 'utf8' }).split('\n').filter((l) => l !== '');
        const found = out.filter((l) => l !== '-').map((l) => Buffer.from(l, 'base64').toString('utf8').replace(/''/g, "'"));
        expect(found, `${file} ${name} ${org}`).toEqual([value]);
      }
    }
  });

  it('every regular expression literal the doctor scripts use compiles on .NET', () => {
    const patterns = new Set<string>();
    for (const f of renderWindowsDoctorScripts(VARIANTS.full!())) {
      for (const m of f.text.matchAll(/(?:-(?:not)?match|-replace|\[regex\]::(?:Match|Matches|Replace)\([^,]+,)\s*('(?:[^']|'')*')/g)) {
        patterns.add(m[1]!.slice(1, -1).replace(/''/g, "'"));
      }
    }
    expect(patterns.size).toBeGreaterThan(8);
    const list = [...patterns, '(unclosed'];
    const out = execFileSync('mono', [exe], { input: `${list.map((p) => `C ${b64(p)}`).join('\n')}\n`, encoding: 'utf8' }).trim().split('\n');
    expect(Object.fromEntries(list.map((p, i) => [p, out[i]]))).toEqual({ ...Object.fromEntries([...patterns].map((p) => [p, 'ok'])), '(unclosed': expect.stringMatching(/^error: /) });
  });

  it('the oracle can fail: a rule using \\s redacts after U+0085 on .NET only, and the comparison sees it', () => {
    const rule = { source: '(bearer\\s+)[!-~]+', replacement: '$1X' };
    const text = 'bearer\u0085token';
    const [net] = dotnet([text], [], [rule]);
    expect(net).toBe('bearer\u0085X');
    expect(text.replace(new RegExp(rule.source, 'g'), rule.replacement)).toBe(text);
  });
});

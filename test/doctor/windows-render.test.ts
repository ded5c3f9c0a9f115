/**
 * The Windows doctor scripts as rendered: every one parses with tree-sitter-powershell (no ERROR/MISSING node),
 * is ASCII with CRLF only and no BOM, holds no key, carries every check's id, title and fix text in the order of
 * src/doctor/checks-windows.ts, and is written by `aiwatch-deploy intune` (0644, outside the .intunewin).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readIntuneWin } from '../../src/read/intunewin-read.js';
import { innerEntries } from '../../src/read/ps1-read.js';
import { WINDOWS_CHECKS, windowsChecks } from '../../src/doctor/checks-windows.js';
import { renderWindowsDoctorScripts, WINDOWS_DOCTOR_SCRIPTS } from '../../src/doctor/doctor-windows.js';
import { scriptTextProblems } from '../../src/intune/intune-checks.js';
import { planIntune } from '../../src/intune/intune-plan.js';
import type { IntuneInput } from '../../src/intune/intune.js';
import { ENROLL_KEY, ORG_KEY, VARIANTS } from '../intune/helpers.js';
import { psSyntaxProblems } from '../intune/ps-parse.js';

const variants: Record<string, () => IntuneInput> = {
  ...VARIANTS,
  publisher: () => ({ ...VARIANTS.detect!(), options: { expectedPublisher: 'Runlayer, Inc.' } }),
};

/** The code without comment lines and with every string literal emptied (quotes in the other kind of string included). */
const withoutStrings = (text: string): string => text.replace(/^\s*#.*$/gm, '').replace(/"(?:[^"]|"")*"|'(?:[^']|'')*'/g, "''");

const psLiteral = (v: string): string => `'${v.replace(/'/g, "''")}'`;

/** Aiwatch functions called but not defined, or defined twice. */
function functionProblems(text: string): string[] {
  const defined = [...text.matchAll(/^function ([A-Za-z]+-Aiwatch[A-Za-z]*) \{/gm)].map((m) => m[1]!);
  const twice = defined.filter((d, i) => defined.indexOf(d) !== i).map((d) => `defined twice: ${d}`);
  const called = new Set([...withoutStrings(text).matchAll(/\b([A-Z][a-z]+-Aiwatch[A-Za-z]*)\b/g)].map((m) => m[1]!));
  return [...twice, ...[...called].filter((c) => !defined.includes(c)).map((c) => `not defined: ${c}`)];
}

const AUTOMATIC = new Set(['host', 'input', 'args', 'error', 'matches', 'pid', 'psitem', '_', 'this', 'sender', 'event', 'eventargs', 'home', 'profile', 'pwd', 'true', 'false', 'lastexitcode', 'myinvocation', 'pscommandpath', 'psscriptroot']);

/** Automatic variables the text assigns, takes as a parameter or as a loop variable (PowerShell names ignore case). */
function automaticAssignments(text: string): string[] {
  const code = withoutStrings(text);
  const assigned = [...code.matchAll(/\$(?:script:)?([A-Za-z_][A-Za-z0-9_]*)\s*(?:\+|-)?=(?!=)/g)].map((m) => m[1]!);
  const params = [...code.matchAll(/param\(([^)]*)\)/g)].flatMap((m) => [...m[1]!.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)].map((p) => p[1]!));
  const loops = [...code.matchAll(/foreach \(\$([A-Za-z_][A-Za-z0-9_]*) in/g)].map((m) => m[1]!);
  return [...assigned, ...params, ...loops].filter((v) => AUTOMATIC.has(v.toLowerCase()));
}

describe('the script lints can fail', () => {
  it('an undefined or doubly defined function, an automatic variable', () => {
    expect(functionProblems("function Get-AiwatchA {\r\n}\r\nfunction Get-AiwatchA {\r\n}\r\nGet-AiwatchB\r\n$x = 'Get-AiwatchC'\r\n")).toEqual(['defined twice: Get-AiwatchA', 'not defined: Get-AiwatchB']);
    expect(automaticAssignments("$Host = 1\r\nparam([string]$Input)\r\nforeach ($matches in $x) {\r\n}\r\n$null = 2\r\n$y = '$Error = 3'\r\n")).toEqual(['Host', 'Input', 'matches']);
  });
});

describe.each(Object.keys(variants))('the doctor scripts, variant %s', (variant) => {
  const input = variants[variant]!();
  const files = renderWindowsDoctorScripts(input);

  it('are the three scripts, none holding a secret', () => {
    expect(files.map((f) => f.name)).toEqual(Object.values(WINDOWS_DOCTOR_SCRIPTS));
    for (const f of files) {
      expect(f.holdsSecret).toBe(false);
      for (const key of [ORG_KEY, ENROLL_KEY, ORG_KEY.slice(7), ENROLL_KEY.slice(10)]) expect(f.text, f.name).not.toContain(key);
    }
  });

  it.each(Object.values(WINDOWS_DOCTOR_SCRIPTS))('%s parses with no ERROR or MISSING node', async (name) => {
    const f = files.find((x) => x.name === name)!;
    expect(await psSyntaxProblems(f.text)).toEqual([]);
  });

  it('are ASCII, CRLF only, no BOM, under the Intune size limit', () => {
    for (const f of files) {
      const bytes = Buffer.from(f.text, 'latin1');
      expect(scriptTextProblems(f.name, f.text)).toEqual([]);
      expect(bytes.every((b) => b < 0x80), f.name).toBe(true);
      expect(bytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))).toBe(false);
      expect(f.text.split('\r\n').every((line) => !line.includes('\n') && !line.includes('\r')), f.name).toBe(true);
      expect(f.text.endsWith('\r\n')).toBe(true);
    }
  });

  it('carry every check with its fix text, in order, provisioning only with an EnrollmentKey', () => {
    const provisioning = input.tenant.EnrollmentKey !== undefined;
    const want = windowsChecks(provisioning);
    expect(want.length).toBe(WINDOWS_CHECKS.length - (provisioning ? 0 : 1));
    for (const name of [WINDOWS_DOCTOR_SCRIPTS.doctor, WINDOWS_DOCTOR_SCRIPTS.detect]) {
      const text = files.find((f) => f.name === name)!.text;
      const rows = [...text.matchAll(/^ {4}@\{ Id = '([a-z-]+)'; Title = (.*); FailExit = (\d); Fix = (.*) \},?\r$/gm)];
      expect(rows.map((r) => r[1])).toEqual(want.map((c) => c.id));
      for (const [i, c] of want.entries()) {
        expect(rows[i]![2]).toBe(psLiteral(c.title));
        expect(Number(rows[i]![3])).toBe(c.failExit);
        expect(rows[i]![4]).toBe(psLiteral(c.fix));
      }
      expect(text).toContain(`$AiwatchWithProvisioning = $${provisioning}\r\n`);
    }
  });

  it('every check id in the table has the function that decides it, called in table order', () => {
    const text = files.find((f) => f.name === WINDOWS_DOCTOR_SCRIPTS.doctor)!.text;
    const calls = [...text.matchAll(/\$results \+= Invoke-AiwatchCheck -Id '([a-z-]+)'/g)].map((m) => m[1]);
    expect(calls).toEqual(WINDOWS_CHECKS.map((c) => c.id));
  });

  it('every Aiwatch function a script calls is defined in it, and none is defined twice', () => {
    for (const f of files) expect(functionProblems(f.text), f.name).toEqual([]);
  });

  it('assigns no PowerShell automatic variable ($Host, $Input, $Args, $Error, $Matches, $PID, $Sender, ...)', () => {
    for (const f of files) expect(automaticAssignments(f.text), f.name).toEqual([]);
  });

  it('the expected host and publisher are the tenant\'s and the option\'s', () => {
    const text = files.find((f) => f.name === WINDOWS_DOCTOR_SCRIPTS.doctor)!.text;
    expect(text).toContain(`$AiwatchExpectedHost = ${psLiteral(input.tenant.Host)}\r\n`);
    expect(text).toContain(`$AiwatchExpectedPublisher = ${psLiteral(input.options?.expectedPublisher ?? '')}\r\n`);
  });
});

describe('the fix texts', () => {
  it('are ASCII, one line, and say what to run or change', () => {
    for (const c of WINDOWS_CHECKS) {
      expect(c.fix, c.id).toMatch(/^[ -~]+$/);
      expect(c.title, c.id).toMatch(/^[ -~]+$/);
    }
    const byId = Object.fromEntries(WINDOWS_CHECKS.map((c) => [c.id, c]));
    expect(byId.tls!.fix).toMatch(/RUNLAYER_CA_BUNDLE/);
    expect(byId.tls!.fix).toMatch(/SSL_CERT_FILE and REQUESTS_CA_BUNDLE/);
    expect(byId.tls!.fix).toMatch(/LocalMachine\\Root/);
    expect(byId['org-key']!.fix).toMatch(/HTTP 401: the OrgApiKey is wrong or revoked/);
    expect(byId['org-key']!.fix).toMatch(/HTTP 403: the key lacks the Detect Scan role/);
  });

  it('the exit code classes follow the 0-3 table, and a run exits with the highest of its failing checks', () => {
    const text = renderWindowsDoctorScripts(VARIANTS.detect!()).find((f) => f.name === WINDOWS_DOCTOR_SCRIPTS.doctor)!.text;
    expect(text).toContain('        if ([int]$result.exitCode -gt $highest) {\r\n            $highest = [int]$result.exitCode\r\n');
    expect(text).toContain("    $code = 0\r\n    if ($Status -eq 'fail') {\r\n        $code = [int]$row.FailExit\r\n    }\r\n");
    expect(Object.fromEntries(WINDOWS_CHECKS.map((c) => [c.id, c.failExit]))).toEqual({
      'cli-binary': 3,
      'scan-task': 3,
      'provisioning-task': 3,
      config: 1,
      user: 1,
      'host-reachable': 2,
      tls: 2,
      'org-key': 1,
      logs: 0,
      'intune-ime': 0,
      legacy: 0,
    });
  });
});

describe('the docs', () => {
  const doc = (name: string) => readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), '../../docs', name), 'utf8');
  it('docs/intune-windows.md lists every check with the exit code its failure gives; troubleshooting names each', () => {
    const intune = doc('intune-windows.md');
    const troubleshooting = doc('troubleshooting.md').slice(doc('troubleshooting.md').indexOf('## Windows'));
    for (const c of WINDOWS_CHECKS) {
      expect(intune, c.id).toMatch(new RegExp(`^\\| \`${c.id}\` \\| .* \\| ${c.failExit === 0 ? 'warns only' : c.failExit} \\|$`, 'm'));
      expect(troubleshooting, c.id).toContain(`\`${c.id}\``);
    }
  });
});

describe('aiwatch-deploy intune writes them', () => {
  it('next to the install scripts, 0644, and not into the .intunewin', async () => {
    const plan = await planIntune(VARIANTS.full!(), { intunewin: true, mtime: new Date(0) });
    const names = plan.artifacts.map((a) => a.name);
    for (const n of Object.values(WINDOWS_DOCTOR_SCRIPTS)) {
      const a = plan.artifacts.find((x) => x.name === n)!;
      expect(a.mode).toBe(0o644);
      expect(a.holdsSecret).toBe(false);
    }
    expect(names).toContain('Install-AiwatchDetect.ps1');
    const dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-doctor-w32-'));
    try {
      const file = path.join(dir, plan.intunewin!.fileName);
      writeFileSync(file, plan.intunewin!.bytes);
      const r = await readIntuneWin(file, { spill: path.join(dir, 'inner.zip') });
      const inside = (await innerEntries(r.inner!)).map((e) => e.name);
      expect(inside).toContain('Install-AiwatchDetect.ps1');
      for (const n of Object.values(WINDOWS_DOCTOR_SCRIPTS)) expect(inside).not.toContain(n);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a publisher that is not printable ASCII, naming the flag', () => {
    expect(() => renderWindowsDoctorScripts({ ...VARIANTS.detect!(), options: { expectedPublisher: 'Runlayer\nInc' } })).toThrow(/--expected-publisher: expected 1-200 printable ASCII characters, got "Runlayer\\nInc"/);
  });
});

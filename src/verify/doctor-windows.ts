/**
 * `verify FILE.ps1` cross-checks of the Windows scripts `aiwatch-deploy intune` writes: the names, paths and
 * identifiers a script sets at its top level (`$AiwatchTaskPath = '\Runlayer\'`, `$AiwatchCliExe = Join-Path
 * $AiwatchBinDir 'runlayer.exe'`, …) must be those the deployment spec (`--spec`) gives every Intune script, so
 * the doctor and the health Remediation look where the install scripts put things. A doctor script
 * (Test-Aiwatch.ps1, Detect-AiwatchHealth.ps1, Remediate-AiwatchHealth.ps1, known by its first line) must also
 * carry every doctor setting, the check table of src/doctor/checks-windows.ts and the redaction rules of
 * src/doctor/redaction.ts for this spec's secret names.
 *
 * Read as our templates render them: a line at column 0 `$AiwatchName = …` whose single-quoted literals (with
 * PowerShell's doubled quotes) are the value; rows `@{ Id = '…'; … }` and `@{ Name = '…'; Pattern = '…'; … }`.
 * A script that sets none of these names (someone else's) gets no problem from here. Problems never quote a
 * script's text beyond these names and values, none of which is a secret.
 * Not covered: scripts inside a .intunewin (verify/windows.ts checks those as scripts only).
 */
import type { DeploymentSpec } from '../config/spec-types.js';
import type { Problem } from '../errors.js';
import { windowsChecks } from '../doctor/checks-windows.js';
import { IME_LOG_DIR, legacyTaskNames, WINDOWS_DOCTOR_SCRIPTS, WINDOWS_LOG_NAMES, windowsRedactionRules } from '../doctor/doctor-windows.js';
import { windowsLayout } from '../intune/intune.js';
import { scriptText } from '../read/ps-signature.js';
import { InputLimitError } from '../formats/limits.js';
import { inputName, readCheckInput, type Check, type CheckInput } from './context.js';

/** The single-quoted PowerShell literals in `s`, decoded. */
function psLiterals(s: string): string[] {
  return [...s.matchAll(/'((?:[^'\u2018-\u201B]|['\u2018-\u201B]{2})*)'/g)].map((m) => m[1]!.replace(/(['\u2018-\u201B])\1/g, '$1'));
}

/** Top-level `$AiwatchName = …` lines: name → the literals of the value. */
export function topLevelSettings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^\$(Aiwatch[A-Za-z]+) = (.*)$/.exec(line);
    if (m && !out.has(m[1]!)) out.set(m[1]!, psLiterals(m[2]!));
  }
  return out;
}

/** What every generated Windows script that sets one of these names must give it. */
function layoutExpectations(spec: DeploymentSpec): Record<string, string[]> {
  const l = windowsLayout(spec);
  return {
    AiwatchInstallDir: [l.installDirName],
    AiwatchCliExe: [l.cliExe],
    AiwatchUvExe: ['uv.exe'],
    AiwatchLogDir: [l.logDir],
    AiwatchTaskPath: [l.taskPath],
    AiwatchScanTaskName: [l.taskNames.scan],
    AiwatchProvisioningTaskName: [l.taskNames.provisioning],
    AiwatchRemoveHooksTaskName: [l.taskNames.removeHooks],
  };
}

/** What a doctor script must also set. */
function doctorExpectations(spec: DeploymentSpec): Record<string, string[]> {
  const prefix = (name: string) => /^\^([A-Za-z0-9_-]+)/.exec(spec.tenantKeys.find((k) => k.name === name)?.pattern ?? '')?.[1] ?? '';
  return {
    AiwatchOrgKeyPrefix: [prefix('OrgApiKey')],
    AiwatchEnrollmentKeyPrefix: [prefix('EnrollmentKey')],
    AiwatchScanScriptFile: ['Invoke-AiwatchScan.ps1'],
    AiwatchProvisioningScriptFile: ['Invoke-AiwatchProvisioning.ps1'],
    AiwatchLogNames: [...WINDOWS_LOG_NAMES],
    AiwatchLegacyTaskNames: legacyTaskNames(spec),
    AiwatchImeLogDir: [IME_LOG_DIR],
    AiwatchCaBundleVariables: [spec.windows.env.caBundle, 'SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE'],
  };
}

const DOCTOR_NAMES: readonly string[] = Object.values(WINDOWS_DOCTOR_SCRIPTS);

/** The doctor script `text` says it is (its first line `# <name> - …`), if any. */
export function doctorScriptName(text: string): string | undefined {
  const m = /^# ([A-Za-z-]+\.ps1) - /.exec(text);
  return m && DOCTOR_NAMES.includes(m[1]!) ? m[1] : undefined;
}

const show = (v: readonly string[]): string => (v.length === 1 ? JSON.stringify(v[0]) : JSON.stringify(v));

function settingProblems(settings: Map<string, string[]>, expected: Record<string, string[]>, where: string, required: boolean): Problem[] {
  const problems: Problem[] = [];
  for (const [name, want] of Object.entries(expected)) {
    const got = settings.get(name);
    if (got === undefined) {
      if (required) problems.push({ where, message: `$${name} is not set; a doctor script sets it to ${show(want)}` });
    } else if (JSON.stringify(got) !== JSON.stringify(want)) {
      problems.push({ where, message: `$${name} is ${show(got)}, but the deployment spec's Intune scripts use ${show(want)}` });
    }
  }
  return problems;
}

/** The rows `@{ Key = '…'; … }` of the block `$Name = @(` … `)`, as their literals. */
function tableRows(text: string, name: string): string[][] {
  const lines = text.split(/\r?\n/);
  const start = lines.indexOf(`$${name} = @(`);
  if (start < 0) return [];
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (line === ')') break;
    rows.push(psLiterals(line));
  }
  return rows;
}

function doctorTableProblems(text: string, spec: DeploymentSpec, where: string): Problem[] {
  const problems: Problem[] = [];
  const provisioning = /^\$AiwatchWithProvisioning = \$true\r?$/m.test(text);
  const wantIds = windowsChecks(provisioning).map((c) => c.id);
  const gotIds = tableRows(text, 'AiwatchCheckTable').map((r) => r[0] ?? '');
  if (JSON.stringify(gotIds) !== JSON.stringify(wantIds)) {
    problems.push({ where, message: `check table ${JSON.stringify(gotIds)} is not the doctor's ${JSON.stringify(wantIds)}${provisioning ? ' (with auto-provisioning)' : ''}` });
  }
  const wantRules = windowsRedactionRules(spec).map((r) => [r.name, r.source, r.replacement]);
  const gotRules = tableRows(text, 'AiwatchRedactionRules').map((r) => r.slice(0, 3));
  if (JSON.stringify(gotRules) !== JSON.stringify(wantRules)) {
    const names = (rules: string[][]) => rules.map((r) => r[0]).join(', ');
    problems.push({ where, message: `redaction rules (${names(gotRules) || 'none'}) are not those of this spec (${names(wantRules)}): the bundle could keep a secret` });
  }
  return problems;
}

/** The cross-check problems of one script's text. */
export function windowsScriptCrossProblems(text: string, spec: DeploymentSpec, where: string): Problem[] {
  const settings = topLevelSettings(text);
  const problems = settingProblems(settings, layoutExpectations(spec), where, false);
  if (doctorScriptName(text) !== undefined) {
    problems.push(...settingProblems(settings, doctorExpectations(spec), where, true), ...doctorTableProblems(text, spec, where));
  }
  return problems;
}

/** `check` (the PowerShell script check), then these cross-checks, when the script passed the size limit. */
export function withWindowsCrossChecks(check: Check): Check {
  return async (input: CheckInput, ctx) => {
    const problems = await check(input, ctx);
    let bytes: Buffer;
    try {
      bytes = await readCheckInput(input, 'verify', 'ps1.bytes');
    } catch (e) {
      if (e instanceof InputLimitError) return problems; // over the limit: the script check has said so
      throw e;
    }
    return [...problems, ...windowsScriptCrossProblems(scriptText(bytes), ctx.spec, inputName(input))];
  };
}

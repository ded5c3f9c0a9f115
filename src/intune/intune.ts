/**
 * The Intune PowerShell wrappers for aiwatch on Windows, as text: a pure function of the deployment spec, the
 * tenant values and options (no clock, no randomness). See docs/intune-windows.md for how each file is uploaded.
 *
 *   Install-AiwatchDetect.ps1        SYSTEM: uv + runlayer CLI machine-wide, scan task for the signed-in user, a scan now
 *   Invoke-AiwatchScan.ps1           what the scan task runs as the user (`runlayer scan`)
 *   Detect-Aiwatch.ps1               Remediations detection (0 compliant, 1 remediate); no secret
 *   Remediate-Aiwatch.ps1            Remediations remediation (= Install-AiwatchDetect.ps1)
 *   Uninstall-Aiwatch.ps1            removes tasks, hooks, CLI and the install folder; no secret
 *   Install-AiwatchProvisioning.ps1  SYSTEM: CLI + provisioning task (only with an EnrollmentKey)
 *   Invoke-AiwatchProvisioning.ps1   what that task runs as the user: enrollment + `runlayer setup hooks --install`
 *
 * The "payload" scripts (Invoke-*) are rendered first; the wrappers carry them in base64 and check their SHA-256,
 * so when scripts are Authenticode-signed the payloads are signed before they are embedded (see
 * {@link buildIntuneScripts}). Host and keys reach the CLI only through the child process environment, under the
 * names in `spec.windows.env`; every value enters the text through the `{{ps}}` quoting helper.
 * Not covered here: signing (src/sign/authenticode.ts) and the Win32 package (src/intune/intunewin.ts).
 */
import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';
import type { DeploymentSpec, TenantInput } from '../config/spec-types.js';
import { tenantPreferences } from '../config/tenant-keys.js';
import { renderTemplate } from '../render/templates.js';
import { assertScriptText, tenantAsciiProblems, toCrlf, windowsSpecProblems } from './intune-checks.js';

export const DEFAULT_UV_DOWNLOAD_BASE = 'https://github.com/astral-sh/uv/releases/latest/download';

/** Folder under %ProgramFiles% and task folder name. */
const INSTALL_DIR_NAME = 'Runlayer';
const TASK_PATH = '\\Runlayer\\';
const TASK_NAMES = { scan: 'Scan', provisioning: 'Provisioning', removeHooks: 'RemoveHooks' } as const;
/** Logs are renamed to `<name>.1` past this size. */
export const LOG_MAX_BYTES = 5 * 1024 * 1024;

export interface IntuneOptions {
  /** Normalised PEM (see normaliseCaBundle) installed as %ProgramFiles%\Runlayer\ca-bundle.pem. Default: none. */
  caBundlePem?: string;
  /** Where uv release archives (and their .sha256) are downloaded from. Default {@link DEFAULT_UV_DOWNLOAD_BASE}. */
  uvDownloadBase?: string;
  /**
   * Publisher (part of the signer's subject, e.g. `Runlayer`) the doctor scripts require of the runlayer CLI's
   * Authenticode signature. Default: none (an unsigned CLI is a warning, an invalid signature a failure).
   */
  expectedPublisher?: string;
}

export interface IntuneInput {
  spec: DeploymentSpec;
  tenant: TenantInput;
  options?: IntuneOptions;
  /** Names the spec in messages (e.g. the --spec file). Default `deployment spec`. */
  specSubject?: string;
}

export interface IntuneFile {
  /** File name, e.g. `Install-AiwatchDetect.ps1`. */
  name: string;
  /** ASCII text with CRLF line ends. */
  text: string;
  /** Holds a key (in clear or inside an embedded script): written 0600. */
  holdsSecret: boolean;
  /** One line saying what the file is for. */
  purpose: string;
}

/** Signs scripts (Authenticode) and returns them signed, same names and order. */
export type ScriptSigner = (files: IntuneFile[]) => Promise<IntuneFile[]>;

/** The runlayer CLI argument lists the scripts run. Secrets are never among them. */
export interface CliArguments {
  scan: string[];
  enroll: string[];
  hooks: string[];
  /** `setup hooks --uninstall --yes` as one argument line (used as a scheduled-task action). */
  unhooksLine: string;
}

export function cliArguments(tenant: TenantInput): CliArguments {
  const hooks = ['setup', 'hooks', '--install', '--yes'];
  if (!tenant.Enforcement) hooks.push('--no-enforcement');
  if (tenant.Sessions) hooks.push('--event-hooks');
  return { scan: ['scan'], enroll: ['enroll'], hooks, unhooksLine: 'setup hooks --uninstall --yes' };
}

/** Minutes between runs of the unit whose first argument is `verb` (the macOS StartInterval, one source of truth). */
function intervalMinutes(spec: DeploymentSpec, verb: string, fallbackSeconds: number, subject: string): number {
  const unit = spec.units.find((u) => u.arguments[0] === verb);
  const seconds = unit?.plist.StartInterval ?? fallbackSeconds;
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 60 || seconds % 60 !== 0) {
    throw new UsageError(`${subject}: StartInterval of the "${verb}" unit must be a whole number of minutes (seconds, multiple of 60) for the Windows task, got ${JSON.stringify(seconds)}`);
  }
  return seconds / 60;
}

interface Embedded {
  base64: string;
  sha256: string;
}

function embed(bytes: Uint8Array): Embedded {
  const lines = Buffer.from(bytes).toString('base64').match(/.{1,100}/g) ?? [];
  return { base64: lines.join('\n'), sha256: createHash('sha256').update(bytes).digest('hex').toUpperCase() };
}

/** Refuse inputs the scripts cannot carry: every problem at once. */
export function assertRenderable(input: IntuneInput): void {
  const problems = [...windowsSpecProblems(input.spec.windows, input.specSubject ?? 'deployment spec'), ...tenantAsciiProblems(input.tenant)];
  if (!input.tenant.OrgApiKey) problems.push('OrgApiKey is required for the Windows scripts');
  const uv = input.options?.uvDownloadBase;
  if (uv !== undefined && !/^https:\/\/[!-~]+[^/]$/.test(uv)) problems.push(`uvDownloadBase: expected an https:// URL without a trailing slash, got ${JSON.stringify(uv)}`);
  const publisher = input.options?.expectedPublisher;
  if (publisher !== undefined && !/^[ -~]{1,200}$/.test(publisher)) problems.push(`--expected-publisher: expected 1-200 printable ASCII characters, got ${JSON.stringify(publisher)}`);
  if (problems.length > 0) throw new UsageError(problems);
}

/** Where the Windows scripts put things: the names every generated script agrees on (verify checks them). */
export interface WindowsLayout {
  /** Folder under %ProgramFiles%. */
  installDirName: string;
  /** The runlayer CLI's file name in its bin folder. */
  cliExe: string;
  /** Log folder, with environment variables unexpanded. */
  logDir: string;
  /** Task folder, `\Runlayer\`. */
  taskPath: string;
  taskNames: { scan: string; provisioning: string; removeHooks: string };
}

export function windowsLayout(spec: DeploymentSpec): WindowsLayout {
  return { installDirName: INSTALL_DIR_NAME, cliExe: `${spec.windows.cliPackage}.exe`, logDir: spec.windows.logDir, taskPath: TASK_PATH, taskNames: { ...TASK_NAMES } };
}

/**
 * The values every template sees (secrets revealed: for rendering only). Does not validate: the render functions
 * do; exported for tests that render one template with values the validation would refuse.
 */
export function templateContext(input: IntuneInput): Record<string, unknown> {
  const { spec, tenant } = input;
  const subject = input.specSubject ?? 'deployment spec';
  return {
    tenant: tenantPreferences(tenant),
    env: spec.windows.env,
    cliPackage: spec.windows.cliPackage,
    ...windowsLayout(spec),
    logMaxBytes: LOG_MAX_BYTES,
    uvDownloadBase: input.options?.uvDownloadBase ?? DEFAULT_UV_DOWNLOAD_BASE,
    scanIntervalMinutes: intervalMinutes(spec, 'scan', 900, subject),
    provisioningIntervalMinutes: intervalMinutes(spec, 'enroll', 3600, subject),
    cli: cliArguments(tenant),
  };
}

function render(template: string, context: Record<string, unknown>, name: string): string {
  return toCrlf(renderTemplate(template, context), name);
}

/** Whether scripts for auto-provisioning are made (they need an EnrollmentKey). */
export function withProvisioning(tenant: TenantInput): boolean {
  return tenant.EnrollmentKey !== undefined;
}

/** The scripts the scheduled tasks run (Invoke-*.ps1): rendered first, signed, then embedded in the wrappers. */
export function renderPayloadScripts(input: IntuneInput): IntuneFile[] {
  assertRenderable(input);
  const ctx = templateContext(input);
  const files: IntuneFile[] = [
    {
      name: 'Invoke-AiwatchScan.ps1',
      text: render('Invoke-AiwatchScan.ps1.hbs', ctx, 'Invoke-AiwatchScan.ps1'),
      holdsSecret: true,
      purpose: 'what the scan task runs as the signed-in user (installed by Install-AiwatchDetect.ps1; not uploaded)',
    },
  ];
  if (withProvisioning(input.tenant)) {
    files.push({
      name: 'Invoke-AiwatchProvisioning.ps1',
      text: render('Invoke-AiwatchProvisioning.ps1.hbs', ctx, 'Invoke-AiwatchProvisioning.ps1'),
      holdsSecret: true,
      purpose: 'what the provisioning task runs as the signed-in user (installed by Install-AiwatchProvisioning.ps1; not uploaded)',
    });
  }
  assertScriptText(files);
  return files;
}

function payloadBytes(payloads: readonly IntuneFile[], name: string): Uint8Array {
  const f = payloads.find((p) => p.name === name);
  if (!f) throw new Error(`payload ${name} was not rendered`);
  return Buffer.from(f.text, 'ascii');
}

/** The scripts an admin uploads, each carrying the (possibly signed) payload scripts it installs. */
export function renderWrapperScripts(input: IntuneInput, payloads: readonly IntuneFile[]): IntuneFile[] {
  assertRenderable(input);
  const ca = input.options?.caBundlePem;
  const payload: Record<string, Embedded | undefined> = {
    scan: embed(payloadBytes(payloads, 'Invoke-AiwatchScan.ps1')),
    ca: ca ? embed(Buffer.from(ca, 'ascii')) : undefined,
  };
  if (withProvisioning(input.tenant)) payload.provisioning = embed(payloadBytes(payloads, 'Invoke-AiwatchProvisioning.ps1'));
  const ctx = { ...templateContext(input), payload };
  const one = (name: string, holdsSecret: boolean, purpose: string): IntuneFile => ({
    name,
    text: render(`${name}.hbs`, ctx, name),
    holdsSecret,
    purpose,
  });
  const files = [
    one('Install-AiwatchDetect.ps1', true, 'Detect: platform script (SYSTEM, 64-bit) or the Win32 app install command'),
    one('Detect-Aiwatch.ps1', false, 'Remediations detection script (or the Win32 app custom detection script)'),
    one('Remediate-Aiwatch.ps1', true, 'Remediations remediation script'),
    one('Uninstall-Aiwatch.ps1', false, 'removes everything (Win32 app uninstall command, or a platform script)'),
  ];
  if (payload.provisioning) {
    files.push(one('Install-AiwatchProvisioning.ps1', true, 'auto-provisioning: platform script (SYSTEM, 64-bit) or a Win32 app install command'));
  }
  assertScriptText(files);
  return files;
}

/**
 * Every script, payloads first, in a stable order. With `signer`, payloads are signed before the wrappers embed
 * them and the wrappers are signed last; the result is checked against the text rules again after signing.
 */
export async function buildIntuneScripts(input: IntuneInput, signer?: ScriptSigner): Promise<IntuneFile[]> {
  let payloads = renderPayloadScripts(input);
  if (signer) payloads = await signer(payloads);
  let wrappers = renderWrapperScripts(input, payloads);
  if (signer) wrappers = await signer(wrappers);
  const all = [...wrappers, ...payloads];
  assertScriptText(all);
  return all;
}

/** The unsigned scripts as `{fileName: text}`. */
export function renderIntuneScripts(input: IntuneInput): Record<string, string> {
  const payloads = renderPayloadScripts(input);
  const out: Record<string, string> = {};
  for (const f of [...renderWrapperScripts(input, payloads), ...payloads]) out[f.name] = f.text;
  return out;
}

/** How the Win32 app built from these scripts is configured in Intune (also printed in docs/intune-windows.md). */
export const WIN32_APP = {
  setupFile: 'Install-AiwatchDetect.ps1',
  /** Plain powershell.exe: the scripts relaunch themselves in the 64-bit host (a Sysnative path breaks when IME runs 64-bit). */
  installCommand: 'powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File .\\Install-AiwatchDetect.ps1',
  uninstallCommand: 'powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File .\\Uninstall-Aiwatch.ps1',
  detection: 'custom script Detect-Aiwatch.ps1 (exit 0 with "OK: ..." on stdout = installed); run as 64-bit: yes; signature check: as for the scripts',
  installBehavior: 'System',
  returnCodes: { 0: 'Success', 1: 'Failed (no signed-in user yet, or no rights)', 2: 'Retry (network failure)', 3: 'Failed (installation failure)' },
} as const;

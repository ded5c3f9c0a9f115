/**
 * The Windows doctor scripts, as text: a pure function of the deployment spec, the tenant's non-secret values
 * (the Host, whether auto-provisioning is on) and options, rendered from the same templates and constants as the
 * Intune install scripts (src/intune/intune.ts), so paths, task names, log names and environment names agree.
 *
 *   Test-Aiwatch.ps1              the doctor: every check of src/doctor/checks-windows.ts, a human report, -Json,
 *                                 -Bundle FILE (a redacted support .zip), exit 0-3
 *   Detect-AiwatchHealth.ps1      Remediations detection: the same checks, one line, exit 1 = needs remediation
 *   Remediate-AiwatchHealth.ps1   Remediations remediation: enable tasks, restart the scan, remove legacy tasks
 *
 * None of them holds a key: the context below leaves the tenant's secrets out, and the tests show no key reaches
 * the text. The redaction rules are those of src/doctor/redaction.ts, rendered as .NET patterns.
 * Not covered: signing (the caller's ScriptSigner, as for the install scripts).
 */
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { DeploymentSpec } from '../config/spec-types.js';
import { SECRET_KEY_NAMES } from '../config/tenant-keys.js';
import { assertScriptText, toCrlf } from '../intune/intune-checks.js';
import { assertRenderable, templateContext, withProvisioning, type IntuneFile, type IntuneInput, type ScriptSigner } from '../intune/intune.js';
import { renderTemplate } from '../render/templates.js';
import { DOCTOR_EXIT_MEANING, windowsChecks, type DoctorExit } from './checks-windows.js';
import { redactionRules, type RedactionRule } from './redaction.js';

/** The file names, also used by verify to recognise the scripts. */
export const WINDOWS_DOCTOR_SCRIPTS = {
  doctor: 'Test-Aiwatch.ps1',
  detect: 'Detect-AiwatchHealth.ps1',
  remediate: 'Remediate-AiwatchHealth.ps1',
} as const;

/** Each log kept in the bundle is cut to its last this many bytes. */
export const BUNDLE_LOG_MAX_BYTES = 4 * 1024 * 1024;
/** Bound of each network step (HTTPS request, TCP connect, TLS handshake), in seconds. */
export const NETWORK_TIMEOUT_SECONDS = 15;
/** Where the Intune Management Extension logs (expanded on the device). */
export const IME_LOG_DIR = '%ProgramData%\\Microsoft\\IntuneManagementExtension\\Logs';
/** The agent's logs in the log folder: detect first (the scan's), then provisioning. */
export const WINDOWS_LOG_NAMES = ['ai_watch_detect.log', 'auto_provisioning.log'] as const;

/** The literal prefix of a key pattern such as `^rl_org_[!-~]+$`. */
function keyPrefix(spec: DeploymentSpec, name: string, subject: string): string {
  const pattern = spec.tenantKeys.find((k) => k.name === name)?.pattern ?? '';
  const m = /^\^([A-Za-z0-9_-]+)/.exec(pattern);
  if (!m) throw new UsageError(`${subject}: /tenantKeys ${name}: the doctor needs a pattern that starts with a literal prefix (like ^rl_org_), got ${JSON.stringify(pattern)}`);
  return m[1]!;
}

/**
 * The names under which the Windows scripts store or pass a secret: the tenant keys, the environment variables
 * that carry them, and the variables of the installed scripts.
 */
export function windowsSecretNames(spec: DeploymentSpec): string[] {
  return [...SECRET_KEY_NAMES, spec.windows.env.orgApiKey, spec.windows.env.enrollmentKey, 'AiwatchOrgApiKey', 'AiwatchEnrollmentKey'];
}

/** The redaction rules the Windows bundle applies. */
export function windowsRedactionRules(spec: DeploymentSpec): RedactionRule[] {
  return redactionRules(windowsSecretNames(spec));
}

/** Names of the legacy deployment's scheduled tasks: the wrapper's file name and the launchd label. */
export function legacyTaskNames(spec: DeploymentSpec): string[] {
  return [...new Set([path.posix.basename(spec.legacy.wrapperPath), spec.legacy.label])];
}

/** The values the doctor templates see. Only what the spec and the non-secret tenant values say. */
export function doctorContext(input: IntuneInput): Record<string, unknown> {
  const { spec, tenant } = input;
  const subject = input.specSubject ?? 'deployment spec';
  // The tenant's secrets and the CLI lines stay out: these scripts hold no key.
  const { tenant: _secrets, cli: _cli, ...base } = templateContext(input);
  const provisioning = withProvisioning(tenant);
  return {
    ...base,
    expectedHost: tenant.Host,
    provisioning,
    keyPrefixes: { orgApiKey: keyPrefix(spec, 'OrgApiKey', subject), enrollmentKey: keyPrefix(spec, 'EnrollmentKey', subject) },
    expectedPublisher: input.options?.expectedPublisher ?? '',
    networkTimeoutSeconds: NETWORK_TIMEOUT_SECONDS,
    bundleLogMaxBytes: BUNDLE_LOG_MAX_BYTES,
    logNames: [...WINDOWS_LOG_NAMES],
    legacyTaskNames: legacyTaskNames(spec),
    imeLogDir: IME_LOG_DIR,
    caBundleVariables: [spec.windows.env.caBundle, 'SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE'],
    checks: windowsChecks(provisioning),
    exitMeaning: (Object.keys(DOCTOR_EXIT_MEANING) as unknown as DoctorExit[]).map((code) => ({ code: Number(code), text: DOCTOR_EXIT_MEANING[code] })),
    redactionRules: windowsRedactionRules(spec),
  };
}

/** The three doctor scripts, unsigned, in a stable order. */
export function renderWindowsDoctorScripts(input: IntuneInput): IntuneFile[] {
  assertRenderable(input);
  const ctx = doctorContext(input);
  const one = (name: string, purpose: string): IntuneFile => ({ name, text: toCrlf(renderTemplate(`${name}.hbs`, ctx), name), holdsSecret: false, purpose });
  const files = [
    one(WINDOWS_DOCTOR_SCRIPTS.doctor, 'the doctor: checks one device, -Json, -Bundle FILE (redacted support zip); by hand or as a platform script'),
    one(WINDOWS_DOCTOR_SCRIPTS.detect, 'health Remediation detection script (exit 1 = unhealthy; one line for the report)'),
    one(WINDOWS_DOCTOR_SCRIPTS.remediate, 'health Remediation remediation script (enables tasks, restarts the scan, removes legacy tasks; no key)'),
  ];
  assertScriptText(files);
  return files;
}

/** The doctor scripts, signed by `signer` when given (checked against the text rules again after signing). */
export async function buildWindowsDoctorScripts(input: IntuneInput, signer?: ScriptSigner): Promise<IntuneFile[]> {
  let files = renderWindowsDoctorScripts(input);
  if (signer) files = await signer(files);
  assertScriptText(files);
  return files;
}

/**
 * The macOS doctor and inventory scripts, rendered from the deployment spec (pure: spec in, text out):
 *  - `aiwatch-doctor.sh`: every check of the vendor's troubleshooting guide as a named result (ok / warn / fail /
 *    skip, one line of evidence, the fix), a human report, `--json`, `--summary`, `--jamf`, `--offline`,
 *    `--bundle FILE` (a redacted support bundle) and the 0–3 exit codes (docs/troubleshooting.md);
 *  - `aiwatch-jamf-ea.sh`: the same script whose default output is the Jamf Pro extension attribute
 *    `<result><version>; healthy|unhealthy: …</result>`, offline (inventory stays fast and never sends a key);
 *  - `aiwatch-intune-attribute.sh`: the same, printing the summary line for an Intune macOS custom attribute.
 * One template (`templates/aiwatch-doctor.sh.hbs` and its `sh-doctor-*` partials) makes all three, so the checks
 * of the inventory are exactly the doctor's. Labels, paths, identifiers, profile identifiers, tenant key names and
 * prefixes, log paths and the legacy deployment all come from the spec; every value reaches the script through
 * `{{sh …}}`.
 * Not covered here: the Windows scripts (`*-windows*.ts` in this folder), putting the files into the release zip
 * (src/release/plan.ts), checking them in a release (src/verify).
 */
import path from 'node:path';
import type { DeploymentSpec, TenantKeyDef } from '../config/spec-types.js';
import { ENROLLMENT_KEY, HOST_KEY } from '../config/tenant-keys.js';
import { UsageError } from '../errors.js';
import { identifierRoot } from '../profiles/mobileconfig.js';
import { tenantProfileIdentifier } from '../profiles/tenant-profile.js';
import { renderTemplate } from '../render/templates.js';

/** File names of the scripts in the release zip. */
export const DOCTOR_SCRIPT_NAME = 'aiwatch-doctor.sh';
export const JAMF_EA_SCRIPT_NAME = 'aiwatch-jamf-ea.sh';
export const INTUNE_ATTRIBUTE_SCRIPT_NAME = 'aiwatch-intune-attribute.sh';

/** The agents' logs in `spec.logDir` and their fallbacks (DESIGN "Logs"; the same names as src/release/macos-scripts.ts). */
export const DOCTOR_AGENT_LOGS: readonly string[] = ['ai_watch_detect.log', 'ai_watch_enforce.log', 'auto_provisioning.log'];
export const DOCTOR_FALLBACK_LOGS: readonly string[] = ['/tmp/runlayer-ai_watch_detect.log', '/tmp/runlayer-ai_watch_enforce.log'];
/** The pkg scripts' own log in `spec.logDir` (bundled, not scanned: it keeps old installs' lines). */
export const DOCTOR_INSTALL_LOG = 'install.log';

/** How much of each log goes into a support bundle: the last 2 MiB. */
export const BUNDLE_LOG_TAIL_MIB = 2;

/**
 * The agent's per-user state folder and the files the enrollment check reads there. `.enrollment-attempt` is the
 * agent's 60-second cross-process guard against repeated enrollment (vendor guide). The completion marker's name is
 * not in the vendor's guide: `config.json` is an assumption to confirm (docs/decisions.md, issue 13); a wrong name
 * only turns the enrollment check into a warning.
 */
export const RUNLAYER_USER_DIR = '.runlayer';
export const ENROLLMENT_ATTEMPT_FILE = '.enrollment-attempt';
export const ENROLLMENT_MARKER_FILE = 'config.json';
export const ENROLLMENT_COOLDOWN_SECONDS = 60;

/**
 * The key check: one GET of `Host + path` with the org key in `header` (401 = wrong or revoked key, 403 = the key
 * lacks the Detect Scan role). The endpoint is not in the vendor's guide; this default is an assumption to
 * confirm (docs/decisions.md, issue 13), and callers may pass another.
 */
export interface DoctorProbe {
  /** Absolute path on the tenant host, e.g. `/api/v1/ai-watch/ping`. */
  path: string;
  /** The header up to the key, e.g. `Authorization: Bearer `. */
  header: string;
  /** curl --connect-timeout, seconds. */
  connectTimeout: number;
  /** curl --max-time, seconds: the bound of each network check. */
  maxTime: number;
}

export const DEFAULT_PROBE: DoctorProbe = { path: '/api/v1/ai-watch/ping', header: 'Authorization: Bearer ', connectTimeout: 5, maxTime: 10 };

export interface DoctorScripts {
  /** `aiwatch-doctor.sh` */
  doctor: string;
  /** `aiwatch-jamf-ea.sh` */
  jamfAttribute: string;
  /** `aiwatch-intune-attribute.sh` */
  intuneAttribute: string;
}

/** A secret key's literal prefix, from its pattern `^<prefix>[!-~]+$` (profiles/tenant-keys.json). */
function keyPrefix(def: TenantKeyDef, problems: string[]): string {
  const m = def.pattern === undefined ? null : /^\^([A-Za-z0-9_]+)\[!-~\]\+\$$/.exec(def.pattern);
  if (!m?.[1]) {
    problems.push(`deployment spec: tenant key ${def.name}: the doctor needs a pattern of the form ^<prefix>[!-~]+$ to check the key without printing it, got ${JSON.stringify(def.pattern)}`);
    return '';
  }
  return m[1];
}

function probeProblems(probe: DoctorProbe): string[] {
  const problems: string[] = [];
  if (!/^\/[A-Za-z0-9._~/-]*$/.test(probe.path)) problems.push(`doctor probe path: must be an absolute URL path of [A-Za-z0-9._~/-], got ${JSON.stringify(probe.path)}`);
  if (!/^[A-Za-z0-9-]+: [!-~ ]*$/.test(probe.header) || /["\\]/.test(probe.header)) {
    problems.push(`doctor probe header: must be "Name: prefix" in printable ASCII without quotes or backslashes, got ${JSON.stringify(probe.header)}`);
  }
  for (const [k, v] of [['connectTimeout', probe.connectTimeout], ['maxTime', probe.maxTime]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 120) problems.push(`doctor probe ${k}: must be a whole number of seconds from 1 to 120, got ${String(v)}`);
  }
  return problems;
}

/** The names under which a secret is stored or passed: the secret tenant keys and the Windows environment names. */
export function secretSettingNames(spec: DeploymentSpec): string[] {
  const names = [...spec.tenantKeys.filter((k) => k.secret).map((k) => k.name), spec.windows.env.orgApiKey, spec.windows.env.enrollmentKey];
  return [...new Set(names)].sort();
}

function context(spec: DeploymentSpec, probe: DoctorProbe, mode: 'report' | 'jamf' | 'summary'): Record<string, unknown> {
  const problems = probeProblems(probe);
  const def = (name: string): TenantKeyDef => {
    const d = spec.tenantKeys.find((k) => k.name === name);
    if (!d) throw new UsageError([`deployment spec: the tenant keys have no ${name}`]);
    return d;
  };
  const secret = (name: string) => {
    const d = def(name);
    return { name: d.name, prefix: keyPrefix(d, problems), maxLength: d.maxLength ?? 512 };
  };
  const orgKey = secret('OrgApiKey');
  const enrollKey = secret(ENROLLMENT_KEY);
  const names = secretSettingNames(spec);
  for (const n of names) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) problems.push(`deployment spec: secret setting name ${JSON.stringify(n)} must be an identifier`);
  if (problems.length > 0) throw new UsageError(problems);
  const unit = (u: DeploymentSpec['units'][number]) => ({ label: u.label, kind: u.kind, plistPath: u.plistPath });
  const enroll = spec.units.find((u) => u.kind === 'agent' && u.enrollmentGate);
  const root = identifierRoot(spec);
  return {
    defaultMode: mode,
    defaultOffline: mode === 'report' ? 'no' : 'yes',
    installPath: spec.installPath,
    binDir: path.posix.dirname(spec.installPath),
    identifier: spec.identifier,
    teamId: spec.teamId,
    packageIdentifier: spec.packageIdentifier,
    logDir: spec.logDir,
    domain: spec.domain,
    prefsPath: `/Library/Managed Preferences/${spec.domain}.plist`,
    pppcProfileId: `${root}.pppc`,
    loginItemsProfileId: `${root}.loginitems`,
    tenantProfileId: tenantProfileIdentifier(spec),
    units: spec.units.map(unit),
    daemons: spec.units.filter((u) => u.kind === 'daemon').map(unit),
    agents: spec.units.filter((u) => u.kind === 'agent').map(unit),
    enrollLabel: enroll?.label ?? `${spec.labelPrefix}.enroll`,
    legacy: spec.legacy,
    agentLogs: DOCTOR_AGENT_LOGS.map((f) => path.posix.join(spec.logDir, f)),
    fallbackLogs: DOCTOR_FALLBACK_LOGS,
    bundleLogs: [...[...DOCTOR_AGENT_LOGS, DOCTOR_INSTALL_LOG].map((f) => path.posix.join(spec.logDir, f)), ...DOCTOR_FALLBACK_LOGS, ...spec.legacy.logFiles],
    bundleLogTailMiB: BUNDLE_LOG_TAIL_MIB,
    bundleLogTailBytes: BUNDLE_LOG_TAIL_MIB * 1024 * 1024,
    hostKey: HOST_KEY,
    enforcementKey: 'Enforcement',
    orgKey,
    enrollKey,
    redactNames: names.map((n) => n.toLowerCase()).join('|'),
    caBundleEnv: spec.windows.env.caBundle,
    probe,
    runlayerDir: RUNLAYER_USER_DIR,
    enrollmentMarker: ENROLLMENT_MARKER_FILE,
    enrollmentAttempt: ENROLLMENT_ATTEMPT_FILE,
    enrollmentCooldown: ENROLLMENT_COOLDOWN_SECONDS,
  };
}

/** `aiwatch-doctor.sh`. */
export function renderDoctorScript(spec: DeploymentSpec, probe: DoctorProbe = DEFAULT_PROBE): string {
  return renderTemplate('aiwatch-doctor.sh.hbs', context(spec, probe, 'report'));
}

/** The doctor, its Jamf extension attribute and its Intune custom attribute. */
export function renderDoctorScripts(spec: DeploymentSpec, probe: DoctorProbe = DEFAULT_PROBE): DoctorScripts {
  return {
    doctor: renderDoctorScript(spec, probe),
    jamfAttribute: renderTemplate('aiwatch-doctor.sh.hbs', context(spec, probe, 'jamf')),
    intuneAttribute: renderTemplate('aiwatch-doctor.sh.hbs', context(spec, probe, 'summary')),
  };
}

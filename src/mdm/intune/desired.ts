/**
 * What one Intune target should hold for a release, in apply order — pure data from the release, the spec it was
 * built from and the target (no I/O), and the Graph bodies made from it:
 *
 *  1. the PPPC profile and 2. the login-items profile: `macOSCustomConfiguration` (payload = the unsigned
 *     .mobileconfig, base64; payloadFileName; payloadName), device channel;
 *  3. the tenant config: `macOSCustomAppConfiguration` (Intune's "Preference file" profile) for the agent's domain,
 *     configurationXml = the plist key/value fragment Intune expects (profiles/intune-fragment.ts); it holds the keys,
 *     so a plan shows it only as a hash;
 *  4. the app: `macOSPkgApp` for the release pkg. A bare-binary pkg installs no .app bundle, so detection is by the
 *     pkg's receipt: primaryBundleId / includedApps[0].bundleId = the pkg identifier, bundleVersion = the release
 *     version (docs/intune-macos.md says why);
 *  5. with `options.healthInventory: true`, the health custom attribute: `deviceCustomAttributeShellScript` running the
 *     release's aiwatch-intune-attribute.sh as root (runAsAccount system), its one-line answer reported as the string
 *     attribute {@link HEALTH_ATTRIBUTE_NAME} in the Mac's inventory; assigned with `deviceManagementScriptAssignments`.
 *     A release made before the health scripts has none: the object is then blocked (driver.ts);
 *  6. with `options.windows: true`, two Windows Remediations (`deviceHealthScript`): the install pair
 *     Detect-Aiwatch.ps1 / Remediate-Aiwatch.ps1 (the remediation holds the keys) and the health pair
 *     Detect-/Remediate-AiwatchHealth.ps1, both SYSTEM, 64-bit, signature check off, every hour — rendered here from
 *     the spec and this target's tenant values (src/intune, src/doctor), as `aiwatch-deploy intune` writes them.
 *
 * Every object is assigned to the target's Entra group (scope.group, a group object id): profiles with `/assign`
 * (target groupAssignmentTarget), the app `required`. The marker goes in `description` (profiles, scripts) and `notes` (app;
 * written only once the content is committed, so a marker there means the content is this release's pkg).
 */
import type { DeploymentSpec } from '../../config/spec-types.js';
import type { TenantValues } from '../../config/tenant-keys.js';
import type { TenantInput } from '../../config/spec-types.js';
import { renderWindowsDoctorScripts, WINDOWS_DOCTOR_SCRIPTS } from '../../doctor/doctor-windows.js';
import { renderIntuneScripts, WIN32_APP } from '../../intune/intune.js';
import { DOS_EPOCH, zipEntries } from '../../intune/intunewin.js';
import { planTenant, tenantFileName } from '../../profiles/plan.js';
import { contentHash, secretShown } from '../../rollout/marker.js';
import type { FieldValue, ObjectKind, ReleaseContent } from '../../rollout/model.js';

export type IntuneRole = 'profile-pppc' | 'profile-loginitems' | 'profile-tenant' | 'app-macos' | 'attribute-health' | 'app-windows' | 'remediation-install' | 'remediation-health';

export interface DesiredIntune {
  kind: ObjectKind;
  role: IntuneRole;
  name: string;
  hash: string;
  fields: Record<string, FieldValue>;
  secretFields?: string[];
  /** The body of a create or update (without description/notes: the marker is added when written). */
  body: Record<string, unknown>;
  /** The Entra group the object is assigned to. */
  groupId: string;
  /** An app's content: the type cast of the content flow, the file name, and the bytes (built when needed). */
  content?: { cast: string; fileName: string; load: () => Promise<{ size: number; read: () => AsyncIterable<Uint8Array> }> };
}

export const CUSTOM_CONFIGURATION = '#microsoft.graph.macOSCustomConfiguration';
export const CUSTOM_APP_CONFIGURATION = '#microsoft.graph.macOSCustomAppConfiguration';
export const PKG_APP = '#microsoft.graph.macOSPkgApp';
export const HEALTH_SCRIPT = '#microsoft.graph.deviceHealthScript';
export const WIN32_LOB_APP = '#microsoft.graph.win32LobApp';
export const ATTRIBUTE_SCRIPT = '#microsoft.graph.deviceCustomAttributeShellScript';
/** The name of the macOS custom attribute the health script reports (what a dynamic group or report filters on). */
export const HEALTH_ATTRIBUTE_NAME = 'AiwatchHealth';
/** The script's file name in Intune: the release zip's. */
export const HEALTH_ATTRIBUTE_FILE = 'aiwatch-intune-attribute.sh';
/** How often a Remediation runs on a device (hours): Microsoft's hourly schedule. */
export const REMEDIATION_EVERY_HOURS = 1;
/** The type-cast path segment of the content flow (Microsoft's docs form; graph-intune.json x-path-notes). */
export const PKG_APP_CAST = 'microsoft.graph.macOSPkgApp';

export function intuneNames(prefix: string): { pppc: string; loginItems: string; tenant: string; app: string; attribute: string; win32: string; install: string; health: string } {
  return { pppc: `${prefix} — PPPC`, loginItems: `${prefix} — login items`, tenant: `${prefix} — tenant settings`, app: `${prefix} agent (macOS)`, attribute: `${prefix} — health (macOS)`, win32: `${prefix} agent (Windows)`, install: `${prefix} — install (Windows)`, health: `${prefix} — health (Windows)` };
}

/** A .mobileconfig or plist text as compared: line ends unified, outer whitespace dropped. */
export function normalText(text: string): string {
  return text.replace(/\r\n?/g, '\n').trim();
}

/** Assignments as a plan value: the sorted group ids with their intent. */
export function assignmentShown(groupIds: readonly string[], intent?: string): string {
  return JSON.stringify([...groupIds].sort().map((g) => (intent ? `${intent}:${g}` : g)));
}

export interface DesiredInput {
  spec: DeploymentSpec;
  release: ReleaseContent;
  tenant: TenantValues;
  prefix: string;
  groupId: string;
  /** Also the Windows Remediations. */
  windows?: boolean;
  /** Also the macOS health custom attribute. */
  healthInventory?: boolean;
}

function customProfile(role: 'profile-pppc' | 'profile-loginitems', name: string, fileName: string, text: string, groupId: string): DesiredIntune {
  const payload = normalText(text);
  return {
    kind: 'profile',
    role,
    name,
    groupId,
    hash: contentHash({ role, name, payload: Buffer.from(payload, 'utf8'), fileName, channel: 'deviceChannel', groupId }),
    fields: { type: CUSTOM_CONFIGURATION, payload: secretShown(payload), payloadName: name, payloadFileName: fileName, deploymentChannel: 'deviceChannel', assignments: assignmentShown([groupId]) },
    body: { '@odata.type': CUSTOM_CONFIGURATION, displayName: name, payloadName: name, payloadFileName: fileName, payload: Buffer.from(payload, 'utf8').toString('base64'), deploymentChannel: 'deviceChannel' },
  };
}

/** The desired objects of one target, in apply order (profiles before the app). */
export function desiredIntune(input: DesiredInput): DesiredIntune[] {
  const { spec, release, tenant, prefix, groupId } = input;
  const names = intuneNames(prefix);
  const utf8 = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
  const out: DesiredIntune[] = [
    customProfile('profile-pppc', names.pppc, `${spec.domain}.pppc.mobileconfig`, utf8(release.profiles.pppc), groupId),
    customProfile('profile-loginitems', names.loginItems, `${spec.domain}.loginitems.mobileconfig`, utf8(release.profiles.loginItems), groupId),
  ];
  const fragment = normalText(utf8(planTenant(spec, tenant, 'intune-plist').bytes));
  const fileName = tenantFileName(spec, 'intune-plist');
  out.push({
    kind: 'profile',
    role: 'profile-tenant',
    name: names.tenant,
    groupId,
    hash: contentHash({ role: 'profile-tenant', name: names.tenant, configurationXml: Buffer.from(fragment, 'utf8'), bundleId: spec.domain, fileName, groupId }),
    fields: { type: CUSTOM_APP_CONFIGURATION, configurationXml: secretShown(fragment), bundleId: spec.domain, fileName, assignments: assignmentShown([groupId]) },
    secretFields: ['configurationXml'],
    body: { '@odata.type': CUSTOM_APP_CONFIGURATION, displayName: names.tenant, bundleId: spec.domain, fileName, configurationXml: Buffer.from(fragment, 'utf8').toString('base64') },
  });
  const pkg = release.pkg;
  const included = [{ bundleId: spec.packageIdentifier, bundleVersion: release.version }];
  out.push({
    kind: 'app',
    role: 'app-macos',
    name: names.app,
    groupId,
    hash: contentHash({ role: 'app-macos', name: names.app, fileName: pkg.fileName, size: pkg.size, sha256: pkg.sha256.toLowerCase(), bundleId: spec.packageIdentifier, version: release.version, groupId }),
    fields: {
      type: PKG_APP,
      fileName: pkg.fileName,
      primaryBundleId: spec.packageIdentifier,
      primaryBundleVersion: release.version,
      includedApps: JSON.stringify(included),
      ignoreVersionDetection: false,
      content: `${pkg.size} bytes sha256:${pkg.sha256.toLowerCase().slice(0, 12)}`,
      assignments: assignmentShown([groupId], 'required'),
    },
    body: {
      '@odata.type': PKG_APP,
      displayName: names.app,
      publisher: 'Runlayer',
      fileName: pkg.fileName,
      primaryBundleId: spec.packageIdentifier,
      primaryBundleVersion: release.version,
      includedApps: included,
      ignoreVersionDetection: false,
      minimumSupportedOperatingSystem: { '@odata.type': '#microsoft.graph.macOSMinimumOperatingSystem', v11_0: true },
    },
    content: { cast: PKG_APP_CAST, fileName: pkg.fileName, load: () => Promise.resolve({ size: pkg.size, read: pkg.read }) },
  });
  if (input.healthInventory) out.push(healthAttribute(names.attribute, release.healthScripts?.intuneAttribute ?? '', groupId));
  if (input.windows) out.push(...desiredWindows(input));
  return out;
}

/**
 * The macOS health custom attribute (a script with no text: the release has none, the object is blocked). The
 * script is compared as text with line ends unified, as Intune may hand it back with CRLF.
 */
function healthAttribute(name: string, script: string, groupId: string): DesiredIntune {
  const text = script.replace(/\r\n?/g, '\n');
  const settings = { customAttributeName: HEALTH_ATTRIBUTE_NAME, customAttributeType: 'string', fileName: HEALTH_ATTRIBUTE_FILE, runAsAccount: 'system' };
  return {
    kind: 'script',
    role: 'attribute-health',
    name,
    groupId,
    hash: contentHash({ role: 'attribute-health', name, script: Buffer.from(text, 'utf8'), ...settings, groupId }),
    fields: { type: ATTRIBUTE_SCRIPT, scriptContent: secretShown(text), ...settings, assignments: assignmentShown([groupId]) },
    body: { '@odata.type': ATTRIBUTE_SCRIPT, displayName: name, ...settings, scriptContent: Buffer.from(text, 'utf8').toString('base64') },
  };
}

/** The `/assign` body of a custom attribute script (the Graph description's `deviceManagementScriptAssignments`). */
export function scriptAssignBody(groupId: string): Record<string, unknown> {
  return {
    deviceManagementScriptAssignments: [
      { '@odata.type': '#microsoft.graph.deviceManagementScriptAssignment', target: { '@odata.type': '#microsoft.graph.groupAssignmentTarget', groupId } },
    ],
  };
}

function remediation(role: 'remediation-install' | 'remediation-health', name: string, detect: string, remediate: string, secret: boolean, groupId: string): DesiredIntune {
  const settings = { runAsAccount: 'system', runAs32Bit: false, enforceSignatureCheck: false };
  return {
    kind: 'script',
    role,
    name,
    groupId,
    hash: contentHash({ role, name, detect: Buffer.from(detect, 'utf8'), remediate: Buffer.from(remediate, 'utf8'), ...settings, everyHours: REMEDIATION_EVERY_HOURS, groupId }),
    fields: {
      type: HEALTH_SCRIPT,
      detectionScript: secretShown(detect),
      remediationScript: secretShown(remediate),
      ...settings,
      assignments: assignmentShown([groupId], `every ${REMEDIATION_EVERY_HOURS} h`),
    },
    ...(secret ? { secretFields: ['remediationScript'] } : {}),
    body: {
      '@odata.type': HEALTH_SCRIPT,
      displayName: name,
      publisher: 'Runlayer',
      detectionScriptContent: Buffer.from(detect, 'utf8').toString('base64'),
      remediationScriptContent: Buffer.from(remediate, 'utf8').toString('base64'),
      detectionScriptParameters: [],
      remediationScriptParameters: [],
      deviceHealthScriptType: 'deviceHealthScript',
      ...settings,
    },
  };
}

/** Win32 return codes from the install script's 0–3 table (docs/intune-windows.md §4). */
export const WIN32_RETURN_CODES = [
  { returnCode: 0, type: 'success' },
  { returnCode: 1, type: 'failed' },
  { returnCode: 2, type: 'retry' },
  { returnCode: 3, type: 'failed' },
] as const;

/**
 * The Win32 app: the install scripts zipped as the `.intunewin` inner package (names sorted, DOS epoch times:
 * the same scripts give the same bytes), uploaded through the same encrypted content flow as the pkg; install and
 * uninstall commands, Detect-Aiwatch.ps1 as the custom detection rule, return codes 0–3, SYSTEM.
 */
function win32App(input: DesiredInput, scripts: Record<string, string>): DesiredIntune {
  const names = intuneNames(input.prefix);
  const files = Object.entries(scripts)
    .map(([name, text]) => ({ name, data: Buffer.from(text, 'utf8') }))
    .sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  const detect = scripts['Detect-Aiwatch.ps1'];
  if (detect === undefined) throw new Error('the Windows script Detect-Aiwatch.ps1 was not rendered');
  const fileName = `${WIN32_APP.setupFile.replace(/\.ps1$/, '')}.intunewin`;
  const rule = {
    '@odata.type': '#microsoft.graph.win32LobAppPowerShellScriptRule',
    ruleType: 'detection',
    displayName: null,
    enforceSignatureCheck: false,
    runAs32Bit: false,
    runAsAccount: null,
    scriptContent: Buffer.from(detect, 'utf8').toString('base64'),
    operationType: 'notConfigured',
    operator: 'notConfigured',
    comparisonValue: null,
  };
  const scriptsHash = contentHash({ files: files.map((f) => ({ name: f.name, data: f.data })) });
  return {
    kind: 'app',
    role: 'app-windows',
    name: names.win32,
    groupId: input.groupId,
    hash: contentHash({ role: 'app-windows', name: names.win32, scripts: scriptsHash, install: WIN32_APP.installCommand, uninstall: WIN32_APP.uninstallCommand, groupId: input.groupId }),
    fields: {
      type: WIN32_LOB_APP,
      fileName,
      setupFilePath: WIN32_APP.setupFile,
      installCommandLine: WIN32_APP.installCommand,
      uninstallCommandLine: WIN32_APP.uninstallCommand,
      detection: secretShown(detect),
      returnCodes: JSON.stringify(WIN32_RETURN_CODES.map((c) => `${c.returnCode}:${c.type}`)),
      content: `scripts sha256:${scriptsHash.slice(0, 12)}`,
      assignments: assignmentShown([input.groupId], 'required'),
    },
    secretFields: ['content'],
    body: {
      '@odata.type': WIN32_LOB_APP,
      displayName: names.win32,
      publisher: 'Runlayer',
      fileName,
      setupFilePath: WIN32_APP.setupFile,
      installCommandLine: WIN32_APP.installCommand,
      uninstallCommandLine: WIN32_APP.uninstallCommand,
      applicableArchitectures: 'x64,arm64',
      minimumSupportedWindowsRelease: '1607',
      installExperience: { '@odata.type': '#microsoft.graph.win32LobAppInstallExperience', runAsAccount: 'system', deviceRestartBehavior: 'suppress', maxRunTimeInMinutes: 60 },
      returnCodes: WIN32_RETURN_CODES.map((c) => ({ '@odata.type': '#microsoft.graph.win32LobAppReturnCode', ...c })),
      rules: [rule],
    },
    content: {
      cast: 'microsoft.graph.win32LobApp',
      fileName: 'IntunePackage.intunewin',
      load: async () => {
        const inner = await zipEntries(files, { compress: true, mtime: DOS_EPOCH });
        return {
          size: inner.length,
          read: async function* () {
            yield inner;
          },
        };
      },
    },
  };
}

/** The Win32 app and the two Windows Remediations, from the same renderers as `aiwatch-deploy intune` (unsigned). */
export function desiredWindows(input: DesiredInput): DesiredIntune[] {
  const names = intuneNames(input.prefix);
  const tenant = input.tenant as unknown as TenantInput;
  const scripts = renderIntuneScripts({ spec: input.spec, tenant });
  const doctor = new Map(renderWindowsDoctorScripts({ spec: input.spec, tenant }).map((f) => [f.name, f.text]));
  const need = (m: Map<string, string> | Record<string, string>, n: string): string => {
    const v = m instanceof Map ? m.get(n) : m[n];
    if (v === undefined) throw new Error(`the Windows script ${n} was not rendered`);
    return v;
  };
  return [
    win32App(input, scripts),
    remediation('remediation-install', names.install, need(scripts, 'Detect-Aiwatch.ps1'), need(scripts, 'Remediate-Aiwatch.ps1'), true, input.groupId),
    remediation('remediation-health', names.health, need(doctor, WINDOWS_DOCTOR_SCRIPTS.detect), need(doctor, WINDOWS_DOCTOR_SCRIPTS.remediate), false, input.groupId),
  ];
}

/** The `/assign` body of a Remediation: the group, remediation on, every {@link REMEDIATION_EVERY_HOURS} hour(s). */
export function remediationAssignBody(groupId: string): Record<string, unknown> {
  return {
    deviceHealthScriptAssignments: [
      {
        '@odata.type': '#microsoft.graph.deviceHealthScriptAssignment',
        target: { '@odata.type': '#microsoft.graph.groupAssignmentTarget', groupId },
        runRemediationScript: true,
        runSchedule: { '@odata.type': '#microsoft.graph.deviceHealthScriptHourlySchedule', interval: REMEDIATION_EVERY_HOURS },
      },
    ],
  };
}

/** The `/assign` body of a profile (deviceConfiguration). */
export function profileAssignBody(groupId: string): Record<string, unknown> {
  return { assignments: [{ '@odata.type': '#microsoft.graph.deviceConfigurationAssignment', target: { '@odata.type': '#microsoft.graph.groupAssignmentTarget', groupId } }] };
}

/** The `/assign` body of the app: required for the group. */
export function appAssignBody(groupId: string): Record<string, unknown> {
  return {
    mobileAppAssignments: [
      { '@odata.type': '#microsoft.graph.mobileAppAssignment', intent: 'required', target: { '@odata.type': '#microsoft.graph.groupAssignmentTarget', groupId }, settings: null },
    ],
  };
}

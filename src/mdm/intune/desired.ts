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
 *     version (docs/intune-macos.md says why).
 *
 * Every object is assigned to the target's Entra group (scope.group, a group object id): profiles with `/assign`
 * (target groupAssignmentTarget), the app `required`. The marker goes in `description` (profiles) and `notes` (app;
 * written only once the content is committed, so a marker there means the content is this release's pkg).
 */
import type { DeploymentSpec } from '../../config/spec-types.js';
import type { TenantValues } from '../../config/tenant-keys.js';
import { planTenant, tenantFileName } from '../../profiles/plan.js';
import { contentHash, secretShown } from '../../rollout/marker.js';
import type { FieldValue, ObjectKind, ReleaseContent } from '../../rollout/model.js';

export type IntuneRole = 'profile-pppc' | 'profile-loginitems' | 'profile-tenant' | 'app-macos';

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
}

export const CUSTOM_CONFIGURATION = '#microsoft.graph.macOSCustomConfiguration';
export const CUSTOM_APP_CONFIGURATION = '#microsoft.graph.macOSCustomAppConfiguration';
export const PKG_APP = '#microsoft.graph.macOSPkgApp';
/** The type-cast path segment of the content flow (Microsoft's docs form; graph-intune.json x-path-notes). */
export const PKG_APP_CAST = 'microsoft.graph.macOSPkgApp';

export function intuneNames(prefix: string): { pppc: string; loginItems: string; tenant: string; app: string } {
  return { pppc: `${prefix} — PPPC`, loginItems: `${prefix} — login items`, tenant: `${prefix} — tenant settings`, app: `${prefix} agent (macOS)` };
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
  });
  return out;
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

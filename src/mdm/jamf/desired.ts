/**
 * What one Jamf Pro target should hold for a release, in apply order — pure data from the release, the spec it was
 * built from and the target (no I/O):
 *
 *  1. the scope smart group (when the target defines one; an existing group is only looked up),
 *  2. the extension attribute `aiwatch version` (a script reporting the installed version from the package receipt),
 *  3. the version-aware smart group `<scope> — aiwatch not <version>`: in the scope AND the EA is not the version,
 *  4. the PPPC profile, 5. the login-items profile, 6. the tenant-config profile (managed preferences of the agent's
 *     domain, made by the project's tenant profile generator; holds the keys),
 *  7. the package, 8. the policy (the package, Install, recurring check-in, Ongoing, inventory update after, scoped
 *     to the version-aware group);
 *  with the target option `healthInventory: true`, after those (they never hold up the pkg):
 *  9. the extension attribute `aiwatch health` (the release's aiwatch-jamf-ea.sh: `<version>; healthy…` or
 *     `<version>; unhealthy: <checks>`), 10. the smart group `<scope> — aiwatch unhealthy`: in the scope AND that
 *     EA is like `unhealthy` (docs/troubleshooting.md).
 *
 * Each object's `fields` are what `plan` compares with the server, as plan values (a payload as its hash, a list as
 * one canonical line); `hash` is the marker's content hash of the desired content. docs/decisions.md says why the
 * policy is Ongoing over a version-aware group instead of "Once per computer".
 */
import type { DeploymentSpec } from '../../config/spec-types.js';
import type { TenantValues } from '../../config/tenant-keys.js';
import { planTenant } from '../../profiles/plan.js';
import { contentHash, secretShown } from '../../rollout/marker.js';
import type { ReleaseContent, ResolvedTarget } from '../../rollout/model.js';
import { shQuote, type DesiredBase } from '../desired.js';

/** The criterion fields Jamf stores (Pro API SmartSearchCriterion). */
export interface Criterion {
  name: string;
  priority: number;
  andOr: 'and' | 'or';
  searchType: string;
  value: string;
  openingParen: boolean;
  closingParen: boolean;
}

export interface DesiredSmartGroup extends DesiredBase {
  kind: 'smart-group';
  role: 'smart-group' | 'smart-group-version' | 'smart-group-health';
  criteria: Criterion[];
}
/** An existing group named by the rollout: looked up, never written. */
export interface DesiredExistingGroup extends DesiredBase {
  kind: 'smart-group';
  role: 'existing-group';
}
export interface DesiredExtensionAttribute extends DesiredBase {
  kind: 'extension-attribute';
  role: 'extension-attribute' | 'extension-attribute-health';
  /** The script ('' for a health EA of a release without the script: planned as blocked). */
  scriptContents: string;
}
export interface DesiredProfile extends DesiredBase {
  kind: 'profile';
  role: 'profile-pppc' | 'profile-loginitems' | 'profile-tenant';
  /** The .mobileconfig text (the tenant one holds secrets: never in a message). */
  payloads: string;
  scopeGroup: string;
}
export interface DesiredPackage extends DesiredBase {
  kind: 'package';
  role: 'package';
  fileName: string;
  size: number;
  md5: string;
  sha256: string;
  sha512: string;
}
export interface DesiredPolicy extends DesiredBase {
  kind: 'policy';
  role: 'policy';
  packageName: string;
  scopeGroup: string;
}

export type DesiredObject = DesiredSmartGroup | DesiredExistingGroup | DesiredExtensionAttribute | DesiredProfile | DesiredPackage | DesiredPolicy;

/** The hash type sent with the package record (docs/decisions.md: accepted by every Jamf Pro with /v1/packages). */
export const PACKAGE_HASH_TYPE = 'MD5';

/** Names of what we make in one target. `prefix` defaults to `aiwatch` (target option `namePrefix`). */
export function objectNames(prefix: string, scopeName: string, version: string): {
  extensionAttribute: string; versionGroup: string; versionGroupPrefix: string; pppc: string; loginItems: string; tenant: string; policy: string;
  healthAttribute: string; healthGroup: string;
} {
  const versionGroupPrefix = `${scopeName} — ${prefix} not `;
  return {
    extensionAttribute: `${prefix} version`,
    versionGroupPrefix,
    versionGroup: `${versionGroupPrefix}${version}`,
    pppc: `${prefix} — PPPC`,
    loginItems: `${prefix} — login items`,
    tenant: `${prefix} — tenant settings`,
    policy: `${prefix} — install`,
    healthAttribute: `${prefix} health`,
    healthGroup: `${scopeName} — ${prefix} unhealthy`,
  };
}

/**
 * The extension attribute's script: the version of the installed package receipt, `<result>VERSION</result>`, or
 * `<result>not installed</result>`. Absolute tool paths (Jamf runs it as root with a minimal PATH).
 */
export function versionScript(packageIdentifier: string): string {
  return [
    '#!/bin/sh',
    '# aiwatch-deploy: the installed aiwatch version, from the package receipt, for the version-aware smart group.',
    `v=$(/usr/sbin/pkgutil --pkg-info ${shQuote(packageIdentifier)} 2>/dev/null | /usr/bin/awk '/^version: / { print $2 }')`,
    'if [ -n "$v" ]; then',
    '  echo "<result>$v</result>"',
    'else',
    '  echo "<result>not installed</result>"',
    'fi',
    '',
  ].join('\n');
}

/** What the health EA holds for a Mac whose doctor checks failed: `<version>; unhealthy: <checks>` (never in a healthy line). */
export const UNHEALTHY_VALUE = 'unhealthy';

/** Criteria as stored: priority = position; the first criterion's and/or is meaningless and shown as `and`. */
export function normalCriteria(list: readonly { name: string; andOr: string; searchType: string; value: string; openingParen?: boolean; closingParen?: boolean }[]): Criterion[] {
  return list.map((c, i) => ({
    name: c.name,
    priority: i,
    andOr: i === 0 ? 'and' : c.andOr === 'or' ? 'or' : 'and',
    searchType: c.searchType,
    value: c.value,
    openingParen: c.openingParen === true,
    closingParen: c.closingParen === true,
  }));
}

/** One line per criteria list, for plans: `Computer Group member of "Macs" and "aiwatch version" is not "1.2.0"`. */
export function criteriaLine(criteria: readonly Criterion[]): string {
  return criteria
    .map((c, i) => `${i === 0 ? '' : `${c.andOr} `}${c.openingParen ? '(' : ''}${JSON.stringify(c.name)} ${c.searchType} ${JSON.stringify(c.value)}${c.closingParen ? ')' : ''}`)
    .join(' ');
}

/** A .mobileconfig text as compared: line ends unified, outer whitespace dropped. */
export function normalPayload(text: string): string {
  return text.replace(/\r\n?/g, '\n').trim();
}

/** The plan value of a payload: its hash, never its text (the tenant one holds keys; the others are long). */
export function payloadShown(text: string): string {
  return secretShown(normalPayload(text));
}

export interface DesiredInput {
  spec: DeploymentSpec;
  release: ReleaseContent;
  target: ResolvedTarget;
  tenant: TenantValues;
  prefix: string;
  /** The target option `healthInventory`: also the health EA and the unhealthy group. */
  health?: boolean;
}

function smartGroup(role: DesiredSmartGroup['role'], name: string, criteria: Criterion[]): DesiredSmartGroup {
  return { kind: 'smart-group', role, name, criteria, hash: contentHash({ role, name, criteria: criteria.map((c) => ({ ...c })) }), fields: { criteria: criteriaLine(criteria) } };
}

function profile(role: DesiredProfile['role'], name: string, payloads: string, scopeGroup: string, secret: boolean): DesiredProfile {
  const text = normalPayload(payloads);
  return {
    kind: 'profile',
    role,
    name,
    payloads: text,
    scopeGroup,
    hash: contentHash({ role, name, payload: Buffer.from(text, 'utf8'), scopeGroup, level: 'computer', distribution: 'Install Automatically' }),
    fields: { payload: payloadShown(text), level: 'computer', distribution_method: 'Install Automatically', scope: JSON.stringify([scopeGroup]) },
    ...(secret ? { secretFields: ['payload'] } : {}),
  };
}

function extensionAttribute(role: DesiredExtensionAttribute['role'], name: string, script: string): DesiredExtensionAttribute {
  return {
    kind: 'extension-attribute',
    role,
    name,
    scriptContents: script,
    hash: contentHash({ role, name, script, inputType: 'SCRIPT', dataType: 'STRING' }),
    fields: { inputType: 'SCRIPT', dataType: 'STRING', enabled: true, script: payloadShown(script) },
  };
}

/** The desired objects of one target, in apply order. */
export function desiredObjects(input: DesiredInput): DesiredObject[] {
  const { spec, release, target, tenant, prefix } = input;
  const scopeName = 'smartGroup' in target.scope ? target.scope.smartGroup.name : target.scope.group;
  const names = objectNames(prefix, scopeName, release.version);
  const out: DesiredObject[] = [];
  if ('smartGroup' in target.scope) {
    out.push(smartGroup('smart-group', scopeName, normalCriteria(target.scope.smartGroup.criteria)));
  } else {
    out.push({ kind: 'smart-group', role: 'existing-group', name: scopeName, hash: contentHash({ role: 'existing-group', name: scopeName }), fields: {} });
  }
  out.push(extensionAttribute('extension-attribute', names.extensionAttribute, versionScript(spec.packageIdentifier)));
  out.push(
    smartGroup('smart-group-version', names.versionGroup, normalCriteria([
      { name: 'Computer Group', andOr: 'and', searchType: 'member of', value: scopeName },
      { name: names.extensionAttribute, andOr: 'and', searchType: 'is not', value: release.version },
    ])),
  );
  const utf8 = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
  out.push(profile('profile-pppc', names.pppc, utf8(release.profiles.pppc), scopeName, false));
  out.push(profile('profile-loginitems', names.loginItems, utf8(release.profiles.loginItems), scopeName, false));
  out.push(profile('profile-tenant', names.tenant, utf8(planTenant(spec, tenant, 'mobileconfig').bytes), scopeName, true));
  const pkg = release.pkg;
  out.push({
    kind: 'package',
    role: 'package',
    name: pkg.fileName,
    fileName: pkg.fileName,
    size: pkg.size,
    md5: pkg.md5.toLowerCase(),
    sha256: pkg.sha256.toLowerCase(),
    sha512: pkg.sha512.toLowerCase(),
    hash: contentHash({ role: 'package', fileName: pkg.fileName, size: pkg.size, sha256: pkg.sha256, hashType: PACKAGE_HASH_TYPE }),
    fields: { fileName: pkg.fileName, hash: `${PACKAGE_HASH_TYPE} ${pkg.md5.toLowerCase()}`, content: `${pkg.size} bytes md5:${pkg.md5.toLowerCase()}` },
  });
  out.push({
    kind: 'policy',
    role: 'policy',
    name: names.policy,
    packageName: pkg.fileName,
    scopeGroup: names.versionGroup,
    hash: contentHash({ role: 'policy', name: names.policy, packageName: pkg.fileName, scopeGroup: names.versionGroup, frequency: 'Ongoing', trigger: 'check-in', recon: true }),
    fields: {
      enabled: true,
      frequency: 'Ongoing',
      trigger_checkin: true,
      packages: JSON.stringify([`${pkg.fileName}: Install`]),
      recon: true,
      scope: JSON.stringify([names.versionGroup]),
    },
  });
  if (input.health === true) {
    out.push(extensionAttribute('extension-attribute-health', names.healthAttribute, release.healthScripts?.jamfExtensionAttribute ?? ''));
    out.push(
      smartGroup('smart-group-health', names.healthGroup, normalCriteria([
        { name: 'Computer Group', andOr: 'and', searchType: 'member of', value: scopeName },
        { name: names.healthAttribute, andOr: 'and', searchType: 'like', value: UNHEALTHY_VALUE },
      ])),
    );
  }
  return out;
}

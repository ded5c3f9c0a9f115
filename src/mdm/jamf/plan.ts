/**
 * `plan` for one Jamf Pro target: read what exists (observe.ts, GET only), compare it with what should exist
 * (desired.ts) field by field after normalising what the server returns, and say per object: create, update (with
 * the fields that differ — a payload or script only as its hash, a secret marked), unchanged, or blocked (why).
 *
 * Blocking, decided before any request could write:
 *  - an existing scope group (`scope.group`) that is not there blocks everything (nothing could be scoped);
 *  - a PPPC code requirement that the binary in the pkg does not satisfy blocks the PPPC profile and every object
 *    after it (a Mac must never get a pkg whose privacy grants do not apply to it);
 *  - a pkg that is not Developer ID signed, notarized and stapled blocks the package and the policy, unless the
 *    target is a test server;
 *  - with `healthInventory`, a release without the Jamf health script (aiwatch-jamf-ea.sh) blocks the health EA
 *    and the unhealthy group (nothing else: they come after the policy and never hold up the pkg).
 *
 * An object is `unchanged` only if its fields match and it carries our marker with the desired content hash; a
 * match without our marker is an update that adds the marker (the object is adopted). An update whose marker
 * already has the desired hash is `drift` (changed in the console since we made it).
 */
import { applyReleaseBlocks, block } from '../../rollout/blocks.js';
import { readMarker, type Marker } from '../../rollout/marker.js';
import type { FieldDiff, FieldValue, PlannedObject, ReleaseContent } from '../../rollout/model.js';
import type { ObservedPolicy, ObservedProfile } from './classic-xml.js';
import type { JamfClient } from './client.js';
import { criteriaLine, payloadShown, PACKAGE_HASH_TYPE, type DesiredObject, type DesiredPackage } from './desired.js';
import {
  findComputerGroup,
  findExtensionAttribute,
  findPackage,
  findPolicy,
  findProfile,
  listSmartGroups,
  readSmartGroup,
  type ObservedExtensionAttribute,
  type ObservedPackage,
  type ObservedSmartGroup,
} from './observe.js';

export type Observed =
  | { role: 'smart-group' | 'smart-group-version' | 'smart-group-health'; value: ObservedSmartGroup }
  | { role: 'existing-group'; value: { id: string; name: string } }
  | { role: 'extension-attribute' | 'extension-attribute-health'; value: ObservedExtensionAttribute }
  | { role: 'profile-pppc' | 'profile-loginitems' | 'profile-tenant'; value: ObservedProfile }
  | { role: 'package'; value: ObservedPackage }
  | { role: 'policy'; value: ObservedPolicy };

/** One object of the plan with what the session needs to apply it. */
export interface PlanEntry {
  desired: DesiredObject;
  observed: Observed['value'] | undefined;
  planned: PlannedObject;
}

/** The marker hash as a plan value: its first 12 hex (enough to tell contents apart on a screen). */
function markerShown(hash: string | undefined): FieldValue {
  return hash === undefined ? null : `sha256=${hash.slice(0, 12)}`;
}

/**
 * Whether the record's hashType/hashValue name this pkg. We send MD5; a server may replace them with its own hash
 * of the uploaded file (SHA_512 on newer Jamf Pro): any of the release's hashes of the type named is a match.
 */
export function packageHashMatches(obs: Pick<ObservedPackage, 'hashType' | 'hashValue'>, d: Pick<DesiredPackage, 'md5' | 'sha256' | 'sha512'>): boolean {
  const value = obs.hashValue?.toLowerCase();
  switch (obs.hashType?.toUpperCase()) {
    case 'MD5':
      return value === d.md5;
    case 'SHA_256':
    case 'SHA256':
      return value === d.sha256;
    case 'SHA_512':
    case 'SHA512':
      return value === d.sha512;
    default:
      return false;
  }
}

/** Whether the distribution point holds exactly the release's pkg (size AND hash: JCDS can report one without the other). */
export function packageConverged(obs: ObservedPackage, d: Pick<DesiredPackage, 'size' | 'md5' | 'sha256'>): boolean {
  return obs.size === d.size && (obs.md5 === d.md5.toLowerCase() || obs.sha256 === d.sha256.toLowerCase());
}

function scopeShown(groups: string[], allComputers: boolean): string {
  return JSON.stringify(allComputers ? [...groups, '(all computers)'] : groups);
}

/** The compared fields of an observed object, in the desired object's terms. */
export function observedFields(d: DesiredObject, o: Observed['value']): { fields: Record<string, FieldValue>; description: string } {
  switch (d.role) {
    case 'smart-group':
    case 'smart-group-version':
    case 'smart-group-health': {
      const g = o as ObservedSmartGroup;
      return { fields: { criteria: criteriaLine(g.criteria) }, description: g.description };
    }
    case 'existing-group':
      return { fields: {}, description: '' };
    case 'extension-attribute':
    case 'extension-attribute-health': {
      const a = o as ObservedExtensionAttribute;
      return { fields: { inputType: a.inputType, dataType: a.dataType, enabled: a.enabled, script: payloadShown(a.scriptContents) }, description: a.description };
    }
    case 'profile-pppc':
    case 'profile-loginitems':
    case 'profile-tenant': {
      const p = o as ObservedProfile;
      return {
        fields: { payload: payloadShown(p.payloads), level: p.level, distribution_method: p.distributionMethod, scope: scopeShown(p.scope.groups, p.scope.allComputers) },
        description: p.description,
      };
    }
    case 'package': {
      const k = o as ObservedPackage;
      const content = packageConverged(k, d) ? `${d.size} bytes md5:${d.md5}` : `${k.size ?? 'no'} bytes md5:${k.md5 ?? 'none'}`;
      const hash = packageHashMatches(k, d) ? `${PACKAGE_HASH_TYPE} ${d.md5}` : `${k.hashType ?? 'none'} ${k.hashValue?.toLowerCase() ?? ''}`.trim();
      return { fields: { fileName: k.fileName, hash, content }, description: k.notes };
    }
    case 'policy': {
      const p = o as ObservedPolicy;
      return {
        fields: {
          enabled: p.enabled,
          frequency: p.frequency,
          trigger_checkin: p.triggerCheckin,
          packages: JSON.stringify(p.packages),
          recon: p.recon,
          scope: scopeShown(p.scope.groups, p.scope.allComputers),
        },
        description: p.selfServiceDescription,
      };
    }
  }
}

function shownFor(d: DesiredObject, field: string, v: FieldValue): FieldDiff {
  return d.secretFields?.includes(field) ? { field, from: null, to: v, secret: true } : { field, from: null, to: v };
}

/**
 * What an existing object holds now, for `status`: the hash of its marker (none: not made by us) and, for the package
 * and the policy that installs it, the release version the marker names (the package's name carries its version, so
 * an earlier release's package is another object: the policy tells which version Macs are given).
 */
function observedOf(d: DesiredObject, marker: Marker | undefined): NonNullable<PlannedObject['observed']> {
  if (!marker) return {};
  return d.role === 'package' || d.role === 'policy' ? { hash: marker.sha256, version: marker.version } : { hash: marker.sha256 };
}

/** Compare one desired object with what was found (undefined: absent) → its planned line. */
export function compare(d: DesiredObject, o: Observed['value'] | undefined): PlannedObject {
  const base = { kind: d.kind, name: d.name, hash: d.hash };
  if (d.role === 'existing-group') {
    return o ? { ...base, action: 'unchanged', diff: [], id: (o as { id: string }).id, observed: {} } : { ...base, action: 'blocked', diff: [], reason: `scope group "${d.name}" does not exist in Jamf Pro: create it, or name an existing group in scope.group` };
  }
  if (!o) {
    const diff = Object.entries(d.fields).map(([f, v]) => shownFor(d, f, v));
    diff.push({ field: 'marker', from: null, to: markerShown(d.hash) });
    return { ...base, action: 'create', diff };
  }
  const { fields, description } = observedFields(d, o);
  const diff: FieldDiff[] = [];
  const observedName = (o as { name?: string; packageName?: string }).packageName ?? (o as { name: string }).name;
  if (observedName !== d.name) diff.push({ field: 'name', from: observedName, to: d.name });
  for (const [f, want] of Object.entries(d.fields)) {
    const have = fields[f] ?? null;
    if (have !== want) diff.push(d.secretFields?.includes(f) ? { field: f, from: have, to: want, secret: true } : { field: f, from: have, to: want });
  }
  const marker = readMarker(description);
  const markerDiffers = marker?.sha256 !== d.hash;
  const observed = observedOf(d, marker);
  const id = (o as { id?: string }).id;
  if (diff.length === 0 && !markerDiffers) return { ...base, action: 'unchanged', diff: [], ...(id ? { id } : {}), observed };
  if (markerDiffers) diff.push({ field: 'marker', from: markerShown(marker?.sha256), to: markerShown(d.hash) });
  const reason = !markerDiffers ? 'drift' : marker === undefined ? 'not made by aiwatch-deploy: adopted (marker added)' : undefined;
  return { ...base, action: 'update', diff, ...(reason ? { reason } : {}), ...(id ? { id } : {}), observed };
}

/** Read the target and plan every desired object (GET requests only). */
export async function planTarget(client: JamfClient, desired: DesiredObject[], release: ReleaseContent, testServer: boolean, versionGroupPrefix: string): Promise<PlanEntry[]> {
  const entries: PlanEntry[] = [];
  const needsSmartGroups = desired.some((d) => d.role === 'smart-group' || d.role === 'smart-group-version' || d.role === 'smart-group-health');
  const groups = needsSmartGroups ? await listSmartGroups(client) : [];
  for (const d of desired) {
    let observed: Observed['value'] | undefined;
    switch (d.role) {
      case 'smart-group':
      case 'smart-group-health': {
        const hit = groups.find((g) => g.name === d.name);
        observed = hit ? await readSmartGroup(client, hit.id, `smart group "${d.name}"`) : undefined;
        break;
      }
      case 'smart-group-version': {
        // This release's group, or the one an earlier release made (renamed in place, so there is only ever one).
        const hit = groups.find((g) => g.name === d.name) ?? groups.find((g) => g.name.startsWith(versionGroupPrefix) && readMarker(g.description)?.kind === 'smart-group-version');
        observed = hit ? await readSmartGroup(client, hit.id, `smart group "${hit.name}"`) : undefined;
        break;
      }
      case 'existing-group':
        observed = await findComputerGroup(client, d.name);
        break;
      case 'extension-attribute':
      case 'extension-attribute-health':
        observed = await findExtensionAttribute(client, d.name);
        break;
      case 'profile-pppc':
      case 'profile-loginitems':
      case 'profile-tenant':
        observed = await findProfile(client, d.name);
        break;
      case 'package':
        observed = await findPackage(client, d.name);
        break;
      case 'policy':
        observed = await findPolicy(client, d.name);
        break;
    }
    entries.push({ desired: d, observed, planned: compare(d, observed) });
  }
  applyBlocks(entries, release, testServer);
  return entries;
}

/** Turn objects into `blocked` by the rules in the header (in place). */
export function applyBlocks(entries: PlanEntry[], release: ReleaseContent, testServer: boolean): void {
  const scope = entries.find((e) => e.desired.role === 'existing-group');
  if (scope && scope.planned.action === 'blocked') {
    for (const e of entries) if (e !== scope) block(e, `the scope group "${scope.desired.name}" does not exist`);
    return;
  }
  applyReleaseBlocks(entries, release, testServer, { isPackage: (e) => e.desired.role === 'package', needsPackage: (e) => e.desired.role === 'policy' });
  if (release.healthScripts?.jamfExtensionAttribute === undefined || release.healthScripts.jamfExtensionAttribute.trim() === '') {
    const why = `release ${release.version} holds no Jamf health script (aiwatch-jamf-ea.sh; built by an earlier aiwatch-deploy): rebuild the release with this version, or drop options.healthInventory`;
    for (const e of entries) if (e.desired.role === 'extension-attribute-health' || e.desired.role === 'smart-group-health') if (e.planned.action !== 'blocked') block(e, why);
  }
}

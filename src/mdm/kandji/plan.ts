/**
 * Reading a Kandji target and planning it — only GET requests, so `plan` never writes. Four reads whatever the
 * library's size: the blueprint by name (`GET /api/v1/blueprints?name=…`, a "contains" filter, so the exact name is
 * picked here), the blueprint's library items, the custom-profile list and the custom-app list (each followed page
 * by page, bounded). Library items are found by name; when several share a name, the one carrying our marker wins.
 *
 * What comes back is checked for shape before use: a field of the wrong type is an answer we cannot judge (a
 * NetworkError naming the target, object and what was wrong).
 */
import { NetworkError } from '../../errors.js';
import { applyReleaseBlocks, block } from '../../rollout/blocks.js';
import { readMarker, secretShown } from '../../rollout/marker.js';
import type { FieldDiff, FieldValue, PlannedObject, ReleaseContent } from '../../rollout/model.js';
import type { KandjiClient } from './client.js';
import { scriptWithoutMarker } from '../desired.js';
import { fileShown, NOT_ASSIGNED, textShown, type DesiredObject } from './desired.js';
import { profileContent, profileDescription, profileRoot, ProfileTextError } from './mobileconfig.js';

export interface Blueprint {
  id: string;
  name: string;
  type: string;
}

export interface ObservedProfile {
  id: string;
  name: string;
  active: boolean;
  runsOn: string;
  /** The compared content (undefined: the profile text is not a readable plist). */
  content: string | undefined;
  description: string | undefined;
}

export interface ObservedApp {
  id: string;
  name: string;
  fileKey: string;
  /** The file name we uploaded, from the file key (Kandji appends `_<8 hex>` before the extension). */
  fileName: string;
  fileSize: number | null;
  record: Record<string, unknown>;
  auditScript: string;
}

export type Observed = ObservedProfile | ObservedApp;

export interface PlanEntry {
  desired: DesiredObject;
  observed: Observed | undefined;
  /** Whether the blueprint holds the item now. */
  assigned: boolean;
  planned: PlannedObject;
}

export interface TargetState {
  blueprint: Blueprint | undefined;
  entries: PlanEntry[];
}

const ID = /^[0-9A-Za-z-]{1,64}$/;

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function idOf(client: KandjiClient, r: Record<string, unknown>, object: string): string {
  const id = r.id;
  if (typeof id !== 'string' || !ID.test(id)) throw new NetworkError(`${client.where(object, 'read')}: an item without a usable "id"`);
  return id;
}

/** The blueprint named `name` exactly (undefined: none); two of that name is an error (which one is meant?). */
export async function findBlueprint(client: KandjiClient, name: string): Promise<Blueprint | undefined> {
  const object = `blueprint "${name}"`;
  const rows = await client.list({ object, path: `/api/v1/blueprints?name=${encodeURIComponent(name)}` });
  const hits = rows.filter((r) => r.name === name);
  if (hits.length > 1) throw new NetworkError(`${client.where(object, 'read')}: ${hits.length} blueprints have this name; rename one so scope.group names exactly one`);
  const b = hits[0];
  return b ? { id: idOf(client, b, object), name, type: str(b.type) || 'classic' } : undefined;
}

/** The ids of the library items a blueprint holds. */
export async function blueprintItems(client: KandjiClient, b: Blueprint): Promise<Set<string>> {
  const rows = await client.list({ object: `blueprint "${b.name}"`, path: `/api/v1/blueprints/${encodeURIComponent(b.id)}/list-library-items` });
  return new Set(rows.map((r) => str(r.id)).filter((id) => id !== ''));
}

function runsOn(r: Record<string, unknown>): string {
  return ['mac', 'iphone', 'ipad', 'tv', 'vision'].filter((p) => r[`runs_on_${p}`] === true).join(',') || 'none';
}

export function observeProfile(client: KandjiClient, r: Record<string, unknown>): ObservedProfile {
  const object = `custom profile "${str(r.name)}"`;
  let content: string | undefined;
  let description: string | undefined;
  try {
    const root = profileRoot(str(r.profile), object);
    content = profileContent(root);
    description = profileDescription(root);
  } catch (e) {
    if (!(e instanceof ProfileTextError)) throw e;
  }
  return { id: idOf(client, r, object), name: str(r.name), active: r.active === true, runsOn: runsOn(r), content, description };
}

/** The file name we uploaded: the file key's last segment without the `_<8 hex>` Kandji adds before the extension. */
export function uploadedName(fileKey: string): string {
  const last = fileKey.slice(fileKey.lastIndexOf('/') + 1);
  return last.replace(/_[0-9a-f]{8}(\.[A-Za-z0-9]{1,8})$/, '$1');
}

export function observeApp(client: KandjiClient, r: Record<string, unknown>): ObservedApp {
  const object = `custom app "${str(r.name)}"`;
  const fileKey = str(r.file_key);
  const size = typeof r.file_size === 'number' && Number.isSafeInteger(r.file_size) ? r.file_size : null;
  return { id: idOf(client, r, object), name: str(r.name), fileKey, fileName: uploadedName(fileKey), fileSize: size, record: r, auditScript: str(r.audit_script) };
}

/** The item of that name, ours first (a marker of this role), else the first. */
function byName<T extends Observed>(items: T[], name: string, role: string, marker: (o: T) => string | undefined): T | undefined {
  const named = items.filter((o) => o.name === name);
  return named.find((o) => readMarker(marker(o))?.kind === role) ?? named[0];
}

export async function listProfiles(client: KandjiClient): Promise<ObservedProfile[]> {
  return (await client.list({ object: 'custom profiles', path: '/api/v1/library/custom-profiles' })).map((r) => observeProfile(client, r));
}

export async function listApps(client: KandjiClient): Promise<ObservedApp[]> {
  return (await client.list({ object: 'custom apps', path: '/api/v1/library/custom-apps' })).map((r) => observeApp(client, r));
}

export function findProfileIn(items: ObservedProfile[], d: DesiredObject): ObservedProfile | undefined {
  return byName(items, d.name, d.role, (o) => o.description);
}

export function findAppIn(items: ObservedApp[], d: DesiredObject): ObservedApp | undefined {
  return byName(items, d.name, d.role, (o) => o.auditScript);
}

/** The observed fields as plan values, and the text holding the marker. */
export function observedFields(d: DesiredObject, o: Observed, assigned: boolean, blueprint: string): { fields: Record<string, FieldValue>; markerText: string | undefined } {
  const bp = assigned ? blueprint : NOT_ASSIGNED;
  if (d.kind === 'profile') {
    const p = o as ObservedProfile;
    return { fields: { payload: p.content === undefined ? 'unreadable' : secretShown(p.content), active: p.active, runs_on: p.runsOn, blueprint: bp }, markerText: p.description };
  }
  const a = o as ObservedApp;
  const r = a.record;
  const bool = (v: unknown): FieldValue => (typeof v === 'boolean' ? v : null);
  return {
    fields: {
      file: fileShown(a.fileName, a.fileSize),
      install_type: str(r.install_type),
      install_enforcement: str(r.install_enforcement),
      audit_script: textShown(scriptWithoutMarker(a.auditScript)),
      preinstall_script: textShown(str(r.preinstall_script).trim()),
      postinstall_script: textShown(str(r.postinstall_script).trim()),
      active: bool(r.active),
      restart: bool(r.restart),
      show_in_self_service: bool(r.show_in_self_service),
      blueprint: bp,
    },
    markerText: a.auditScript,
  };
}

function markerShown(hash: string | undefined): string | null {
  return hash ? `sha256:${hash.slice(0, 12)}` : null;
}

/** The version an app carries: our marker's, else the one in its file name. */
function appVersion(o: ObservedApp, marker: string | undefined): string | undefined {
  return marker ?? /-(\d+\.\d+[0-9A-Za-z.+_-]*?)-macos/.exec(o.fileName)?.[1];
}

/** Compare one desired object with what was found (undefined: absent) → its planned line. */
export function compare(d: DesiredObject, o: Observed | undefined, assigned: boolean, blueprint: string): PlannedObject {
  const base = { kind: d.kind, name: d.name, hash: d.hash };
  const secret = (f: string): boolean => d.secretFields?.includes(f) === true;
  if (!o) {
    const diff: FieldDiff[] = Object.entries(d.fields).map(([f, v]) => (secret(f) ? { field: f, from: null, to: v, secret: true } : { field: f, from: null, to: v }));
    diff.push({ field: 'marker', from: null, to: markerShown(d.hash) });
    return { ...base, action: 'create', diff };
  }
  const { fields, markerText } = observedFields(d, o, assigned, blueprint);
  const marker = readMarker(markerText);
  // The version is the app's only (what status shows per target): a profile's marker names the release it was last
  // written for, which says nothing about what the Macs run.
  const version = d.kind === 'app' ? appVersion(o as ObservedApp, marker?.version) : undefined;
  const observed = { ...(marker ? { hash: marker.sha256 } : {}), ...(version ? { version } : {}) };
  const diff: FieldDiff[] = [];
  for (const [f, want] of Object.entries(d.fields)) {
    const have = fields[f] ?? null;
    if (have !== want) diff.push(secret(f) ? { field: f, from: have, to: want, secret: true } : { field: f, from: have, to: want });
  }
  const markerDiffers = marker?.sha256 !== d.hash;
  const common = { ...base, id: o.id, observed };
  if (diff.length === 0 && !markerDiffers) return { ...common, action: 'unchanged', diff: [] };
  if (markerDiffers) diff.push({ field: 'marker', from: markerShown(marker?.sha256), to: markerShown(d.hash) });
  const reason = !markerDiffers ? 'drift' : marker === undefined ? 'not made by aiwatch-deploy: adopted (marker added)' : undefined;
  return { ...common, action: 'update', diff, ...(reason ? { reason } : {}) };
}

/** Turn objects into `blocked`: no blueprint, a PPPC that does not match the binary, an untrusted pkg (in place). */
export function applyBlocks(entries: PlanEntry[], release: ReleaseContent, testServer: boolean, blueprint: Blueprint | undefined, blueprintName: string): void {
  if (!blueprint) {
    for (const e of entries) block(e, `the blueprint "${blueprintName}" does not exist in Kandji: create it, or name an existing blueprint in scope.group`);
    return;
  }
  applyReleaseBlocks(entries, release, testServer, { isPackage: (e) => e.desired.kind === 'app' });
}

/** Read the target and plan every desired object (GET requests only). */
export async function planTarget(client: KandjiClient, desired: DesiredObject[], release: ReleaseContent, testServer: boolean, blueprintName: string): Promise<TargetState> {
  const blueprint = await findBlueprint(client, blueprintName);
  const assigned = blueprint ? await blueprintItems(client, blueprint) : new Set<string>();
  const profiles = await listProfiles(client);
  const apps = await listApps(client);
  const entries: PlanEntry[] = desired.map((d) => {
    const observed = d.kind === 'profile' ? findProfileIn(profiles, d) : findAppIn(apps, d);
    const isAssigned = observed !== undefined && assigned.has(observed.id);
    return { desired: d, observed, assigned: isAssigned, planned: compare(d, observed, isAssigned, blueprintName) };
  });
  applyBlocks(entries, release, testServer, blueprint, blueprintName);
  return { blueprint, entries };
}

/**
 * `plan` for one Fleet team: read what exists (observe.ts, GET only), compare it with what should exist
 * (desired.ts) and say per object: create, update (with the fields that differ — a payload or script only as its
 * hash, a secret marked), unchanged, or blocked (why).
 *
 *  - A profile is `unchanged` when the bytes Fleet holds and its labels hash to the desired hash. Otherwise it is an
 *    update: Fleet cannot change a profile in place, so apply replaces it (delete, then add). Fleet keeps no
 *    free-text field on a profile, so the plan cannot tell a change made in Fleet from one made by other spec or
 *    tenant values: the reason says both.
 *  - The package is `unchanged` when its file name, install script (without the marker) and labels match and the
 *    marker in its install script holds the desired hash (the marker is written in the same request as the file, so
 *    it vouches for the bytes). A difference while the marker matches is `drift` (edited in Fleet).
 *
 * Blocking, decided before any request could write: a PPPC code requirement that the binary in the pkg does not
 * satisfy blocks the PPPC profile and everything after it; a pkg that is not Developer ID signed, notarized and
 * stapled blocks the package, unless the target is a test server.
 */
import { applyReleaseBlocks } from '../../rollout/blocks.js';
import { readMarker, secretShown } from '../../rollout/marker.js';
import type { FieldDiff, FieldValue, PlannedObject, ReleaseContent } from '../../rollout/model.js';
import type { FleetClient } from './client.js';
import { scriptWithoutMarker } from '../desired.js';
import { labelsShown, payloadShown, profileHash, type DesiredObject, type DesiredPackage } from './desired.js';
import { findProfile, listPackageTitles, listProfiles, readPackageTitle, type ObservedPackage, type ObservedProfile, type TeamRef } from './observe.js';

export interface PlanEntry {
  desired: DesiredObject;
  observed: ObservedProfile | ObservedPackage | undefined;
  planned: PlannedObject;
}

/** The most titles of the team matching our pkg's name that are read one by one. */
const MAX_CANDIDATES = 10;

function markerShown(hash: string | undefined): FieldValue {
  return hash === undefined ? null : `sha256=${hash.slice(0, 12)}`;
}

function diffOf(d: DesiredObject, have: Record<string, FieldValue>): FieldDiff[] {
  const diff: FieldDiff[] = [];
  for (const [f, want] of Object.entries(d.fields)) {
    const from = have[f] ?? null;
    if (from !== want) diff.push(d.secretFields?.includes(f) ? { field: f, from, to: want, secret: true } : { field: f, from, to: want });
  }
  return diff;
}

function created(d: DesiredObject): PlannedObject {
  const diff: FieldDiff[] = Object.entries(d.fields).map(([field, to]) => (d.secretFields?.includes(field) ? { field, from: null, to, secret: true } : { field, from: null, to }));
  if (d.kind === 'package') diff.push({ field: 'marker', from: null, to: markerShown(d.hash) });
  return { kind: d.kind, name: d.name, hash: d.hash, action: 'create', diff };
}

export function compareProfile(d: Extract<DesiredObject, { kind: 'profile' }>, o: ObservedProfile | undefined): PlannedObject {
  if (!o) return created(d);
  const observedHash = profileHash(d.role, o.bytes, o.labels);
  const base = { kind: d.kind, name: d.name, hash: d.hash, id: o.uuid, observed: { hash: observedHash } };
  if (observedHash === d.hash) return { ...base, action: 'unchanged', diff: [] };
  const diff = diffOf(d, { identifier: o.identifier, payload: payloadShown(o.bytes), labels_include_any: labelsShown(o.labels) });
  if (o.name !== d.name) diff.unshift({ field: 'name', from: o.name, to: d.name });
  return {
    ...base,
    action: 'update',
    diff,
    reason: 'differs from what this release sends (changed in Fleet, or sent for another spec or tenant values); Fleet keeps no marker on a profile: it is replaced (delete, then add)',
  };
}

export function comparePackage(d: DesiredPackage, o: ObservedPackage | undefined): PlannedObject {
  if (!o) return created(d);
  const marker = readMarker(o.installScript);
  const base = { kind: d.kind, name: d.name, hash: d.hash, id: o.titleId, observed: { ...(marker ? { hash: marker.sha256 } : {}), ...(o.version ? { version: o.version } : {}) } };
  const diff = diffOf(d, {
    fileName: o.name,
    install_script: secretShown(scriptWithoutMarker(o.installScript)),
    labels_include_any: labelsShown(o.labels),
  });
  const markerDiffers = marker?.sha256 !== d.hash;
  if (diff.length === 0 && !markerDiffers) return { ...base, action: 'unchanged', diff: [] };
  if (markerDiffers) diff.push({ field: 'marker', from: markerShown(marker?.sha256), to: markerShown(d.hash) });
  const reason = !markerDiffers ? 'drift' : marker === undefined ? 'not made by aiwatch-deploy: adopted (marker added)' : undefined;
  return { ...base, action: 'update', diff, ...(reason ? { reason } : {}) };
}

/** Our package's title: the one whose install script carries our marker, else the one of this exact file name. */
export async function findPackage(client: FleetClient, team: TeamRef, d: DesiredPackage): Promise<ObservedPackage | undefined> {
  const titles = await listPackageTitles(client, team, d.fileNamePattern);
  const read: ObservedPackage[] = [];
  for (const t of titles.slice(0, MAX_CANDIDATES)) read.push(await readPackageTitle(client, team, t.id, `package "${t.name}"`));
  return read.find((p) => readMarker(p.installScript)?.kind === 'package') ?? read.find((p) => p.name === d.fileName) ?? read[0];
}

/** Turn objects into `blocked` by the rules in the header (in place). */
export function applyBlocks(entries: PlanEntry[], release: ReleaseContent, testServer: boolean): void {
  applyReleaseBlocks(entries, release, testServer, { isPackage: (e) => e.desired.kind === 'package' });
}

/** Read the team and plan every desired object (GET requests only). */
export async function planTarget(client: FleetClient, team: TeamRef, desired: DesiredObject[], release: ReleaseContent, testServer: boolean): Promise<PlanEntry[]> {
  const listed = await listProfiles(client, team);
  const entries: PlanEntry[] = [];
  for (const d of desired) {
    if (d.kind === 'profile') {
      const o = await findProfile(client, team, d.identifier, `profile "${d.name}"`, listed);
      entries.push({ desired: d, observed: o, planned: compareProfile(d, o) });
    } else {
      const o = await findPackage(client, team, d);
      entries.push({ desired: d, observed: o, planned: comparePackage(d, o) });
    }
  }
  applyBlocks(entries, release, testServer);
  return entries;
}

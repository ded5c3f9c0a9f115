/**
 * The package on a Jamf Pro ≥ 11.5 server: the record (`/api/v1/packages`), the multipart upload of the pkg
 * (`POST /api/v1/packages/{id}/upload`, the single part `file`) and the wait until the distribution point holds it.
 *
 *  - The record is found by packageName (plan; a record created by a run that was killed before its upload is found
 *    and uploaded, not duplicated), created with every field the schema requires, or updated when its file name,
 *    hash or our marker (in `notes`) differ. The hash recorded is MD5 (docs/decisions.md: SHA_512 needs 11.25).
 *  - The upload streams the pkg from the release (bounded memory, progress per chunk). A connection reset restarts it
 *    from the first byte under the one retry policy (bounded attempts); a 401 because the token ran out during a long
 *    upload signs in again and restarts it once (client.ts).
 *  - Then GET the record until the distribution point reports the expected size AND hash (JCDS has been seen to
 *    report the new hash with the old size for a while: terraform-provider-jamfplatform #145), waiting 2 s growing to
 *    15 s, at most 15 minutes in all; past that a NetworkError says what it reports and what was expected.
 */
import { InterruptedError, NetworkError } from '../../errors.js';
import { multipartFileBody } from '../../net/multipart.js';
import { sleepFor } from '../../net/retry.js';
import type { DriverContext, ReleaseContent } from '../../rollout/model.js';
import { readMarker } from '../../rollout/marker.js';
import type { JamfClient } from './client.js';
import { PACKAGE_HASH_TYPE, type DesiredPackage } from './desired.js';
import { findPackage, readPackage, type ObservedPackage } from './observe.js';
import { packageConverged, packageHashMatches } from './plan.js';

/** Fields of a Package that the server owns (never sent back in a PUT). */
const READ_ONLY = ['id', 'md5', 'sha256', 'sha3512', 'size', 'cloudTransferStatus', 'indexed'];

/** The longest total wait for the distribution point to report the upload. */
export const CONVERGE_BUDGET_MS = 15 * 60_000;

export function newPackageRecord(d: DesiredPackage, notes: string): Record<string, unknown> {
  return {
    packageName: d.name,
    fileName: d.fileName,
    categoryId: '-1',
    priority: 10,
    fillUserTemplate: false,
    osInstall: false,
    rebootRequired: false,
    suppressEula: false,
    suppressFromDock: false,
    suppressRegistration: false,
    suppressUpdates: false,
    notes,
    hashType: PACKAGE_HASH_TYPE,
    hashValue: d.md5.toLowerCase(),
  };
}

/** Whether the record itself (not the uploaded file) must be written. */
export function recordDiffers(obs: ObservedPackage, d: DesiredPackage): boolean {
  return obs.fileName !== d.fileName || !packageHashMatches(obs, d) || readMarker(obs.notes)?.sha256 !== d.hash;
}

function jsonId(text: string): string | undefined {
  try {
    const v = JSON.parse(text) as { id?: unknown };
    const id = typeof v.id === 'number' ? String(v.id) : v.id;
    return typeof id === 'string' && /^[0-9A-Za-z_-]{1,64}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

export interface PackageStep {
  client: JamfClient;
  desired: DesiredPackage;
  /** What this session's plan found (undefined: absent). */
  observed: ObservedPackage | undefined;
  /** The notes text with our marker. */
  notes: (old: string) => string;
  release: ReleaseContent;
  ctx: DriverContext;
}

/** Make the package record and the uploaded file match; resolves to the package id. */
export async function applyPackage(step: PackageStep): Promise<string> {
  const { client, desired: d } = step;
  const object = `package "${d.name}"`;
  let rec = step.observed;
  if (!rec) {
    const body = JSON.stringify(newPackageRecord(d, step.notes('')));
    const answer = await client.send({ object, action: 'create', method: 'POST', path: '/api/v1/packages', headers: { 'content-type': 'application/json', accept: 'application/json' }, body });
    if (answer.status === 200 || answer.status === 201) {
      const id = jsonId(Buffer.from(answer.body).toString('utf8'));
      if (!id) throw new NetworkError(`${client.where(object, 'create')}: HTTP ${answer.status} without the new record's id`);
      // A new record holds no file yet: upload.
      await upload(step, id);
      await waitForDistributionPoint(step, id);
      return id;
    }
    // Refused as a duplicate: an earlier attempt whose answer was lost made it; carry on with that record.
    if (answer.status === 400 || answer.status === 409) rec = await findPackage(client, d.name);
    if (!rec) throw client.refused({ object, action: 'create' }, answer);
    step.ctx.onNote?.(`${client.where(object, 'create')}: HTTP ${answer.status}, it exists already (an earlier attempt made it): completing it`);
  }
  if (recordDiffers(rec, d)) {
    const merged: Record<string, unknown> = { ...rec.record, ...newPackageRecord(d, step.notes(rec.notes)) };
    // Keep the admin's settings of the record (category, priority, …); only ours are replaced.
    for (const k of ['categoryId', 'priority', 'fillUserTemplate', 'osInstall', 'rebootRequired', 'suppressEula', 'suppressFromDock', 'suppressRegistration', 'suppressUpdates']) {
      if (rec.record[k] !== undefined && rec.record[k] !== null) merged[k] = rec.record[k];
    }
    for (const k of READ_ONLY) delete merged[k];
    await client.expect({ object, action: 'update', method: 'PUT', path: `/api/v1/packages/${encodeURIComponent(rec.id)}`, headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(merged) }, [200, 201, 202]);
  }
  if (!packageConverged(rec, d)) {
    await upload(step, rec.id);
    await waitForDistributionPoint(step, rec.id);
  }
  return rec.id;
}

async function upload(step: PackageStep, id: string): Promise<void> {
  const { client, desired: d, release } = step;
  const multipart = multipartFileBody({ field: 'file', fileName: d.fileName, contentType: 'application/octet-stream', size: release.pkg.size, read: release.pkg.read });
  step.ctx.onUploadProgress?.(d.name, 0, release.pkg.size);
  await client.expect(
    {
      object: `package "${d.name}"`,
      action: 'upload',
      method: 'POST',
      path: `/api/v1/packages/${encodeURIComponent(id)}/upload`,
      headers: { 'content-type': multipart.contentType, accept: 'application/json' },
      body: multipart.body,
      onProgress: (sent) => step.ctx.onUploadProgress?.(d.name, Math.min(release.pkg.size, Math.max(0, sent - multipart.fileStart)), release.pkg.size),
    },
    [200, 201],
  );
  step.ctx.onUploadProgress?.(d.name, release.pkg.size, release.pkg.size);
}

async function waitForDistributionPoint(step: PackageStep, id: string): Promise<void> {
  const { client, desired: d } = step;
  const sleep = step.ctx.http?.sleep ?? sleepFor;
  let wait = step.ctx.http?.backoffMs ?? 2000;
  const cap = Math.max(wait, 15_000);
  let waited = 0;
  for (;;) {
    const rec = await readPackage(client, id, d.name);
    if (packageConverged(rec, d)) return;
    if (waited >= CONVERGE_BUDGET_MS) {
      throw new NetworkError(
        `${client.where(`package "${d.name}"`, 'upload')}: the distribution point did not report the uploaded pkg within ${Math.round(waited / 1000)} s: ` +
          `it reports ${rec.size ?? 'no'} bytes, md5 ${rec.md5 ?? 'none'}${rec.cloudTransferStatus ? `, cloudTransferStatus ${rec.cloudTransferStatus}` : ''}; ` +
          `expected ${d.size} bytes, md5 ${d.md5}. Run apply again to upload it again`,
      );
    }
    step.ctx.onNote?.(`${client.where(`package "${d.name}"`, 'upload')}: waiting for the distribution point to report ${d.size} bytes with the new hash`);
    await sleep(wait, step.ctx.signal);
    if (step.ctx.signal.aborted) throw new InterruptedError();
    waited += wait;
    wait = Math.min(cap, Math.round(wait * 1.5));
  }
}

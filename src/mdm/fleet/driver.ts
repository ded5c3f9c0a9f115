/**
 * The Fleet driver of `plan` / `apply` (issue 15): {@link fleetDriver} implements the MDM-neutral contract
 * (rollout/model.ts) for `mdm: fleet`. `connect` checks everything it can without a request (the tenant values, the
 * token reference, the team), `plan` reads (plan.ts), `apply` writes one planned object:
 *
 *   PPPC, login-items, tenant profiles (custom OS settings of the team) → package (software of the team, installed
 *   automatically by the policy Fleet makes)
 *
 * Target: `url` is the Fleet server, `credentials.apiToken` an API token by reference, `options.team_id` or
 * `options.fleet_id` the team ("fleet" in the newest Fleet) — the same name is used on the wire — and `scope.group`
 * a label name the objects are limited to (`labels_include_any`; Fleet's built-in `macOS` label for every Mac).
 *
 * Resume: every object is found again by identity (profile: PayloadIdentifier; package: its file name pattern and
 * our marker), so a run killed anywhere is finished by the next `apply`. A create whose answer was lost and that the
 * retry policy sent again is refused by Fleet as a duplicate (409): the object is then looked up and used.
 */
import { parseTenantInput, type RawTenantValues } from '../../config/tenant.js';
import { UsageError } from '../../errors.js';
import { isSecret, Secret } from '../../secret.js';
import { readMarker, writeMarker } from '../../rollout/marker.js';
import type { DriverContext, MdmDriver, MdmSession, PlannedObject, ReleaseContent, ResolvedTarget, RolloutTarget } from '../../rollout/model.js';
import { PlannedSession } from '../session.js';
import { optionProblems as unknownOptionProblems } from '../options.js';
import { FleetClient } from './client.js';
import { desiredObjects, profileHash, type DesiredObject, type DesiredPackage, type DesiredProfile } from './desired.js';
import { fieldsForm, fileForm } from './form.js';
import { findProfile, type ObservedPackage, type ObservedProfile, type TeamRef } from './observe.js';
import { comparePackage, findPackage, planTarget, type PlanEntry } from './plan.js';

const TEAM_FIELDS = ['team_id', 'fleet_id'] as const;
const OPTIONS: Record<string, string> = {
  team_id: 'the team id (Fleet before teams were renamed fleets)',
  fleet_id: 'the fleet id (the same number; newer Fleet)',
};
const LABEL_RE = /^[^\r\n]{1,255}$/;

function teamId(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]{1,10}$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n >= 1 && n <= 0xffffffff ? n : undefined;
}

/** The team as the target names it (validated before: exactly one of team_id / fleet_id). */
export function teamOf(target: Pick<RolloutTarget, 'options'>): TeamRef {
  for (const field of TEAM_FIELDS) {
    const id = teamId(target.options[field]);
    if (id !== undefined) return { field, id };
  }
  throw new UsageError('options: give team_id or fleet_id');
}

function optionProblems(target: RolloutTarget): string[] {
  const where = `target ${target.name}`;
  const problems = unknownOptionProblems(target, OPTIONS);
  const given = TEAM_FIELDS.filter((f) => target.options[f] !== undefined);
  if (given.length === 0) problems.push(`${where}: options: give the team as team_id (or fleet_id, its newer name): a positive integer, Fleet → Teams (Fleets) → the id in the URL`);
  if (given.length === 2) problems.push(`${where}: options: give team_id or fleet_id, not both (they are one setting under its old and new name)`);
  for (const f of given) {
    if (teamId(target.options[f]) === undefined) problems.push(`${where}: options.${f} must be a positive integer (a team id; "No team" is not supported), got ${JSON.stringify(target.options[f])}`);
  }
  return problems;
}

class FleetSession extends PlannedSession<PlanEntry> {
  constructor(
    readonly client: FleetClient,
    readonly team: TeamRef,
    readonly target: ResolvedTarget,
    readonly release: ReleaseContent,
    readonly ctx: DriverContext,
    readonly desired: DesiredObject[],
  ) {
    super();
  }

  async plan(): Promise<PlannedObject[]> {
    this.entries = await planTarget(this.client, this.team, this.desired, this.release, this.target.testServer);
    return this.entries.map((e) => e.planned);
  }

  async apply(object: PlannedObject): Promise<void> {
    const entry = await this.entryToApply(object);
    if (!entry) return;
    if (entry.planned.action === 'unchanged') return;
    const d = entry.desired;
    if (d.kind === 'profile') await this.#applyProfile(d, entry.observed as ObservedProfile | undefined);
    else await this.#applyPackage(d, entry.observed as ObservedPackage | undefined);
  }

  #teamField(): [string, string] {
    return [this.team.field, String(this.team.id)];
  }

  /** Replace (delete, then add) or add a profile. A duplicate refused (409) is looked up: ours → done, else replaced. */
  async #applyProfile(d: DesiredProfile, observed: ObservedProfile | undefined): Promise<void> {
    const object = `profile "${d.name}"`;
    if (observed) await this.#deleteProfile(observed.uuid, object);
    const answer = await this.#postProfile(d, object);
    if (answer === 'ok') return;
    const found = await findProfile(this.client, this.team, d.identifier, object);
    if (found && profileHash(d.role, found.bytes, found.labels) === d.hash) {
      this.ctx.onNote?.(`${this.client.where(object, 'create')}: HTTP 409, it exists already with this content (an earlier attempt made it)`);
      return;
    }
    if (!found) throw answer;
    this.ctx.onNote?.(`${this.client.where(object, 'create')}: HTTP 409, a profile of identifier ${d.identifier} appeared since the plan: replacing it`);
    await this.#deleteProfile(found.uuid, object);
    const again = await this.#postProfile(d, object);
    if (again !== 'ok') throw again;
  }

  async #deleteProfile(uuid: string, object: string): Promise<void> {
    // 404: gone already (a delete whose answer was lost and that was sent again).
    await this.client.expect({ object, action: 'delete', method: 'DELETE', path: `/api/v1/fleet/configuration_profiles/${encodeURIComponent(uuid)}` }, [200, 204, 404]);
  }

  /** 'ok', or the RemoteRejection of a 409 for the caller to resolve; other refusals throw. */
  async #postProfile(d: DesiredProfile, object: string): Promise<'ok' | Error> {
    const bytes = d.bytes;
    const form = fileForm(
      { field: 'profile', fileName: `${d.identifier}.mobileconfig`, contentType: 'application/x-apple-aspen-config', size: bytes.byteLength, read: async function* () { yield bytes; } },
      [this.#teamField(), ...d.labels.map((l) => ['labels_include_any', l] as const)],
    );
    const req = { object, action: 'create', method: 'POST' as const, path: '/api/v1/fleet/configuration_profiles', headers: { 'content-type': form.contentType, accept: 'application/json' }, body: form.body };
    const answer = await this.client.send(req);
    if (answer.status === 200 || answer.status === 201) return 'ok';
    if (answer.status === 409) return this.client.refused(req, answer);
    throw this.client.refused(req, answer);
  }

  #script(d: DesiredPackage): string {
    return writeMarker(d.installScript, { kind: 'package', sha256: d.hash, version: this.release.version });
  }

  #pkgFile(d: DesiredPackage): Parameters<typeof fileForm>[0] {
    return { field: 'software', fileName: d.fileName, contentType: 'application/octet-stream', size: this.release.pkg.size, read: this.release.pkg.read };
  }

  async #applyPackage(d: DesiredPackage, observed: ObservedPackage | undefined): Promise<void> {
    const object = `package "${d.name}"`;
    let existing = observed;
    if (!existing) {
      const form = fileForm(this.#pkgFile(d), [this.#teamField(), ['install_script', this.#script(d)], ['self_service', 'false'], ['automatic_install', 'true'], ...d.labels.map((l) => ['labels_include_any', l] as const)]);
      const req = { object, action: 'upload', method: 'POST' as const, path: '/api/v1/fleet/software/package', headers: { 'content-type': form.contentType, accept: 'application/json' }, body: form.body };
      const answer = await this.#upload(req, d.name, form.fileStart);
      if (answer.status === 200 || answer.status === 201) return;
      // 409: the title has an installer already — an earlier attempt whose answer was lost, or one made since the plan.
      if (answer.status === 409) existing = await findPackage(this.client, this.team, d);
      if (!existing) throw this.client.refused(req, answer);
      this.ctx.onNote?.(`${this.client.where(object, 'upload')}: HTTP 409, the package exists already: checking it`);
      const again = comparePackage(d, existing);
      if (again.action === 'unchanged') return;
    }
    await this.#patchPackage(d, existing);
  }

  /** Change the existing title's package: the pkg again when its file or our marker differ, else the fields alone. */
  async #patchPackage(d: DesiredPackage, o: ObservedPackage): Promise<void> {
    const object = `package "${d.name}"`;
    const path = `/api/v1/fleet/software/titles/${encodeURIComponent(o.titleId)}/package`;
    const fields: [string, string][] = [this.#teamField(), ['install_script', this.#script(d)], ['self_service', 'false'], ...d.labels.map((l) => ['labels_include_any', l] as [string, string])];
    const fileDiffers = o.name !== d.fileName || readMarker(o.installScript)?.sha256 !== d.hash;
    if (fileDiffers) {
      const form = fileForm(this.#pkgFile(d), fields);
      await this.#upload({ object, action: 'update', method: 'PATCH', path, headers: { 'content-type': form.contentType, accept: 'application/json' }, body: form.body }, d.name, form.fileStart, [200]);
      return;
    }
    const form = fieldsForm(fields);
    await this.client.expect({ object, action: 'update', method: 'PATCH', path, headers: { 'content-type': form.contentType, accept: 'application/json' }, body: form.body }, [200]);
  }

  /** Send a request that carries the pkg, telling the upload's progress in pkg bytes (`name`: the pkg's). */
  async #upload(req: Parameters<FleetClient['send']>[0], name: string, fileStart: number, ok?: number[]): Promise<Awaited<ReturnType<FleetClient['send']>>> {
    const size = this.release.pkg.size;
    this.ctx.onUploadProgress?.(name, 0, size);
    const withProgress = { ...req, onProgress: (sent: number) => this.ctx.onUploadProgress?.(name, Math.min(size, Math.max(0, sent - fileStart)), size) };
    const answer = ok ? await this.client.expect(withProgress, ok) : await this.client.send(withProgress);
    if (answer.status >= 200 && answer.status < 300) this.ctx.onUploadProgress?.(name, size, size);
    return answer;
  }
}

export const fleetDriver: MdmDriver = {
  kind: 'fleet',
  credentialFields: [{ name: 'apiToken', secret: true, required: true }],

  validate(target: RolloutTarget): string[] {
    const problems = optionProblems(target);
    if ('smartGroup' in target.scope) {
      problems.push(`target ${target.name}: scope.smartGroup is a Jamf concept; for Fleet give scope.group: the name of a label the objects are limited to (the built-in label "macOS" for every Mac of the team)`);
    } else if (!LABEL_RE.test(target.scope.group)) {
      problems.push(`target ${target.name}: scope.group must be a Fleet label name of 1–255 characters on one line, got ${JSON.stringify(target.scope.group.slice(0, 80))}`);
    }
    return problems;
  },

  async connect(target: ResolvedTarget, release: ReleaseContent, ctx: DriverContext): Promise<MdmSession> {
    // Parse, then act: tenant values, token and team are checked before the first request.
    const tenant = parseTenantInput(release.spec, target.tenant as RawTenantValues, `target ${target.name}: tenant`);
    const token = target.credentials.apiToken;
    if (!isSecret(token)) throw new UsageError(`target ${target.name}: credentials.apiToken is a secret: give it by reference ({file: …} or {env: …})`);
    if (token.reveal().trim() === '' || /[\r\n]/.test(token.reveal().trim())) throw new UsageError(`target ${target.name}: credentials.apiToken is empty or holds a line break (the value is not shown)`);
    const team = teamOf(target);
    if (!('group' in target.scope)) throw new UsageError(`target ${target.name}: scope.group (a Fleet label name) is required`);
    const secrets = [...Object.values(target.credentials), ...Object.values(target.tenant)].filter(isSecret);
    const who = `fleet ${target.name}`;
    const client = new FleetClient(target.url, new Secret(token.reveal().trim(), 'apiToken'), {
      signal: ctx.signal,
      backoffMs: ctx.http?.backoffMs,
      sleep: ctx.http?.sleep,
      requestTimeoutMs: ctx.http?.requestTimeoutMs,
      onRetry: ctx.onNote,
      secrets,
    }, who);
    const desired = desiredObjects({ spec: release.spec, release, tenant, label: target.scope.group });
    return new FleetSession(client, team, target, release, ctx, desired);
  },
};

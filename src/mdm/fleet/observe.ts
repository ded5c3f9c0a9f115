/**
 * What a Fleet team holds now, read with GET requests only (REST API, test/fixtures/vendor-api/fleet/fleet.json):
 *
 *  - configuration profiles: `GET /api/v1/fleet/configuration_profiles?team_id=N` (paged by `meta.has_next_results`),
 *    and one profile's bytes with `GET /api/v1/fleet/configuration_profiles/{uuid}?alt=media`;
 *  - software: `GET /api/v1/fleet/software/titles?team_id=N&packages_only=true` (paged), then the title of our package
 *    with `GET /api/v1/fleet/software/titles/{id}?team_id=N` for its install script and labels.
 *
 * The team is sent under the name the target gave it (`team_id` or `fleet_id`): older servers read `team_id`, the
 * newest read `fleet_id` and still map `team_id`. Everything read is bounded: pages, items, field lengths and the
 * size of a downloaded profile (Fleet refuses profiles over 1 MB).
 */
import { NetworkError } from '../../errors.js';
import type { FleetClient } from './client.js';

/** The team as the target names it: the query/form field and its id. */
export interface TeamRef {
  field: 'team_id' | 'fleet_id';
  id: number;
}

export interface ObservedProfile {
  uuid: string;
  name: string;
  identifier: string;
  labels: string[];
  bytes: Uint8Array;
}

export interface ObservedPackage {
  titleId: string;
  /** The installer's file name. */
  name: string;
  version: string;
  installScript: string;
  labels: string[];
}

const MAX_PAGES = 50;
const PER_PAGE = 100;
/** Fleet's own limit for a profile is 1 MB; a little more is allowed for line ends. */
export const MAX_PROFILE_BYTES = 1024 * 1024 + 4096;
const MAX_SCRIPT_CHARS = 512 * 1024;

function str(v: unknown, max = 1024): string | undefined {
  return typeof v === 'string' && v.length <= max ? v : undefined;
}

function idOf(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return String(v);
  if (typeof v === 'string' && /^[0-9A-Za-z-]{1,64}$/.test(v)) return v;
  return undefined;
}

/** `[{name, id}]` → names (bounded), for labels. */
function labelNames(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v.slice(0, 100).map((l) => str((l as { name?: unknown })?.name, 255)).filter((n): n is string => n !== undefined);
}

export function teamQuery(team: TeamRef): string {
  return `${team.field}=${team.id}`;
}

/** Every configuration profile of the team (without their bytes). */
export async function listProfiles(client: FleetClient, team: TeamRef): Promise<Omit<ObservedProfile, 'bytes'>[]> {
  const out: Omit<ObservedProfile, 'bytes'>[] = [];
  for (let page = 0; page < MAX_PAGES; page++) {
    const req = { object: 'configuration profiles', action: 'read', method: 'GET' as const, path: `/api/v1/fleet/configuration_profiles?${teamQuery(team)}&page=${page}&per_page=${PER_PAGE}` };
    const v = await client.json(req);
    const list = v.profiles ?? [];
    if (!Array.isArray(list)) throw new NetworkError(`${client.where(req.object, req.action)}: the answer has no "profiles" list`);
    for (const p of list.slice(0, PER_PAGE * 2) as Record<string, unknown>[]) {
      const uuid = idOf(p?.profile_uuid);
      const identifier = str(p?.identifier);
      if (!uuid || identifier === undefined) continue;
      out.push({ uuid, identifier, name: str(p.name) ?? '', labels: [...labelNames(p.labels_include_any)] });
    }
    const next = (v.meta as { has_next_results?: unknown } | undefined)?.has_next_results === true;
    if (!next || list.length === 0) return out;
  }
  throw new NetworkError(`${client.who}: configuration profiles: more than ${MAX_PAGES} pages of ${PER_PAGE}; not read further`);
}

/** One profile's bytes as Fleet holds them. */
export async function downloadProfile(client: FleetClient, uuid: string, object: string): Promise<Uint8Array> {
  const answer = await client.expect({ object, action: 'read', method: 'GET', path: `/api/v1/fleet/configuration_profiles/${encodeURIComponent(uuid)}?alt=media` }, [200]);
  if (answer.body.byteLength > MAX_PROFILE_BYTES) throw new NetworkError(`${client.where(object, 'read')}: the profile is ${answer.body.byteLength} bytes, more than Fleet's own limit of 1 MB; not read`);
  return answer.body;
}

/** The profile of `identifier` with its bytes, or undefined. */
export async function findProfile(client: FleetClient, team: TeamRef, identifier: string, object: string, listed?: Omit<ObservedProfile, 'bytes'>[]): Promise<ObservedProfile | undefined> {
  const hit = (listed ?? (await listProfiles(client, team))).find((p) => p.identifier === identifier);
  if (!hit) return undefined;
  return { ...hit, bytes: await downloadProfile(client, hit.uuid, object) };
}

/** Titles of the team that have a package whose file name matches `pattern`: [title id, file name]. */
export async function listPackageTitles(client: FleetClient, team: TeamRef, pattern: RegExp): Promise<{ id: string; name: string }[]> {
  const out: { id: string; name: string }[] = [];
  let seen = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const req = { object: 'software titles', action: 'read', method: 'GET' as const, path: `/api/v1/fleet/software/titles?${teamQuery(team)}&packages_only=true&page=${page}&per_page=${PER_PAGE}` };
    const v = await client.json(req);
    const list = v.software_titles ?? [];
    if (!Array.isArray(list)) throw new NetworkError(`${client.where(req.object, req.action)}: the answer has no "software_titles" list`);
    for (const t of list.slice(0, PER_PAGE * 2) as Record<string, unknown>[]) {
      const id = idOf(t?.id);
      const name = str((t?.software_package as { name?: unknown } | null | undefined)?.name, 255);
      if (id && name && pattern.test(name)) out.push({ id, name });
    }
    seen += list.length;
    const count = typeof v.count === 'number' ? v.count : 0;
    if (list.length < PER_PAGE || seen >= count) return out;
  }
  throw new NetworkError(`${client.who}: software titles: more than ${MAX_PAGES} pages of ${PER_PAGE}; not read further`);
}

/** One title's package. */
export async function readPackageTitle(client: FleetClient, team: TeamRef, titleId: string, object: string): Promise<ObservedPackage> {
  const req = { object, action: 'read', method: 'GET' as const, path: `/api/v1/fleet/software/titles/${encodeURIComponent(titleId)}?${teamQuery(team)}` };
  const v = await client.json(req);
  const pkg = (v.software_title as { software_package?: Record<string, unknown> | null } | undefined)?.software_package;
  if (!pkg || typeof pkg !== 'object') throw new NetworkError(`${client.where(object, 'read')}: software title ${titleId} has no software_package`);
  return {
    titleId,
    name: str(pkg.name, 255) ?? '',
    version: str(pkg.version, 128) ?? '',
    installScript: str(pkg.install_script, MAX_SCRIPT_CHARS) ?? '',
    labels: labelNames(pkg.labels_include_any),
  };
}

/**
 * Reading a Jamf Pro target's current state — only GET requests, so `plan` never writes. Each object is found by
 * its name: smart groups from the Pro API list (paged; also where the previous release's version-aware group is
 * found, by its name prefix and our marker, to be renamed rather than duplicated), an existing scope group from the
 * computer-groups list, the extension attribute and the package with an RSQL name filter, profiles and the policy
 * by the Classic API's `/name/{name}` (404 = absent).
 *
 * What comes back is checked for shape before use (a field of the wrong type is a server answer we cannot judge: a
 * NetworkError naming the target, object and what was wrong), and lists are bounded (pages × page size).
 */
import { NetworkError } from '../../errors.js';
import type { HttpAnswer } from '../../net/http.js';
import { ClassicXmlError, parseClassic, readPolicy, readProfile, type ObservedPolicy, type ObservedProfile } from './classic-xml.js';
import type { JamfClient } from './client.js';
import { normalCriteria, type Criterion } from './desired.js';

const PAGE_SIZE = 200;
/** At most this many pages of a list (200 000 smart groups): a server that never ends its list is not followed. */
const MAX_PAGES = 1000;

export interface ObservedSmartGroup {
  id: string;
  name: string;
  description: string;
  criteria: Criterion[];
}

export interface ObservedExtensionAttribute {
  id: string;
  name: string;
  description: string;
  inputType: string;
  dataType: string;
  enabled: boolean;
  scriptContents: string;
}

/** The Package fields we use (Pro API `Package`; `size` is a string there). */
export interface ObservedPackage {
  id: string;
  record: Record<string, unknown>;
  packageName: string;
  fileName: string;
  notes: string;
  hashType: string | null;
  hashValue: string | null;
  md5: string | null;
  sha256: string | null;
  size: number | null;
  cloudTransferStatus: string | null;
}

export function rsqlQuoted(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function json(client: JamfClient, answer: HttpAnswer, object: string): unknown {
  try {
    return JSON.parse(Buffer.from(answer.body).toString('utf8')) as unknown;
  } catch {
    throw new NetworkError(`${client.where(object, 'read')}: the answer (HTTP ${answer.status}) is not JSON`);
  }
}

function record(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

function results(client: JamfClient, answer: HttpAnswer, object: string): Record<string, unknown>[] {
  const body = record(json(client, answer, object));
  const list = body?.results;
  if (!Array.isArray(list)) throw new NetworkError(`${client.where(object, 'read')}: the answer has no "results" list`);
  return list.map((r) => record(r) ?? {});
}

function idOf(client: JamfClient, r: Record<string, unknown>, object: string): string {
  const id = str(r.id);
  if (!/^[0-9A-Za-z_-]{1,64}$/.test(id)) throw new NetworkError(`${client.where(object, 'read')}: the answer has no usable "id"`);
  return id;
}

/** Every smart group's id, name and description (the list's fields), all pages. */
export async function listSmartGroups(client: JamfClient): Promise<{ id: string; name: string; description: string }[]> {
  const out: { id: string; name: string; description: string }[] = [];
  const object = 'smart groups';
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const answer = await client.expect({ object, action: 'list', method: 'GET', path: `/api/v2/computer-groups/smart-groups?page=${page}&page-size=${PAGE_SIZE}&sort=id%3Aasc`, headers: { accept: 'application/json' } }, [200]);
    const rows = results(client, answer, object);
    for (const r of rows) out.push({ id: idOf(client, r, object), name: str(r.name), description: str(r.description) });
    const total = record(json(client, answer, object))?.totalCount;
    if (rows.length < PAGE_SIZE || (typeof total === 'number' && out.length >= total)) return out;
  }
  throw new NetworkError(`${client.who}: smart groups: list: more than ${MAX_PAGES} pages; not followed further`);
}

export async function readSmartGroup(client: JamfClient, id: string, object: string): Promise<ObservedSmartGroup | undefined> {
  const answer = await client.expect({ object, action: 'read', method: 'GET', path: `/api/v2/computer-groups/smart-groups/${encodeURIComponent(id)}`, headers: { accept: 'application/json' } }, [200, 404]);
  if (answer.status === 404) return undefined;
  const g = record(json(client, answer, object)) ?? {};
  const criteria = Array.isArray(g.criteria) ? g.criteria.map((c) => record(c) ?? {}) : [];
  const sorted = [...criteria].sort((a, b) => (typeof a.priority === 'number' && typeof b.priority === 'number' ? a.priority - b.priority : 0));
  return {
    id,
    name: str(g.name),
    description: str(g.description),
    criteria: normalCriteria(
      sorted.map((c) => ({
        name: str(c.name),
        andOr: str(c.andOr).toLowerCase(),
        searchType: str(c.searchType),
        value: str(c.value),
        openingParen: c.openingParen === true,
        closingParen: c.closingParen === true,
      })),
    ),
  };
}

/** An existing computer group (smart or static) by name, from the computer-groups list. */
export async function findComputerGroup(client: JamfClient, name: string): Promise<{ id: string; name: string; smart: boolean } | undefined> {
  const object = `computer group "${name}"`;
  const answer = await client.expect({ object, action: 'find', method: 'GET', path: '/api/v1/computer-groups', headers: { accept: 'application/json' } }, [200]);
  const list = json(client, answer, object);
  if (!Array.isArray(list)) throw new NetworkError(`${client.where(object, 'find')}: the answer is not a list`);
  const hit = list.map((g) => record(g) ?? {}).find((g) => str(g.name) === name);
  return hit ? { id: idOf(client, hit, object), name, smart: hit.smartGroup === true } : undefined;
}

export async function findExtensionAttribute(client: JamfClient, name: string): Promise<ObservedExtensionAttribute | undefined> {
  const object = `extension attribute "${name}"`;
  const filter = encodeURIComponent(`name==${rsqlQuoted(name)}`);
  const answer = await client.expect({ object, action: 'find', method: 'GET', path: `/api/v1/computer-extension-attributes?page=0&page-size=${PAGE_SIZE}&filter=${filter}`, headers: { accept: 'application/json' } }, [200]);
  const hit = results(client, answer, object).find((r) => str(r.name) === name);
  if (!hit) return undefined;
  return {
    id: idOf(client, hit, object),
    name,
    description: str(hit.description),
    inputType: str(hit.inputType),
    dataType: str(hit.dataType),
    enabled: hit.enabled !== false,
    scriptContents: str(hit.scriptContents),
  };
}

function packageOf(client: JamfClient, r: Record<string, unknown>, object: string): ObservedPackage {
  const nullable = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
  const size = typeof r.size === 'number' ? r.size : typeof r.size === 'string' && /^\d{1,16}$/.test(r.size) ? Number(r.size) : null;
  return {
    id: idOf(client, r, object),
    record: r,
    packageName: str(r.packageName),
    fileName: str(r.fileName),
    notes: str(r.notes),
    hashType: nullable(r.hashType),
    hashValue: nullable(r.hashValue),
    md5: nullable(r.md5)?.toLowerCase() ?? null,
    sha256: nullable(r.sha256)?.toLowerCase() ?? null,
    size,
    cloudTransferStatus: nullable(r.cloudTransferStatus),
  };
}

export async function findPackage(client: JamfClient, packageName: string): Promise<ObservedPackage | undefined> {
  const object = `package "${packageName}"`;
  const filter = encodeURIComponent(`packageName==${rsqlQuoted(packageName)}`);
  const answer = await client.expect({ object, action: 'find', method: 'GET', path: `/api/v1/packages?page=0&page-size=${PAGE_SIZE}&filter=${filter}`, headers: { accept: 'application/json' } }, [200]);
  const hit = results(client, answer, object).find((r) => str(r.packageName) === packageName);
  return hit ? packageOf(client, hit, object) : undefined;
}

export async function readPackage(client: JamfClient, id: string, packageName: string): Promise<ObservedPackage> {
  const object = `package "${packageName}"`;
  const answer = await client.expect({ object, action: 'read', method: 'GET', path: `/api/v1/packages/${encodeURIComponent(id)}`, headers: { accept: 'application/json' } }, [200]);
  return packageOf(client, record(json(client, answer, object)) ?? {}, object);
}

async function classicByName(client: JamfClient, resource: string, root: string, name: string, object: string): Promise<ReturnType<typeof parseClassic> | undefined> {
  const answer = await client.expect({ object, action: 'find', method: 'GET', path: `/JSSResource/${resource}/name/${encodeURIComponent(name)}`, headers: { accept: 'application/xml' } }, [200, 404]);
  if (answer.status === 404) return undefined;
  try {
    return parseClassic(Buffer.from(answer.body).toString('utf8'), root);
  } catch (e) {
    if (e instanceof ClassicXmlError) throw new NetworkError(`${client.where(object, 'find')}: ${e.message}`);
    throw e;
  }
}

export async function findProfile(client: JamfClient, name: string): Promise<ObservedProfile | undefined> {
  const root = await classicByName(client, 'osxconfigurationprofiles', 'os_x_configuration_profile', name, `profile "${name}"`);
  return root ? readProfile(root) : undefined;
}

export async function findPolicy(client: JamfClient, name: string): Promise<ObservedPolicy | undefined> {
  const root = await classicByName(client, 'policies', 'policy', name, `policy "${name}"`);
  return root ? readPolicy(root) : undefined;
}

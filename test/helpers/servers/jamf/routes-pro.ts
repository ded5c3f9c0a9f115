/**
 * The Jamf Pro API (JSON) routes of the local server: packages (+ multipart upload and distribution-point
 * convergence), smart computer groups v2, computer groups, computer extension attributes and categories. Every body
 * is validated against Jamf's schema (schemas.ts); a body that does not match is 400 with an ApiError and is added
 * to `validationFailures`. Names are unique per kind: a duplicate is 400 `DUPLICATE_FIELD` on the field (Jamf's
 * Jamf Pro API answers a duplicate with 400, not 409). Lists take `filter` in the RSQL subset `field=="value"`
 * joined by `;` (and), plus `page` / `page-size`; any other filter is 400 and a validation failure.
 *
 * Package upload: `POST /api/v1/packages/{id}/upload`, multipart/form-data with the one part `file`, read as a
 * stream and hashed on the fly (md5, sha256, sha512; the bytes are not kept). Then the record converges like a cloud
 * distribution point: for `convergeAfterReads` GETs it says `cloudTransferStatus: "PENDING"` with the previous hashes
 * and size; then READY with `md5`, `sha256`, `hashType: "SHA_512"`, `hashValue` and `size` (bytes, as a decimal
 * string) of the upload. With `staleSizeReads` > 0 (the JCDS quirk of terraform-provider-jamfplatform #145) the
 * first READY reads report the new hashes with the old size.
 */
import type { Json } from './classic-xml.js';
import { readMultipart, boundaryOf } from '../multipart.js';
import { apiError, sendJson } from './reply.js';
import { validate } from './schemas.js';
import type { Criterion, GroupRecord, PackageRecord } from './store.js';
import type { Route, RouteContext } from './types.js';

/** Fields of a Package the server owns (read-only in Jamf's schema, or set by the upload). */
const PACKAGE_SERVER_FIELDS = ['id', 'md5', 'sha256', 'size', 'cloudTransferStatus', 'indexed'];

interface Converging {
  target: { md5: string; sha256: string; sha512: string; size: number };
  pendingReads: number;
  staleReads: number;
}
const converging = new WeakMap<PackageRecord, Converging>();

async function jsonBody(ctx: RouteContext, schema: string): Promise<Record<string, Json> | undefined> {
  const type = (ctx.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const raw = await ctx.body();
  const fail = (msg: string, field = ''): undefined => {
    ctx.server.validationFailures.push(`${ctx.req.method} ${ctx.path}: ${msg}`);
    apiError(ctx.res, 400, 'INVALID_FIELD', msg, field);
    return undefined;
  };
  if (type !== 'application/json') return fail(`content-type ${type || '(none)'}, expected application/json`);
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    return fail(`body is not JSON: ${(e as Error).message}`);
  }
  const problems = validate('jamf-pro', schema, value);
  if (problems.length > 0) return fail(problems.map((p) => p.message).join('; '), problems[0]!.field.slice(1));
  return value as Record<string, Json>;
}

/** `packageName=="x";fileName==y` → predicates; undefined (and a 400) when outside the subset. */
function parseFilter(ctx: RouteContext, allowed: string[]): ((o: Record<string, Json>) => boolean) | null | undefined {
  const filter = ctx.query.get('filter');
  if (!filter) return null;
  const tests: [string, string][] = [];
  for (const part of filter.split(';')) {
    const m = /^(\w+)==(?:"((?:[^"\\]|\\.)*)"|([^";,()=!<>]*))$/.exec(part);
    if (!m || !allowed.includes(m[1]!)) {
      ctx.server.validationFailures.push(`GET ${ctx.path}: filter ${JSON.stringify(filter)} outside the modelled RSQL subset (field=="value" on ${allowed.join(', ')})`);
      apiError(ctx.res, 400, 'INVALID_FILTER', `invalid filter: ${filter}`, 'filter');
      return undefined;
    }
    tests.push([m[1]!, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!]);
  }
  return (o) => tests.every(([f, v]) => String(o[f] ?? '') === v);
}

function page<T>(ctx: RouteContext, all: T[]): { totalCount: number; results: T[] } {
  const size = Number(ctx.query.get('page-size') ?? 100);
  const n = Number(ctx.query.get('page') ?? 0);
  return { totalCount: all.length, results: all.slice(n * size, n * size + size) };
}

function duplicate(ctx: RouteContext, field: string, value: string): void {
  apiError(ctx.res, 400, 'DUPLICATE_FIELD', `${field} "${value}" is already in use`, field);
}

const idOf = (ctx: RouteContext): number => Number(ctx.params[0]);

// ---- packages ----

function packageView(rec: PackageRecord): Record<string, Json> {
  const c = converging.get(rec);
  const view = { ...rec.fields, id: String(rec.id) };
  if (!c) return view;
  if (c.pendingReads > 0) {
    c.pendingReads--;
    return { ...view, cloudTransferStatus: 'PENDING' };
  }
  const fresh = { ...view, md5: c.target.md5, sha256: c.target.sha256, hashType: 'SHA_512', hashValue: c.target.sha512, cloudTransferStatus: 'READY' };
  if (c.staleReads > 0) {
    c.staleReads--;
    return fresh;
  }
  Object.assign(rec.fields, fresh, { size: String(c.target.size) });
  converging.delete(rec);
  return { ...rec.fields, id: String(rec.id) };
}

function packageClash(ctx: RouteContext, body: Record<string, Json>, self?: number): boolean {
  for (const p of ctx.server.store.packages.values()) {
    if (p.id === self) continue;
    if (p.fields.packageName === body.packageName) return (duplicate(ctx, 'packageName', String(body.packageName)), true);
    if (p.fields.fileName === body.fileName) return (duplicate(ctx, 'fileName', String(body.fileName)), true);
  }
  return false;
}

function clientFields(body: Record<string, Json>): Record<string, Json> {
  return Object.fromEntries(Object.entries(body).filter(([k]) => !PACKAGE_SERVER_FIELDS.includes(k)));
}

async function createPackage(ctx: RouteContext): Promise<void> {
  const body = await jsonBody(ctx, 'Package');
  if (!body || packageClash(ctx, body)) return;
  const id = ctx.server.store.id();
  ctx.server.store.packages.set(id, { id, fields: { ...clientFields(body), md5: null, sha256: null, size: null, cloudTransferStatus: 'NONE', indexed: false } });
  sendJson(ctx.res, 201, { id: String(id), href: `${ctx.server.url}/api/v1/packages/${id}` });
}

async function updatePackage(ctx: RouteContext): Promise<void> {
  const rec = ctx.server.store.packages.get(idOf(ctx));
  const body = await jsonBody(ctx, 'Package');
  if (!body) return;
  if (!rec) return apiError(ctx.res, 404, 'NOT_FOUND', `no package with id ${ctx.params[0]}`, 'id');
  if (packageClash(ctx, body, rec.id)) return;
  const owned = Object.fromEntries(PACKAGE_SERVER_FIELDS.filter((k) => k in rec.fields).map((k) => [k, rec.fields[k]!]));
  rec.fields = { ...clientFields(body), ...owned };
  sendJson(ctx.res, 200, packageView(rec));
}

async function uploadPackage(ctx: RouteContext): Promise<void> {
  const rec = ctx.server.store.packages.get(idOf(ctx));
  const boundary = boundaryOf(ctx.req.headers['content-type']);
  if (!rec) {
    ctx.req.resume();
    return apiError(ctx.res, 404, 'NOT_FOUND', `no package with id ${ctx.params[0]}`, 'id');
  }
  if (!boundary) {
    ctx.req.resume();
    ctx.server.validationFailures.push(`POST ${ctx.path}: content-type ${ctx.req.headers['content-type'] ?? '(none)'}, expected multipart/form-data with a boundary`);
    return apiError(ctx.res, 400, 'INVALID_FIELD', 'expected multipart/form-data', 'file');
  }
  let parts;
  try {
    parts = await readMultipart(ctx.stream(), boundary);
  } catch (e) {
    if ((ctx.req.socket?.destroyed ?? true)) return;
    ctx.server.validationFailures.push(`POST ${ctx.path}: ${(e as Error).message}`);
    return apiError(ctx.res, 400, 'INVALID_FIELD', (e as Error).message, 'file');
  }
  const file = parts.find((p) => p.name === 'file');
  const others = parts.filter((p) => p.name !== 'file').map((p) => p.name);
  if (!file || file.filename === undefined || others.length > 0) {
    ctx.server.validationFailures.push(`POST ${ctx.path}: parts [${parts.map((p) => p.name).join(', ')}], expected exactly the file part "file" with a filename`);
    return apiError(ctx.res, 400, 'INVALID_FIELD', 'the upload needs the one part "file"', 'file');
  }
  const token = ctx.token;
  if (token && token.expiresAt <= ctx.server.options.now()) return; // the frame answers 401
  rec.uploaded = { fileName: file.filename, size: file.size, sha256: file.sha256 };
  converging.set(rec, {
    target: { md5: file.md5, sha256: file.sha256, sha512: file.sha512, size: file.size },
    pendingReads: ctx.server.options.convergeAfterReads,
    staleReads: ctx.server.options.staleSizeReads,
  });
  sendJson(ctx.res, 201, { id: String(rec.id), href: `${ctx.server.url}/api/v1/packages/${rec.id}` });
}

// ---- computer groups (smart, v2) ----

function v2Criteria(g: GroupRecord): Record<string, Json>[] {
  return g.criteria.map((c) => ({ name: c.name, priority: c.priority, andOr: c.andOr, searchType: c.searchType, value: c.value, openingParen: c.openingParen, closingParen: c.closingParen }));
}

function criteriaFrom(list: Json | undefined): Criterion[] {
  return (Array.isArray(list) ? list : []).map((raw, i) => {
    const c = raw as Record<string, Json>;
    return { name: String(c.name), priority: typeof c.priority === 'number' ? c.priority : i, andOr: String(c.andOr), searchType: String(c.searchType), value: String(c.value), openingParen: c.openingParen === true, closingParen: c.closingParen === true };
  });
}

function smartGroupView(ctx: RouteContext, g: GroupRecord): Record<string, Json> {
  return { name: g.name, description: g.description, criteria: v2Criteria(g), siteId: g.siteId };
}

async function createSmartGroup(ctx: RouteContext): Promise<void> {
  const body = await jsonBody(ctx, 'SmartComputerGroupV2');
  if (!body) return;
  const store = ctx.server.store;
  if (store.groupByName(String(body.name))) return duplicate(ctx, 'name', String(body.name));
  const id = store.id();
  store.groups.set(id, { id, name: String(body.name), smart: true, description: String(body.description ?? ''), siteId: (body.siteId as string | null | undefined) ?? '-1', criteria: criteriaFrom(body.criteria), members: [] });
  sendJson(ctx.res, 201, { id: String(id), href: `${ctx.server.url}/api/v2/computer-groups/smart-groups/${id}` });
}

async function updateSmartGroup(ctx: RouteContext): Promise<void> {
  const body = await jsonBody(ctx, 'SmartComputerGroupV2');
  if (!body) return;
  const store = ctx.server.store;
  const g = store.groups.get(idOf(ctx));
  if (!g || !g.smart) return apiError(ctx.res, 404, 'NOT_FOUND', `no smart group with id ${ctx.params[0]}`, 'id');
  const other = store.groupByName(String(body.name));
  if (other && other.id !== g.id) return duplicate(ctx, 'name', String(body.name));
  Object.assign(g, { name: String(body.name), description: String(body.description ?? ''), siteId: (body.siteId as string | null | undefined) ?? g.siteId, criteria: criteriaFrom(body.criteria) });
  sendJson(ctx.res, 202, smartGroupView(ctx, g));
}

// ---- extension attributes, categories ----

async function createNamed(ctx: RouteContext, schema: string, map: Map<number, Record<string, Json> & { name: string }>, hrefBase: string): Promise<void> {
  const body = await jsonBody(ctx, schema);
  if (!body) return;
  if ([...map.values()].some((o) => o.name === body.name)) return duplicate(ctx, 'name', String(body.name));
  const id = ctx.server.store.id();
  map.set(id, { ...body, id: String(id), name: String(body.name) });
  sendJson(ctx.res, 201, { id: String(id), href: `${ctx.server.url}${hrefBase}/${id}` });
}

async function updateNamed(ctx: RouteContext, schema: string, map: Map<number, Record<string, Json> & { name: string }>, status: number): Promise<void> {
  const body = await jsonBody(ctx, schema);
  if (!body) return;
  const id = idOf(ctx);
  if (!map.has(id)) return apiError(ctx.res, 404, 'NOT_FOUND', `no object with id ${ctx.params[0]}`, 'id');
  if ([...map.values()].some((o) => o.name === body.name && o.id !== String(id))) return duplicate(ctx, 'name', String(body.name));
  map.set(id, { ...body, id: String(id), name: String(body.name) });
  sendJson(ctx.res, status, map.get(id));
}

function listNamed(ctx: RouteContext, map: Map<number, Record<string, Json>>, allowed: string[]): void {
  const f = parseFilter(ctx, allowed);
  if (f === undefined) return;
  sendJson(ctx.res, 200, page(ctx, [...map.values()].filter((o) => !f || f(o))));
}

function getNamed(ctx: RouteContext, map: Map<number, Record<string, Json>>): void {
  const o = map.get(idOf(ctx));
  if (!o) return apiError(ctx.res, 404, 'NOT_FOUND', `no object with id ${ctx.params[0]}`, 'id');
  sendJson(ctx.res, 200, o);
}

function deleteFrom(ctx: RouteContext, map: Map<number, unknown>): void {
  if (!map.delete(idOf(ctx))) return apiError(ctx.res, 404, 'NOT_FOUND', `no object with id ${ctx.params[0]}`, 'id');
  ctx.res.writeHead(204).end();
}

const eas = (ctx: RouteContext): Map<number, Record<string, Json> & { name: string }> => ctx.server.store.eas;
const cats = (ctx: RouteContext): Map<number, Record<string, Json> & { name: string }> => ctx.server.store.categories;

const PKG = /^\/api\/v1\/packages$/;
const PKG_ID = /^\/api\/v1\/packages\/(\d+)$/;
const SG = /^\/api\/v2\/computer-groups\/smart-groups$/;
const SG_ID = /^\/api\/v2\/computer-groups\/smart-groups\/(\d+)$/;
const EA = /^\/api\/v1\/computer-extension-attributes$/;
const EA_ID = /^\/api\/v1\/computer-extension-attributes\/(\d+)$/;
const CAT = /^\/api\/v1\/categories$/;
const CAT_ID = /^\/api\/v1\/categories\/(\d+)$/;

export const proRoutes: Route[] = [
  {
    method: 'GET', pattern: PKG, object: 'package', handle: (ctx) => {
      const f = parseFilter(ctx, ['id', 'fileName', 'packageName', 'categoryId', 'info', 'notes', 'manifestFileName', 'cloudTransferStatus']);
      if (f === undefined) return;
      sendJson(ctx.res, 200, page(ctx, [...ctx.server.store.packages.values()].filter((p) => !f || f({ ...p.fields, id: String(p.id) })).map(packageView)));
    },
  },
  {
    method: 'GET', pattern: PKG_ID, object: 'package', handle: (ctx) => {
      const rec = ctx.server.store.packages.get(idOf(ctx));
      if (!rec) return apiError(ctx.res, 404, 'NOT_FOUND', `no package with id ${ctx.params[0]}`, 'id');
      sendJson(ctx.res, 200, packageView(rec));
    },
  },
  { method: 'POST', pattern: PKG, object: 'package', handle: createPackage },
  { method: 'PUT', pattern: PKG_ID, object: 'package', handle: updatePackage },
  { method: 'DELETE', pattern: PKG_ID, object: 'package', handle: (ctx) => deleteFrom(ctx, ctx.server.store.packages) },
  { method: 'POST', pattern: /^\/api\/v1\/packages\/(\d+)\/upload$/, object: 'package', handle: uploadPackage },
  {
    method: 'GET', pattern: SG, object: 'smart-group', handle: (ctx) => {
      const f = parseFilter(ctx, ['id', 'name', 'description']);
      if (f === undefined) return;
      const store = ctx.server.store;
      const all = [...store.groups.values()].filter((g) => g.smart).map((g) => ({ id: String(g.id), name: g.name, description: g.description, membershipCount: store.members(g).length, siteId: g.siteId ?? '-1' }));
      sendJson(ctx.res, 200, page(ctx, all.filter((g) => !f || f(g))));
    },
  },
  {
    method: 'GET', pattern: SG_ID, object: 'smart-group', handle: (ctx) => {
      const g = ctx.server.store.groups.get(idOf(ctx));
      if (!g || !g.smart) return apiError(ctx.res, 404, 'NOT_FOUND', `no smart group with id ${ctx.params[0]}`, 'id');
      sendJson(ctx.res, 200, smartGroupView(ctx, g));
    },
  },
  { method: 'POST', pattern: SG, object: 'smart-group', handle: createSmartGroup },
  { method: 'PUT', pattern: SG_ID, object: 'smart-group', handle: updateSmartGroup },
  { method: 'DELETE', pattern: SG_ID, object: 'smart-group', handle: (ctx) => deleteFrom(ctx, ctx.server.store.groups) },
  {
    method: 'GET', pattern: /^\/api\/v1\/computer-groups$/, object: 'computer-group', handle: (ctx) => {
      sendJson(ctx.res, 200, [...ctx.server.store.groups.values()].map((g) => ({ id: String(g.id), name: g.name, smartGroup: g.smart, description: g.description })));
    },
  },
  {
    method: 'POST', pattern: /^\/api\/v1\/smart-computer-groups\/(\d+)\/recalculate$/, object: 'smart-group', handle: async (ctx) => {
      await ctx.body();
      const g = ctx.server.store.groups.get(idOf(ctx));
      if (!g || !g.smart) return apiError(ctx.res, 404, 'NOT_FOUND', `no smart group with id ${ctx.params[0]}`, 'id');
      sendJson(ctx.res, 200, { count: ctx.server.store.members(g).length });
    },
  },
  { method: 'GET', pattern: EA, object: 'extension-attribute', handle: (ctx) => listNamed(ctx, eas(ctx), ['id', 'name']) },
  { method: 'GET', pattern: EA_ID, object: 'extension-attribute', handle: (ctx) => getNamed(ctx, eas(ctx)) },
  { method: 'POST', pattern: EA, object: 'extension-attribute', handle: (ctx) => createNamed(ctx, 'ComputerExtensionAttributes', eas(ctx), '/api/v1/computer-extension-attributes') },
  { method: 'PUT', pattern: EA_ID, object: 'extension-attribute', handle: (ctx) => updateNamed(ctx, 'ComputerExtensionAttributes', eas(ctx), 202) },
  { method: 'DELETE', pattern: EA_ID, object: 'extension-attribute', handle: (ctx) => deleteFrom(ctx, eas(ctx)) },
  { method: 'GET', pattern: CAT, object: 'category', handle: (ctx) => listNamed(ctx, cats(ctx), ['id', 'name', 'priority']) },
  { method: 'GET', pattern: CAT_ID, object: 'category', handle: (ctx) => getNamed(ctx, cats(ctx)) },
  { method: 'POST', pattern: CAT, object: 'category', handle: (ctx) => createNamed(ctx, 'Category', cats(ctx), '/api/v1/categories') },
  { method: 'PUT', pattern: CAT_ID, object: 'category', handle: (ctx) => updateNamed(ctx, 'Category', cats(ctx), 200) },
  { method: 'DELETE', pattern: CAT_ID, object: 'category', handle: (ctx) => deleteFrom(ctx, cats(ctx)) },
  {
    method: 'GET', pattern: /^\/api\/v1\/cloud-distribution-point\/upload-capability$/, object: 'distribution-point',
    handle: (ctx) => sendJson(ctx.res, 200, { directUploadCapable: true, principalDistributionTechnology: true }),
  },
];

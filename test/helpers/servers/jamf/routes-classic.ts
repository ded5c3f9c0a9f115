/**
 * The Classic API (XML) routes of the local server: `/JSSResource/osxconfigurationprofiles`, `/policies`,
 * `/computergroups` (list, `…/id/{id}`, `…/name/{name}`), and read-only `/packages` and `/categories`.
 *
 * As Jamf: POST to `…/id/0` creates (201, `<root><id>N</id></root>`); PUT (by id or name) changes only the
 * elements it sends (objects merge, a list or a value replaces) and answers 201 the same way; DELETE answers 200.
 * A body must be `application/xml` or `text/xml`, have the resource's root element, and — parsed by classic-xml.ts —
 * match the Classic schema (for PUT a missing required field is not a problem). A duplicate name is 409 "Error:
 * Duplicate name" (the Classic API's answer). References are resolved as Jamf does, by id else by name: a scoped
 * computer group, a policy's package or a category that does not exist is 409. A profile's `payloads` must be a
 * well-formed plist. GET answers XML, or JSON for `Accept: application/json` (list items unwrapped, as Jamf's JSON).
 * Errors are HTML pages, as on a real server.
 */
import { randomUUID } from 'node:crypto';
import { parseXml } from '../../../../src/formats/xml-tree.js';
import { classicJsonView, classicXml, jsonToClassicXml, parseClassicBody, type Json } from './classic-xml.js';
import { classicError } from './reply.js';
import { schemaOf, validate } from './schemas.js';
import type { ClassicRecord, GroupRecord, JamfStore } from './store.js';
import type { Route, RouteContext } from './types.js';

type Obj = Record<string, Json>;

interface Kind {
  plural: string;
  root: string;
  schema: string;
  object: string;
  list(store: JamfStore): { id: number; name: string }[];
  view(store: JamfStore, id: number): Obj | undefined;
  /** Create from a validated body: the new id, or an error message (409). */
  create?(store: JamfStore, body: Obj): number | string;
  update?(store: JamfStore, id: number, body: Obj): string | undefined;
  remove?(store: JamfStore, id: number): boolean;
}

function send(ctx: RouteContext, status: number, root: string, value: Obj): void {
  const json = /application\/json/.test(ctx.req.headers.accept ?? '');
  const text = json ? JSON.stringify({ [root]: classicJsonView(value) }) : jsonToClassicXml(root, value);
  ctx.res.writeHead(status, { 'content-type': json ? 'application/json;charset=UTF-8' : 'text/xml;charset=UTF-8', 'content-length': String(Buffer.byteLength(text)) });
  ctx.res.end(text);
}

function deepMerge(base: Obj, patch: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const b = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b) ? deepMerge(b, v) : v;
  }
  return out;
}

/** Resolve `{id?, name?}` against `items` (id first, then name) → the stored `{id, name}` or undefined. */
function resolveRef(ref: Json | undefined, items: { id: number; name: string }[]): { id: number; name: string } | undefined {
  const r = (ref ?? {}) as Obj;
  if (typeof r.id === 'number' && r.id > 0) return items.find((i) => i.id === r.id);
  return typeof r.name === 'string' ? items.find((i) => i.name === r.name) : undefined;
}

/** Resolve the references of a profile or policy in place; the first one that does not resolve → message. */
function resolveRefs(store: JamfStore, body: Obj): string | undefined {
  const groups = [...store.groups.values()].map((g) => ({ id: g.id, name: g.name }));
  const pkgs = [...store.packages.values()].map((p) => ({ id: p.id, name: String(p.fields.packageName) }));
  const cats = [...store.categories.values()].map((c) => ({ id: Number(c.id), name: c.name }));
  const fixList = (list: Json | undefined, key: string, items: { id: number; name: string }[], what: string): string | undefined => {
    if (!Array.isArray(list)) return undefined;
    for (const item of list) {
      const o = item as Obj;
      const found = resolveRef(o[key], items);
      if (!found) return `Error: Problem with ${what} ${JSON.stringify(o[key])}`;
      o[key] = { ...(o[key] as Obj), id: found.id, name: found.name };
    }
    return undefined;
  };
  const scope = body.scope as Obj | undefined;
  const general = body.general as Obj | undefined;
  const category = general?.category as Obj | undefined;
  if (category && !(category.id === -1 || category.name === 'No category assigned' || (category.id === undefined && category.name === undefined))) {
    const found = resolveRef(category, cats);
    if (!found) return `Error: Problem with category ${JSON.stringify(category)}`;
    general!.category = { id: found.id, name: found.name };
  }
  return (
    fixList(scope?.computer_groups, 'computer_group', groups, 'computer group') ??
    fixList((scope?.exclusions as Obj | undefined)?.computer_groups, 'computer_group', groups, 'computer group') ??
    fixList((body.package_configuration as Obj | undefined)?.packages, 'package', pkgs, 'package')
  );
}

function payloadProblem(body: Obj): string | undefined {
  const payloads = (body.general as Obj | undefined)?.payloads;
  if (payloads === undefined) return undefined;
  try {
    const root = parseXml(String(payloads));
    return root.name === 'plist' ? undefined : `payloads: root element <${root.name}>, expected <plist>`;
  } catch (e) {
    return `payloads: not a well-formed plist: ${(e as Error).message}`;
  }
}

/** Profiles and policies: records keyed by id, named by general.name. */
function generalKind(plural: string, root: string, schema: string, object: string, map: (s: JamfStore) => Map<number, ClassicRecord>): Kind {
  const nameTaken = (store: JamfStore, name: string, self?: number): boolean => [...map(store).values()].some((r) => r.name === name && r.id !== self);
  return {
    plural, root, schema, object,
    list: (store) => [...map(store).values()].map((r) => ({ id: r.id, name: r.name })),
    view: (store, id) => map(store).get(id)?.body,
    create(store, body) {
      const name = String((body.general as Obj).name);
      if (nameTaken(store, name)) return 'Error: Duplicate name';
      const refs = resolveRefs(store, body);
      if (refs) return refs;
      const id = store.id();
      const general: Obj = { ...(body.general as Obj), id, name };
      if (root === 'os_x_configuration_profile') general.uuid ??= randomUUID().toUpperCase();
      map(store).set(id, { id, name, body: { ...body, general } });
      return id;
    },
    update(store, id, patch) {
      const rec = map(store).get(id)!;
      const merged = deepMerge(rec.body, patch);
      const general = merged.general as Obj;
      if (nameTaken(store, String(general.name), id)) return 'Error: Duplicate name';
      const refs = resolveRefs(store, merged);
      if (refs) return refs;
      general.id = id;
      rec.body = merged;
      rec.name = String(general.name);
      return undefined;
    },
    remove: (store, id) => map(store).delete(id),
  };
}

function groupView(store: JamfStore, g: GroupRecord): Obj {
  const members = store.members(g);
  return {
    id: g.id, name: g.name, is_smart: g.smart, site: { id: -1, name: 'None' },
    criteria: g.criteria.map((c) => ({ criterion: { name: c.name, priority: c.priority, and_or: c.andOr, search_type: c.searchType, value: c.value, opening_paren: c.openingParen, closing_paren: c.closingParen } })),
    computers: store.macs.filter((m) => members.includes(m.id)).map((m) => ({ computer: { id: m.id, name: m.name } })),
  };
}

function groupFields(body: Obj): Partial<GroupRecord> {
  const out: Partial<GroupRecord> = {};
  if (body.name !== undefined) out.name = String(body.name);
  if (body.is_smart !== undefined) out.smart = body.is_smart === true;
  if (Array.isArray(body.criteria)) {
    out.criteria = body.criteria.map((item, i) => {
      const c = ((item as Obj).criterion ?? {}) as Obj;
      return { name: String(c.name), priority: typeof c.priority === 'number' ? c.priority : i, andOr: String(c.and_or ?? 'and'), searchType: String(c.search_type), value: String(c.value ?? ''), openingParen: c.opening_paren === true, closingParen: c.closing_paren === true };
    });
  }
  return out;
}

const groupKind: Kind = {
  plural: 'computergroups', root: 'computer_group', schema: 'computer_group_post', object: 'computer-group',
  list: (store) => [...store.groups.values()].map((g) => ({ id: g.id, name: g.name })),
  view: (store, id) => (store.groups.has(id) ? groupView(store, store.groups.get(id)!) : undefined),
  create(store, body) {
    const f = groupFields(body);
    if (store.groupByName(f.name!)) return 'Error: Duplicate name';
    const id = store.id();
    store.groups.set(id, { id, name: f.name!, smart: f.smart ?? false, description: '', siteId: '-1', criteria: f.criteria ?? [], members: [] });
    return id;
  },
  update(store, id, body) {
    const g = store.groups.get(id)!;
    const f = groupFields(body);
    const other = f.name !== undefined ? store.groupByName(f.name) : undefined;
    if (other && other.id !== id) return 'Error: Duplicate name';
    Object.assign(g, f);
    return undefined;
  },
  remove: (store, id) => store.groups.delete(id),
};

const packageKind: Kind = {
  plural: 'packages', root: 'package', schema: 'package', object: 'package',
  list: (store) => [...store.packages.values()].map((p) => ({ id: p.id, name: String(p.fields.packageName) })),
  view: (store, id) => {
    const p = store.packages.get(id);
    return p && { id: p.id, name: String(p.fields.packageName), filename: String(p.fields.fileName), info: String(p.fields.info ?? ''), notes: String(p.fields.notes ?? '') };
  },
};

const categoryKind: Kind = {
  plural: 'categories', root: 'category', schema: 'category', object: 'category',
  list: (store) => [...store.categories.values()].map((c) => ({ id: Number(c.id), name: c.name })),
  view: (store, id) => {
    const c = store.categories.get(id);
    return c && { id: Number(c.id), name: c.name, priority: Number(c.priority) };
  },
};

const KINDS: Kind[] = [
  generalKind('osxconfigurationprofiles', 'os_x_configuration_profile', 'os_x_configuration_profile', 'profile', (s) => s.profiles),
  generalKind('policies', 'policy', 'policy', 'policy', (s) => s.policies),
  groupKind,
  packageKind,
  categoryKind,
];

/** `id/{id}` or `name/{name}` → the id, or undefined (not found). */
function locate(ctx: RouteContext, kind: Kind): number | undefined {
  const [by, key] = [ctx.params[0], ctx.params[1]!];
  if (by === 'id') return kind.view(ctx.server.store, Number(key)) ? Number(key) : undefined;
  return kind.list(ctx.server.store).find((i) => i.name === key)?.id;
}

async function xmlBody(ctx: RouteContext, kind: Kind, partial: boolean): Promise<Obj | undefined> {
  const type = (ctx.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const raw = (await ctx.body()).toString('utf8');
  const fail = (status: number, msg: string): undefined => {
    ctx.server.validationFailures.push(`${ctx.req.method} ${ctx.path}: ${msg}`);
    classicError(ctx.res, status, status === 415 ? 'Unsupported Media Type' : 'Bad Request', msg.replace(/[<>&]/g, ' '));
    return undefined;
  };
  if (type !== 'application/xml' && type !== 'text/xml') return fail(415, `content-type ${type || '(none)'}, expected application/xml`);
  let body: Obj;
  try {
    body = parseClassicBody(raw, kind.root, schemaOf('jamf-classic', kind.schema));
  } catch (e) {
    return fail(400, `XML body: ${(e as Error).message}`);
  }
  const problems = validate('jamf-classic', kind.schema, body, { partial });
  if (problems.length > 0) return fail(400, problems.map((p) => p.message).join('; '));
  const payload = payloadProblem(body);
  if (payload) return fail(409, payload);
  return body;
}

function idAnswer(ctx: RouteContext, status: number, kind: Kind, id: number): void {
  const text = jsonToClassicXml(kind.root, { id });
  ctx.res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', 'content-length': String(Buffer.byteLength(text)) });
  ctx.res.end(text);
}

const notFound = (ctx: RouteContext): void => classicError(ctx.res, 404, 'Not Found', 'The server has not found anything matching the request URI');

function routesFor(kind: Kind): Route[] {
  const LIST = new RegExp(`^/JSSResource/${kind.plural}$`);
  const ONE = new RegExp(`^/JSSResource/${kind.plural}/(id|name)/([^/]+)$`);
  const routes: Route[] = [
    {
      method: 'GET', pattern: LIST, object: kind.object, handle: (ctx) => {
        const items: Obj[] = kind.list(ctx.server.store).map((i) => ({ [kind.root]: { id: i.id, name: i.name } }));
        if (/application\/json/.test(ctx.req.headers.accept ?? '')) {
          const text = JSON.stringify({ [kind.plural]: classicJsonView(items) });
          ctx.res.writeHead(200, { 'content-type': 'application/json;charset=UTF-8', 'content-length': String(Buffer.byteLength(text)) });
          return void ctx.res.end(text);
        }
        const text = classicXml(kind.plural, items);
        ctx.res.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8', 'content-length': String(Buffer.byteLength(text)) });
        ctx.res.end(text);
      },
    },
    {
      method: 'GET', pattern: ONE, object: kind.object, handle: (ctx) => {
        const id = locate(ctx, kind);
        if (id === undefined) return notFound(ctx);
        send(ctx, 200, kind.root, kind.view(ctx.server.store, id)!);
      },
    },
  ];
  if (kind.create) {
    routes.push({
      method: 'POST', pattern: ONE, object: kind.object, handle: async (ctx) => {
        const body = await xmlBody(ctx, kind, false);
        if (!body) return;
        if (ctx.params[0] !== 'id' || ctx.params[1] !== '0') {
          ctx.server.validationFailures.push(`POST ${ctx.path}: create is modelled as POST …/id/0 only`);
          return classicError(ctx.res, 409, 'Conflict', 'Error: create with POST …/id/0');
        }
        const r = kind.create!(ctx.server.store, body);
        if (typeof r === 'string') return classicError(ctx.res, 409, 'Conflict', r);
        idAnswer(ctx, 201, kind, r);
      },
    });
    routes.push({
      method: 'PUT', pattern: ONE, object: kind.object, handle: async (ctx) => {
        const body = await xmlBody(ctx, kind, true);
        if (!body) return;
        const id = locate(ctx, kind);
        if (id === undefined) return notFound(ctx);
        const err = kind.update!(ctx.server.store, id, body);
        if (err) return classicError(ctx.res, 409, 'Conflict', err);
        idAnswer(ctx, 201, kind, id);
      },
    });
    routes.push({
      method: 'DELETE', pattern: ONE, object: kind.object, handle: async (ctx) => {
        await ctx.body();
        const id = locate(ctx, kind);
        if (id === undefined || !kind.remove!(ctx.server.store, id)) return notFound(ctx);
        idAnswer(ctx, 200, kind, id);
      },
    });
  }
  return routes;
}

export const classicRoutes: Route[] = KINDS.flatMap(routesFor);

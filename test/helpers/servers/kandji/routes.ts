/**
 * The local Kandji server's routes: blueprints (list with the `name` "contains" filter, library items, assign),
 * custom apps (list, get, upload slot, create, update) and custom profiles (list, get, create, update), each body
 * checked against the schemas derived from Kandji's collection (schemas.ts), plus the S3 bucket's POST (s3-post.ts).
 * Answers follow the collection's examples: lists `{count, next, previous, results}` with absolute `next` URLs,
 * creates 201, updates 200, assignment 200 with the blueprint's item ids; errors in the Django REST Framework shapes
 * Kandji's answers have (`{"detail": …}`, `{"field": ["…"]}`; the collection documents no error body, so these are
 * our assumption); an unknown item 404 as the collection's HTML page.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { readPlist } from '../../../../src/formats/plist-read.js';
import { boundaryOf, readMultipart, type UploadedPart } from '../multipart.js';
import { judgePost, presign, s3ErrorXml, type PostedForm } from './s3-post.js';
import { validateBody } from './schemas.js';
import type { KandjiServer, Route, RouteContext, StoredApp, StoredProfile } from './types.js';

const UUID = '([0-9a-f-]{36})';
const FIELD_LIMIT = 1024 * 1024;

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function notFound(res: ServerResponse): void {
  const text = '\n<!doctype html><html lang="en"><head><title>Not Found</title></head><body><h1>Not Found</h1><p>The requested resource was not found on this server.</p></body></html>\n';
  res.writeHead(404, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

let counter = 0;
/** A fresh UUID-shaped id (unique within the process, ordered). */
export function newId(): string {
  counter += 1;
  return `00000000-0000-4000-8000-${counter.toString(16).padStart(12, '0')}`;
}

function stamp(server: KandjiServer): string {
  return new Date(server.options.now()).toISOString().replace('Z', '000Z');
}

/** A validation failure: recorded for the test, answered 400 in DRF's shape. */
function invalid(ctx: RouteContext, problems: string[]): void {
  ctx.server.validationFailures.push(`${ctx.req.method} ${ctx.path}: ${problems.join('; ')}`);
  sendJson(ctx.res, 400, { detail: problems.join('; ') });
}

/** One page of `items` with Kandji's list shape; `next` is an absolute URL with limit/offset. */
function page<T>(ctx: RouteContext, items: T[]): void {
  const limit = Math.max(1, Math.min(Number(ctx.query.get('limit') ?? ctx.server.options.pageSize) || ctx.server.options.pageSize, 300));
  const offset = Math.max(0, Number(ctx.query.get('offset') ?? 0) || 0);
  const at = (o: number): string => {
    const q = new URLSearchParams(ctx.query);
    q.set('limit', String(limit));
    q.set('offset', String(o));
    return `${ctx.server.url}${ctx.path}?${q.toString()}`;
  };
  sendJson(ctx.res, 200, {
    count: items.length,
    next: offset + limit < items.length ? at(offset + limit) : null,
    previous: offset > 0 ? at(Math.max(0, offset - limit)) : null,
    results: items.slice(offset, offset + limit),
  });
}

/** An app as Kandji lists and gets it (no sha256 in those documented answers; `withSha` for create/update answers). */
function appView(server: KandjiServer, a: StoredApp, withSha: boolean): Record<string, unknown> {
  const { sha256, ...rest } = a;
  return { ...rest, file_url: `${server.s3Url}/${server.bucket}/${encodeURIComponent(a.file_key)}?X-Amz-Expires=600`, ...(withSha ? { sha256 } : {}) };
}

function profileView(p: StoredProfile): Record<string, unknown> {
  return { ...p, mdm_identifier: `com.kandji.profile.custom.${p.id}` };
}

async function formOf(ctx: RouteContext): Promise<Record<string, string> | undefined> {
  const type = ctx.req.headers['content-type'] ?? '';
  if (!/^application\/x-www-form-urlencoded/i.test(type)) {
    invalid(ctx, [`content-type ${JSON.stringify(type)}: the collection sends this body urlencoded`]);
    return undefined;
  }
  const params = new URLSearchParams((await ctx.body()).toString('utf8'));
  const out: Record<string, string> = {};
  for (const [k, v] of params) {
    if (k in out) {
      invalid(ctx, [`field ${k} given twice`]);
      return undefined;
    }
    out[k] = v;
  }
  return out;
}

async function jsonOf(ctx: RouteContext): Promise<Record<string, unknown> | undefined> {
  const type = ctx.req.headers['content-type'] ?? '';
  if (!/^application\/json/i.test(type)) {
    invalid(ctx, [`content-type ${JSON.stringify(type)}: expected application/json`]);
    return undefined;
  }
  try {
    const v = JSON.parse((await ctx.body()).toString('utf8')) as unknown;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  invalid(ctx, ['the body is not a JSON object']);
  return undefined;
}

/** A multipart body as text fields + file parts (each part's bytes kept up to 1 MiB: profiles are small). */
async function multipartOf(ctx: RouteContext): Promise<{ fields: Record<string, string>; files: UploadedPart[]; shape: Record<string, unknown> } | undefined> {
  const boundary = boundaryOf(ctx.req.headers['content-type']);
  if (!boundary) {
    invalid(ctx, ['not multipart/form-data with a boundary']);
    return undefined;
  }
  let parts: UploadedPart[];
  try {
    parts = await readMultipart(ctx.stream(), boundary, FIELD_LIMIT);
  } catch (e) {
    if (ctx.req.socket?.destroyed ?? true) return undefined;
    invalid(ctx, [`multipart: ${(e as Error).message}`]);
    return undefined;
  }
  const fields: Record<string, string> = {};
  const shape: Record<string, unknown> = {};
  const files = parts.filter((p) => p.filename !== undefined);
  for (const p of parts) {
    if (p.name in shape) {
      invalid(ctx, [`part ${p.name} given twice`]);
      return undefined;
    }
    if (p.filename !== undefined) shape[p.name] = true;
    else shape[p.name] = fields[p.name] = (p.value ?? Buffer.alloc(0)).toString('utf8');
  }
  return { fields, files, shape };
}

const bool = (v: string | undefined, dflt: boolean): boolean => (v === undefined ? dflt : v === 'true');

/** Kandji appends `_<8 hex>` before the extension of the uploaded name (collection examples). */
function fileKeyFor(server: KandjiServer, name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200);
  const dot = safe.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [safe.slice(0, dot), safe.slice(dot)] : [safe, ''];
  return `companies/companies/d934a231-e183-4951-b0a0-763e20572c1d/library/custom_apps/${stem}_${randomBytes(4).toString('hex')}${ext}`;
}

/** The uploaded file a create / update names: there (else 400), processed (else 503 while processingLeft). */
function uploaded(ctx: RouteContext, fileKey: string): { size: number; sha256: string } | undefined {
  const o = ctx.server.store.objects.get(fileKey);
  if (!o) {
    sendJson(ctx.res, 400, { file_key: ['No uploaded file was found for this file_key.'] });
    ctx.server.validationFailures.push(`${ctx.req.method} ${ctx.path}: file_key names no uploaded file`);
    return undefined;
  }
  if (o.processingLeft > 0) {
    o.processingLeft -= 1;
    sendJson(ctx.res, 503, { detail: 'The uploaded file is still being processed. Try again later.' });
    return undefined;
  }
  return o;
}

function applyAppFields(a: StoredApp, f: Record<string, string>): void {
  if (f.name !== undefined) a.name = f.name;
  for (const k of ['install_type', 'install_enforcement', 'audit_script', 'unzip_location', 'preinstall_script', 'postinstall_script', 'self_service_category_id'] as const) {
    if (f[k] !== undefined) (a as unknown as Record<string, string>)[k] = f[k];
  }
  a.active = bool(f.active, a.active);
  a.restart = bool(f.restart, a.restart);
  a.show_in_self_service = bool(f.show_in_self_service, a.show_in_self_service);
  if (f.self_service_recommended !== undefined) a.self_service_recommended = f.self_service_recommended === 'true';
}

/** Kandji stores the profile with its display name set to the item's name ("XML of profile, including new name"). */
function storedProfileText(text: string, name: string): string {
  const esc = name.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return text.replace(/^([\s\S]*?<plist[^>]*>\s*<dict>)([\s\S]*)$/, (_m, head: string, rest: string) => `${head}${rewriteTopLevelName(rest, esc)}`);
}

/** In the top-level dict's text, the PayloadDisplayName entry not nested in an inner dict. */
function rewriteTopLevelName(rest: string, esc: string): string {
  let depth = 0;
  const re = /<dict>|<\/dict>|<dict\/>|<key>PayloadDisplayName<\/key>\s*<string>[^<]*<\/string>/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(rest))) {
    if (m[0] === '<dict>') depth += 1;
    else if (m[0] === '</dict>') depth -= 1;
    else if (m[0] !== '<dict/>' && depth === 0) return `${rest.slice(0, m.index)}<key>PayloadDisplayName</key>\n\t<string>${esc}</string>${rest.slice(m.index + m[0].length)}`;
  }
  return rest;
}

async function saveProfile(ctx: RouteContext, key: string, existing: StoredProfile | undefined): Promise<void> {
  const body = await multipartOf(ctx);
  if (!body) return;
  const problems = validateBody('form', key, body.shape);
  if (problems.length > 0) return invalid(ctx, problems);
  const file = body.files[0];
  let text = existing?.profile;
  if (file) {
    if (!file.value) return invalid(ctx, ['file: over 1 MiB']);
    text = file.value.toString('utf8');
    const r = readPlist(text, 'file');
    if (!r.root || r.problems.length > 0 || r.root.type !== 'dict') return sendJson(ctx.res, 400, { file: ['The file is not a valid configuration profile.'] });
  }
  const now = stamp(ctx.server);
  const f = body.fields;
  const p: StoredProfile = existing ?? { id: newId(), name: '', active: true, profile: '', runs_on_mac: false, runs_on_iphone: false, runs_on_ipad: false, runs_on_tv: false, runs_on_vision: false, created_at: now, updated_at: now };
  p.name = f.name ?? p.name;
  p.active = bool(f.active, p.active);
  for (const k of ['runs_on_mac', 'runs_on_iphone', 'runs_on_ipad', 'runs_on_tv'] as const) p[k] = bool(f[k], existing ? p[k] : k === 'runs_on_mac');
  p.profile = storedProfileText(text ?? '', p.name);
  p.updated_at = now;
  ctx.server.store.profiles.set(p.id, p);
  sendJson(ctx.res, existing ? 200 : 201, profileView(p));
}

export const kandjiRoutes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/api\/v1\/blueprints$/,
    object: 'blueprint',
    handle: (ctx) => {
      const name = (ctx.query.get('name') ?? '').toLowerCase();
      const list = [...ctx.server.store.blueprints.values()].filter((b) => b.name.toLowerCase().includes(name));
      page(ctx, list.map((b) => ({ id: b.id, name: b.name, icon: 'ss-files', color: 'aqua-500', description: '', params: {}, computers_count: 0, enrollment_code: { code: '123456', is_active: true }, type: b.type })));
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/api/v1/blueprints/${UUID}/list-library-items$`),
    object: 'blueprint',
    handle: (ctx) => {
      const b = ctx.server.store.blueprints.get(ctx.params[0]!);
      if (!b) return notFound(ctx.res);
      const { apps, profiles } = ctx.server.store;
      page(ctx, b.items.map((id) => ({ id, name: apps.get(id)?.name ?? profiles.get(id)?.name ?? '' })));
    },
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/api/v1/blueprints/${UUID}/assign-library-item$`),
    object: 'blueprint',
    handle: async (ctx) => {
      const b = ctx.server.store.blueprints.get(ctx.params[0]!);
      const body = await jsonOf(ctx);
      if (!body) return;
      const problems = validateBody('json', '/api/v1/blueprints/:blueprint_id/assign-library-item POST', body);
      if (problems.length > 0) return invalid(ctx, problems);
      if (!b) return notFound(ctx.res);
      const id = String(body.library_item_id);
      if (b.type === 'classic' && body.assignment_node_id !== undefined) return sendJson(ctx.res, 400, { detail: 'assignment_node_id cannot be provided for Classic Blueprint' });
      if (!ctx.server.store.apps.has(id) && !ctx.server.store.profiles.has(id)) return sendJson(ctx.res, 400, { detail: 'Library Item not found' });
      if (b.items.includes(id)) return sendJson(ctx.res, 400, { detail: b.type === 'map' ? 'Library Item already exists in Assignment Node' : 'Library Item already exists on Blueprint' });
      b.items.push(id);
      sendJson(ctx.res, 200, b.items);
    },
  },
  {
    method: 'GET',
    pattern: /^\/api\/v1\/library\/custom-apps$/,
    object: 'custom-app',
    handle: (ctx) => page(ctx, [...ctx.server.store.apps.values()].map((a) => appView(ctx.server, a, false))),
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/api/v1/library/custom-apps/${UUID}$`),
    object: 'custom-app',
    handle: (ctx) => {
      const a = ctx.server.store.apps.get(ctx.params[0]!);
      return a ? sendJson(ctx.res, 200, appView(ctx.server, a, false)) : notFound(ctx.res);
    },
  },
  {
    method: 'POST',
    pattern: /^\/api\/v1\/library\/custom-apps\/upload$/,
    object: 'upload',
    handle: async (ctx) => {
      const body = await jsonOf(ctx);
      if (!body) return;
      const problems = validateBody('json', '/api/v1/library/custom-apps/upload POST', body);
      if (problems.length > 0) return invalid(ctx, problems);
      const s = ctx.server;
      const now = s.options.now();
      const key = fileKeyFor(s, String(body.name));
      const expiresAt = s.expireNext ? now - 1000 : now + s.options.uploadLifetimeMs;
      s.expireNext = false;
      s.store.slots.set(key, expiresAt);
      const post = presign({ bucketUrl: `${s.s3Url}/${s.bucket}`, bucket: s.bucket, key, creds: s.s3, now, expiresAt, maxBytes: s.options.maxUploadBytes });
      sendJson(ctx.res, 201, { name: body.name, expires: post.expires, post_url: post.postUrl, post_data: post.fields, file_key: key });
    },
  },
  {
    method: 'POST',
    pattern: /^\/api\/v1\/library\/custom-apps$/,
    object: 'custom-app',
    handle: async (ctx) => {
      const f = await formOf(ctx);
      if (!f) return;
      const problems = validateBody('form', '/api/v1/library/custom-apps POST', f);
      if (problems.length > 0) return invalid(ctx, problems);
      const file = uploaded(ctx, f.file_key!);
      if (!file) return;
      const now = stamp(ctx.server);
      const a: StoredApp = { id: newId(), name: '', file_key: f.file_key!, install_type: '', install_enforcement: '', audit_script: '', unzip_location: '', active: true, restart: false, preinstall_script: '', postinstall_script: '', show_in_self_service: false, file_size: file.size, sha256: file.sha256, file_updated: now.replace(/\.\d+Z$/, 'Z'), created_at: now, updated_at: now };
      applyAppFields(a, f);
      ctx.server.store.apps.set(a.id, a);
      sendJson(ctx.res, 201, appView(ctx.server, a, true));
    },
  },
  {
    method: 'PATCH',
    pattern: new RegExp(`^/api/v1/library/custom-apps/${UUID}$`),
    object: 'custom-app',
    handle: async (ctx) => {
      const f = await formOf(ctx);
      if (!f) return;
      const problems = validateBody('form', '/api/v1/library/custom-apps/{library_item_id} PATCH', f);
      if (problems.length > 0) return invalid(ctx, problems);
      const a = ctx.server.store.apps.get(ctx.params[0]!);
      if (!a) return notFound(ctx.res);
      let file: { size: number; sha256: string } | undefined;
      if (f.file_key !== undefined) {
        file = uploaded(ctx, f.file_key);
        if (!file) return;
      }
      const now = stamp(ctx.server);
      applyAppFields(a, f);
      if (file) Object.assign(a, { file_key: f.file_key, file_size: file.size, sha256: file.sha256, file_updated: now.replace(/\.\d+Z$/, 'Z') });
      a.updated_at = now;
      sendJson(ctx.res, 200, appView(ctx.server, a, true));
    },
  },
  {
    method: 'GET',
    pattern: /^\/api\/v1\/library\/custom-profiles$/,
    object: 'custom-profile',
    handle: (ctx) => page(ctx, [...ctx.server.store.profiles.values()].map(profileView)),
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/api/v1/library/custom-profiles/${UUID}$`),
    object: 'custom-profile',
    handle: (ctx) => {
      const p = ctx.server.store.profiles.get(ctx.params[0]!);
      return p ? sendJson(ctx.res, 200, profileView(p)) : notFound(ctx.res);
    },
  },
  {
    method: 'POST',
    pattern: /^\/api\/v1\/library\/custom-profiles$/,
    object: 'custom-profile',
    handle: (ctx) => saveProfile(ctx, '/api/v1/library/custom-profiles POST', undefined),
  },
  {
    method: 'PATCH',
    pattern: new RegExp(`^/api/v1/library/custom-profiles/${UUID}$`),
    object: 'custom-profile',
    handle: (ctx) => {
      const p = ctx.server.store.profiles.get(ctx.params[0]!);
      if (!p) {
        ctx.req.resume();
        return notFound(ctx.res);
      }
      return saveProfile(ctx, '/api/v1/library/custom-profiles/{library_item_id} PATCH', p);
    },
  },
];

/** The bucket's POST (on the S3 listener): the form judged as S3 does, the file hashed as it streams. */
export async function s3Post(ctx: RouteContext): Promise<void> {
  const s = ctx.server;
  const xml = (status: number, code: string, message: string): void => {
    const text = s3ErrorXml(code, message);
    ctx.res.writeHead(status, { 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(text)) });
    ctx.res.end(text);
  };
  if (ctx.path !== `/${s.bucket}`) return xml(404, 'NoSuchBucket', 'The specified bucket does not exist');
  const boundary = boundaryOf(ctx.req.headers['content-type']);
  if (!boundary) return xml(412, 'PreconditionFailed', 'Bucket POST must be of the enclosure-type multipart/form-data');
  let parts: UploadedPart[];
  try {
    parts = await readMultipart(ctx.stream(), boundary, 64 * 1024);
  } catch (e) {
    if (ctx.req.socket?.destroyed ?? true) return;
    return xml(400, 'MalformedPOSTRequest', `The body of your POST request is not well-formed multipart/form-data: ${(e as Error).message}`);
  }
  const form: PostedForm = { fields: [], files: 0 };
  for (const p of parts) {
    if (p.name === 'file') {
      form.files += 1;
      form.file = { size: p.size, sha256: p.sha256, filename: p.filename };
    } else form.fields.push({ name: p.name, value: (p.value ?? Buffer.alloc(0)).toString('utf8'), afterFile: form.files > 0 });
  }
  const verdict = judgePost(form, { bucket: s.bucket, creds: s.s3, now: s.options.now(), authorization: ctx.req.headers.authorization !== undefined });
  if (verdict.status !== 204) return xml(verdict.status, verdict.code!, verdict.message!);
  const key = verdict.key!;
  s.store.objects.set(key, { key, size: form.file!.size, sha256: form.file!.sha256, processingLeft: s.options.processingAnswers });
  ctx.res.writeHead(204, { location: `${s.s3Url}/${s.bucket}/${encodeURIComponent(key)}`, etag: `"${createHash('md5').update(form.file!.sha256).digest('hex')}"` });
  ctx.res.end();
}

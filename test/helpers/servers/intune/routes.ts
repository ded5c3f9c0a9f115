/**
 * The Graph (beta) routes of the local Intune server and its state: four collections — mobileApps,
 * deviceConfigurations, deviceHealthScripts, deviceCustomAttributeShellScripts — with get, list (`$filter=displayName eq '…'`, paging by
 * `@odata.nextLink`), create (201), PATCH (200 with the object), DELETE (204), `/assign` (profiles 200 `{value}`,
 * apps, Remediations and custom attribute scripts 204) and `/assignments`; and the content flow of line-of-business apps under the type cast in
 * any of its three path forms (`…/mobileApps/{id}/microsoft.graph.macOSPkgApp/contentVersions`, `…/graph.macOSPkgApp/…`,
 * or no cast): content versions, files (SAS URI to Azurite after a pending read), `renewUpload` (204, a fresh SAS),
 * `commit` (204; the blob is read back, checked and decrypted, then commitFileSuccess or commitFileFailed).
 * Status codes are those graph-intune.json gives (`success`); every body is validated against its type first.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { checkContent, type EncryptionInfo } from './content.js';
import { validateBody, successStatus } from './schemas.js';
import { graphError, type IntuneServer } from './server.js';
import type { Obj, Reply } from './types.js';

type Collection = 'mobileApps' | 'deviceConfigurations' | 'deviceHealthScripts' | 'deviceCustomAttributeShellScripts';
const AREA: Record<Collection, string> = { mobileApps: 'deviceAppManagement', deviceConfigurations: 'deviceManagement', deviceHealthScripts: 'deviceManagement', deviceCustomAttributeShellScripts: 'deviceManagement' };
const ID_NAME: Record<Collection, string> = { mobileApps: 'mobileApp-id', deviceConfigurations: 'deviceConfiguration-id', deviceHealthScripts: 'deviceHealthScript-id', deviceCustomAttributeShellScripts: 'deviceCustomAttributeShellScript-id' };
/** The member of each `/assign` body that holds the assignments (graph-intune.json, the inline action bodies). */
const ASSIGN_KEY: Record<Collection, string> = { mobileApps: 'mobileAppAssignments', deviceConfigurations: 'assignments', deviceHealthScripts: 'deviceHealthScriptAssignments', deviceCustomAttributeShellScripts: 'deviceManagementScriptAssignments' };
const COLLECTIONS = 'mobileApps|deviceConfigurations|deviceHealthScripts|deviceCustomAttributeShellScripts';
/** The types of app whose content flow is modelled (the casts graph-intune.json describes). */
const LOB_TYPES = ['macOSPkgApp', 'win32LobApp'];

interface ContentFile {
  id: string;
  name: string;
  size: number;
  sizeEncrypted: number;
  isDependency: boolean;
  manifest: string | null;
  uploadState: string;
  createdDateTime: string;
  azureStorageUri: string | null;
  azureStorageUriExpirationDateTime: string | null;
  isCommitted: boolean;
  /** Reads left before a pending state moves on. */
  pendingReads: number;
  container: string;
  policies: { id: string; expiresAt: number; permissions: string }[];
  commit?: Promise<'commitFileSuccess' | 'commitFileFailed'>;
  outcome?: 'commitFileSuccess' | 'commitFileFailed';
}

interface ContentVersion {
  id: string;
  files: Map<string, ContentFile>;
}

/** A body refused by validation, with its answer. */
class Refused {
  constructor(readonly reply: Reply) {}
}

const now = (s: IntuneServer): string => new Date(s.options.now()).toISOString();

export class Store {
  readonly objects: Record<Collection, Map<string, Obj>> = { mobileApps: new Map(), deviceConfigurations: new Map(), deviceHealthScripts: new Map(), deviceCustomAttributeShellScripts: new Map() };
  readonly assignments = new Map<string, Obj[]>();
  readonly content = new Map<string, ContentVersion[]>();
  readonly #containers: string[] = [];
  #seq = 0;

  constructor(readonly server: IntuneServer) {}

  byName(collection: Collection, name: string): Obj[] {
    return [...this.objects[collection].values()].filter((o) => o.displayName === name);
  }

  /** A fresh SAS for a file: a new stored access policy on its container (Azure keeps at most 5). */
  async issueSas(f: ContentFile): Promise<void> {
    const s = this.server;
    if (f.policies.length === 0) {
      await s.storage.createContainer(f.container);
      this.#containers.push(f.container);
    }
    const expiresAt = s.options.now() + s.options.sasLifetimeMs;
    const dead = s.options.expireNextSas > 0;
    if (dead) s.options.expireNextSas--;
    const policy = { id: `p${++this.#seq}`, expiresAt: dead ? s.options.now() - 120_000 : expiresAt, permissions: 'rcw' };
    f.policies = [...f.policies, policy].slice(-5);
    await s.storage.setPolicies(f.container, f.policies);
    f.azureStorageUri = s.storage.sasUri({ container: f.container, blob: `${f.id}.bin`, policyId: policy.id });
    f.azureStorageUriExpirationDateTime = new Date(expiresAt).toISOString();
  }

  async expireAllSas(): Promise<void> {
    const past = this.server.options.now() - 120_000;
    for (const versions of this.content.values())
      for (const v of versions)
        for (const f of v.files.values()) {
          if (f.policies.length === 0) continue;
          f.policies = f.policies.map((p) => ({ ...p, expiresAt: Math.min(p.expiresAt, past) }));
          await this.server.storage.setPolicies(f.container, f.policies);
        }
  }

  /** Read the committed blob back from Azurite and check it against the commit's fileEncryptionInfo. */
  async verify(app: string, cv: string, f: ContentFile, info: EncryptionInfo): Promise<'commitFileSuccess' | 'commitFileFailed'> {
    const s = this.server;
    if (s.options.commitFails > 0) {
      s.options.commitFails--;
      return 'commitFileFailed';
    }
    const blob = await s.storage.read(f.container, `${f.id}.bin`);
    if (!blob) {
      s.commitProblems.push(`app ${app} content version ${cv} file ${f.id}: no committed blob in storage (Put Block List missing)`);
      return 'commitFileFailed';
    }
    const checked = await checkContent(blob.body, info, f, s.options.keepContentUpTo);
    if (checked.problems.length > 0) {
      s.commitProblems.push(...checked.problems.map((p) => `app ${app} content version ${cv} file ${f.id}: ${p}`));
      return 'commitFileFailed';
    }
    s.contents.push({ app, contentVersion: cv, file: f.id, name: f.name, size: checked.size, sha256: checked.sha256, ...(checked.bytes ? { bytes: checked.bytes } : {}) });
    return 'commitFileSuccess';
  }

  async dispose(): Promise<void> {
    // Blobs live in Azurite's memory, shared by the test file: drop ours.
    for (const c of this.#containers.splice(0)) await this.server.storage.deleteContainer(c).catch(() => undefined);
  }
}

function fileView(f: ContentFile): Obj {
  return {
    '@odata.type': '#microsoft.graph.mobileAppContentFile',
    id: f.id,
    azureStorageUri: f.azureStorageUri,
    isCommitted: f.isCommitted,
    isDependency: f.isDependency,
    createdDateTime: f.createdDateTime,
    name: f.name,
    size: f.size,
    sizeEncrypted: f.sizeEncrypted,
    azureStorageUriExpirationDateTime: f.azureStorageUriExpirationDateTime,
    manifest: f.manifest,
    uploadState: f.uploadState,
    isFrameworkFile: false,
  };
}

/** `displayName eq 'x'` (OData quotes doubled), the only filter modelled; anything else → undefined. */
function parseFilter(f: string): string | undefined {
  const m = /^displayName eq '((?:[^']|'')*)'$/.exec(f.trim());
  return m ? m[1]!.replace(/''/g, "'") : undefined;
}

export function graphRoutes(server: IntuneServer): (method: string, path: string, query: URLSearchParams, req: IncomingMessage, raw: Buffer) => Promise<Reply> {
  const store = server.store;
  const fail = (where: string, problems: { message: string }[]): Reply => {
    for (const p of problems) server.validationFailures.push(`${where}: ${p.message}`);
    return graphError(400, 'BadRequest', `${where}: ${problems.map((p) => p.message).join('; ')}`);
  };

  /** The JSON body, validated against `template`'s description; a Reply when it is refused. */
  const body = (where: string, template: string, method: string, req: IncomingMessage, raw: Buffer): Obj | Refused => {
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return new Refused(fail(where, [{ message: `content-type ${String(req.headers['content-type'])}, expected application/json` }]));
    let v: unknown;
    try {
      v = JSON.parse(raw.toString('utf8'));
    } catch {
      return new Refused(fail(where, [{ message: 'the body is not JSON' }]));
    }
    const problems = validateBody(template, method, v);
    if (problems.length > 0) return new Refused(fail(where, problems));
    return v as Obj;
  };

  const list = (collection: Collection, query: URLSearchParams, items: Obj[]): Reply => {
    const skip = Number(query.get('$skiptoken') ?? '0') || 0;
    const page = items.slice(skip, skip + server.options.pageSize);
    const next = skip + page.length < items.length ? new URLSearchParams(query) : undefined;
    next?.set('$skiptoken', String(skip + page.length));
    return { status: 200, body: { '@odata.context': `${server.graphUrl}/$metadata#${AREA[collection]}/${collection}`, value: page, ...(next ? { '@odata.nextLink': `${server.graphUrl}/${AREA[collection]}/${collection}?${next.toString()}` } : {}) } };
  };

  const collectionRoute = async (collection: Collection, method: string, query: URLSearchParams, req: IncomingMessage, raw: Buffer): Promise<Reply> => {
    const template = `/${AREA[collection]}/${collection}`;
    if (method === 'GET') {
      const filter = query.get('$filter');
      let items = [...store.objects[collection].values()];
      if (filter !== null) {
        if (server.options.refuseFilter.has(`${AREA[collection]}/${collection}`)) return graphError(400, 'BadRequest', `Invalid filter clause: filtering on displayName is not supported for ${collection}`);
        const name = parseFilter(filter);
        if (name === undefined) return fail(`GET ${template}`, [{ message: `$filter ${JSON.stringify(filter)} is not modelled (only displayName eq '…')` }]);
        items = items.filter((o) => o.displayName === name);
      }
      return list(collection, query, items);
    }
    if (method !== 'POST') return graphError(405, 'BadRequest', `${method} is not allowed on ${template}`);
    const b = body(`POST ${template}`, template, 'POST', req, raw);
    if (b instanceof Refused) return b.reply;
    const id = randomUUID();
    const o: Obj = { ...b, id, createdDateTime: now(server), lastModifiedDateTime: now(server) };
    if (collection === 'mobileApps') Object.assign(o, { committedContentVersion: b.committedContentVersion ?? null, isAssigned: false, publishingState: 'notPublished', uploadState: 0, size: 0 });
    if (collection === 'deviceConfigurations') Object.assign(o, { version: 1, supportsScopeTags: true, roleScopeTagIds: ['0'] });
    if (collection === 'deviceHealthScripts') Object.assign(o, { version: '1', isGlobalScript: false, roleScopeTagIds: ['0'] });
    if (collection === 'deviceCustomAttributeShellScripts') Object.assign(o, { roleScopeTagIds: b.roleScopeTagIds ?? ['0'] });
    store.objects[collection].set(id, o);
    return { status: successStatus(template, 'POST'), body: o };
  };

  const itemRoute = async (collection: Collection, id: string, rest: string, method: string, req: IncomingMessage, raw: Buffer): Promise<Reply> => {
    const o = store.objects[collection].get(id);
    const base = `/${AREA[collection]}/${collection}/{${ID_NAME[collection]}}`;
    if (!o) return graphError(404, 'ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
    if (rest === '') {
      if (method === 'GET') return { status: 200, body: o };
      if (method === 'DELETE') {
        store.objects[collection].delete(id);
        return { status: 204 };
      }
      if (method !== 'PATCH') return graphError(405, 'BadRequest', `${method} is not allowed`);
      const b = body(`PATCH ${base}`, base, 'PATCH', req, raw);
      if (b instanceof Refused) return b.reply;
      if (b['@odata.type'] !== undefined && b['@odata.type'] !== o['@odata.type']) return fail(`PATCH ${base}`, [{ message: `@odata.type ${String(b['@odata.type'])} differs from the object's ${String(o['@odata.type'])}` }]);
      if (collection === 'mobileApps' && typeof b.committedContentVersion === 'string') {
        const cv = (store.content.get(id) ?? []).find((v) => v.id === b.committedContentVersion);
        const files = cv ? [...cv.files.values()] : [];
        if (!cv || files.length === 0 || files.some((f) => f.uploadState !== 'commitFileSuccess')) return graphError(400, 'BadRequest', `Content version ${b.committedContentVersion} of app ${id} is not committed`);
        o.publishingState = 'published';
        o.size = files.reduce((n, f) => n + f.size, 0);
      }
      Object.assign(o, b, { lastModifiedDateTime: now(server) });
      if (collection === 'deviceConfigurations') o.version = Number(o.version) + 1;
      return { status: successStatus(base, 'PATCH'), body: o };
    }
    if (rest === '/assignments' && method === 'GET') return { status: 200, body: { value: store.assignments.get(id) ?? [] } };
    if (rest === '/assign' && method === 'POST') {
      const template = `${base}/assign`;
      const b = body(`POST ${template}`, template, 'POST', req, raw);
      if (b instanceof Refused) return b.reply;
      const key = ASSIGN_KEY[collection];
      const given = (Array.isArray(b[key]) ? b[key] : []) as Obj[];
      // Assign replaces the object's assignments (Graph's documented behaviour for these actions).
      const made = given.map((a) => ({ ...a, id: `${id}_${randomUUID()}` }));
      store.assignments.set(id, made);
      if (collection === 'mobileApps') o.isAssigned = made.length > 0;
      const status = successStatus(template, 'POST');
      return status === 204 ? { status } : { status, body: { value: made } };
    }
    return unknown(method, `/${AREA[collection]}/${collection}/${id}${rest}`);
  };

  const unknown = (method: string, path: string): Reply => {
    server.unknownRequests.push(`${method} ${path}`);
    return graphError(404, 'UnknownError', `No HTTP resource was found that matches the request URI ${path}`);
  };

  const contentRoute = async (appId: string, cast: string | undefined, cvId: string | undefined, fileId: string | undefined, action: string | undefined, method: string, query: URLSearchParams, req: IncomingMessage, raw: Buffer): Promise<Reply> => {
    const app = store.objects.mobileApps.get(appId);
    if (!app) return graphError(404, 'ResourceNotFound', `Resource '${appId}' does not exist`);
    const type = String(app['@odata.type'] ?? '').replace('#microsoft.graph.', '');
    if (cast !== undefined && cast.replace(/^microsoft\./, '') !== `graph.${type}`) return graphError(400, 'BadRequest', `The type cast segment ${cast} does not match the app's type ${type}`);
    if (!LOB_TYPES.includes(type)) return graphError(400, 'BadRequest', `${type} has no content versions`);
    const t = `/deviceAppManagement/mobileApps/{mobileApp-id}/graph.${type}/contentVersions`;
    const versions = store.content.get(appId) ?? [];
    store.content.set(appId, versions);
    if (cvId === undefined) {
      if (method === 'GET') return { status: 200, body: { value: versions.map((v) => ({ '@odata.type': '#microsoft.graph.mobileAppContent', id: v.id })) } };
      const b = body(`POST ${t}`, t, 'POST', req, raw);
      if (b instanceof Refused) return b.reply;
      const v: ContentVersion = { id: String(versions.length + 1), files: new Map() };
      versions.push(v);
      return { status: successStatus(t, 'POST'), body: { '@odata.type': '#microsoft.graph.mobileAppContent', id: v.id } };
    }
    const cv = versions.find((v) => v.id === cvId);
    if (!cv) return graphError(404, 'ResourceNotFound', `Content version ${cvId} does not exist`);
    const tc = `${t}/{mobileAppContent-id}`;
    if (fileId === undefined) return method === 'GET' ? { status: 200, body: { '@odata.type': '#microsoft.graph.mobileAppContent', id: cv.id } } : graphError(405, 'BadRequest', `${method} is not allowed`);
    const tf = `${tc}/files`;
    if (fileId === '') {
      if (method === 'GET') return { status: 200, body: { value: [...cv.files.values()].map(fileView) } };
      const b = body(`POST ${tf}`, tf, 'POST', req, raw);
      if (b instanceof Refused) return b.reply;
      const missing = ['name', 'size', 'sizeEncrypted'].filter((k) => b[k] === undefined || b[k] === null);
      if (missing.length > 0) return fail(`POST ${tf}`, [{ message: `${missing.join(', ')} missing (the service needs the file name and both sizes)` }]);
      const f: ContentFile = {
        id: randomUUID(),
        name: String(b.name),
        size: Number(b.size),
        sizeEncrypted: Number(b.sizeEncrypted),
        isDependency: b.isDependency === true,
        manifest: typeof b.manifest === 'string' ? b.manifest : null,
        uploadState: 'azureStorageUriRequestPending',
        createdDateTime: now(server),
        azureStorageUri: null,
        azureStorageUriExpirationDateTime: null,
        isCommitted: false,
        pendingReads: server.options.storageUriPendingPolls,
        container: `intune-${randomUUID().slice(0, 18)}`,
        policies: [],
      };
      cv.files.set(f.id, f);
      if (f.pendingReads <= 0) await advance(f);
      return { status: successStatus(tf, 'POST'), body: fileView(f) };
    }
    const f = cv.files.get(fileId);
    if (!f) return graphError(404, 'ResourceNotFound', `File ${fileId} does not exist`);
    const ti = `${tf}/{mobileAppContentFile-id}`;
    if (action === undefined) {
      if (method !== 'GET') return graphError(405, 'BadRequest', `${method} is not allowed`);
      if (f.pendingReads > 0) f.pendingReads--;
      else await advance(f);
      return { status: 200, body: fileView(f) };
    }
    if (method !== 'POST') return graphError(405, 'BadRequest', `${method} is not allowed`);
    if (action === 'renewUpload') {
      // No body is described; an empty JSON object is accepted as the empty body.
      if (raw.length > 0) {
        const b = body(`POST ${ti}/renewUpload`, `${ti}/renewUpload`, 'POST', req, raw);
        if (b instanceof Refused) return b.reply;
      }
      if (!/^azureStorageUri/.test(f.uploadState)) return graphError(400, 'BadRequest', `The file is in state ${f.uploadState}; renewUpload needs an upload in progress`);
      f.uploadState = 'azureStorageUriRenewalPending';
      f.pendingReads = server.options.storageUriPendingPolls;
      if (f.pendingReads <= 0) await advance(f);
      return { status: successStatus(`${ti}/renewUpload`, 'POST') };
    }
    const b = body(`POST ${ti}/commit`, `${ti}/commit`, 'POST', req, raw);
    if (b instanceof Refused) return b.reply;
    if (!/^azureStorageUri(Request|Renewal)Success$/.test(f.uploadState)) return graphError(400, 'BadRequest', `The file is in state ${f.uploadState}; commit needs a completed upload`);
    const info = (b.fileEncryptionInfo ?? {}) as EncryptionInfo;
    f.uploadState = 'commitFilePending';
    f.pendingReads = server.options.commitPendingPolls;
    f.commit = store.verify(appId, cv.id, f, info);
    void f.commit.then((o) => void (f.outcome = o));
    return { status: successStatus(`${ti}/commit`, 'POST') };
  };

  /** A pending state moves on (the read that sees it move has already waited its pendingReads). */
  const advance = async (f: ContentFile): Promise<void> => {
    if (f.uploadState === 'azureStorageUriRequestPending' || f.uploadState === 'azureStorageUriRenewalPending') {
      await store.issueSas(f);
      f.uploadState = f.uploadState === 'azureStorageUriRequestPending' ? 'azureStorageUriRequestSuccess' : 'azureStorageUriRenewalSuccess';
    } else if (f.uploadState === 'commitFilePending' && f.commit) {
      const outcome = await f.commit;
      f.uploadState = outcome;
      f.isCommitted = outcome === 'commitFileSuccess';
    }
  };

  return async (method, path, query, req, raw) => {
    let m = new RegExp(`^/(deviceAppManagement|deviceManagement)/(${COLLECTIONS})$`).exec(path);
    if (m && AREA[m[2] as Collection] === m[1]) return collectionRoute(m[2] as Collection, method, query, req, raw);
    m = /^\/deviceAppManagement\/mobileApps\/([^/]+)(?:\/((?:microsoft\.)?graph\.[A-Za-z0-9]+))?\/contentVersions(?:\/([^/]+)(?:\/files(?:\/([^/]+)(?:\/(commit|renewUpload))?)?)?)?$/.exec(path);
    if (m) {
      const hasFiles = path.includes('/files');
      return contentRoute(decodeURIComponent(m[1]!), m[2], m[3] && decodeURIComponent(m[3]), hasFiles ? (m[4] ? decodeURIComponent(m[4]) : '') : undefined, m[5], method, query, req, raw);
    }
    m = /^\/deviceAppManagement\/mobileApps\/([^/]+)\/((?:microsoft\.)?graph\.[A-Za-z0-9]+)$/.exec(path);
    if (m && method === 'GET') {
      const o = store.objects.mobileApps.get(decodeURIComponent(m[1]!));
      if (!o) return graphError(404, 'ResourceNotFound', `Resource '${m[1]}' does not exist`);
      if (String(o['@odata.type']) !== `#microsoft.${m[2]!.replace(/^microsoft\./, '')}`) return graphError(400, 'BadRequest', `The app is not a ${m[2]}`);
      return { status: 200, body: o };
    }
    m = new RegExp(`^/(deviceAppManagement|deviceManagement)/(${COLLECTIONS})/([^/]+)(/assign|/assignments)?$`).exec(path);
    if (m && AREA[m[2] as Collection] === m[1]) return itemRoute(m[2] as Collection, decodeURIComponent(m[3]!), m[4] ?? '', method, req, raw);
    return unknown(method, path);
  };
}

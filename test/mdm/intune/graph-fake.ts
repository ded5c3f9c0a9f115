/**
 * A small Graph (Intune) + Entra token + Blob server on 127.0.0.1 for the driver's own tests, following Microsoft's
 * published contract (graph-intune.json, azure-blob.md): collections as {value:[…]}, create 201, PATCH 204, profile
 * assign 200 {value}, app and Remediation assign 204, the content-file states, Put Block / Put Block List 201, commit
 * 204 then commitFileSuccess once the blob decrypts (AES-256-CBC) and its HMAC and SHA-256 match. The faithful server
 * with Azurite and schema validation is helper I's test/helpers/servers/intune; this one is deliberately small.
 * Faults: `fail` injects an answer for the next matching request; `blob403Once` makes the next Put Block 403 (SAS
 * expired); `commitPendingPolls` keeps a commit pending for that many reads.
 */
import { createDecipheriv, createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Obj = Record<string, unknown>;

export interface FakeGraph {
  base: string;
  graphUrl: string;
  log: string[];
  objects: Map<string, Obj>;
  blobs: Map<string, Buffer>;
  decrypted: Map<string, Buffer>;
  fail: { match: RegExp; status: number; headers?: Record<string, string>; body?: string }[];
  /** The next request matching one of these is carried out, then its connection dropped before the answer. */
  dropAfter: RegExp[];
  /** Collections that answer 400 to a `$filter` (as some Intune collections do for some properties). */
  refuseFilter: Set<string>;
  blob403Once: boolean;
  commitPendingPolls: number;
  /** The next commit ends in commitFileFailed whatever was uploaded. */
  commitFails: boolean;
  /** Lifetime of the SAS URIs handed out (ms). */
  sasLifetimeMs: number;
  tokenLifetime: number;
  close(): Promise<void>;
}

async function read(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export async function startFakeGraph(): Promise<FakeGraph> {
  let seq = 0;
  const id = (): string => `id-${++seq}`;
  const objects = new Map<string, Obj>();
  const assignments = new Map<string, Obj[]>();
  const blocks = new Map<string, Map<string, Buffer>>();
  const fake = {
    log: [] as string[],
    objects,
    blobs: new Map<string, Buffer>(),
    decrypted: new Map<string, Buffer>(),
    fail: [] as FakeGraph['fail'],
    dropAfter: [] as RegExp[],
    refuseFilter: new Set<string>(),
    blob403Once: false,
    commitPendingPolls: 0,
    commitFails: false,
    sasLifetimeMs: 3600_000,
    tokenLifetime: 3600,
    base: '',
  };
  const tokens = new Set<string>();
  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void => {
    if ((res as ServerResponse & { drop?: boolean }).drop) {
      res.socket?.destroy();
      return;
    }
    res.writeHead(status, { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }).end(body !== undefined ? JSON.stringify(body) : undefined);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await read(req);
    const u = new URL(req.url ?? '/', 'http://x');
    const m = req.method ?? 'GET';
    const p = decodeURIComponent(u.pathname);
    fake.log.push(`${m} ${p}${u.searchParams.get('comp') ? `?comp=${u.searchParams.get('comp')}` : ''}`);
    const d = fake.dropAfter.findIndex((x) => x.test(`${m} ${p}`));
    if (d >= 0) {
      fake.dropAfter.splice(d, 1);
      (res as ServerResponse & { drop?: boolean }).drop = true;
    }
    const f = fake.fail.findIndex((x) => x.match.test(`${m} ${p}`));
    if (f >= 0) {
      const x = fake.fail.splice(f, 1)[0]!;
      res.writeHead(x.status, x.headers ?? {}).end(x.body ?? '');
      return;
    }
    if (/^\/[^/]+\/oauth2\/v2\.0\/token$/.test(p)) {
      const t = `tok-${++seq}`;
      tokens.add(t);
      return send(res, 200, { token_type: 'Bearer', expires_in: fake.tokenLifetime, access_token: t });
    }
    if (p.startsWith('/blob/')) {
      const name = p.slice('/blob/'.length);
      if (u.searchParams.get('sig') !== 'ok') return void res.writeHead(403).end('<Error><Code>AuthenticationFailed</Code></Error>');
      if (u.searchParams.get('comp') === 'block') {
        if (fake.blob403Once) {
          fake.blob403Once = false;
          return void res.writeHead(403).end('<Error><Code>AuthenticationFailed</Code></Error>');
        }
        const bid = u.searchParams.get('blockid') ?? '';
        const list = blocks.get(name) ?? new Map<string, Buffer>();
        list.set(bid, raw);
        blocks.set(name, list);
        return void res.writeHead(201).end();
      }
      if (u.searchParams.get('comp') === 'blocklist') {
        const ids = [...raw.toString('utf8').matchAll(/<Latest>([^<]+)<\/Latest>/g)].map((x) => x[1]!);
        const list = blocks.get(name);
        if (!list || ids.some((i) => !list.has(i))) return void res.writeHead(400).end('<Error><Code>InvalidBlockList</Code></Error>');
        fake.blobs.set(name, Buffer.concat(ids.map((i) => list.get(i)!)));
        return void res.writeHead(201).end();
      }
      return void res.writeHead(400).end();
    }
    const auth = req.headers.authorization?.replace(/^Bearer /, '');
    if (!auth || !tokens.has(auth)) return send(res, 401, { error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty or invalid.' } });
    const body = raw.length > 0 ? (JSON.parse(raw.toString('utf8')) as Obj) : {};
    const path = p.replace(/^\/beta/, '').replace(/\/(?:microsoft\.)?graph\.(?:macOSPkgApp|win32LobApp)\//, '/');
    const coll = /^\/(deviceManagement\/deviceConfigurations|deviceAppManagement\/mobileApps|deviceManagement\/deviceHealthScripts)$/.exec(path);
    if (coll) {
      const kind = coll[1]!;
      if (m === 'GET') {
        if (u.searchParams.has('$filter') && fake.refuseFilter.has(kind)) return send(res, 400, { error: { code: 'BadRequest', message: 'Invalid filter clause' } });
        const name = /displayName eq '(.*)'$/.exec(u.searchParams.get('$filter') ?? '')?.[1]?.replace(/''/g, "'");
        return send(res, 200, { value: [...objects.values()].filter((o) => o._kind === kind && (name === undefined || o.displayName === name)).map(({ _kind, ...o }) => o) });
      }
      const o = { ...body, id: id(), _kind: kind };
      objects.set(o.id, o);
      const { _kind, ...shown } = o;
      return send(res, 201, shown);
    }
    const item = /^\/(?:deviceManagement\/deviceConfigurations|deviceAppManagement\/mobileApps|deviceManagement\/deviceHealthScripts)\/([^/]+)(\/.*)?$/.exec(path);
    if (!item || !objects.has(item[1]!)) return send(res, 404, { error: { code: 'ResourceNotFound', message: 'not found' } });
    const o = objects.get(item[1]!)!;
    const rest = item[2] ?? '';
    if (rest === '') {
      if (m === 'GET') {
        const { _kind, ...shown } = o;
        return send(res, 200, shown);
      }
      if (m === 'PATCH') {
        Object.assign(o, body);
        return send(res, 204);
      }
    }
    if (rest === '/assign' && m === 'POST') {
      const list = (body.assignments ?? body.mobileAppAssignments ?? body.deviceHealthScriptAssignments) as Obj[];
      assignments.set(o.id as string, list.map((a) => ({ ...a, id: id() })));
      return o._kind === 'deviceManagement/deviceConfigurations' ? send(res, 200, { value: assignments.get(o.id as string) }) : send(res, 204);
    }
    if (rest === '/assignments' && m === 'GET') return send(res, 200, { value: assignments.get(o.id as string) ?? [] });
    const cvs = ((o._cvs as Obj[] | undefined) ??= []);
    if (rest === '/contentVersions') {
      if (m === 'POST') {
        const cv = { id: String(cvs.length + 1), files: [] as Obj[] };
        cvs.push(cv);
        return send(res, 201, { id: cv.id });
      }
      return send(res, 200, { value: cvs.map((c) => ({ id: c.id })) });
    }
    const cvm = /^\/contentVersions\/([^/]+)\/files(?:\/([^/]+)(\/commit|\/renewUpload)?)?$/.exec(rest);
    const cv = cvm && cvs.find((c) => c.id === cvm[1]);
    if (!cvm || !cv) return send(res, 404, { error: { code: 'ResourceNotFound', message: 'no such content' } });
    const files = cv.files as Obj[];
    const sas = (fid: string): Obj => ({ azureStorageUri: `${fake.base}/blob/${fid}?sv=2020&sig=ok`, azureStorageUriExpirationDateTime: new Date(Date.now() + fake.sasLifetimeMs).toISOString() });
    if (!cvm[2]) {
      if (m === 'POST') {
        const file = { ...body, id: id(), uploadState: 'azureStorageUriRequestSuccess', isCommitted: false };
        Object.assign(file, sas(file.id));
        files.push(file);
        return send(res, 201, file);
      }
      return send(res, 200, { value: files });
    }
    const file = files.find((x) => x.id === cvm[2]);
    if (!file) return send(res, 404, { error: { code: 'ResourceNotFound', message: 'no such file' } });
    if (cvm[3] === '/renewUpload') {
      Object.assign(file, sas(file.id as string), { uploadState: 'azureStorageUriRenewalSuccess' });
      return send(res, 204);
    }
    if (cvm[3] === '/commit') {
      const info = body.fileEncryptionInfo as Record<string, string>;
      const blob = fake.blobs.get(file.id as string) ?? Buffer.alloc(0);
      let ok = false;
      try {
        const mac = createHmac('sha256', Buffer.from(info.macKey!, 'base64')).update(blob.subarray(32)).digest();
        const d = createDecipheriv('aes-256-cbc', Buffer.from(info.encryptionKey!, 'base64'), blob.subarray(32, 48));
        const plain = Buffer.concat([d.update(blob.subarray(48)), d.final()]);
        ok = mac.equals(blob.subarray(0, 32)) && mac.toString('base64') === info.mac && createHash('sha256').update(plain).digest('base64') === info.fileDigest && plain.length === file.size && blob.length === file.sizeEncrypted;
        if (ok) fake.decrypted.set(file.id as string, plain);
      } catch {
        // a blob that does not decrypt: the commit fails
      }
      if (fake.commitFails) {
        fake.commitFails = false;
        ok = false;
      }
      file.uploadState = fake.commitPendingPolls > 0 ? 'commitFilePending' : ok ? 'commitFileSuccess' : 'commitFileFailed';
      file._final = ok ? 'commitFileSuccess' : 'commitFileFailed';
      file.isCommitted = ok && fake.commitPendingPolls === 0;
      return send(res, 204);
    }
    if (m === 'GET') {
      if (file.uploadState === 'commitFilePending') {
        if (fake.commitPendingPolls > 0) fake.commitPendingPolls -= 1;
        else {
          file.uploadState = file._final;
          file.isCommitted = file._final === 'commitFileSuccess';
        }
      }
      const { _final, ...shown } = file;
      return send(res, 200, shown);
    }
    return send(res, 405, { error: { code: 'BadRequest', message: 'method' } });
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => send(res, 500, { error: { code: 'InternalServerError', message: String(e) } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.base = base;
  return Object.assign(fake, { graphUrl: `${base}/beta`, close: () => new Promise<void>((r) => server.close(() => r())) });
}

/**
 * A local Microsoft Intune — Microsoft Graph (beta) and the Entra ID token endpoint — on 127.0.0.1 and a free port,
 * whose content uploads land in Azurite (Microsoft's Azure Storage emulator). It follows Microsoft's published
 * description copied into test/fixtures/vendor-api/intune/graph-intune.json and validates every request body against
 * it (schemas.ts). See README.md in this folder for what it models and what it does not.
 *
 * This file is the frame: listening, the request log, tokens, fault injection and Graph's error shape. The Graph
 * routes are in routes.ts, the token endpoint in token.ts, the content check in content.ts, Azurite in azurite.ts.
 * It imports nothing from vitest (vitest.ts wraps it for tests), so a bench can run it alone.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenLocal } from '../local-http.js';
import { BlobAccount } from './azurite.js';
import { graphRoutes, Store } from './routes.js';
import { tokenRoute } from './token.js';
import type { AppClient, ContentRecord, Fault, IntuneServerOptions, LogEntry, Reply } from './types.js';

export type * from './types.js';

export const BODY_LIMIT = 4 * 1024 * 1024;

export interface IntuneServer {
  /** `http://127.0.0.1:port`: the authority (token endpoint `{url}/{tenant}/oauth2/v2.0/token`). */
  url: string;
  /** `{url}/beta`: the Graph service root. */
  graphUrl: string;
  tenantId: string;
  clients: AppClient[];
  options: Required<Omit<IntuneServerOptions, 'clients' | 'tenantId'>> & {
    /** The next n commits end in commitFileFailed whatever was uploaded. */
    commitFails: number;
    /** Reads of a committed file that show commitFilePending before the outcome. */
    commitPendingPolls: number;
    /** Collections (`deviceManagement/deviceHealthScripts`) that answer 400 to `$filter`. */
    refuseFilter: Set<string>;
    /** The next n SAS URIs are handed out already expired in Azurite while their expiry date says an hour (skew). */
    expireNextSas: number;
  };
  /** Called after each request is answered (a test interrupts a client at a chosen request). */
  after?: (e: LogEntry) => void;
  store: Store;
  storage: BlobAccount;
  log: LogEntry[];
  /** Every request body that does not match Graph's description; tests assert it stays empty. */
  validationFailures: string[];
  /** Requests to paths the server does not model. */
  unknownRequests: string[];
  /** Why a commit ended in commitFileFailed because of what was uploaded (not an injected failure). */
  commitProblems: string[];
  /** Every content file committed successfully, decrypted. */
  contents: ContentRecord[];
  faultsFired: string[];
  /** Access tokens handed out, for a test that asserts none is printed. */
  tokens: Map<string, { client: string; expiresAt: number }>;
  inject(f: Fault): void;
  /** Every token handed out stops working now. */
  expireTokens(): void;
  /** Every SAS handed out stops working now (its stored access policy expires in Azurite). */
  expireSas(): Promise<void>;
  /** The Graph requests as `METHOD /path/shape` (ids as {id}, content versions as {cv}), optionally only writes. */
  sequence(o?: { writesOnly?: boolean }): string[];
  resetLog(): void;
  close(): Promise<void>;
}

/** Graph's error body: `{"error":{code, message, innerError:{request-id, date}}}` (graph-intune.json errors.shape). */
export function graphError(status: number, code: string, message: string, headers: Record<string, string> = {}): Reply {
  return { status, headers, body: { error: { code, message, innerError: { 'request-id': randomUUID(), 'client-request-id': randomUUID(), date: new Date().toISOString().replace(/\.\d+Z$/, '') } } } };
}

function shape(path: string): string {
  return path
    .replace(/\?.*$/, '')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '{id}')
    .replace(/\/contentVersions\/\d+/g, '/contentVersions/{cv}');
}

export async function startIntuneServer(opts: IntuneServerOptions): Promise<IntuneServer> {
  const faults: (Fault & { seen: number; fired: number })[] = [];
  const server: IntuneServer = {
    url: '',
    graphUrl: '',
    tenantId: opts.tenantId ?? 'contoso.onmicrosoft.com',
    clients: opts.clients ?? [{ id: randomUUID(), secret: `cs~${randomBytes(18).toString('base64url')}` }],
    options: {
      storageUrl: opts.storageUrl,
      tokenLifetimeSec: opts.tokenLifetimeSec ?? 3599,
      sasLifetimeMs: opts.sasLifetimeMs ?? 3_600_000,
      storageUriPendingPolls: opts.storageUriPendingPolls ?? 1,
      pageSize: opts.pageSize ?? 100,
      keepContentUpTo: opts.keepContentUpTo ?? 64 * 1024 * 1024,
      now: opts.now ?? Date.now,
      commitFails: 0,
      commitPendingPolls: 0,
      refuseFilter: new Set(),
      expireNextSas: 0,
    },
    store: undefined as unknown as Store,
    storage: new BlobAccount(opts.storageUrl),
    log: [],
    validationFailures: [],
    unknownRequests: [],
    commitProblems: [],
    contents: [],
    faultsFired: [],
    tokens: new Map(),
    inject: (f) => void faults.push({ ...f, seen: 0, fired: 0 }),
    expireTokens: () => {
      for (const t of server.tokens.values()) t.expiresAt = Math.min(t.expiresAt, server.options.now() - 1);
    },
    expireSas: () => server.store.expireAllSas(),
    sequence: (o = {}) => server.log.filter((e) => e.kind !== 'auth' && (!o.writesOnly || e.kind === 'write')).map((e) => `${e.method} ${shape(e.path)}`),
    resetLog: () => {
      server.log.length = 0;
      server.faultsFired.length = 0;
    },
    close: async () => undefined,
  };
  server.store = new Store(server);
  const routes = graphRoutes(server);

  const dueFault = (method: string, path: string): Fault | undefined => {
    for (const f of faults) {
      if (f.method && f.method !== method) continue;
      if (f.path && !f.path.test(path)) continue;
      f.seen++;
      if (f.seen <= (f.skip ?? 0) || f.fired >= (f.times ?? 1)) continue;
      f.fired++;
      return f;
    }
    return undefined;
  };

  const send = (res: ServerResponse, r: Reply): void => {
    const text = r.body === undefined ? '' : JSON.stringify(r.body);
    res.writeHead(r.status, { ...(r.body === undefined ? {} : { 'content-type': 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8' }), 'content-length': String(Buffer.byteLength(text)), 'request-id': randomUUID(), ...r.headers });
    res.end(text);
  };

  const readBody = async (req: IncomingMessage): Promise<Buffer | 'too-large'> => {
    const parts: Buffer[] = [];
    let n = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > BODY_LIMIT) return 'too-large';
      parts.push(c);
    }
    return Buffer.concat(parts);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    const isToken = /^\/[^/]+\/oauth2\/v2\.0\/token$/.test(path);
    const entry: LogEntry = { method, path: `${path}${url.search}`, kind: isToken ? 'auth' : method === 'GET' ? 'read' : 'write', status: 0 };
    server.log.push(entry);
    const drop = (): void => {
      entry.status = -1;
      req.socket.destroy();
    };
    const fault = dueFault(method, path);
    if (fault) {
      const a = fault.action;
      const what = 'status' in a ? String(a.status) : 'reset' in a ? `reset-${a.reset}` : 'token-expired';
      entry.fault = what;
      server.faultsFired.push(`${what} ${method} ${path}`);
      if ('status' in a) {
        req.resume();
        const code = a.code ?? (a.status === 429 ? 'TooManyRequests' : a.status === 401 ? 'InvalidAuthenticationToken' : a.status >= 500 ? 'ServiceUnavailable' : 'BadRequest');
        const r = graphError(a.status, code, a.status === 429 ? 'Too many requests. Please retry after the time given in Retry-After.' : `Injected HTTP ${a.status}`, a.retryAfter !== undefined ? { 'retry-after': String(a.retryAfter) } : {});
        entry.status = r.status;
        return send(res, r);
      }
      if ('reset' in a && a.reset === 'before') return drop();
    }
    const raw = await readBody(req);
    if (raw === 'too-large') {
      entry.status = 413;
      return send(res, graphError(413, 'RequestEntityTooLarge', `The request body is over ${BODY_LIMIT} bytes`));
    }
    let reply: Reply;
    if (isToken) {
      reply = method === 'POST' ? await tokenRoute(server, path, req, raw) : graphError(405, 'MethodNotAllowed', 'Use POST');
    } else if (!path.startsWith('/beta/')) {
      server.unknownRequests.push(`${method} ${path}`);
      reply = graphError(404, 'UnknownError', `No HTTP resource was found that matches the request URI ${path}`);
    } else {
      const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      const t = bearer ? server.tokens.get(bearer) : undefined;
      if (t && fault && 'expireToken' in fault.action) t.expiresAt = server.options.now() - 1;
      if (!t || t.expiresAt <= server.options.now()) {
        reply = graphError(401, 'InvalidAuthenticationToken', t ? 'Lifetime validation failed, the token is expired.' : 'Access token is empty or invalid.');
      } else {
        reply = await routes(method, path.slice('/beta'.length), url.searchParams, req, raw);
      }
    }
    if (fault && 'reset' in fault.action && fault.action.reset === 'after') return drop();
    entry.status = reply.status;
    send(res, reply);
    server.after?.(entry);
  };

  const local = await listenLocal((req, res) => {
    handle(req, res).catch((e: unknown) => {
      server.validationFailures.push(`test server bug on ${req.method} ${req.url}: ${e instanceof Error ? e.stack : String(e)}`);
      if (!res.headersSent && !req.socket.destroyed) send(res, graphError(500, 'InternalServerError', String(e)));
      else req.socket.destroy();
    });
  });
  server.url = local.url;
  server.graphUrl = `${server.url}/beta`;
  let closed: Promise<void> | undefined;
  server.close = () => {
    closed ??= local.close().then(() => server.store.dispose());
    return closed;
  };
  return server;
}

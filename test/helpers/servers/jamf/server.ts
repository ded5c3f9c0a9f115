/**
 * A local Jamf Pro server for tests and the upload bench: node:http on 127.0.0.1 (an ephemeral port), in-process,
 * following Jamf's published API description (test/fixtures/vendor-api/jamf/jamf.json). See README.md in this
 * folder for what it models and what it does not.
 *
 * This file is the frame: listening, the request log (reads / writes / auth per object), token checks, and fault
 * injection. The routes are in routes-auth.ts, routes-pro.ts (Jamf Pro API JSON) and routes-classic.ts (Classic API
 * XML); the state in store.ts. It imports nothing from vitest, so the bench can run it outside a test; a test stops
 * it with `onTestFinished(server.close)` (or jamfServer() in ./vitest.ts).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenLocal } from '../local-http.js';
import { apiError, classicError, sendJson } from './reply.js';
import { authRoutes } from './routes-auth.js';
import { classicRoutes } from './routes-classic.js';
import { proRoutes } from './routes-pro.js';
import { JamfStore } from './store.js';
import type { Fault, JamfServer, JamfServerOptions, LogEntry, RequestKind, Route, RouteContext, Token } from './types.js';

export type * from './types.js';

export const BODY_LIMIT = 8 * 1024 * 1024;

function classify(method: string, path: string): RequestKind {
  if (/^\/api\/(v1\/)?oauth\/token$|^\/api\/v1\/auth(\/|$)|^\/api\/auth\//.test(path)) return 'auth';
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/** Start one local Jamf Pro instance on 127.0.0.1:0. Stop it with `close()`. */
export async function startJamfServer(opts: JamfServerOptions = {}): Promise<JamfServer> {
  const routes: Route[] = [...authRoutes, ...proRoutes, ...classicRoutes];
  const faults: (Fault & { seen: number; fired: number })[] = [];
  let writes = 0;
  const options: JamfServer['options'] = {
    oauthLifetimeSec: opts.oauthLifetimeSec ?? 60,
    userTokenLifetimeSec: opts.userTokenLifetimeSec ?? 1800,
    version: opts.version ?? '11.31.0',
    oauth: opts.oauth ?? true,
    convergeAfterReads: opts.convergeAfterReads ?? 1,
    staleSizeReads: opts.staleSizeReads ?? 0,
    bodyLimit: opts.bodyLimit ?? BODY_LIMIT,
    now: opts.now ?? Date.now,
  };

  const server: JamfServer = {
    url: '',
    port: 0,
    options,
    clients: opts.clients ?? [{ id: 'aiwatch-ci', secret: `cs-${randomBytes(12).toString('hex')}` }],
    users: opts.users ?? [{ username: 'admin', password: `pw-${randomBytes(12).toString('hex')}` }],
    store: new JamfStore(),
    log: [],
    validationFailures: [],
    unknownRequests: [],
    faultsFired: [],
    tokens: new Map(),
    inject: (f) => void faults.push({ ...f, seen: 0, fired: 0 }),
    counts: () => ({
      reads: server.log.filter((e) => e.kind === 'read').length,
      writes: server.log.filter((e) => e.kind === 'write').length,
      auth: server.log.filter((e) => e.kind === 'auth').length,
    }),
    countsByObject: () => {
      const out: Record<string, { reads: number; writes: number }> = {};
      for (const e of server.log) {
        const key = e.kind === 'auth' ? 'auth' : e.object;
        const c = (out[key] ??= { reads: 0, writes: 0 });
        if (e.kind === 'write') c.writes++;
        else c.reads++;
      }
      return out;
    },
    resetLog: () => {
      server.log.length = 0;
      server.faultsFired.length = 0;
      writes = 0;
    },
    expireTokens: () => {
      for (const t of server.tokens.values()) t.expiresAt = Math.min(t.expiresAt, options.now() - 1);
    },
    issueToken: (kind, subject) => {
      const lifetime = (kind === 'oauth' ? options.oauthLifetimeSec : options.userTokenLifetimeSec) * 1000;
      const t: Token = { value: `${kind === 'oauth' ? 'oat' : 'ut'}-${randomBytes(24).toString('base64url')}`, expiresAt: options.now() + lifetime, kind, subject, valid: true };
      server.tokens.set(t.value, t);
      return t;
    },
    close: async () => undefined,
  };

  const dueFault = (method: string, path: string, kind: RequestKind): Fault | undefined => {
    for (const f of faults) {
      if (f.method && f.method !== method) continue;
      if (f.path && !f.path.test(path)) continue;
      if (f.writesOnly && kind !== 'write') continue;
      f.seen++;
      if (f.seen <= (f.skip ?? 0) || f.fired >= (f.times ?? 1)) continue;
      f.fired++;
      return f;
    }
    return undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const path = decodeURIComponent(url.pathname);
    const kind = classify(method, url.pathname);
    const match = routes.map((r) => ({ r, m: r.method === method ? r.pattern.exec(url.pathname) : null })).find((x) => x.m);
    const entry: LogEntry = { method, path, query: url.search, kind, object: match?.r.object ?? 'unknown', status: 0, bytes: 0 };
    server.log.push(entry);
    res.on('finish', () => void (entry.status = res.statusCode));
    const fault = dueFault(method, url.pathname, kind);
    const action = fault?.action;
    const fired = (what: string): void => {
      entry.fault = what;
      server.faultsFired.push(`${what} ${method} ${path}`);
    };
    const drop = (): void => {
      entry.status = -1;
      req.socket?.destroy();
    };

    if (action && 'status' in action) {
      fired(String(action.status));
      req.resume();
      const headers: Record<string, string> = action.retryAfter !== undefined ? { 'retry-after': String(action.retryAfter) } : {};
      if (path.startsWith('/JSSResource/')) {
        res.setHeader('retry-after', headers['retry-after'] ?? '');
        if (!headers['retry-after']) res.removeHeader('retry-after');
        return classicError(res, action.status, 'Error', `Injected HTTP ${action.status}`);
      }
      return sendJson(res, action.status, { httpStatus: action.status, errors: action.status === 401 ? [] : [{ code: 'INJECTED', description: `Injected HTTP ${action.status}`, field: '', id: '0' }] }, headers);
    }
    if (action && 'reset' in action && action.reset === 'before') {
      fired('reset-before');
      return drop();
    }

    let received = 0;
    const cutAt = action && 'resetAfterBytes' in action ? action.resetAfterBytes : undefined;
    if (cutAt !== undefined) fired(`reset-after-${cutAt}-bytes`);
    async function* stream(): AsyncIterable<Buffer> {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        received += chunk.length;
        entry.bytes = received;
        if (cutAt !== undefined && received >= cutAt) {
          drop();
          throw new Error('connection reset by fault injection');
        }
        yield chunk;
      }
    }
    const body = async (): Promise<Buffer> => {
      const chunks: Buffer[] = [];
      for await (const c of stream()) {
        if (received > options.bodyLimit) throw Object.assign(new Error('body over limit'), { status: 413 });
        chunks.push(c);
      }
      return Buffer.concat(chunks);
    };

    if (!match) {
      server.unknownRequests.push(`${method} ${path}`);
      req.resume();
      if (path.startsWith('/JSSResource/')) return classicError(res, 404, 'Not Found', 'The server has not found anything matching the request URI');
      return apiError(res, 404, 'NOT_FOUND', `no such endpoint in the local Jamf Pro server: ${method} ${path}`);
    }

    const ctx: RouteContext = { server, req, res, path, params: match.m!.slice(1).map((p) => decodeURIComponent(p)), query: url.searchParams, entry, body, stream };
    if (!match.r.open) {
      const auth = req.headers.authorization ?? '';
      const t = /^Bearer (\S+)$/.exec(auth) ? server.tokens.get(auth.slice(7)) : undefined;
      if (t && action && 'expireToken' in action && action.expireToken === 'before') {
        fired('token-expired');
        t.expiresAt = options.now() - 1;
      }
      if (!t || !t.valid || t.expiresAt <= options.now()) {
        req.resume();
        if (path.startsWith('/JSSResource/')) return classicError(res, 401, 'Unauthorized', 'The request requires user authentication');
        return apiError(res, 401, 'INVALID_TOKEN', 'Unauthorized');
      }
      ctx.token = t;
      if (action && 'expireToken' in action && action.expireToken === 'during-body') {
        fired('token-expires-during-body');
        const orig = ctx.stream;
        ctx.stream = async function* () {
          yield* orig();
          t.expiresAt = options.now() - 1;
        };
      }
    }

    const resetAfter = action && 'reset' in action && action.reset === 'after';
    if (kind === 'write' && (resetAfter || server.onWrite)) {
      // Apply the write, then decide whether its answer reaches the client.
      const realEnd = res.end.bind(res);
      const realWriteHead = res.writeHead.bind(res);
      let status = 0;
      res.writeHead = ((code: number, ...rest: unknown[]) => {
        status = code;
        return (realWriteHead as (...a: unknown[]) => ServerResponse)(code, ...rest);
      }) as typeof res.writeHead;
      res.end = ((...args: unknown[]) => {
        const ok = status >= 200 && status < 300;
        const n = ok ? ++writes : writes;
        const verdict = ok ? server.onWrite?.(n, entry) : undefined;
        if (ok && (resetAfter || verdict === 'drop')) {
          fired(resetAfter ? 'reset-after' : `drop-at-write-${n}`);
          entry.status = status;
          drop();
          return res;
        }
        return (realEnd as (...a: unknown[]) => ServerResponse)(...args);
      }) as typeof res.end;
    }
    try {
      await match.r.handle(ctx);
      if (ctx.token && (ctx.token.expiresAt <= options.now() || !ctx.token.valid) && !res.headersSent && !(req.socket?.destroyed ?? true)) {
        return apiError(res, 401, 'INVALID_TOKEN', 'Unauthorized');
      }
    } catch (e) {
      const status = (e as { status?: number }).status;
      if (req.socket?.destroyed ?? true) return;
      if (status === 413) return apiError(res, 413, 'PAYLOAD_TOO_LARGE', `body over ${options.bodyLimit} bytes`);
      throw e;
    }
  };

  const local = await listenLocal((req, res) => {
    handle(req, res).catch((e: unknown) => {
      server.validationFailures.push(`test server bug on ${req.method} ${req.url}: ${String(e)}`);
      if (!res.headersSent && !(req.socket?.destroyed ?? true)) sendJson(res, 500, { httpStatus: 500, errors: [{ code: 'SERVER_BUG', description: String(e), field: '', id: '0' }] });
      else req.socket?.destroy();
    });
  });
  server.port = local.port;
  server.url = local.url;
  server.close = local.close;
  return server;
}

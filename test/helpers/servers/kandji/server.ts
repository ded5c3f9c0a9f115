/**
 * A local Kandji (Iru) API for tests: node:http on 127.0.0.1, in-process, following Kandji's published Postman
 * collection (test/fixtures/vendor-api/kandji/kandji.json), with a second listener standing in for Kandji's S3
 * bucket (another host in reality). See README.md in this folder for what it models and what it does not.
 *
 * This file is the frame: listening, the bearer-token check, the request log and fault injection (a status with
 * Retry-After, a reset before or after the request is handled, a reset mid-body). Routes and the store's behaviour
 * are in routes.ts, the S3 policy rules in s3-post.ts, the body schemas in schemas.ts. It imports nothing from
 * vitest; a test uses kandjiServer() in ./vitest.ts, which stops it when the test ends.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenLocal } from '../local-http.js';
import { kandjiRoutes, newId, s3Post, sendJson } from './routes.js';
import type { Fault, KandjiServer, KandjiServerOptions, LogEntry, RequestKind, RouteContext } from './types.js';

export type * from './types.js';

/** Start one local Kandji tenant (API + bucket) on 127.0.0.1. Stop it with `close()`. */
export async function startKandjiServer(opts: KandjiServerOptions = {}): Promise<KandjiServer> {
  const faults: (Fault & { seen: number; fired: number })[] = [];
  const server: KandjiServer = {
    url: '',
    s3Url: '',
    token: opts.token ?? randomUUID(),
    s3: { accessKeyId: 'ASIAKANDJITESTKEY001', secretAccessKey: `s3-secret-${randomUUID()}`, sessionToken: `IQoJb3JpZ2luX2VjE-${randomUUID()}` },
    bucket: 'kandji-prd-managed-library-items',
    options: {
      pageSize: opts.pageSize ?? 300,
      uploadLifetimeMs: opts.uploadLifetimeMs ?? 15 * 60_000,
      maxUploadBytes: opts.maxUploadBytes ?? 5 * 1024 ** 3,
      processingAnswers: opts.processingAnswers ?? 0,
      bodyLimit: opts.bodyLimit ?? 1024 * 1024,
      now: opts.now ?? Date.now,
    },
    store: { apps: new Map(), profiles: new Map(), blueprints: new Map(), slots: new Map(), objects: new Map() },
    log: [],
    validationFailures: [],
    unknownRequests: [],
    faultsFired: [],
    expireNext: false,
    inject: (f) => void faults.push({ ...f, seen: 0, fired: 0 }),
    expireNextSlot: () => void (server.expireNext = true),
    counts: () => ({
      reads: server.log.filter((e) => e.kind === 'read').length,
      writes: server.log.filter((e) => e.kind === 'write').length,
      s3: server.log.filter((e) => e.kind === 's3').length,
    }),
    resetLog: () => {
      server.log.length = 0;
      server.faultsFired.length = 0;
    },
    blueprint: (name) => {
      const b = [...server.store.blueprints.values()].find((x) => x.name === name);
      if (!b) throw new Error(`kandji test server: no blueprint ${name}`);
      return b;
    },
    close: async () => undefined,
  };
  for (const b of opts.blueprints ?? [{ name: 'Macs' }]) {
    const id = newId();
    server.store.blueprints.set(id, { id, name: b.name, type: b.type ?? 'classic', items: [] });
  }

  const dueFault = (method: string, path: string, s3: boolean): Fault | undefined => {
    for (const f of faults) {
      if (f.method && f.method !== method) continue;
      if (f.path && !f.path.test(path)) continue;
      if (f.s3 !== undefined && f.s3 !== s3) continue;
      f.seen++;
      if (f.seen <= (f.skip ?? 0) || f.fired >= (f.times ?? 1)) continue;
      f.fired++;
      return f;
    }
    return undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, s3: boolean): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const path = decodeURIComponent(url.pathname);
    const kind: RequestKind = s3 ? 's3' : method === 'GET' ? 'read' : 'write';
    const route = s3 ? undefined : kandjiRoutes.map((r) => ({ r, m: r.method === method ? r.pattern.exec(url.pathname) : null })).find((x) => x.m);
    const entry: LogEntry = { method, path, query: url.search, kind, object: s3 ? 's3' : (route?.r.object ?? 'unknown'), status: 0, bytes: 0 };
    server.log.push(entry);
    res.on('finish', () => void (entry.status = res.statusCode));
    const action = dueFault(method, url.pathname, s3)?.action;
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
      if (s3) {
        res.writeHead(action.status, { 'content-type': 'application/xml', ...headers });
        return void res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${action.status === 503 ? 'SlowDown' : 'InternalError'}</Code><Message>Injected HTTP ${action.status}</Message></Error>`);
      }
      return sendJson(res, action.status, { detail: action.status === 401 ? 'Incorrect authentication credentials.' : action.status === 429 ? 'Request was throttled.' : `Injected HTTP ${action.status}` }, headers);
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
        if (received > server.options.bodyLimit) throw Object.assign(new Error('body over limit'), { status: 413 });
        chunks.push(c);
      }
      return Buffer.concat(chunks);
    };
    const ctx: RouteContext = { server, req, res, path, params: route?.m?.slice(1).map((p) => decodeURIComponent(p)) ?? [], query: url.searchParams, entry, body, stream };
    if (!s3) {
      if (!route) {
        server.unknownRequests.push(`${method} ${path}`);
        req.resume();
        return sendJson(res, 404, { detail: 'Not found.' });
      }
      if (req.headers.authorization !== `Bearer ${server.token}`) {
        req.resume();
        return sendJson(res, 401, { detail: req.headers.authorization ? 'Incorrect authentication credentials.' : 'Authentication credentials were not provided.' });
      }
    }
    if (action && 'reset' in action && action.reset === 'after') {
      // Handle the request (a write is applied), then close the connection instead of answering.
      res.writeHead = (() => res) as unknown as typeof res.writeHead;
      res.end = ((..._args: unknown[]) => {
        fired('reset-after');
        drop();
        return res;
      }) as typeof res.end;
    }
    try {
      if (s3) await s3Post(ctx);
      else await route!.r.handle(ctx);
    } catch (e) {
      if (req.socket?.destroyed ?? true) return;
      if ((e as { status?: number }).status === 413) return sendJson(res, 413, { detail: `body over ${server.options.bodyLimit} bytes` });
      throw e;
    }
  };

  const onError = (req: IncomingMessage, res: ServerResponse) => (e: unknown): void => {
    server.validationFailures.push(`test server bug on ${req.method} ${req.url}: ${String(e)}`);
    if (!res.headersSent && !(req.socket?.destroyed ?? true)) sendJson(res, 500, { detail: String(e) });
    else req.socket?.destroy();
  };
  const api = await listenLocal((req, res) => void handle(req, res, false).catch(onError(req, res)));
  const bucket = await listenLocal((req, res) => void handle(req, res, true).catch(onError(req, res)));
  server.url = api.url;
  server.s3Url = bucket.url;
  let closed: Promise<void> | undefined;
  server.close = () => {
    closed ??= Promise.all([api.close(), bucket.close()]).then(() => undefined);
    return closed;
  };
  return server;
}

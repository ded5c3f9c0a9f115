/**
 * A local Fleet server for tests: node:http on 127.0.0.1 (an ephemeral port), in-process, following Fleet's REST API
 * as the vendor slice describes it (test/fixtures/vendor-api/fleet/). See README.md in this folder for what it
 * models and what it does not.
 *
 * This file is the frame: listening, the API token check, the request log (reads / writes per object) and fault
 * injection (a status with Retry-After, a reset before or after handling, a reset part-way through a body). The
 * routes and state are in routes.ts, the schemas in schemas.ts.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenLocal } from '../local-http.js';
import { FleetStore, fleetError, ROUTES, sendJson, type FleetContext } from './routes.js';

export type FaultAction = { status: number; retryAfter?: number } | { reset: 'before' } | { reset: 'after' } | { resetAfterBytes: number };

export interface Fault {
  method?: string;
  /** Matched against the path without the query. */
  path?: RegExp;
  /** Skip this many matching requests first (default 0). */
  skip?: number;
  /** Fire on this many matching requests (default 1). */
  times?: number;
  action: FaultAction;
}

export interface LogEntry {
  method: string;
  path: string;
  query: string;
  kind: 'read' | 'write';
  object: string;
  status: number;
  bytes: number;
  fault?: string;
}

export interface FleetServer {
  url: string;
  token: string;
  store: FleetStore;
  log: LogEntry[];
  validationFailures: string[];
  unknownRequests: string[];
  /** Every `Authorization` header value that was not the token (to prove no other secret was sent as one). */
  refusedTokens: string[];
  inject: (f: Fault) => void;
  resetLog: () => void;
  writes: () => number;
  close: () => Promise<void>;
}

export interface FleetServerOptions {
  /** The API token the server accepts (default: a random one in `server.token`). */
  token?: string;
}

/** Start one local Fleet server on 127.0.0.1:0. Stop it with `close()`. */
export async function startFleetServer(opts: FleetServerOptions = {}): Promise<FleetServer> {
  const faults: (Fault & { seen: number; fired: number })[] = [];
  let clock = Date.parse('2026-12-06T09:00:00Z');
  const server: FleetServer = {
    url: '',
    token: opts.token ?? `fleet-${randomBytes(18).toString('base64url')}`,
    store: new FleetStore(),
    log: [],
    validationFailures: [],
    unknownRequests: [],
    refusedTokens: [],
    inject: (f) => void faults.push({ ...f, seen: 0, fired: 0 }),
    resetLog: () => void (server.log.length = 0),
    writes: () => server.log.filter((e) => e.kind === 'write').length,
    close: async () => undefined,
  };

  const due = (method: string, path: string): FaultAction | undefined => {
    for (const f of faults) {
      if (f.method && f.method !== method) continue;
      if (f.path && !f.path.test(path)) continue;
      f.seen++;
      if (f.seen <= (f.skip ?? 0) || f.fired >= (f.times ?? 1)) continue;
      f.fired++;
      return f.action;
    }
    return undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const match = ROUTES.map((r) => ({ r, m: r.method === method ? r.pattern.exec(url.pathname) : null })).find((x) => x.m);
    const entry: LogEntry = { method, path: decodeURIComponent(url.pathname), query: url.search, kind: method === 'GET' ? 'read' : 'write', object: match?.r.object ?? 'unknown', status: 0, bytes: 0 };
    server.log.push(entry);
    res.on('finish', () => void (entry.status = res.statusCode));
    const drop = (): void => {
      entry.status = -1;
      req.socket?.destroy();
    };
    const action = due(method, url.pathname);
    if (action && 'status' in action) {
      entry.fault = String(action.status);
      req.resume();
      return fleetError(res, action.status, action.status === 429 ? 'limit exceeded' : 'Internal Server Error', `injected HTTP ${action.status}`, 'base', action.retryAfter !== undefined ? { 'retry-after': String(action.retryAfter) } : {});
    }
    if (action && 'reset' in action && action.reset === 'before') {
      entry.fault = 'reset-before';
      return drop();
    }
    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${server.token}`) {
      server.refusedTokens.push(auth);
      req.resume();
      return fleetError(res, 401, 'Authentication required', 'Authentication required');
    }
    if (!match) {
      server.unknownRequests.push(`${method} ${url.pathname}`);
      req.resume();
      return fleetError(res, 404, 'Resource Not Found', `no such endpoint in the local Fleet server: ${method} ${url.pathname}`);
    }
    const cutAt = action && 'resetAfterBytes' in action ? action.resetAfterBytes : undefined;
    if (cutAt !== undefined) entry.fault = `reset-after-${cutAt}-bytes`;
    const stream = async function* (): AsyncIterable<Buffer> {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        entry.bytes += chunk.length;
        if (cutAt !== undefined && entry.bytes >= cutAt) {
          drop();
          throw new Error('connection reset by fault injection');
        }
        yield chunk;
      }
    };
    if (action && 'reset' in action && action.reset === 'after') {
      // Apply the write, then close the connection instead of answering.
      entry.fault = 'reset-after';
      res.writeHead = (() => res) as unknown as typeof res.writeHead;
      res.end = (() => {
        drop();
        return res;
      }) as unknown as typeof res.end;
    }
    const ctx: FleetContext = {
      store: server.store,
      req,
      res,
      params: match.m!.slice(1).map((p) => decodeURIComponent(p)),
      query: url.searchParams,
      stream,
      validationFailures: server.validationFailures,
      now: () => new Date((clock += 1000)).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
    try {
      await match.r.handle(ctx);
    } catch (e) {
      if (req.socket?.destroyed ?? true) return;
      throw e;
    }
  };

  const local = await listenLocal((req, res) => {
    handle(req, res).catch((e: unknown) => {
      server.validationFailures.push(`test server bug on ${req.method} ${req.url}: ${String(e)}`);
      if (!res.headersSent && !(req.socket?.destroyed ?? true)) sendJson(res, 500, { message: 'server bug', errors: [{ name: 'base', reason: String(e) }] });
      else req.socket?.destroy();
    });
  });
  server.url = local.url;
  server.close = local.close;
  return server;
}

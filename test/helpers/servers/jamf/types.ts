/**
 * The shapes shared by the local Jamf Pro server's frame (server.ts) and its routes: options, faults, the request
 * log, tokens, the route context and the server handle. Types only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JamfStore } from './store.js';

export interface JamfServerOptions {
  /** API clients for client credentials (default one: `aiwatch-ci` / a random secret in `server.clients`). */
  clients?: { id: string; secret: string }[];
  /** User accounts for Basic → bearer token (default one: `admin` / a random password in `server.users`). */
  users?: { username: string; password: string }[];
  /** Lifetime of an OAuth access token, seconds (default 60: Jamf's default `accessTokenLifetimeSeconds`). */
  oauthLifetimeSec?: number;
  /** Lifetime of a user bearer token, seconds (default 1800). */
  userTokenLifetimeSec?: number;
  /** The Jamf Pro version reported by GET /api/v1/jamf-pro-version (default 11.31.0, the description's). */
  version?: string;
  /** false: an older server without /api/oauth/token (404), before 10.49.0. */
  oauth?: boolean;
  /** GETs of a package after its upload before it reports READY with the new hashes and size (default 1). */
  convergeAfterReads?: number;
  /** The JCDS quirk: GETs after READY that report the new hashes with the old size (default 0). */
  staleSizeReads?: number;
  /** Largest JSON / XML / form body accepted, bytes (default 8 MiB; more is 413). */
  bodyLimit?: number;
  /** Clock, ms (default Date.now). */
  now?: () => number;
}

export type FaultAction =
  /** Answer with this status (401, 429, 500, 502, 503, 504 …), with Retry-After seconds when given. */
  | { status: number; retryAfter?: number }
  /** Close the connection before handling the request. */
  | { reset: 'before' }
  /** Handle the request (a write is applied) and close the connection instead of answering. */
  | { reset: 'after' }
  /** Close the connection after this many body bytes have arrived (mid-upload). */
  | { resetAfterBytes: number }
  /** The request's token has expired (→ 401) when the request arrives. */
  | { expireToken: 'before' }
  /** The request's token expires while its body streams: the upload is read, then answered 401. */
  | { expireToken: 'during-body' };

export interface Fault {
  /** Which requests: method and/or a path pattern (matched against the path without the query), writes only. */
  method?: string;
  path?: RegExp;
  writesOnly?: boolean;
  /** Skip this many matching requests first (default 0). */
  skip?: number;
  /** Fire on this many matching requests (default 1; Infinity = always). */
  times?: number;
  action: FaultAction;
}

export type RequestKind = 'auth' | 'read' | 'write';

export interface LogEntry {
  method: string;
  path: string;
  query: string;
  kind: RequestKind;
  /** The object kind the path is about: package, smart-group, computer-group, extension-attribute, category, profile, policy, … */
  object: string;
  status: number;
  /** Body bytes received. */
  bytes: number;
  fault?: string;
}

export interface Token {
  value: string;
  expiresAt: number;
  kind: 'oauth' | 'user';
  subject: string;
  valid: boolean;
}

export interface RouteContext {
  server: JamfServer;
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  params: string[];
  query: URLSearchParams;
  entry: LogEntry;
  /** The whole body (bounded by bodyLimit; 413 when over it). */
  body(): Promise<Buffer>;
  /** The body as a stream of chunks (fault-aware: a mid-body reset cuts it). */
  stream(): AsyncIterable<Buffer>;
  /** The bearer token of the request (checked by the frame before the route runs). */
  token?: Token;
}

export interface Route {
  method: string;
  pattern: RegExp;
  object: string;
  /** No bearer token needed (the token endpoints). */
  open?: boolean;
  handle(ctx: RouteContext): Promise<void> | void;
}

export interface JamfServer {
  url: string;
  port: number;
  options: Required<Omit<JamfServerOptions, 'clients' | 'users'>>;
  clients: { id: string; secret: string }[];
  users: { username: string; password: string }[];
  store: JamfStore;
  log: LogEntry[];
  /** Every request body that did not match Jamf's description (method path: problem). Tests assert it is empty. */
  validationFailures: string[];
  /** Requests to paths the server does not model. Tests assert it is empty. */
  unknownRequests: string[];
  /** Faults that fired, in order (`429 POST /api/v1/packages`). */
  faultsFired: string[];
  inject(fault: Fault): void;
  /** Called after the nth write request has been applied, before the answer; 'drop' closes the connection instead. */
  onWrite?: (n: number, entry: LogEntry) => 'drop' | void;
  counts(): { reads: number; writes: number; auth: number };
  /** Reads and writes per object kind (auth requests under "auth"). */
  countsByObject(): Record<string, { reads: number; writes: number }>;
  /** Forget the log and the fired faults (the store stays). */
  resetLog(): void;
  /** Expire every token issued so far (the next request with one gets 401). */
  expireTokens(): void;
  tokens: Map<string, Token>;
  issueToken(kind: 'oauth' | 'user', subject: string): Token;
  close(): Promise<void>;
}


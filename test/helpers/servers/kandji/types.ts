/**
 * The shapes of the local Kandji server: options, faults, the request log, the store and the server handle. Types
 * only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { S3Credentials } from './s3-post.js';

export interface KandjiServerOptions {
  /** The API token (default a random UUID, the form Kandji's tokens have). */
  token?: string;
  /** Blueprints to start with: name and type (default one classic blueprint "Macs"). */
  blueprints?: { name: string; type?: 'classic' | 'map' }[];
  /** Items per page of a list (default 300; small values exercise `next`). */
  pageSize?: number;
  /** How long a presigned POST is valid, ms (default 15 minutes). */
  uploadLifetimeMs?: number;
  /** The largest file a presigned POST allows, bytes (default 5 GiB). */
  maxUploadBytes?: number;
  /** Creates / updates answered 503 ("still processing") per uploaded file before one succeeds (default 0). */
  processingAnswers?: number;
  /** Largest JSON / form / profile body, bytes (default 1 MiB; more is 413). */
  bodyLimit?: number;
  /** Clock, ms (default Date.now). */
  now?: () => number;
}

export type FaultAction =
  /** Answer with this status (401, 429, 500, 502, 503 …), with Retry-After seconds when given. */
  | { status: number; retryAfter?: number }
  /** Close the connection before handling the request. */
  | { reset: 'before' }
  /** Handle the request (a write is applied) and close the connection instead of answering. */
  | { reset: 'after' }
  /** Close the connection after this many body bytes have arrived (mid-upload). */
  | { resetAfterBytes: number };

export interface Fault {
  /** Which requests: method and/or a path pattern (the path without the query); `s3` for the bucket only. */
  method?: string;
  path?: RegExp;
  s3?: boolean;
  /** Skip this many matching requests first (default 0). */
  skip?: number;
  /** Fire on this many matching requests (default 1; Infinity = always). */
  times?: number;
  action: FaultAction;
}

export type RequestKind = 'read' | 'write' | 's3';

export interface LogEntry {
  method: string;
  path: string;
  query: string;
  kind: RequestKind;
  /** What the path is about: blueprint, custom-app, custom-profile, upload, s3. */
  object: string;
  status: number;
  bytes: number;
  fault?: string;
}

export interface StoredApp {
  id: string;
  name: string;
  file_key: string;
  install_type: string;
  install_enforcement: string;
  audit_script: string;
  unzip_location: string;
  active: boolean;
  restart: boolean;
  preinstall_script: string;
  postinstall_script: string;
  show_in_self_service: boolean;
  self_service_category_id?: string;
  self_service_recommended?: boolean;
  file_size: number;
  sha256: string;
  file_updated: string;
  created_at: string;
  updated_at: string;
}

export interface StoredProfile {
  id: string;
  name: string;
  active: boolean;
  profile: string;
  runs_on_mac: boolean;
  runs_on_iphone: boolean;
  runs_on_ipad: boolean;
  runs_on_tv: boolean;
  runs_on_vision: boolean;
  created_at: string;
  updated_at: string;
}

export interface StoredBlueprint {
  id: string;
  name: string;
  type: 'classic' | 'map';
  items: string[];
}

export interface S3Object {
  key: string;
  size: number;
  sha256: string;
  /** Creates / updates still to answer 503 for this file. */
  processingLeft: number;
}

export interface KandjiStore {
  apps: Map<string, StoredApp>;
  profiles: Map<string, StoredProfile>;
  blueprints: Map<string, StoredBlueprint>;
  /** Upload slots handed out: file key → expiry (ms). */
  slots: Map<string, number>;
  /** Files in the bucket, by key. */
  objects: Map<string, S3Object>;
}

export interface RouteContext {
  server: KandjiServer;
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
}

export interface Route {
  method: string;
  pattern: RegExp;
  object: string;
  handle(ctx: RouteContext): Promise<void> | void;
}

export interface KandjiServer {
  /** The API URL (`http://127.0.0.1:<port>`), what a rollout target's url is. */
  url: string;
  /** The bucket's URL (another port: S3 is another host). */
  s3Url: string;
  token: string;
  s3: S3Credentials;
  bucket: string;
  options: Required<Omit<KandjiServerOptions, 'token' | 'blueprints'>>;
  store: KandjiStore;
  log: LogEntry[];
  /** Every request body that did not match Kandji's description (method path: problem). Tests assert it is empty. */
  validationFailures: string[];
  /** Requests to paths the server does not model. Tests assert it is empty. */
  unknownRequests: string[];
  /** Faults that fired, in order (`429 POST /api/v1/library/custom-apps`). */
  faultsFired: string[];
  inject(fault: Fault): void;
  /** The next upload slot handed out has already expired (S3 will refuse its POST). */
  expireNextSlot(): void;
  /** Set by expireNextSlot, cleared when a slot is handed out. */
  expireNext: boolean;
  counts(): { reads: number; writes: number; s3: number };
  resetLog(): void;
  /** Helpers for tests: find by name. */
  blueprint(name: string): StoredBlueprint;
  close(): Promise<void>;
}

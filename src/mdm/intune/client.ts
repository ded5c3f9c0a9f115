/**
 * One target's connection to Microsoft Graph (Intune): every Graph request of the driver goes through
 * {@link GraphClient.send}, which adds the bearer token (asked of {@link IntuneAuth} before every attempt), applies
 * the one retry policy (net/retry.ts: 429 with Retry-After — Graph throttles —, 5xx, connection resets), answers a
 * 401 by signing in again and repeating the request once (then a RemoteRejection, exit 6), and counts what was read,
 * written and uploaded. Blob requests (Put Block / Put Block List to the SAS URI Intune hands out) go through
 * {@link GraphClient.blob}: no Authorization header (the SAS in the query authorizes them), counted as writes.
 *
 * Every error names the target, the object and the HTTP status, with Graph's error code and message
 * (`{"error":{code,message}}`) with the target's secrets masked; URLs are printed without their query (a SAS URI
 * carries its signature there).
 */
import { NetworkError, RemoteRejection } from '../../errors.js';
import { printableUrl, requestBytes, type HttpAnswer, type HttpMethod } from '../../net/http.js';
import type { Retryable } from '../../net/retry.js';
import type { Secret } from '../../secret.js';
import { excerptLine, jsonObjectOf, SignedInClient, type AuthRefusals, type MdmClientOptions, type MdmRequest } from '../http-client.js';
import type { IntuneAuth } from './auth.js';

export interface GraphRequest {
  /** The object, for messages: `profile "aiwatch — PPPC"`. */
  object: string;
  /** What is done to it: `read`, `create`, `commit`. */
  action: string;
  method: HttpMethod;
  /** Path and query below the Graph service root, e.g. `/deviceManagement/deviceConfigurations`. */
  path: string;
  /** A JSON body. */
  json?: unknown;
  /** Retries of this request (default the client's): 0 for a create that must not be re-sent blindly. */
  retries?: number;
}

export interface BlobRequest {
  object: string;
  action: string;
  /** The SAS URI with the operation's query appended. */
  url: string;
  body: Uint8Array | string;
  headers?: Record<string, string>;
}

/** A request that gave up on a 429 or 5xx, with the server's Retry-After (ms), for a caller that retries itself. */
export class GraphGaveUp extends NetworkError {
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

export type GraphClientOptions = MdmClientOptions;

/** Graph's error (`{"error":{code,message}}`) or the start of the body, masked and bounded. */
export function graphErrorOf(answer: HttpAnswer, secrets: readonly Secret[]): string {
  const text = Buffer.from(answer.body.subarray(0, 8192)).toString('utf8');
  let shown = text;
  try {
    const e = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
    if (e && typeof e.code === 'string') shown = `${e.code}${typeof e.message === 'string' ? `: ${e.message}` : ''}`;
  } catch {
    // a Blob error is XML: <Error><Code>AuthenticationFailed</Code>…
    const code = /<Code>([^<]{1,80})<\/Code>/.exec(text)?.[1];
    if (code) shown = code;
  }
  return excerptLine(shown, secrets);
}

export class GraphClient extends SignedInClient<IntuneAuth, GraphRequest> {
  protected readonly refusals: AuthRefusals = {
    unauthorized: "authentication refused (HTTP 401) after signing in again: check the credentials and the app's Graph permissions",
  };

  protected excerpt(answer: HttpAnswer): string {
    return graphErrorOf(answer, this.opts.secrets ?? []);
  }

  protected wire(req: GraphRequest): MdmRequest {
    const body = req.json !== undefined ? JSON.stringify(req.json) : undefined;
    return {
      object: req.object,
      action: req.action,
      method: req.method,
      path: req.path,
      headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body,
      retries: req.retries,
    };
  }

  protected override gaveUp(where: string, last: Retryable, attempts: number): GraphGaveUp {
    return new GraphGaveUp(`${where}: ${last.message}; gave up after ${attempts} attempts`, last.retryAfterMs);
  }

  override refused(req: Pick<GraphRequest, 'object' | 'action'>, answer: HttpAnswer): RemoteRejection {
    const hint = answer.status === 403 ? ' (the app registration lacks a Graph application permission: docs/intune-macos.md lists them)' : '';
    return new RemoteRejection(`${super.refused(req, answer).message}${hint}`);
  }

  /** {@link expect} 200 and the JSON body as an object. */
  async json(req: GraphRequest, ok: readonly number[] = [200]): Promise<Record<string, unknown>> {
    const answer = await this.expect(req, ok);
    const v = jsonObjectOf(answer.body);
    if (v) return v;
    throw new RemoteRejection(`${this.where(req.object, req.action)}: HTTP ${answer.status} without a JSON object in the answer`);
  }

  /**
   * Every item of a collection, following `@odata.nextLink` (same origin only, at most 50 pages). `path` may carry
   * a `$filter`; callers still check each item (a server that ignores the filter gives more). With `undefinedOn400`,
   * a first page refused with HTTP 400 (a filter the collection does not support) gives undefined instead of an error.
   */
  async list(req: Omit<GraphRequest, 'method' | 'json'>, undefinedOn400 = false): Promise<Record<string, unknown>[] | undefined> {
    const out: Record<string, unknown>[] = [];
    let path: string | undefined = req.path;
    for (let page = 0; path !== undefined && page < 50; page += 1) {
      const r: GraphRequest = { ...req, method: 'GET', path };
      const answer = await this.send(r);
      if (answer.status === 400 && page === 0 && undefinedOn400) return undefined;
      if (answer.status !== 200) throw this.refused(r, answer);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.from(answer.body).toString('utf8')) as Record<string, unknown>;
      } catch {
        throw new RemoteRejection(`${this.where(req.object, req.action)}: HTTP 200 without a JSON object in the answer`);
      }
      if (Array.isArray(body?.value)) for (const v of body.value) if (v !== null && typeof v === 'object') out.push(v as Record<string, unknown>);
      const next = typeof body?.['@odata.nextLink'] === 'string' ? body['@odata.nextLink'] : undefined;
      path = next && next.startsWith(this.base) ? next.slice(this.base.length) : undefined;
    }
    return out;
  }

  /** {@link list} that always gives a list. */
  async all(req: Omit<GraphRequest, 'method' | 'json'>): Promise<Record<string, unknown>[]> {
    return (await this.list(req)) ?? [];
  }

  /** A request to Azure Blob Storage by SAS: no bearer token; counted as a write. */
  blob(req: BlobRequest): Promise<HttpAnswer> {
    this.counts.writes += 1;
    return requestBytes(
      { url: req.url, method: 'PUT', headers: req.headers, body: req.body },
      { ...this.opts, requestTimeoutMs: Math.max(this.opts.requestTimeoutMs ?? 60_000, 300_000) },
      { where: `${this.where(req.object, req.action)} (${printableUrl(req.url)})` },
    );
  }
}

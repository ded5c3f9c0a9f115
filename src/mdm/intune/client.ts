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
import { printableUrl, requestBytes, type HttpAnswer, type HttpMethod, type HttpOptions } from '../../net/http.js';
import { redact, type Secret } from '../../secret.js';
import type { RequestCounts } from '../../rollout/model.js';
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

export interface GraphClientOptions extends HttpOptions {
  secrets?: Secret[];
}

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
  const flat = redact(shown, secrets).replace(/\s+/g, ' ').trim();
  return flat.length > 240 ? `${flat.slice(0, 240)}…` : flat || '(empty body)';
}

export class GraphClient {
  readonly counts: RequestCounts = { reads: 0, writes: 0, uploadedBytes: 0 };
  readonly #base: string;

  constructor(
    graphUrl: string,
    readonly auth: IntuneAuth,
    readonly opts: GraphClientOptions,
    /** `intune acme`. */
    readonly who: string,
    readonly extraReads: { reads: number } = { reads: 0 },
  ) {
    this.#base = graphUrl.replace(/\/+$/, '');
  }

  totals(): RequestCounts {
    return { ...this.counts, reads: this.counts.reads + this.extraReads.reads };
  }

  where(object: string, action: string): string {
    return `${this.who}: ${object}: ${action}`;
  }

  refused(req: Pick<GraphRequest, 'object' | 'action'>, answer: HttpAnswer): RemoteRejection {
    const hint = answer.status === 403 ? ' (the app registration lacks a Graph application permission: docs/intune-macos.md lists them)' : '';
    return new RemoteRejection(`${this.where(req.object, req.action)}: refused with HTTP ${answer.status}: ${graphErrorOf(answer, this.opts.secrets ?? [])}${hint}`);
  }

  /** A Graph request; resolves to any answer but 401 (after signing in again once), 429 and 5xx (after retries). */
  async send(req: GraphRequest): Promise<HttpAnswer> {
    let answer = await this.#attempt(req);
    if (answer.status === 401) {
      this.auth.invalidate();
      answer = await this.#attempt(req);
      if (answer.status === 401) throw new RemoteRejection(`${this.where(req.object, req.action)}: authentication refused (HTTP 401) after signing in again: check the credentials and the app's Graph permissions`);
    }
    return answer;
  }

  async expect(req: GraphRequest, ok: readonly number[]): Promise<HttpAnswer> {
    const answer = await this.send(req);
    if (!ok.includes(answer.status)) throw this.refused(req, answer);
    return answer;
  }

  /** {@link expect} 200 and the JSON body as an object. */
  async json(req: GraphRequest, ok: readonly number[] = [200]): Promise<Record<string, unknown>> {
    const answer = await this.expect(req, ok);
    try {
      const v = JSON.parse(Buffer.from(answer.body).toString('utf8')) as unknown;
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // fall through
    }
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
      path = next && next.startsWith(this.#base) ? next.slice(this.#base.length) : undefined;
    }
    return out;
  }

  /** {@link list} that always gives a list. */
  async all(req: Omit<GraphRequest, 'method' | 'json'>): Promise<Record<string, unknown>[]> {
    return (await this.list(req)) ?? [];
  }

  #attempt(req: GraphRequest): Promise<HttpAnswer> {
    const url = `${this.#base}${req.path}`;
    const body = req.json !== undefined ? JSON.stringify(req.json) : undefined;
    return requestBytes(
      {
        url,
        method: req.method,
        headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body,
        authorization: () => {
          if (req.method === 'GET') this.counts.reads += 1;
          else this.counts.writes += 1;
          return this.auth.header();
        },
      },
      req.retries !== undefined ? { ...this.opts, retries: req.retries } : this.opts,
      {
        where: `${this.where(req.object, req.action)} (${printableUrl(url)})`,
        gaveUp: (last, attempts) => new GraphGaveUp(`${this.where(req.object, req.action)} (${printableUrl(url)}): ${last.message}; gave up after ${attempts} attempts`, last.retryAfterMs),
      },
    );
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

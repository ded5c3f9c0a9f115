/**
 * One target's connection to the Kandji (Iru) API. Kandji signs requests with a static API token (`Authorization:
 * Bearer <token>`, made in Settings → Access → API Token): there is no sign-in and nothing to renew, so a 401 is
 * final (the token is wrong, revoked or expired) and a 403 means the token lacks a permission.
 *
 * Every request goes through {@link KandjiClient.send}: the one retry policy (net/retry.ts: 429 with Retry-After —
 * Kandji allows 10,000 requests per hour per customer —, 5xx, connection resets; a streamed body is re-sent whole),
 * counting what was read, written and uploaded. A request that must not be re-sent blindly (a create: Kandji does
 * not refuse a second library item of the same name) is sent with `retries: 0`; a failure then is a
 * {@link KandjiUnavailable} carrying the status and Retry-After, for the caller to look before trying again.
 *
 * The S3 presigned POST of an upload goes through {@link KandjiClient.s3}: no Kandji token (the policy and its
 * signature in the form authorize it), counted as a write and as uploaded bytes.
 *
 * Every error names the target, the object and the HTTP status, with an excerpt of the answer where the target's
 * secrets are masked; URLs are printed without their query.
 */
import { NetworkError } from '../../errors.js';
import { printableUrl, requestBytes, type HttpAnswer, type StreamBody } from '../../net/http.js';
import type { Retryable } from '../../net/retry.js';
import type { Secret } from '../../secret.js';
import { excerptLine, jsonObjectOf, MdmHttpClient, type AuthRefusals, type MdmClientOptions, type MdmRequest } from '../http-client.js';

export type KandjiRequest = MdmRequest;
export type KandjiClientOptions = MdmClientOptions;

/** Retries given up (or none allowed): the last status (undefined for a transport failure) and the server's Retry-After. */
export class KandjiUnavailable extends NetworkError {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

/** The longest list followed: pages × Kandji's default page size is far beyond any library. */
const MAX_PAGES = 100;
/** The most items kept from one list. */
const MAX_ITEMS = 10_000;

/** An excerpt of an answer for a message: secrets masked, tags dropped, bounded. */
export function excerptOf(body: Uint8Array, secrets: readonly Secret[]): string {
  return excerptLine(Buffer.from(body.subarray(0, 4096)).toString('utf8'), secrets, true);
}

export class KandjiClient extends MdmHttpClient {
  protected readonly refusals: AuthRefusals = {
    unauthorized: 'authentication refused (HTTP 401): the API token is wrong, revoked or expired (Settings → Access → API Token)',
    forbidden: 'refused with HTTP 403: the API token lacks a permission for this (docs/kandji-mosyle.md lists the permissions needed)',
  };
  /** A profile's form is not an upload: only the pkg's bytes to S3 count ({@link s3}). */
  protected override readonly countsStreamedBytes = false;
  readonly #token: Secret;

  constructor(
    baseUrl: string,
    token: Secret,
    opts: KandjiClientOptions,
    /** `kandji acme`. */
    who: string,
  ) {
    super(baseUrl, opts, who);
    this.#token = token;
  }

  protected authorization(): Promise<string> {
    return Promise.resolve(`Bearer ${this.#token.reveal()}`);
  }

  protected excerpt(answer: HttpAnswer): string {
    return excerptOf(answer.body, this.opts.secrets ?? []);
  }

  protected wire(req: KandjiRequest): MdmRequest {
    return { ...req, headers: { accept: 'application/json', ...req.headers } };
  }

  protected override gaveUp(where: string, last: Retryable, attempts: number): KandjiUnavailable {
    const status = /^HTTP (\d{3})$/.exec(last.message)?.[1];
    return new KandjiUnavailable(`${where}: ${last.message}; gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}`, status ? Number(status) : undefined, last.retryAfterMs);
  }

  /** The JSON body of an answer as an object, else a NetworkError naming what came. */
  parse(answer: HttpAnswer, req: Pick<KandjiRequest, 'object' | 'action'>): Record<string, unknown> {
    const v = jsonObjectOf(answer.body);
    if (v) return v;
    throw new NetworkError(`${this.where(req.object, req.action)}: HTTP ${answer.status} without a JSON object in the answer`);
  }

  /** {@link expect} and the JSON object of the answer. */
  async json(req: KandjiRequest, ok: readonly number[] = [200]): Promise<Record<string, unknown>> {
    return this.parse(await this.expect(req, ok), req);
  }

  /**
   * Every item of a paginated list (`{count, next, previous, results}`), following `next` on the same origin only,
   * bounded in pages and items.
   */
  async list(req: Pick<KandjiRequest, 'object' | 'path'>): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    let path: string | undefined = req.path;
    for (let page = 0; path !== undefined; page += 1) {
      if (page >= MAX_PAGES) throw new NetworkError(`${this.where(req.object, 'list')}: more than ${MAX_PAGES} pages; not followed further`);
      const body = await this.json({ object: req.object, action: 'list', method: 'GET', path });
      if (!Array.isArray(body.results)) throw new NetworkError(`${this.where(req.object, 'list')}: the answer has no "results" list`);
      for (const r of body.results) {
        if (r !== null && typeof r === 'object' && !Array.isArray(r)) out.push(r as Record<string, unknown>);
        if (out.length > MAX_ITEMS) throw new NetworkError(`${this.where(req.object, 'list')}: more than ${MAX_ITEMS} items; not read further`);
      }
      path = this.#nextPath(body.next);
    }
    return out;
  }

  /** A `next` URL of the same origin as the path below it; anything else ends the list. */
  #nextPath(next: unknown): string | undefined {
    if (typeof next !== 'string' || next.length === 0 || next.length > 2048) return undefined;
    try {
      const u = new URL(next, this.base);
      const base = new URL(this.base);
      return u.origin === base.origin ? `${u.pathname}${u.search}` : undefined;
    } catch {
      return undefined;
    }
  }

  /** The S3 presigned POST: no Kandji token; counted as a write, its file bytes as uploaded once the body is sent. */
  s3(req: { object: string; url: string; headers: Record<string, string>; body: StreamBody; fileBytes: number; onProgress?: (sent: number, total: number) => void }): Promise<HttpAnswer> {
    const where = `${this.where(req.object, 'upload to S3')} (${printableUrl(req.url)})`;
    return requestBytes(
      {
        url: req.url,
        method: 'POST',
        headers: req.headers,
        // Each attempt opens the body once: counted as one write.
        body: {
          length: req.body.length,
          open: () => {
            this.counts.writes += 1;
            return req.body.open();
          },
        },
        onProgress: (sent, total) => {
          req.onProgress?.(sent, total);
          if (sent === total) this.counts.uploadedBytes += req.fileBytes;
        },
      },
      { ...this.opts, requestTimeoutMs: Math.max(this.opts.requestTimeoutMs ?? 60_000, 300_000) },
      { where, gaveUp: (last, n) => this.gaveUp(where, last, n) },
    );
  }
}

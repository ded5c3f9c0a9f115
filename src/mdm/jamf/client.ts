/**
 * One target's connection to Jamf Pro: every request of the driver goes through {@link JamfClient.send}, which adds
 * the bearer token (asked of {@link JamfAuth} before every attempt), applies the one retry policy (429/503 with
 * Retry-After, 5xx with bounded backoff, connection resets — a streamed body is re-sent whole), answers a 401 by
 * signing in again and repeating the request once, and counts what was read, written and uploaded.
 *
 * Every error names the target, the object and the HTTP status (`jamf acme: profile "aiwatch — PPPC": update:
 * refused with HTTP 409: …`); the excerpt of a server's answer has the target's secrets masked (a server may echo a
 * body that held the tenant keys) and URLs are printed without their query.
 */
import { RemoteRejection } from '../../errors.js';
import { printableUrl, requestBytes, type HttpAnswer, type HttpMethod, type HttpOptions, type StreamBody } from '../../net/http.js';
import { redact, type Secret } from '../../secret.js';
import type { RequestCounts } from '../../rollout/model.js';
import type { JamfAuth } from './auth.js';

export interface SendRequest {
  /** The object, for messages: `profile "aiwatch — PPPC"`. */
  object: string;
  /** What is done to it: `read`, `create`, `upload`. */
  action: string;
  method: HttpMethod;
  /** Path and query below the base URL, e.g. `/api/v1/packages?filter=…`. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array | StreamBody;
  onProgress?: (sent: number, total: number) => void;
}

export interface ClientOptions extends HttpOptions {
  /** Secret values to mask in any excerpt of a server answer. */
  secrets?: Secret[];
}

function excerptOf(answer: HttpAnswer, secrets: Secret[]): string {
  const flat = redact(Buffer.from(answer.body.subarray(0, 4096)).toString('utf8'), secrets).replace(/<[^>]{0,200}>/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > 240 ? `${flat.slice(0, 240)}…` : flat || '(empty body)';
}

export class JamfClient {
  readonly counts: RequestCounts = { reads: 0, writes: 0, uploadedBytes: 0 };
  readonly #base: string;

  constructor(
    baseUrl: string,
    readonly auth: JamfAuth,
    readonly opts: ClientOptions,
    /** `jamf acme`. */
    readonly who: string,
    /** Requests made outside this client (sign-ins), added to its reads. */
    readonly extraReads: { reads: number } = { reads: 0 },
  ) {
    this.#base = baseUrl.replace(/\/+$/, '');
  }

  /** What was done to the server so far (sign-ins count as reads: they change nothing). */
  totals(): RequestCounts {
    return { ...this.counts, reads: this.counts.reads + this.extraReads.reads };
  }

  /** A message prefix naming the target and the object. */
  where(object: string, action: string): string {
    return `${this.who}: ${object}: ${action}`;
  }

  /** Send a request; resolves to any answer but 401 (after one sign-in again), 429 and 5xx (after the retries). */
  async send(req: SendRequest): Promise<HttpAnswer> {
    let answer = await this.#attempt(req);
    if (answer.status === 401) {
      this.auth.invalidate();
      answer = await this.#attempt(req);
      if (answer.status === 401) {
        throw new RemoteRejection(`${this.where(req.object, req.action)}: authentication refused (HTTP 401) after signing in again: check the credentials and that the API client's role is assigned`);
      }
    }
    if (answer.status === 403) {
      throw new RemoteRejection(`${this.where(req.object, req.action)}: refused with HTTP 403: the API role lacks a privilege for this (docs/jamf.md lists the privileges needed)`);
    }
    return answer;
  }

  /** {@link send}, then any status outside `ok` is a RemoteRejection naming the target, object and status. */
  async expect(req: SendRequest, ok: readonly number[]): Promise<HttpAnswer> {
    const answer = await this.send(req);
    if (!ok.includes(answer.status)) throw this.refused(req, answer);
    return answer;
  }

  refused(req: Pick<SendRequest, 'object' | 'action'>, answer: HttpAnswer): RemoteRejection {
    return new RemoteRejection(`${this.where(req.object, req.action)}: refused with HTTP ${answer.status}: ${excerptOf(answer, this.opts.secrets ?? [])}`);
  }

  #attempt(req: SendRequest): Promise<HttpAnswer> {
    const url = `${this.#base}${req.path}`;
    const stream = typeof req.body === 'object' && !(req.body instanceof Uint8Array) ? req.body : undefined;
    return requestBytes(
      {
        url,
        method: req.method,
        headers: req.headers,
        body: req.body,
        authorization: () => {
          // Counted per attempt that reaches the wire: a retry is a request too.
          if (req.method === 'GET') this.counts.reads += 1;
          else this.counts.writes += 1;
          return this.auth.header();
        },
        onProgress: stream
          ? (sent, total) => {
              req.onProgress?.(sent, total);
              if (sent === total) this.counts.uploadedBytes += total;
            }
          : undefined,
      },
      this.opts,
      { where: `${this.where(req.object, req.action)} (${printableUrl(url)})` },
    );
  }
}

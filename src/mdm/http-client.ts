/**
 * What every MDM client shares (jamf, intune, kandji, fleet client.ts): one target's base URL and name, requests
 * through the one retry policy of src/net (429 with Retry-After, 5xx with bounded backoff, connection resets — a
 * streamed body is re-sent whole), the Authorization header asked for before every attempt, and the counts of what
 * was read, written and uploaded (per attempt that reaches the wire: a retry is a request too).
 *
 * A client adds its authorization, its excerpt of an error answer, what a 401 and a 403 mean to its MDM (a client
 * whose token can be renewed signs in again once), and its own requests (lists, uploads to storage).
 *
 * Every error names the target, the object and the HTTP status (`jamf acme: profile "aiwatch — PPPC": update:
 * refused with HTTP 409: …`); URLs are printed without their query.
 */
import { RemoteRejection, type NetworkError } from '../errors.js';
import { printableUrl, requestBytes, type HttpAnswer, type HttpMethod, type HttpOptions, type StreamBody } from '../net/http.js';
import type { Retryable } from '../net/retry.js';
import type { RequestCounts } from '../rollout/model.js';
import { redact, type Secret } from '../secret.js';

export interface MdmRequest {
  /** The object, for messages: `profile "aiwatch — PPPC"`. */
  object: string;
  /** What is done to it: `read`, `create`, `upload`, `delete`. */
  action: string;
  method: HttpMethod;
  /** Path and query below the base URL, e.g. `/api/v1/packages?filter=…`. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array | StreamBody;
  /** Retries of this request (default the client's): 0 for a create that must not be re-sent blindly. */
  retries?: number;
  onProgress?: (sent: number, total: number) => void;
}

export interface MdmClientOptions extends HttpOptions {
  /** Secret values to mask in any excerpt of a server answer (the credentials, the tenant keys). */
  secrets?: Secret[];
}

/**
 * A line of an answer's text for a message: the target's secrets masked, markup tags dropped with `dropTags` (an
 * HTML or XML error page), white space folded, at most 240 characters.
 */
export function excerptLine(text: string, secrets: readonly Secret[], dropTags = false): string {
  const masked = redact(text, secrets);
  const flat = (dropTags ? masked.replace(/<[^>]{0,200}>/g, ' ') : masked).replace(/\s+/g, ' ').trim();
  return flat.length > 240 ? `${flat.slice(0, 240)}…` : flat || '(empty body)';
}

/** The JSON object of an answer's body, or undefined when it is not one. */
export function jsonObjectOf(body: Uint8Array): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(Buffer.from(body).toString('utf8')) as unknown;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // not JSON
  }
  return undefined;
}

/** What a 401 and a 403 mean to one MDM: the rest of the message after the target and object. */
export interface AuthRefusals {
  /** The 401 that ends the request (after signing in again, for a client that can). */
  unauthorized: string;
  /** A 403 that ends the request; without it a 403 is the caller's to judge. */
  forbidden?: string;
}

/** What a client's request carries at the least (Graph's takes a JSON value instead of a body). */
export type RequestBase = Pick<MdmRequest, 'object' | 'action' | 'method' | 'path' | 'retries'>;

export abstract class MdmHttpClient<R extends RequestBase = MdmRequest> {
  readonly counts: RequestCounts = { reads: 0, writes: 0, uploadedBytes: 0 };
  protected readonly base: string;

  constructor(
    baseUrl: string,
    readonly opts: MdmClientOptions,
    /** `jamf acme`. */
    readonly who: string,
    /** Requests made outside this client (sign-ins), added to its reads. */
    readonly extraReads: { reads: number } = { reads: 0 },
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  /** The Authorization header value, asked for before every attempt. */
  protected abstract authorization(): Promise<string>;
  /** A short excerpt of an error answer, the target's secrets masked. */
  protected abstract excerpt(answer: HttpAnswer): string;
  /** What a 401 and a 403 mean to this MDM. */
  protected abstract readonly refusals: AuthRefusals;
  /** The request as it goes on the wire (headers, body). */
  protected abstract wire(req: R): MdmRequest;

  /** Whether the bytes of a streamed body sent through {@link send} count as uploaded (Kandji counts only the pkg's upload to S3). */
  protected readonly countsStreamedBytes: boolean = true;

  /** Forget the token so that the next attempt signs in again; false for a static token (a 401 is final). */
  protected renew(): boolean {
    return false;
  }

  /** Retries given up: the error to throw (default the retry policy's own). */
  protected gaveUp?(where: string, last: Retryable, attempts: number): NetworkError;

  /** What was done to the server so far (sign-ins count as reads: they change nothing). */
  totals(): RequestCounts {
    return { ...this.counts, reads: this.counts.reads + this.extraReads.reads };
  }

  /** A message prefix naming the target and the object. */
  where(object: string, action: string): string {
    return `${this.who}: ${object}: ${action}`;
  }

  refused(req: Pick<MdmRequest, 'object' | 'action'>, answer: HttpAnswer): RemoteRejection {
    return new RemoteRejection(`${this.where(req.object, req.action)}: refused with HTTP ${answer.status}: ${this.excerpt(answer)}`);
  }

  /** Send a request; resolves to any answer but 401 (final, or after signing in again once), a final 403, 429 and 5xx (after the retries). */
  async send(req: R): Promise<HttpAnswer> {
    let answer = await this.attempt(req);
    if (answer.status === 401 && this.renew()) answer = await this.attempt(req);
    if (answer.status === 401) throw new RemoteRejection(`${this.where(req.object, req.action)}: ${this.refusals.unauthorized}`);
    if (answer.status === 403 && this.refusals.forbidden) throw new RemoteRejection(`${this.where(req.object, req.action)}: ${this.refusals.forbidden}`);
    return answer;
  }

  /** {@link send}, then any status outside `ok` is a RemoteRejection naming the target, object and status. */
  async expect(req: R, ok: readonly number[]): Promise<HttpAnswer> {
    const answer = await this.send(req);
    if (!ok.includes(answer.status)) throw this.refused(req, answer);
    return answer;
  }

  protected attempt(req: R): Promise<HttpAnswer> {
    const w = this.wire(req);
    const url = `${this.base}${w.path}`;
    const stream = typeof w.body === 'object' && !(w.body instanceof Uint8Array) ? w.body : undefined;
    const where = `${this.where(w.object, w.action)} (${printableUrl(url)})`;
    return requestBytes(
      {
        url,
        method: w.method,
        headers: w.headers,
        body: w.body,
        authorization: () => {
          // Counted per attempt that reaches the wire: a retry is a request too.
          if (w.method === 'GET') this.counts.reads += 1;
          else this.counts.writes += 1;
          return this.authorization();
        },
        onProgress: stream
          ? (sent, total) => {
              w.onProgress?.(sent, total);
              if (sent === total && this.countsStreamedBytes) this.counts.uploadedBytes += total;
            }
          : undefined,
      },
      w.retries !== undefined ? { ...this.opts, retries: w.retries } : this.opts,
      this.gaveUp ? { where, gaveUp: (last, n) => this.gaveUp!(where, last, n) } : { where },
    );
  }
}

/** A sign-in whose token expires: asked for before every attempt, forgotten after a 401. */
export interface RenewableAuth {
  header(): Promise<string>;
  invalidate(): void;
}

/** A client whose token comes from a sign-in (Jamf, Intune): a 401 signs in again and repeats the request once. */
export abstract class SignedInClient<A extends RenewableAuth, R extends RequestBase = MdmRequest> extends MdmHttpClient<R> {
  constructor(
    baseUrl: string,
    readonly auth: A,
    opts: MdmClientOptions,
    /** `jamf acme`. */
    who: string,
    /** Requests made outside this client (sign-ins), added to its reads. */
    extraReads: { reads: number } = { reads: 0 },
  ) {
    super(baseUrl, opts, who, extraReads);
  }

  protected authorization(): Promise<string> {
    return this.auth.header();
  }

  protected override renew(): boolean {
    this.auth.invalidate();
    return true;
  }
}

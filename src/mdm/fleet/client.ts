/**
 * One target's connection to a Fleet server: every request of the driver goes through {@link FleetClient.send},
 * which adds the API token (`Authorization: Bearer …`), applies the one retry policy of src/net (429 with
 * Retry-After, 5xx with bounded backoff, connection resets — a streamed body is re-sent whole) and counts what was
 * read, written and uploaded.
 *
 * A Fleet API token is static (an API-only user's token, or a user's from "My account"): there is no sign-in to
 * repeat, so a 401 is final and says to check the token. A 403 names the role the API user needs.
 *
 * Every error names the target, the object and the HTTP status (`fleet acme: profile "AI Watch — PPPC": create:
 * refused with HTTP 409: …`); the excerpt of a server's answer is Fleet's `message` and `errors[].reason` with the
 * target's secrets masked, and URLs are printed without their query.
 */
import { NetworkError, RemoteRejection } from '../../errors.js';
import { printableUrl, requestBytes, type HttpAnswer, type HttpMethod, type HttpOptions, type StreamBody } from '../../net/http.js';
import { redact, type Secret } from '../../secret.js';
import type { RequestCounts } from '../../rollout/model.js';

export interface SendRequest {
  /** The object, for messages: `profile "AI Watch — PPPC"`. */
  object: string;
  /** What is done to it: `read`, `create`, `upload`, `delete`. */
  action: string;
  method: HttpMethod;
  /** Path and query below the base URL, e.g. `/api/v1/fleet/configuration_profiles?team_id=3`. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array | StreamBody;
  onProgress?: (sent: number, total: number) => void;
}

export interface ClientOptions extends HttpOptions {
  /** Secret values to mask in any excerpt of a server answer. */
  secrets?: Secret[];
}

/** The largest JSON answer parsed (a list page of 100 profiles or titles is a few hundred KiB). */
export const MAX_JSON_BYTES = 8 * 1024 * 1024;

/** Fleet's error body `{message, errors:[{name, reason}]}` as one short line; any other body as flat text. */
function excerptOf(answer: HttpAnswer, secrets: Secret[]): string {
  const text = Buffer.from(answer.body.subarray(0, 4096)).toString('utf8');
  let flat = text;
  try {
    const v = JSON.parse(text) as { message?: unknown; errors?: { name?: unknown; reason?: unknown }[] };
    const reasons = Array.isArray(v.errors) ? v.errors.slice(0, 5).map((e) => `${String(e?.name ?? '')}: ${String(e?.reason ?? '')}`) : [];
    flat = [typeof v.message === 'string' ? v.message : '', ...reasons].filter(Boolean).join('; ');
  } catch {
    // not JSON: shown as text
  }
  flat = redact(flat, secrets).replace(/\s+/g, ' ').trim();
  return flat.length > 240 ? `${flat.slice(0, 240)}…` : flat || '(empty body)';
}

export class FleetClient {
  readonly counts: RequestCounts = { reads: 0, writes: 0, uploadedBytes: 0 };
  readonly #base: string;

  constructor(
    baseUrl: string,
    readonly token: Secret,
    readonly opts: ClientOptions,
    /** `fleet acme`. */
    readonly who: string,
  ) {
    this.#base = baseUrl.replace(/\/+$/, '');
  }

  /** A message prefix naming the target and the object. */
  where(object: string, action: string): string {
    return `${this.who}: ${object}: ${action}`;
  }

  /** Send a request; resolves to any answer but 401/403 (final) and 429/5xx (after the retries). */
  async send(req: SendRequest): Promise<HttpAnswer> {
    const answer = await this.#attempt(req);
    if (answer.status === 401) {
      throw new RemoteRejection(`${this.where(req.object, req.action)}: the API token was refused (HTTP 401): check credentials.apiToken (an API-only user's token; a user's token ends when the session does)`);
    }
    if (answer.status === 403) {
      throw new RemoteRejection(`${this.where(req.object, req.action)}: refused with HTTP 403: the API user's role lacks this (it needs maintainer or admin on the team; docs/fleet.md)`);
    }
    return answer;
  }

  /** {@link send}, then any status outside `ok` is a RemoteRejection naming the target, object and status. */
  async expect(req: SendRequest, ok: readonly number[]): Promise<HttpAnswer> {
    const answer = await this.send(req);
    if (!ok.includes(answer.status)) throw this.refused(req, answer);
    return answer;
  }

  /** {@link expect} 200, then the answer as a JSON object (bounded). */
  async json(req: SendRequest): Promise<Record<string, unknown>> {
    const answer = await this.expect(req, [200]);
    return this.parse(answer, req);
  }

  parse(answer: HttpAnswer, req: Pick<SendRequest, 'object' | 'action'>): Record<string, unknown> {
    if (answer.body.byteLength > MAX_JSON_BYTES) throw new NetworkError(`${this.where(req.object, req.action)}: the answer is larger than ${MAX_JSON_BYTES} bytes; not read`);
    try {
      const v = JSON.parse(Buffer.from(answer.body).toString('utf8')) as unknown;
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // fall through
    }
    throw new NetworkError(`${this.where(req.object, req.action)}: the answer (HTTP ${answer.status}) is not a JSON object: ${excerptOf(answer, this.opts.secrets ?? [])}`);
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
          return Promise.resolve(`Bearer ${this.token.reveal()}`);
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

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
import { NetworkError } from '../../errors.js';
import type { HttpAnswer } from '../../net/http.js';
import type { Secret } from '../../secret.js';
import { excerptLine, jsonObjectOf, MdmHttpClient, type AuthRefusals, type MdmClientOptions, type MdmRequest } from '../http-client.js';

export type SendRequest = MdmRequest;
export type ClientOptions = MdmClientOptions;

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
  return excerptLine(flat, secrets);
}

export class FleetClient extends MdmHttpClient {
  protected readonly refusals: AuthRefusals = {
    unauthorized: "the API token was refused (HTTP 401): check credentials.apiToken (an API-only user's token; a user's token ends when the session does)",
    forbidden: "refused with HTTP 403: the API user's role lacks this (it needs maintainer or admin on the team; docs/fleet.md)",
  };

  constructor(
    baseUrl: string,
    readonly token: Secret,
    opts: ClientOptions,
    /** `fleet acme`. */
    who: string,
  ) {
    super(baseUrl, opts, who);
  }

  protected authorization(): Promise<string> {
    return Promise.resolve(`Bearer ${this.token.reveal()}`);
  }

  protected excerpt(answer: HttpAnswer): string {
    return excerptOf(answer, this.opts.secrets ?? []);
  }

  protected wire(req: SendRequest): MdmRequest {
    return req;
  }

  /** {@link expect} 200, then the answer as a JSON object (bounded). */
  async json(req: SendRequest): Promise<Record<string, unknown>> {
    const answer = await this.expect(req, [200]);
    return this.parse(answer, req);
  }

  parse(answer: HttpAnswer, req: Pick<SendRequest, 'object' | 'action'>): Record<string, unknown> {
    if (answer.body.byteLength > MAX_JSON_BYTES) throw new NetworkError(`${this.where(req.object, req.action)}: the answer is larger than ${MAX_JSON_BYTES} bytes; not read`);
    const v = jsonObjectOf(answer.body);
    if (v) return v;
    throw new NetworkError(`${this.where(req.object, req.action)}: the answer (HTTP ${answer.status}) is not a JSON object: ${excerptOf(answer, this.opts.secrets ?? [])}`);
  }
}

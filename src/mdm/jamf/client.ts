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
import type { HttpAnswer } from '../../net/http.js';
import { excerptLine, SignedInClient, type AuthRefusals, type MdmClientOptions, type MdmRequest } from '../http-client.js';
import type { JamfAuth } from './auth.js';

export type SendRequest = MdmRequest;
export type ClientOptions = MdmClientOptions;

export class JamfClient extends SignedInClient<JamfAuth> {
  protected readonly refusals: AuthRefusals = {
    unauthorized: "authentication refused (HTTP 401) after signing in again: check the credentials and that the API client's role is assigned",
    forbidden: 'refused with HTTP 403: the API role lacks a privilege for this (docs/jamf.md lists the privileges needed)',
  };

  protected excerpt(answer: HttpAnswer): string {
    return excerptLine(Buffer.from(answer.body.subarray(0, 4096)).toString('utf8'), this.opts.secrets ?? [], true);
  }

  protected wire(req: SendRequest): MdmRequest {
    return req;
  }
}

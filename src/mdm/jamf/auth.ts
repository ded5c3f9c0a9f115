/**
 * Signing in to a Jamf Pro server and keeping a bearer token valid for as long as a target's work runs.
 *
 *  - API client (Jamf Pro ≥ 10.49): `POST /api/oauth/token`, form-encoded `client_id`, `client_secret`,
 *    `grant_type=client_credentials` → `{access_token, expires_in}`. A new token is simply asked for again.
 *  - User account (older servers, or no API client): `POST /api/v1/auth/token` with HTTP Basic → `{token, expires}`;
 *    renewed with `POST /api/v1/auth/keep-alive` (Bearer), and signed in afresh if the keep-alive is refused.
 *
 * A token is renewed before it runs out: when less than 20 % of its lifetime or 60 s is left, whichever is smaller
 * (a 20-minute token lasts 19 minutes; a 10-second token in a test 8 s). The provider is asked before every request
 * attempt, so a retried or restarted upload starts with a token that is valid then. `invalidate()` drops the token
 * after the server answered 401 (it expired early, was revoked): the next request signs in again, once.
 *
 * Nothing secret reaches a message: the client id and user name are literals from the rollout file, the secret and
 * password are {@link Secret}s, and a refused sign-in shows the server's error code, never its echo of a body.
 */
import { NetworkError, RemoteRejection } from '../../errors.js';
import { printableUrl, requestBytes, type HttpAnswer, type HttpOptions } from '../../net/http.js';
import { redact, type Secret } from '../../secret.js';
import { jsonObjectOf } from '../http-client.js';

export type JamfCredentials =
  | { kind: 'client'; clientId: string; clientSecret: Secret }
  | { kind: 'user'; username: string; password: Secret };

export interface AuthOptions extends HttpOptions {
  /** The clock, for tests; default Date.now. */
  now?: () => number;
  /** Each token request, counted by the session. */
  onRequest?: () => void;
}

interface Token {
  value: string;
  /** When it was received and when it runs out, by our clock (ms). */
  receivedAt: number;
  expiresAt: number;
}

/** How long before expiry a token is renewed: 20 % of its lifetime or 60 s, whichever is smaller. */
export function renewMarginMs(lifetimeMs: number): number {
  return Math.min(60_000, Math.max(0, lifetimeMs) * 0.2);
}

/** A lifetime we cannot read (missing, past, by a skewed clock) is taken as this, so the token is used and renewed soon. */
const FALLBACK_LIFETIME_MS = 60_000;

function excerpt(text: string, secrets: Secret[]): string {
  const flat = redact(text, secrets).replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat || '(empty body)';
}

export class JamfAuth {
  #token: Token | undefined;
  #pending: Promise<Token> | undefined;
  readonly #base: string;
  readonly #creds: JamfCredentials;
  readonly #opts: AuthOptions;
  readonly #who: string;

  /** `who` prefixes messages: `jamf acme`. */
  constructor(baseUrl: string, creds: JamfCredentials, opts: AuthOptions, who: string) {
    this.#base = baseUrl.replace(/\/+$/, '');
    this.#creds = creds;
    this.#opts = opts;
    this.#who = who;
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }

  /** The Authorization header value (`Bearer …`), signing in or renewing first when needed. */
  async header(): Promise<string> {
    const t = this.#token;
    if (t && this.#now() < t.expiresAt - renewMarginMs(t.expiresAt - t.receivedAt)) return `Bearer ${t.value}`;
    // One sign-in at a time: concurrent requests of a target share it.
    this.#pending ??= this.#renew(t).finally(() => {
      this.#pending = undefined;
    });
    const fresh = await this.#pending;
    return `Bearer ${fresh.value}`;
  }

  /** Forget the token (the server answered 401 with it); the next {@link header} signs in again. */
  invalidate(): void {
    this.#token = undefined;
  }

  async #renew(old: Token | undefined): Promise<Token> {
    let token: Token | undefined;
    if (this.#creds.kind === 'user' && old && this.#now() < old.expiresAt) token = await this.#keepAlive(old);
    token ??= this.#creds.kind === 'client' ? await this.#clientToken(this.#creds) : await this.#userToken(this.#creds);
    this.#token = token;
    return token;
  }

  #send(path: string, init: { method: 'POST'; headers: Record<string, string>; body?: string }, what: string): Promise<HttpAnswer> {
    this.#opts.onRequest?.();
    const url = `${this.#base}${path}`;
    return requestBytes({ url, ...init }, this.#opts, { where: `${this.#who}: ${what} (${printableUrl(url)})` });
  }

  #secrets(): Secret[] {
    return [this.#creds.kind === 'client' ? this.#creds.clientSecret : this.#creds.password];
  }

  #refused(what: string, answer: HttpAnswer, hint: string): RemoteRejection {
    const body = jsonObjectOf(answer.body);
    const code = typeof body?.error === 'string' ? body.error : undefined;
    const detail = code ? ` (${code.slice(0, 80)})` : answer.status === 401 || answer.status === 400 ? '' : `: ${excerpt(Buffer.from(answer.body).toString('utf8'), this.#secrets())}`;
    return new RemoteRejection(`${this.#who}: ${what}: refused with HTTP ${answer.status}${detail}: ${hint}`);
  }

  #tokenOf(answer: HttpAnswer, what: string, field: 'access_token' | 'token'): { value: string; body: Record<string, unknown> } {
    const body = jsonObjectOf(answer.body);
    const value = body?.[field];
    if (typeof value !== 'string' || value.length === 0 || value.length > 16_384) {
      throw new NetworkError(`${this.#who}: ${what}: HTTP ${answer.status} without a usable "${field}" in the answer`);
    }
    return { value, body: body! };
  }

  async #clientToken(c: { clientId: string; clientSecret: Secret }): Promise<Token> {
    const what = `sign in as API client "${c.clientId}"`;
    const form = new URLSearchParams({ client_id: c.clientId, client_secret: c.clientSecret.reveal(), grant_type: 'client_credentials' });
    const answer = await this.#send('/api/oauth/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: form.toString() }, what);
    if (answer.status === 404) {
      throw this.#refused(what, answer, 'this server has no /api/oauth/token (Jamf Pro before 10.49): give username and password instead of clientId and clientSecret');
    }
    if (answer.status !== 200) throw this.#refused(what, answer, 'check clientId and clientSecret and that the API client is enabled');
    const { value, body } = this.#tokenOf(answer, what, 'access_token');
    const seconds = typeof body.expires_in === 'number' && Number.isFinite(body.expires_in) && body.expires_in > 0 ? body.expires_in : undefined;
    const now = this.#now();
    return { value, receivedAt: now, expiresAt: now + (seconds !== undefined ? seconds * 1000 : FALLBACK_LIFETIME_MS) };
  }

  #userTokenOf(answer: HttpAnswer, what: string): Token {
    const { value, body } = this.#tokenOf(answer, what, 'token');
    const now = this.#now();
    const at = typeof body.expires === 'string' ? Date.parse(body.expires) : typeof body.expires === 'number' ? body.expires : NaN;
    // `expires` is the server's clock; a value already past by ours (skew) is not trusted for more than a minute.
    const lifetime = Number.isFinite(at) && at > now ? at - now : FALLBACK_LIFETIME_MS;
    return { value, receivedAt: now, expiresAt: now + lifetime };
  }

  async #userToken(c: { username: string; password: Secret }): Promise<Token> {
    const what = `sign in as user "${c.username}"`;
    const basic = Buffer.from(`${c.username}:${c.password.reveal()}`, 'utf8').toString('base64');
    const answer = await this.#send('/api/v1/auth/token', { method: 'POST', headers: { authorization: `Basic ${basic}`, accept: 'application/json' } }, what);
    if (answer.status !== 200) {
      const expired = Buffer.from(answer.body).toString('utf8').includes('USER_EXPIRED_PASSWORD');
      throw this.#refused(what, answer, expired ? "the account's password has expired: change it in Jamf Pro" : 'check username and password and that the account may use the API');
    }
    return this.#userTokenOf(answer, what);
  }

  /** Renew a user token; undefined when the server refuses (then we sign in again). */
  async #keepAlive(old: Token): Promise<Token | undefined> {
    const what = 'renew the token (keep-alive)';
    const answer = await this.#send('/api/v1/auth/keep-alive', { method: 'POST', headers: { authorization: `Bearer ${old.value}`, accept: 'application/json' } }, what);
    if (answer.status !== 200) return undefined;
    return this.#userTokenOf(answer, what);
  }
}

/**
 * Signing in to Microsoft Entra ID for Microsoft Graph (Intune) with the OAuth 2.0 client-credentials grant, and
 * keeping the access token valid for as long as a target's work runs (issue 12). One of three credentials:
 *
 *  - a client secret: `client_secret`;
 *  - a certificate: a client assertion JWT signed with its private key, header `alg` PS256, `typ` JWT and `x5t#S256`
 *    (base64url SHA-256 of the certificate's DER), claims `aud` = the token URL, `iss` = `sub` = client id, `jti`,
 *    `nbf`, `iat`, `exp` (+10 min). The key and certificate come from one PEM (PKCS#8 or PKCS#1 key), or a PKCS#12
 *    (PFX) given base64 in the file (a secret file is read as text), with an optional password;
 *  - workload identity federation: a JWT of another issuer as the client assertion — read from a file when the run
 *    starts (like every secret reference: a platform-rotated token must outlive the run), or asked of GitHub
 *    Actions' OIDC endpoint at every sign-in:
 *    GET `$ACTIONS_ID_TOKEN_REQUEST_URL&audience=api://AzureADTokenExchange`, `Authorization: bearer
 *    $ACTIONS_ID_TOKEN_REQUEST_TOKEN` → `{"value": jwt}`. No secret to rotate, none to leak.
 *
 * Token endpoint `{authority}/{tenant}/oauth2/v2.0/token`, scope `{graph origin}/.default` (graph-intune.json: auth).
 * The token is renewed before it runs out (20 % of its lifetime or 60 s, whichever is smaller); `invalidate()` after a
 * 401 makes the next request sign in again. A refused sign-in (400/401) is a RemoteRejection (exit 6) naming Entra's
 * error code (`invalid_client`, AADSTS7000215) — never the description, which may echo input.
 */
import { createHash, createPrivateKey, randomUUID, X509Certificate, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import forge from 'node-forge';
import { NetworkError, RemoteRejection, UsageError } from '../../errors.js';
import { printableUrl, requestBytes, type HttpOptions } from '../../net/http.js';
import type { Secret } from '../../secret.js';
import { jsonObjectOf } from '../http-client.js';

export type IntuneCredential =
  | { kind: 'secret'; clientSecret: Secret }
  | { kind: 'certificate'; certificate: Secret; password?: Secret }
  | { kind: 'federated-file'; token: Secret }
  | { kind: 'github-actions' };

export interface IntuneIdentity {
  tenantId: string;
  clientId: string;
  credential: IntuneCredential;
  /** e.g. https://login.microsoftonline.com (public cloud). */
  authority: string;
  /** The Graph service root, e.g. https://graph.microsoft.com/beta; the scope is its origin + `/.default`. */
  graphUrl: string;
}

export interface IntuneAuthOptions extends HttpOptions {
  now?: () => number;
  onRequest?: () => void;
  /** Where GitHub Actions' variables are read (tests); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export const FEDERATED_AUDIENCE = 'api://AzureADTokenExchange';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const FALLBACK_LIFETIME_MS = 60_000;

export function renewMarginMs(lifetimeMs: number): number {
  return Math.min(60_000, Math.max(0, lifetimeMs) * 0.2);
}

export function tokenUrl(authority: string, tenantId: string): string {
  return `${authority.replace(/\/+$/, '')}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`;
}

export function graphScope(graphUrl: string): string {
  return `${new URL(graphUrl).origin}/.default`;
}

/** A signing key and its certificate's SHA-256 thumbprint, from a PEM or a base64 PKCS#12. */
export function loadCertificate(text: string, password: string | undefined, where: string): { key: KeyObject; x5tS256: string } {
  if (text.includes('-----BEGIN')) {
    const certPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)?.[0];
    const keyPem = /-----BEGIN (?:RSA |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |ENCRYPTED )?PRIVATE KEY-----/.exec(text)?.[0];
    if (!certPem || !keyPem) throw new UsageError(`${where}: the PEM must hold the private key and its certificate (BEGIN PRIVATE KEY and BEGIN CERTIFICATE); ${certPem ? 'no key' : 'no certificate'} found`);
    let key: KeyObject;
    try {
      key = createPrivateKey(password ? { key: keyPem, passphrase: password } : keyPem);
    } catch {
      throw new UsageError(`${where}: the private key cannot be read (an encrypted key needs certificatePassword)`);
    }
    const der = new X509Certificate(certPem).raw;
    return { key, x5tS256: createHash('sha256').update(der).digest('base64url') };
  }
  // PKCS#12, base64 in the file.
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    const der = forge.util.decode64(text.replace(/\s+/g, ''));
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(der), password ?? '');
  } catch {
    throw new UsageError(`${where}: neither a PEM (key + certificate) nor a base64 PKCS#12 that opens with the password given`);
  }
  const bags = (type: string): forge.pkcs12.Bag[] => p12.getBags({ bagType: type })[type] ?? [];
  const keyBag = bags(forge.pki.oids.pkcs8ShroudedKeyBag!)[0] ?? bags(forge.pki.oids.keyBag!)[0];
  const certBag = bags(forge.pki.oids.certBag!)[0];
  if (!keyBag?.key || !certBag?.cert) throw new UsageError(`${where}: the PKCS#12 holds no ${keyBag?.key ? 'certificate' : 'private key'}`);
  const key = createPrivateKey(forge.pki.privateKeyToPem(keyBag.key));
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(certBag.cert)).getBytes(), 'binary');
  return { key, x5tS256: createHash('sha256').update(der).digest('base64url') };
}

/** The client assertion for a certificate credential (PS256, x5t#S256, 10 minutes). */
export async function certificateAssertion(id: { clientId: string; tokenUrl: string }, cert: { key: KeyObject; x5tS256: string }, nowMs: number): Promise<string> {
  const now = Math.floor(nowMs / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'PS256', typ: 'JWT', 'x5t#S256': cert.x5tS256 })
    .setIssuer(id.clientId)
    .setSubject(id.clientId)
    .setAudience(id.tokenUrl)
    .setJti(randomUUID())
    .setNotBefore(now)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(cert.key);
}

interface Token {
  value: string;
  receivedAt: number;
  expiresAt: number;
}

export class IntuneAuth {
  #token: Token | undefined;
  #pending: Promise<Token> | undefined;
  #cert: { key: KeyObject; x5tS256: string } | undefined;
  readonly #id: IntuneIdentity;
  readonly #opts: IntuneAuthOptions;
  readonly #who: string;
  readonly #url: string;

  constructor(id: IntuneIdentity, opts: IntuneAuthOptions, who: string) {
    this.#id = id;
    this.#opts = opts;
    this.#who = who;
    this.#url = tokenUrl(id.authority, id.tenantId);
    // Parse, then act: a certificate that cannot be read is a usage error before any request.
    if (id.credential.kind === 'certificate') this.#cert = loadCertificate(id.credential.certificate.reveal(), id.credential.password?.reveal(), `${who}: credentials.certificate`);
    if (id.credential.kind === 'github-actions') this.#githubVars();
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }

  async header(): Promise<string> {
    const t = this.#token;
    if (t && this.#now() < t.expiresAt - renewMarginMs(t.expiresAt - t.receivedAt)) return `Bearer ${t.value}`;
    this.#pending ??= this.#signIn().finally(() => {
      this.#pending = undefined;
    });
    this.#token = await this.#pending;
    return `Bearer ${this.#token.value}`;
  }

  invalidate(): void {
    this.#token = undefined;
  }

  #githubVars(): { url: string; bearer: string } {
    const env = this.#opts.env ?? process.env;
    const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
    const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
    if (!url || !bearer) {
      throw new UsageError(`${this.#who}: credentials.federated is "github-actions" but ACTIONS_ID_TOKEN_REQUEST_URL / ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: give the job "permissions: id-token: write"`);
    }
    return { url, bearer };
  }

  /** A GitHub Actions OIDC token for the Entra audience. */
  async #githubToken(): Promise<string> {
    const { url, bearer } = this.#githubVars();
    const full = `${url}${url.includes('?') ? '&' : '?'}audience=${encodeURIComponent(FEDERATED_AUDIENCE)}`;
    const what = `${this.#who}: ask GitHub Actions for an OIDC token (${printableUrl(full)})`;
    this.#opts.onRequest?.();
    const answer = await requestBytes({ url: full, method: 'GET', headers: { authorization: `bearer ${bearer}`, accept: 'application/json' } }, this.#opts, { where: what });
    if (answer.status !== 200) throw new RemoteRejection(`${what}: refused with HTTP ${answer.status}: check the job's "permissions: id-token: write"`);
    const value = jsonObjectOf(answer.body)?.value;
    if (typeof value !== 'string' || value.split('.').length !== 3 || value.length > 16_384) throw new NetworkError(`${what}: HTTP 200 without a JWT in "value"`);
    return value;
  }

  async #form(): Promise<Record<string, string>> {
    const c = this.#id.credential;
    const base = { client_id: this.#id.clientId, scope: graphScope(this.#id.graphUrl), grant_type: 'client_credentials' };
    switch (c.kind) {
      case 'secret':
        return { ...base, client_secret: c.clientSecret.reveal() };
      case 'certificate':
        return { ...base, client_assertion_type: ASSERTION_TYPE, client_assertion: await certificateAssertion({ clientId: this.#id.clientId, tokenUrl: this.#url }, this.#cert!, this.#now()) };
      case 'federated-file':
        return { ...base, client_assertion_type: ASSERTION_TYPE, client_assertion: c.token.reveal().trim() };
      case 'github-actions':
        return { ...base, client_assertion_type: ASSERTION_TYPE, client_assertion: await this.#githubToken() };
    }
  }

  async #signIn(): Promise<Token> {
    const what = `${this.#who}: sign in as app ${this.#id.clientId} (${this.#id.credential.kind}) to tenant ${this.#id.tenantId}`;
    const form = new URLSearchParams(await this.#form());
    this.#opts.onRequest?.();
    const answer = await requestBytes(
      { url: this.#url, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: form.toString() },
      this.#opts,
      { where: `${what} (${printableUrl(this.#url)})` },
    );
    const body = jsonObjectOf(answer.body);
    if (answer.status !== 200) {
      const code = typeof body?.error === 'string' ? body.error.slice(0, 60) : undefined;
      const codes = Array.isArray(body?.error_codes) ? body.error_codes.filter((n) => typeof n === 'number').slice(0, 3).map((n) => `AADSTS${n}`) : [];
      const detail = [code, ...codes].filter(Boolean).join(', ');
      throw new RemoteRejection(`${what}: refused with HTTP ${answer.status}${detail ? ` (${detail})` : ''}: check tenantId, clientId and the credential (docs/intune-macos.md: app registration)`);
    }
    const value = body?.access_token;
    if (typeof value !== 'string' || value.length === 0 || value.length > 16_384) throw new NetworkError(`${what}: HTTP 200 without a usable "access_token"`);
    const secs = typeof body?.expires_in === 'number' ? body.expires_in : typeof body?.expires_in === 'string' ? Number(body.expires_in) : NaN;
    const now = this.#now();
    return { value, receivedAt: now, expiresAt: now + (Number.isFinite(secs) && secs > 0 ? secs * 1000 : FALLBACK_LIFETIME_MS) };
  }
}

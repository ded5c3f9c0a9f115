/**
 * Entra ID's token endpoint for the client-credentials grant (graph-intune.json `auth`):
 * `POST /{tenant}/oauth2/v2.0/token`, form-encoded `client_id`, `scope` = `{graph origin}/.default`, `grant_type`
 * `client_credentials`, and either `client_secret` or `client_assertion_type` (jwt-bearer) + `client_assertion`.
 * Success: `{token_type: "Bearer", expires_in, access_token}`; a refusal is 400 (401 for a bad client) with
 * `{error, error_description, error_codes[], timestamp, trace_id, correlation_id}`.
 *
 * Assertions: a certificate client's JWT must be signed with its key (PS256 or RS256), name the certificate by
 * `x5t#S256` or `x5t`, and carry aud = the token URL, iss = sub = client id and a future exp. A federated client's
 * JWT must carry its issuer, subject and audience (api://AzureADTokenExchange) and a future exp; its signature is not
 * checked (the issuer's keys are not here).
 */
import { createHash, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { compactVerify, decodeJwt, decodeProtectedHeader } from 'jose';
import type { IntuneServer } from './server.js';
import type { AppClient, Reply } from './types.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function refuse(status: number, error: string, code: number, text: string): Reply {
  const trace = randomUUID();
  return {
    status,
    body: { error, error_description: `AADSTS${code}: ${text} Trace ID: ${trace} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`, error_codes: [code], timestamp: new Date().toISOString(), trace_id: trace, correlation_id: randomUUID() },
  };
}

async function assertionProblem(client: AppClient, jwt: string, tokenUrl: string, now: number): Promise<string | undefined> {
  let claims: ReturnType<typeof decodeJwt>;
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    claims = decodeJwt(jwt);
    header = decodeProtectedHeader(jwt);
  } catch {
    return 'the client assertion is not a JWT';
  }
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= now) return 'the client assertion has expired';
  if (client.certificatePem) {
    const cert = new X509Certificate(client.certificatePem);
    const s256 = createHash('sha256').update(cert.raw).digest('base64url');
    const s1 = createHash('sha1').update(cert.raw).digest('base64url');
    if (header['x5t#S256'] !== s256 && header.x5t !== s1) return 'the assertion names no certificate registered for the app (x5t#S256)';
    if (header.alg !== 'PS256' && header.alg !== 'RS256') return `the assertion algorithm ${String(header.alg)} is not PS256 or RS256`;
    try {
      await compactVerify(jwt, cert.publicKey);
    } catch {
      return 'the assertion signature does not verify with the registered certificate';
    }
    if (claims.aud !== tokenUrl) return `the assertion audience must be the token URL ${tokenUrl}`;
    if (claims.iss !== client.id || claims.sub !== client.id) return 'the assertion iss and sub must be the client id';
    if (typeof claims.jti !== 'string') return 'the assertion has no jti';
    return undefined;
  }
  if (client.federated) {
    const f = client.federated;
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (claims.iss !== f.issuer || claims.sub !== f.subject || !aud.includes(f.audience ?? 'api://AzureADTokenExchange')) return 'no federated identity credential matches the assertion (issuer, subject, audience)';
    return undefined;
  }
  return 'the app has no certificate or federated credential';
}

export async function tokenRoute(server: IntuneServer, path: string, req: IncomingMessage, raw: Buffer): Promise<Reply> {
  const tenant = decodeURIComponent(path.split('/')[1] ?? '');
  if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    server.validationFailures.push(`token: content-type ${String(req.headers['content-type'])}, expected application/x-www-form-urlencoded`);
    return refuse(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.");
  }
  const form = new URLSearchParams(raw.toString('utf8'));
  const known = ['client_id', 'scope', 'grant_type', 'client_secret', 'client_assertion_type', 'client_assertion'];
  for (const k of form.keys()) if (!known.includes(k)) server.validationFailures.push(`token: unknown form field ${k}`);
  if (tenant !== server.tenantId) return refuse(400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found.`);
  if (form.get('grant_type') !== 'client_credentials') {
    server.validationFailures.push(`token: grant_type ${String(form.get('grant_type'))}`);
    return refuse(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
  }
  if (form.get('scope') !== `${server.url}/.default`) {
    server.validationFailures.push(`token: scope ${String(form.get('scope'))}, expected ${server.url}/.default`);
    return refuse(400, 'invalid_scope', 1002012, 'The provided value for scope is not valid.');
  }
  const client = server.clients.find((c) => c.id === form.get('client_id'));
  if (!client) return refuse(400, 'unauthorized_client', 700016, `Application with identifier '${String(form.get('client_id'))}' was not found in the directory.`);
  const secret = form.get('client_secret');
  const assertion = form.get('client_assertion');
  if ((secret === null) === (assertion === null)) {
    server.validationFailures.push('token: give exactly one of client_secret and client_assertion');
    return refuse(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
  }
  if (secret !== null) {
    if (!client.secret || secret !== client.secret) return refuse(401, 'invalid_client', 7000215, 'Invalid client secret provided.');
  } else {
    if (form.get('client_assertion_type') !== ASSERTION_TYPE) {
      server.validationFailures.push(`token: client_assertion_type ${String(form.get('client_assertion_type'))}`);
      return refuse(400, 'invalid_request', 50027, 'Invalid JWT token.');
    }
    const problem = await assertionProblem(client, assertion!, `${server.url}/${tenant}/oauth2/v2.0/token`, server.options.now());
    if (problem) return refuse(401, 'invalid_client', 700027, `Client assertion failed signature validation or claims: ${problem}.`);
  }
  const value = `eyJ0eXAiOiJKV1QifQ.${randomBytes(24).toString('base64url')}.${randomBytes(16).toString('base64url')}`;
  server.tokens.set(value, { client: client.id, expiresAt: server.options.now() + server.options.tokenLifetimeSec * 1000 });
  return { status: 200, body: { token_type: 'Bearer', expires_in: server.options.tokenLifetimeSec, ext_expires_in: server.options.tokenLifetimeSec, access_token: value } };
}

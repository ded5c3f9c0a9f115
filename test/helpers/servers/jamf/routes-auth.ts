/**
 * The token endpoints of the local Jamf Pro server (jamf.json `auth`, from Jamf's on-instance description):
 *   - `POST /api/oauth/token` and `/api/v1/oauth/token`: client credentials, form-encoded (OAuthTokenRequest);
 *     success `{access_token, expires_in, scope, token_type: "Bearer"}`; errors in the RFC 6749 §5.2 shape
 *     (`invalid_request` 400, `unsupported_grant_type` 400, `invalid_client` 401);
 *   - `POST /api/v1/auth/token`: HTTP Basic → `{token, expires}` (AuthTokenV1); 401 ApiError otherwise;
 *   - `POST /api/v1/auth/keep-alive`: a user token → a new one (the old one is invalidated); an API-client token
 *     is refused (401): API clients ask for a new token instead;
 *   - `POST /api/v1/auth/invalidate-token`: 204.
 *   - `GET /api/v1/jamf-pro-version` → `{version}` (needs a token; not in the slice, a documented Jamf endpoint).
 */
import { timingSafeEqual } from 'node:crypto';
import { apiError, sendJson } from './reply.js';
import type { Route, RouteContext } from './types.js';
import { validate } from './schemas.js';

const same = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

function oauthError(res: RouteContext['res'], status: number, error: string, description: string): void {
  sendJson(res, status, { error, error_description: description, error_uri: 'https://datatracker.ietf.org/doc/html/rfc6749#section-5.2' });
}

async function oauthToken(ctx: RouteContext): Promise<void> {
  const { server, req, res } = ctx;
  if (!server.options.oauth) {
    req.resume();
    return apiError(res, 404, 'NOT_FOUND', 'no /api/oauth/token on this server (Jamf Pro before 10.49.0)');
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const raw = (await ctx.body()).toString('utf8');
  if (type !== 'application/x-www-form-urlencoded') {
    server.validationFailures.push(`POST ${ctx.path}: content-type ${type || '(none)'}, expected application/x-www-form-urlencoded`);
    return oauthError(res, 400, 'invalid_request', 'the token request must be application/x-www-form-urlencoded');
  }
  const form = Object.fromEntries(new URLSearchParams(raw));
  const problems = validate('jamf-auth', 'OAuthTokenRequest', form);
  if (problems.length > 0) {
    server.validationFailures.push(...problems.map((p) => `POST ${ctx.path}: ${p.message}`));
    return oauthError(res, 400, 'invalid_request', `OAuth 2.0 Parameter: ${problems[0]!.field.slice(1) || 'body'}`);
  }
  if (form.grant_type !== 'client_credentials') return oauthError(res, 400, 'unsupported_grant_type', 'OAuth 2.0 Parameter: grant_type');
  const client = server.clients.find((c) => c.id === form.client_id);
  if (!client || !same(client.secret, form.client_secret ?? '')) return oauthError(res, 401, 'invalid_client', 'Client authentication failed');
  const t = server.issueToken('oauth', client.id);
  sendJson(res, 200, { access_token: t.value, expires_in: server.options.oauthLifetimeSec, scope: 'api-role:1', token_type: 'Bearer' });
}

async function basicToken(ctx: RouteContext): Promise<void> {
  const { server, req, res } = ctx;
  await ctx.body();
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? '');
  const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  const user = colon > 0 ? server.users.find((u) => u.username === decoded.slice(0, colon)) : undefined;
  if (!user || !same(user.password, decoded.slice(colon + 1))) return apiError(res, 401, 'INVALID_CREDENTIALS', 'Unauthorized');
  const t = server.issueToken('user', user.username);
  sendJson(res, 200, { token: t.value, expires: new Date(t.expiresAt).toISOString() });
}

function bearer(ctx: RouteContext): ReturnType<RouteContext['server']['tokens']['get']> {
  const auth = ctx.req.headers.authorization ?? '';
  const t = /^Bearer (\S+)$/.exec(auth) ? ctx.server.tokens.get(auth.slice(7)) : undefined;
  return t && t.valid && t.expiresAt > ctx.server.options.now() ? t : undefined;
}

async function keepAlive(ctx: RouteContext): Promise<void> {
  await ctx.body();
  const t = bearer(ctx);
  if (!t || t.kind !== 'user') return apiError(ctx.res, 401, 'INVALID_TOKEN', 'Unauthorized');
  t.valid = false;
  const next = ctx.server.issueToken('user', t.subject);
  sendJson(ctx.res, 200, { token: next.value, expires: new Date(next.expiresAt).toISOString() });
}

async function invalidate(ctx: RouteContext): Promise<void> {
  await ctx.body();
  const t = bearer(ctx);
  if (!t) return apiError(ctx.res, 401, 'INVALID_TOKEN', 'Unauthorized');
  t.valid = false;
  ctx.res.writeHead(204).end();
}

export const authRoutes: Route[] = [
  { method: 'POST', pattern: /^\/api\/oauth\/token$/, object: 'auth', open: true, handle: oauthToken },
  { method: 'POST', pattern: /^\/api\/v1\/oauth\/token$/, object: 'auth', open: true, handle: oauthToken },
  { method: 'POST', pattern: /^\/api\/v1\/auth\/token$/, object: 'auth', open: true, handle: basicToken },
  { method: 'POST', pattern: /^\/api\/v1\/auth\/keep-alive$/, object: 'auth', open: true, handle: keepAlive },
  { method: 'POST', pattern: /^\/api\/v1\/auth\/invalidate-token$/, object: 'auth', open: true, handle: invalidate },
  { method: 'GET', pattern: /^\/api\/v1\/jamf-pro-version$/, object: 'version', handle: (ctx) => sendJson(ctx.res, 200, { version: ctx.server.options.version }) },
];

// Signing in to Entra ID for Graph (src/mdm/intune/auth.ts) against a token endpoint and a GitHub-Actions-style OIDC
// endpoint on 127.0.0.1 that follow Microsoft's and GitHub's published contracts (graph-intune.json: auth). The
// certificate and PKCS#12 are made by openssl; the assertion's signature is checked with the certificate's public key
// and its x5t#S256 against openssl's own SHA-256 of the DER.
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteRejection, UsageError } from '../../../src/errors.js';
import { IntuneAuth, type IntuneCredential } from '../../../src/mdm/intune/auth.js';
import { Secret } from '../../../src/secret.js';

interface Seen {
  path: string;
  form: URLSearchParams;
  auth?: string;
  url: string;
}

let server: Server;
let base = '';
const seen: Seen[] = [];
let tokenAnswer: { status: number; body: unknown } = { status: 200, body: { token_type: 'Bearer', expires_in: 3599, access_token: 'at-1' } };
const GH_BEARER = 'gh-request-token-xyz';
const GH_JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL3Rva2VuLmFjdGlvbnMuZ2l0aHVidXNlcmNvbnRlbnQuY29tIn0.c2ln';

async function body(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

beforeAll(async () => {
  server = createServer((req, res) => {
    void body(req).then((text) => {
      const u = new URL(req.url ?? '/', 'http://x');
      seen.push({ path: u.pathname, form: new URLSearchParams(text), auth: req.headers.authorization, url: req.url ?? '' });
      if (u.pathname === '/gh-oidc') {
        // GitHub's contract: bearer of ACTIONS_ID_TOKEN_REQUEST_TOKEN, audience in the query, {"value": jwt}.
        const ok = req.headers.authorization === `bearer ${GH_BEARER}` && u.searchParams.get('audience') === 'api://AzureADTokenExchange' && u.searchParams.get('api-version') === '2.0';
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(ok ? JSON.stringify({ count: 1, value: GH_JWT }) : '{}');
        return;
      }
      if (req.method === 'POST' && /^\/tenant-1\/oauth2\/v2\.0\/token$/.test(u.pathname)) {
        res.writeHead(tokenAnswer.status, { 'content-type': 'application/json' }).end(JSON.stringify(tokenAnswer.body));
        return;
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function auth(credential: IntuneCredential, extra: { now?: () => number; env?: NodeJS.ProcessEnv } = {}): IntuneAuth {
  return new IntuneAuth({ tenantId: 'tenant-1', clientId: 'client-1', credential, authority: base, graphUrl: 'http://127.0.0.1:9/beta' }, { retries: 0, ...extra }, 'intune acme');
}

const dir = mkdtempSync(path.join(tmpdir(), 'intune-auth-'));
const keyPem = path.join(dir, 'key.pem');
const certPem = path.join(dir, 'cert.pem');
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPem, '-out', certPem, '-days', '2', '-subj', '/CN=aiwatch-test'], { stdio: 'ignore' });
const pem = readFileSync(keyPem, 'utf8') + readFileSync(certPem, 'utf8');
const opensslThumb = (): string => {
  const der = execFileSync('openssl', ['x509', '-in', certPem, '-outform', 'DER']);
  const hex = execFileSync('openssl', ['dgst', '-sha256', '-r'], { input: der }).toString('utf8').split(' ')[0]!;
  return Buffer.from(hex, 'hex').toString('base64url');
};

describe('intune sign-in', () => {
  it('client secret: the form of the client-credentials grant, scope of the Graph origin; the token is reused until near expiry', async () => {
    seen.length = 0;
    let now = 1_000_000;
    const a = auth({ kind: 'secret', clientSecret: new Secret('s3cr3t/+=', 'clientSecret') }, { now: () => now });
    expect(await a.header()).toBe('Bearer at-1');
    const f = seen[0]!.form;
    expect(Object.fromEntries(f)).toEqual({ client_id: 'client-1', scope: 'http://127.0.0.1:9/.default', grant_type: 'client_credentials', client_secret: 's3cr3t/+=' });
    await a.header();
    expect(seen.length).toBe(1);
    now += 3599_000 - 30_000; // inside the last 60 s
    await a.header();
    expect(seen.length).toBe(2);
    a.invalidate();
    await a.header();
    expect(seen.length).toBe(3);
  });

  it('certificate (PEM): a PS256 client assertion with x5t#S256, aud the token URL, iss = sub = client id, 10 minutes', async () => {
    seen.length = 0;
    const a = auth({ kind: 'certificate', certificate: new Secret(pem, 'certificate') }, { now: () => 1_700_000_000_000 });
    await a.header();
    const f = seen[0]!.form;
    expect(f.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    expect(f.get('client_secret')).toBeNull();
    const jwt = f.get('client_assertion')!;
    const header = decodeProtectedHeader(jwt);
    expect(header).toEqual({ alg: 'PS256', typ: 'JWT', 'x5t#S256': opensslThumb() });
    const claims = decodeJwt(jwt);
    expect(claims.aud).toBe(`${base}/tenant-1/oauth2/v2.0/token`);
    expect(claims.iss).toBe('client-1');
    expect(claims.sub).toBe('client-1');
    expect(claims.nbf).toBe(1_700_000_000);
    expect(claims.exp).toBe(1_700_000_600);
    expect(typeof claims.jti).toBe('string');
    const pub = createPublicKey(new X509Certificate(readFileSync(certPem)).publicKey.export({ type: 'spki', format: 'pem' }));
    await expect(jwtVerify(jwt, pub, { currentDate: new Date(1_700_000_100_000) })).resolves.toBeTruthy();
  });

  it('certificate (PKCS#12, base64, with a password) signs the same way', async () => {
    seen.length = 0;
    const pfx = execFileSync('openssl', ['pkcs12', '-export', '-inkey', keyPem, '-in', certPem, '-passout', 'pass:pfx-pass', '-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1']);
    const a = auth({ kind: 'certificate', certificate: new Secret(pfx.toString('base64'), 'certificate'), password: new Secret('pfx-pass', 'certificatePassword') });
    await a.header();
    expect(decodeProtectedHeader(seen[0]!.form.get('client_assertion')!)['x5t#S256']).toBe(opensslThumb());
    expect(() => auth({ kind: 'certificate', certificate: new Secret(pfx.toString('base64'), 'certificate'), password: new Secret('wrong', 'p') })).toThrow(UsageError);
  });

  it('a PEM without its certificate is a usage error before any request', () => {
    seen.length = 0;
    expect(() => auth({ kind: 'certificate', certificate: new Secret(readFileSync(keyPem, 'utf8'), 'certificate') })).toThrow(/no certificate found/);
    expect(seen.length).toBe(0);
  });

  it('federated token from a file is the client assertion', async () => {
    seen.length = 0;
    await auth({ kind: 'federated-file', token: new Secret(`${GH_JWT}\n`, 'federatedToken') }).header();
    expect(seen[0]!.form.get('client_assertion')).toBe(GH_JWT);
    expect(seen[0]!.form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  });

  it("GitHub Actions: the job's OIDC token for audience api://AzureADTokenExchange becomes the assertion", async () => {
    seen.length = 0;
    const env = { ACTIONS_ID_TOKEN_REQUEST_URL: `${base}/gh-oidc?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: GH_BEARER };
    await auth({ kind: 'github-actions' }, { env }).header();
    expect(seen.map((s) => s.path)).toEqual(['/gh-oidc', '/tenant-1/oauth2/v2.0/token']);
    expect(seen[0]!.auth).toBe(`bearer ${GH_BEARER}`);
    expect(seen[1]!.form.get('client_assertion')).toBe(GH_JWT);
    // Wrong request token: GitHub refuses, we say what to check.
    await expect(auth({ kind: 'github-actions' }, { env: { ...env, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'nope' } }).header()).rejects.toThrow(/HTTP 401.*id-token: write/);
    expect(() => auth({ kind: 'github-actions' }, { env: {} })).toThrow(/ACTIONS_ID_TOKEN_REQUEST_URL/);
  });

  it("a refused sign-in is a RemoteRejection naming Entra's codes, never the secret or the description", async () => {
    tokenAnswer = { status: 401, body: { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided s3cr3t-value', error_codes: [7000215] } };
    try {
      const e = await auth({ kind: 'secret', clientSecret: new Secret('s3cr3t-value', 'clientSecret') }).header().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(RemoteRejection);
      const m = (e as Error).message;
      expect(m).toMatch(/intune acme: sign in as app client-1 .*HTTP 401 \(invalid_client, AADSTS7000215\)/);
      expect(m).not.toContain('s3cr3t');
      expect((e as RemoteRejection).exitCode).toBe(6);
    } finally {
      tokenAnswer = { status: 200, body: { token_type: 'Bearer', expires_in: 3599, access_token: 'at-1' } };
    }
  });
});

/**
 * A local stand-in for Apple's Notary REST API v2 (developer.apple.com/documentation/notaryapi), following the
 * documented shapes: `POST /notary/v2/submissions`, `GET /notary/v2/submissions/{id}`,
 * `GET /notary/v2/submissions/{id}/logs` → `developerLogUrl`, and that pre-signed developer-log URL itself
 * (`GET /developer-log/{id}?X-Amz-…`, no bearer token, like Apple's S3-hosted logs).
 *
 * It checks what Apple checks before answering: an ES256 JWT verified against the API key's public key, with
 * header kid/typ, claims iss/aud, and exp − iat ≤ 20 minutes. A submission stays "In Progress" until its object
 * appears in the linked S3 server; an upload whose sha256 differs from the one declared is "Invalid".
 * Fault injection: 500 once on a route, 401 for everything, a chosen verdict (or one that never comes).
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { sendJson, startLocalServer, type LocalServer } from './listen.js';
import type { S3Server } from './s3.js';

export type Route = 'create' | 'status' | 'logs' | 'devlog';

export interface ServerIssue {
  severity: string;
  path: string;
  message: string;
  architecture?: string;
}

export interface NotaryServerOptions {
  publicKey: KeyObject;
  keyId: string;
  issuerId: string;
  s3: S3Server;
  /** Verdict once uploaded; 'never' keeps "In Progress" forever. Default Accepted. */
  outcome?: 'Accepted' | 'Invalid' | 'Rejected' | 'never';
  /** "In Progress" answers after the upload before the verdict. Default 0. */
  inProgressPolls?: number;
  /** Answer 500 the first time each listed route is called. */
  failOnce?: Route[];
  /** Answer 401 to every authenticated call. */
  refuseAuth?: boolean;
  /** Issues in the developer log of an Invalid/Rejected submission. */
  issues?: ServerIssue[];
  /** Clock for JWT checks (ms); default real time. Share the test's fake clock. */
  now?: () => number;
  /** Hand out these upload credentials instead of the S3 server's (to provoke an S3 refusal). */
  handOut?: Partial<S3Server['credentials']>;
}

interface Submission {
  id: string;
  name: string;
  sha256: string;
  object: string;
  polls: number;
  createdDate: string;
}

export interface NotaryServer extends LocalServer {
  submissions: Map<string, Submission>;
  /** Every request: method, path and the status answered. */
  log: { method: string; path: string; status: number }[];
  /** Decoded JWT claims/header of each accepted call. */
  tokens: { header: Record<string, unknown>; claims: Record<string, unknown> }[];
  /** Create a submission directly (for --submission-id tests), already uploaded. */
  seed: (status?: NotaryServerOptions['outcome']) => string;
}

const BUCKET = 'notary-submissions-prod';
const NOT_AUTHORIZED = { errors: [{ status: '401', code: 'NOT_AUTHORIZED', title: 'Authentication credentials are missing or invalid.', detail: 'Provide a properly configured and signed bearer token, and make sure that it has not expired.' }] };

export async function startNotaryServer(opts: NotaryServerOptions): Promise<NotaryServer> {
  const submissions = new Map<string, Submission>();
  const seeded = new Map<string, NotaryServerOptions['outcome']>();
  const log: NotaryServer['log'] = [];
  const tokens: NotaryServer['tokens'] = [];
  const failOnce = new Set(opts.failOnce ?? []);
  let base = '';

  async function authorized(header: string | undefined): Promise<boolean> {
    if (opts.refuseAuth) return false;
    const token = /^Bearer (.+)$/.exec(header ?? '')?.[1];
    if (!token) return false;
    try {
      const { payload, protectedHeader } = await jwtVerify(token, opts.publicKey, {
        algorithms: ['ES256'],
        audience: 'appstoreconnect-v1',
        issuer: opts.issuerId,
        currentDate: new Date((opts.now ?? Date.now)()),
      });
      const ok = protectedHeader.kid === opts.keyId && protectedHeader.typ === 'JWT' && typeof payload.iat === 'number' && typeof payload.exp === 'number' && payload.exp - payload.iat <= 1200;
      if (ok) tokens.push({ header: decodeProtectedHeader(token) as Record<string, unknown>, claims: payload as Record<string, unknown> });
      return ok;
    } catch {
      return false;
    }
  }

  function statusOf(sub: Submission): string {
    const uploaded = opts.s3.objects.get(`${BUCKET}/${sub.object}`);
    const outcome = seeded.get(sub.id) ?? opts.outcome ?? 'Accepted';
    if (!uploaded && !seeded.has(sub.id)) return 'In Progress';
    if (uploaded && uploaded.sha256 !== sub.sha256) return 'Invalid';
    if (outcome === 'never') return 'In Progress';
    sub.polls += 1;
    return sub.polls > (opts.inProgressPolls ?? 0) ? outcome : 'In Progress';
  }

  function developerLog(sub: Submission): unknown {
    const status = statusOf(sub);
    return {
      logFormatVersion: 1,
      jobId: sub.id,
      status,
      statusSummary: status === 'Accepted' ? 'Ready for distribution' : 'Archive contains critical validation errors',
      statusCode: status === 'Accepted' ? 0 : 4000,
      archiveFilename: sub.name,
      uploadDate: sub.createdDate,
      sha256: sub.sha256,
      ticketContents: null,
      issues: status === 'Accepted' ? null : (opts.issues ?? []).map((i) => ({ ...i, code: null, docUrl: 'https://developer.apple.com/documentation/security/resolving-common-notarization-issues' })),
    };
  }

  const server = await startLocalServer(async (req, res, body) => {
    const url = new URL(req.url ?? '/', base);
    const reply = (status: number, value: unknown): void => {
      log.push({ method: req.method ?? '', path: url.pathname, status });
      sendJson(res, status, value);
    };
    const m = /^\/notary\/v2\/submissions(?:\/([^/]+)(\/logs)?)?$/.exec(url.pathname);
    const dev = /^\/developer-log\/([^/]+)$/.exec(url.pathname);
    const route: Route | undefined = dev ? 'devlog' : !m ? undefined : !m[1] ? 'create' : m[2] ? 'logs' : 'status';
    if (!route) return reply(404, { errors: [{ status: '404', code: 'NOT_FOUND' }] });
    if (failOnce.delete(route)) return reply(500, { errors: [{ status: '500', code: 'UNEXPECTED_ERROR' }] });
    if (route === 'devlog') {
      const sub = submissions.get(dev![1]!);
      if (!sub || url.searchParams.get('X-Amz-Signature') !== 'local-presigned') return reply(403, { error: 'bad pre-signed URL' });
      return reply(200, developerLog(sub));
    }
    if (!(await authorized(req.headers.authorization))) return reply(401, NOT_AUTHORIZED);
    if (route === 'create') {
      if (req.method !== 'POST') return reply(405, {});
      const json = JSON.parse(body.toString('utf8')) as { submissionName?: unknown; sha256?: unknown };
      if (typeof json.submissionName !== 'string' || typeof json.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(json.sha256)) {
        return reply(400, { errors: [{ status: '400', code: 'PARAMETER_ERROR.INVALID' }] });
      }
      const id = randomUUID();
      const sub = { id, name: json.submissionName, sha256: json.sha256, object: `prod/${id}/${json.submissionName}`, polls: 0, createdDate: new Date((opts.now ?? Date.now)()).toISOString() };
      submissions.set(id, sub);
      const c = { ...opts.s3.credentials, ...opts.handOut };
      return reply(200, { data: { id, type: 'newSubmissions', attributes: { awsAccessKeyId: c.accessKeyId, awsSecretAccessKey: c.secretAccessKey, awsSessionToken: c.sessionToken, bucket: BUCKET, object: sub.object } }, meta: {} });
    }
    const sub = submissions.get(m![1]!);
    if (!sub) return reply(404, { errors: [{ status: '404', code: 'NOT_FOUND', title: 'The specified resource does not exist' }] });
    if (route === 'status') return reply(200, { data: { id: sub.id, type: 'submissions', attributes: { status: statusOf(sub), name: sub.name, createdDate: sub.createdDate } }, meta: {} });
    const developerLogUrl = `${base}/developer-log/${sub.id}?X-Amz-Security-Token=devlog-presign-token&X-Amz-Signature=local-presigned`;
    return reply(200, { data: { id: sub.id, type: 'submissionsLog', attributes: { developerLogUrl } }, meta: {} });
  });
  base = server.url;

  const seed = (status: NotaryServerOptions['outcome'] = 'Accepted'): string => {
    const id = randomUUID();
    submissions.set(id, { id, name: 'seeded.pkg', sha256: '0'.repeat(64), object: `prod/${id}/seeded.pkg`, polls: 0, createdDate: new Date().toISOString() });
    seeded.set(id, status);
    return id;
  };
  return { ...server, submissions, log, tokens, seed };
}

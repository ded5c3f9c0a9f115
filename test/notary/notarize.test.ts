/**
 * The notarization flow against local servers that follow Apple's documented Notary API v2 and S3 shapes
 * (test/helpers/servers), with a fake clock and sleep: every fault and its error class / exit code.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputFileError, InterruptedError, NetworkError, RemoteRejection, UsageError } from '../../src/errors.js';
import { loadApiKey } from '../../src/notary/jwt.js';
import { NotarizationRejected, notarize, submissionNameFor, type NotarizeOptions } from '../../src/notary/notarize.js';
import { Secret } from '../../src/secret.js';
import { uploadToS3 } from '../../src/notary/upload.js';
import { makeApiKey, type TestApiKey } from '../helpers/servers/keys.js';
import { startNotaryServer, type NotaryServer, type NotaryServerOptions } from '../helpers/servers/notary.js';
import { startS3Server, type S3Server } from '../helpers/servers/s3.js';
import { signedPkg } from './pkgs.js';

const dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-notarize-'));
const pkg = path.join(dir, 'aiwatch 1.4.0:arm64.pkg');
// A signed flat package (bsdtar xar, DEMO signature): notarize checks that locally before it uploads anything.
await signedPkg(pkg, 300_000);
const pkgBytes = readFileSync(pkg);
const pkgSha = createHash('sha256').update(pkgBytes).digest('hex');

const ISSUES = [
  { severity: 'error', path: 'aiwatch.pkg/Payload/usr/local/lib/runlayer/aiwatch/aiwatch', message: 'The binary is not signed with a valid Developer ID certificate.', architecture: 'arm64' },
  { severity: 'warning', path: 'aiwatch.pkg/Payload/usr/local/lib/runlayer/aiwatch/aiwatch', message: 'The signature does not include a secure timestamp.' },
];

interface World {
  k: TestApiKey;
  s3: S3Server;
  notary: NotaryServer;
  clock: { now: () => number; sleep: (ms: number) => Promise<void>; sleeps: number[] };
  lines: string[];
  run: (extra?: Partial<NotarizeOptions>) => Promise<Awaited<ReturnType<typeof notarize>>>;
}

async function world(server: Partial<NotaryServerOptions> = {}, s3FailFirst = 0): Promise<World> {
  const k = makeApiKey(dir);
  let t = Date.now();
  const sleeps: number[] = [];
  const clock = { now: () => t, sleep: async (ms: number) => void (sleeps.push(ms), (t += ms)), sleeps };
  const s3 = await startS3Server({ failFirst: s3FailFirst });
  const notary = await startNotaryServer({ publicKey: k.publicKey, keyId: k.keyId, issuerId: k.issuerId, s3, now: clock.now, ...server });
  const apiKey = await loadApiKey({ file: k.file, keyId: k.keyId, issuerId: k.issuerId });
  const lines: string[] = [];
  const run = (extra: Partial<NotarizeOptions> = {}) =>
    notarize({ pkg, apiKey, notaryUrl: `${notary.url}/notary/v2`, s3Endpoint: s3.url, now: clock.now, sleep: clock.sleep, progress: (l) => lines.push(l), ...extra });
  return { k, s3, notary, clock, lines, run };
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected notarize to fail');
}

function expectNoSecrets(w: World, text: string): void {
  expect(text).not.toContain(w.s3.credentials.secretAccessKey);
  expect(text).not.toContain(w.s3.credentials.sessionToken);
  expect(text).not.toContain(w.k.pemBody.slice(0, 32));
  expect(text).not.toContain('eyJhbGciOiJFUzI1NiIs'); // the start of any of our JWTs
  expect(text).not.toContain('devlog-presign-token');
}

describe('notarize (library, local servers)', () => {
  it('Accepted: declares the sha256, streams the exact bytes to S3 with SigV4 + session token, polls once', async () => {
    const w = await world();
    const r = await w.run();
    expect(r).toMatchObject({ status: 'Accepted', notarized: true, sha256: pkgSha, submissionName: 'aiwatch_1.4.0_arm64.pkg', issues: [] });
    const stored = w.s3.objects.get(`notary-submissions-prod/prod/${r.submissionId}/aiwatch_1.4.0_arm64.pkg`);
    expect(stored?.sha256).toBe(pkgSha);
    expect(stored?.headers['x-amz-security-token']).toBe(w.s3.credentials.sessionToken);
    expect(w.notary.log.map((l) => `${l.method} ${l.status}`)).toEqual(['POST 200', 'GET 200']);
    expect(w.notary.tokens.length).toBe(2);
    for (const t of w.notary.tokens) {
      expect(t.header).toEqual({ alg: 'ES256', kid: w.k.keyId, typ: 'JWT' });
      expect(Object.keys(t.claims).sort()).toEqual(['aud', 'exp', 'iat', 'iss']);
    }
    expect(w.lines.join('\n')).toContain(`submission ${r.submissionId}: Accepted`);
    expectNoSecrets(w, w.lines.join('\n'));
  });

  it('polls with exponential backoff while "In Progress" (3 s, 4.5 s, 6.75 s …)', async () => {
    const w = await world({ inProgressPolls: 3 });
    const r = await w.run();
    expect(r.status).toBe('Accepted');
    expect(w.clock.sleeps).toEqual([3000, 4500, 6750]);
    expect(w.notary.log.filter((l) => l.method === 'GET').length).toBe(4);
  });

  it('a 500 once on each notary call and on the S3 PUT is retried, then succeeds', async () => {
    const w = await world({ failOnce: ['create', 'status'] }, 1);
    const r = await w.run();
    expect(r.status).toBe('Accepted');
    expect(w.notary.log.map((l) => l.status)).toEqual([500, 200, 500, 200]);
    expect(w.s3.log.map((l) => l.status)).toEqual([500, 200]);
    expect(w.s3.objects.size).toBe(1);
    expect([...w.s3.objects.values()][0]!.sha256).toBe(pkgSha);
    expect(w.lines.filter((l) => /retrying in/.test(l))).toHaveLength(3);
  });

  it('401 → RemoteRejection (exit 6) "authentication refused: check the key id …", nothing uploaded', async () => {
    const w = await world({ refuseAuth: true });
    const e = await failure(w.run());
    expect(e).toBeInstanceOf(RemoteRejection);
    expect((e as RemoteRejection).exitCode).toBe(6);
    expect(e.message).toMatch(/authentication refused \(HTTP 401\): check the key id \(--api-key-id\), the issuer \(--api-issuer\) and the key file/);
    expect(w.s3.log).toHaveLength(0);
    expect(w.notary.log).toHaveLength(1); // not retried
  });

  it('a token the server cannot verify (wrong issuer) is refused the same way', async () => {
    const w = await world({ issuerId: '00000000-0000-0000-0000-000000000000' });
    const e = await failure(w.run());
    expect(e).toBeInstanceOf(RemoteRejection);
    expect(e.message).toContain('authentication refused');
  });

  for (const outcome of ['Invalid', 'Rejected'] as const) {
    it(`${outcome} → NotarizationRejected (exit 6) carrying the developer log's issues`, async () => {
      const w = await world({ outcome, issues: ISSUES });
      const e = await failure(w.run());
      expect(e).toBeInstanceOf(NotarizationRejected);
      expect((e as NotarizationRejected).exitCode).toBe(6);
      const r = (e as NotarizationRejected).result;
      expect(r).toMatchObject({ status: outcome, notarized: false, sha256: pkgSha });
      expect(r.issues).toEqual([
        { ...ISSUES[0], docUrl: expect.stringContaining('developer.apple.com') },
        { ...ISSUES[1], docUrl: expect.stringContaining('developer.apple.com') },
      ]);
      expect(e.message).toContain(`is ${outcome}: Apple did not notarize it`);
      expect(e.message).toContain(`error: ${ISSUES[0]!.path} [arm64]: ${ISSUES[0]!.message}`);
      expect(w.notary.log.map((l) => l.path.replace(/[0-9a-f-]{36}/, 'ID'))).toEqual([
        '/notary/v2/submissions',
        '/notary/v2/submissions/ID',
        '/notary/v2/submissions/ID/logs',
        '/developer-log/ID',
      ]);
      expectNoSecrets(w, `${e.message}\n${w.lines.join('\n')}`);
    });
  }

  it('Invalid with an unreachable log is still exit 6 (the verdict stands), and says the log is missing', async () => {
    const w = await world({ outcome: 'Invalid', failOnce: [] });
    const e = await failure(w.run({ fetch: (async (u: string | URL | Request, init?: RequestInit) => (String(u).includes('/developer-log/') ? Promise.reject(new TypeError('fetch failed')) : fetch(u, init))) as typeof fetch }));
    expect(e).toBeInstanceOf(NotarizationRejected);
    expect(w.lines.join('\n')).toMatch(/developer log could not be fetched: notary: developer log \(http:\/\/127\.0\.0\.1:\d+\/developer-log\/[0-9a-f-]+\): connection failed/);
    expectNoSecrets(w, w.lines.join('\n'));
  });

  it('never finishing → NetworkError (exit 5) at --timeout, telling how to resume', async () => {
    const w = await world({ outcome: 'never' });
    const e = await failure(w.run({ timeoutMs: 30 * 60 * 1000 }));
    expect(e).toBeInstanceOf(NetworkError);
    expect((e as NetworkError).exitCode).toBe(5);
    const id = [...w.notary.submissions.keys()][0]!;
    expect(e.message).toContain(`submission ${id} is still "In Progress" after 30m`);
    expect(e.message).toContain(`--submission-id ${id}`);
    const slept = w.clock.sleeps.reduce((a, b) => a + b, 0);
    expect(slept).toBe(30 * 60 * 1000);
    expect(Math.max(...w.clock.sleeps)).toBe(30_000);
    expect(w.clock.sleeps.length).toBeLessThan(80);
  });

  it('Ctrl-C while waiting → InterruptedError (exit 130) at once, naming the submission to resume', async () => {
    const w = await world({ outcome: 'never' });
    const ac = new AbortController();
    const started = Date.now();
    const e = await failure(w.run({ sleep: undefined, signal: ac.signal, progress: (l) => l.endsWith('In Progress') && ac.abort() }));
    const id = [...w.notary.submissions.keys()][0]!;
    expect(e).toBeInstanceOf(InterruptedError);
    expect((e as InterruptedError).exitCode).toBe(130);
    expect(e.message).toBe(`interrupted while waiting for submission ${id}; resume with --submission-id ${id}`);
    expect(Date.now() - started).toBeLessThan(2500); // did not sit out the 3 s poll delay
  });

  it('connection refused → retried 4 times with doubling backoff, then NetworkError (exit 5)', async () => {
    const w = await world();
    await w.notary.close();
    const e = await failure(w.run());
    expect(e).toBeInstanceOf(NetworkError);
    expect(e.message).toMatch(/notary: create submission \(http:\/\/127\.0\.0\.1:\d+\/notary\/v2\/submissions\): connection failed \(ECONNREFUSED\); gave up after 5 attempts/);
    expect(w.clock.sleeps).toEqual([1000, 2000, 4000, 8000]);
  });

  it('S3 unreachable after retries → NetworkError, and the submission is never polled', async () => {
    const w = await world({}, 100);
    const e = await failure(w.run());
    expect(e).toBeInstanceOf(NetworkError);
    expect(e.message).toMatch(/notary: upload to s3:\/\/notary-submissions-prod: HTTP 500 InternalError; gave up after 5 attempts/);
    expect(w.notary.log.map((l) => l.method)).toEqual(['POST']);
    expectNoSecrets(w, `${e.message}\n${w.lines.join('\n')}`);
  });

  it('a stalled S3 connection times out (idle limit), is retried, then NetworkError', async () => {
    const s3 = await startS3Server({ stall: true });
    const sleeps: number[] = [];
    const target = { bucket: 'b', object: 'o/x.pkg', accessKeyId: s3.credentials.accessKeyId, secretAccessKey: new Secret(s3.credentials.secretAccessKey, 's'), sessionToken: new Secret(s3.credentials.sessionToken, 't') };
    const e = await failure(uploadToS3(pkg, pkgBytes.length, target, { endpoint: s3.url, idleTimeoutMs: 300, retries: 1, sleep: async (ms) => void sleeps.push(ms) }));
    expect(e).toBeInstanceOf(NetworkError);
    expect(e.message).toMatch(/^notary: upload to s3:\/\/b: connection failed \(.*\); gave up after 2 attempts$/);
    expect(s3.log.map((l) => l.status)).toEqual([0, 0]);
    expect(sleeps).toEqual([1000]);
  });

  it('S3 refusing the credentials → RemoteRejection, secrets masked', async () => {
    const w = await world({ handOut: { sessionToken: 'stale-session-token-value-0123456789' } });
    const e = await failure(w.run());
    expect(e).toBeInstanceOf(RemoteRejection);
    expect(e.message).toMatch(/S3 refused the upload: HTTP 403 AccessDenied/);
    expect(e.message).not.toContain('stale-session-token-value');
  });

  it('--submission-id resumes polling without submitting or uploading', async () => {
    const w = await world();
    const id = w.notary.seed('Accepted');
    const r = await w.run({ submissionId: id, pkg: path.join(dir, 'not-needed.pkg') });
    expect(r).toMatchObject({ submissionId: id, status: 'Accepted', notarized: true, submissionName: 'seeded.pkg' });
    expect(w.notary.log.map((l) => l.method)).toEqual(['GET']);
    expect(w.s3.log).toHaveLength(0);
  });

  it('--submission-id of an unknown submission → RemoteRejection (HTTP 404)', async () => {
    const w = await world();
    const e = await failure(w.run({ submissionId: '2efe2717-52ef-43a5-96dc-0797e4ca1041' }));
    expect(e).toBeInstanceOf(RemoteRejection);
    expect(e.message).toMatch(/submission status .* refused with HTTP 404/);
  });

  it('a malformed --submission-id is a usage error before any request', async () => {
    const w = await world();
    expect(await failure(w.run({ submissionId: '../../etc' }))).toBeInstanceOf(UsageError);
    expect(w.notary.log).toHaveLength(0);
  });

  it('wait: false returns after the upload as "In Progress", not notarized', async () => {
    const w = await world();
    const r = await w.run({ wait: false });
    expect(r).toMatchObject({ status: 'In Progress', notarized: false, sha256: pkgSha });
    expect(w.notary.log.map((l) => l.method)).toEqual(['POST']);
    expect(w.s3.objects.size).toBe(1);
  });

  it('a missing package is an input-file error before any request', async () => {
    const w = await world();
    const e = await failure(w.run({ pkg: path.join(dir, 'missing.pkg') }));
    expect(e).toBeInstanceOf(InputFileError);
    expect(w.notary.log).toHaveLength(0);
  });

  it('submission names keep [A-Za-z0-9._-] only', () => {
    expect(submissionNameFor('/x/aiwatch 1.4.0:arm64.pkg')).toBe('aiwatch_1.4.0_arm64.pkg');
    expect(submissionNameFor('/x/aiwatch-1.4.0.pkg')).toBe('aiwatch-1.4.0.pkg');
  });
});

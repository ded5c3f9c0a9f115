/**
 * `aiwatch-deploy notarize` end to end against the local notary, S3 and developer-log servers: exit codes,
 * messages, --json, progress on stderr, and that no secret (the .p8 key, the S3 secret key and session token,
 * the bearer token, the pre-signed log URL's token) ever reaches stdout, stderr or --json.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { makeApiKey, type TestApiKey } from '../helpers/servers/keys.js';
import { startNotaryServer, type NotaryServer, type NotaryServerOptions } from '../helpers/servers/notary.js';
import { startS3Server, type S3Server } from '../helpers/servers/s3.js';
import { signedPkg } from './pkgs.js';

const dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-cli-notarize-'));
// A signed flat package (bsdtar xar, DEMO signature): notarize checks that locally before it uploads anything.
await signedPkg(path.join(dir, 'aiwatch.pkg'), 50_000);
const PKG_SIZE = statSync(path.join(dir, 'aiwatch.pkg')).size;
const ISSUES = [{ severity: 'error', path: 'aiwatch.pkg/Payload/usr/local/lib/runlayer/aiwatch/aiwatch', message: 'The executable does not have the hardened runtime enabled.', architecture: 'x86_64' }];

/** Everything printed by every run in this file, checked for secrets at the end. */
const printed: string[] = [];
const secrets: string[] = ['eyJhbGciOiJFUzI1NiIs', 'devlog-presign-token'];

interface Env {
  k: TestApiKey;
  s3: S3Server;
  notary: NotaryServer;
  env: Record<string, string>;
  urls: string[];
}

async function servers(opts: Partial<NotaryServerOptions> = {}): Promise<Env> {
  const k = makeApiKey(dir);
  const s3 = await startS3Server();
  const notary = await startNotaryServer({ publicKey: k.publicKey, keyId: k.keyId, issuerId: k.issuerId, s3, ...opts });
  secrets.push(k.pemBody.slice(0, 40), k.pemBody.slice(-40), s3.credentials.secretAccessKey, s3.credentials.sessionToken);
  const env = { AIWATCH_NOTARY_KEY_FILE: k.file, AIWATCH_NOTARY_KEY_ID: k.keyId, AIWATCH_NOTARY_ISSUER: k.issuerId };
  return { k, s3, notary, env, urls: ['--notary-url', `${notary.url}/notary/v2`, '--s3-url', s3.url] };
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env, cwd: dir, signal: new AbortController().signal });
  printed.push(stdout, stderr);
  return { code, stdout, stderr };
}

describe('aiwatch-deploy notarize (local servers)', () => {
  it('Accepted → exit 0, verdict on stdout, progress on stderr', async () => {
    const s = await servers();
    const r = await cli(['notarize', 'aiwatch.pkg', ...s.urls], s.env);
    const id = [...s.notary.submissions.keys()][0]!;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`notarized: aiwatch.pkg (submission ${id}: Accepted)\nnext: aiwatch-deploy staple aiwatch.pkg\n`);
    expect(r.stderr).toContain(`notary: submission ${id} created for aiwatch.pkg (sha256 `);
    expect(r.stderr).toContain(`notary: uploaded ${PKG_SIZE} bytes`);
    expect(r.stderr).toContain(`notary: submission ${id}: Accepted`);
  });

  it('Accepted --json → the submission id, status and issues; nothing on stderr', async () => {
    const s = await servers();
    const r = await cli(['notarize', 'aiwatch.pkg', '--json', ...s.urls], s.env);
    const id = [...s.notary.submissions.keys()][0]!;
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ ok: true, submissionId: id, status: 'Accepted', notarized: true, sha256: s.notary.submissions.get(id)!.sha256, submissionName: 'aiwatch.pkg', issues: [],
      warnings: [`${path.join(dir, 'aiwatch.pkg')}: the package is signed by untrusted certificate (the chain does not end at Apple Root CA): Apple's notary accepts only Developer ID Installer signatures and will answer Invalid`] });
    expect(r.stderr).toBe('');
  });

  it('flags take precedence over the environment', async () => {
    const s = await servers();
    const r = await cli(['notarize', 'aiwatch.pkg', '--api-key', s.k.file, '--api-key-id', s.k.keyId, '--api-issuer', s.k.issuerId, ...s.urls], { AIWATCH_NOTARY_KEY_ID: 'WRONG00000' });
    expect(r.code).toBe(0);
  });

  it('Invalid → exit 6, the log issues on stderr, nothing on stdout', async () => {
    const s = await servers({ outcome: 'Invalid', issues: ISSUES });
    const r = await cli(['notarize', 'aiwatch.pkg', ...s.urls], s.env);
    expect(r.code).toBe(6);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('notary: Archive contains critical validation errors');
    expect(r.stderr).toMatch(/aiwatch-deploy: notary: submission [0-9a-f-]{36} is Invalid: Apple did not notarize it\n {2}error: aiwatch\.pkg\/Payload\/usr\/local\/lib\/runlayer\/aiwatch\/aiwatch \[x86_64\]: The executable does not have the hardened runtime enabled\.\n$/);
  });

  it('Invalid --json → exit 6 and a JSON verdict with the issues', async () => {
    const s = await servers({ outcome: 'Invalid', issues: ISSUES });
    const r = await cli(['notarize', 'aiwatch.pkg', '--json', ...s.urls], s.env);
    expect(r.code).toBe(6);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({ ok: false, status: 'Invalid', notarized: false, error: { kind: 'rejected', exitCode: 6 } });
    expect(j.issues).toEqual([{ ...ISSUES[0], docUrl: expect.any(String) }]);
  });

  it('401 → exit 6 "authentication refused: check key id / issuer / key"', async () => {
    const s = await servers({ refuseAuth: true });
    const r = await cli(['notarize', 'aiwatch.pkg', ...s.urls], s.env);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/^aiwatch-deploy: notary: create submission \(http:\/\/127\.0\.0\.1:\d+\/notary\/v2\/submissions\): authentication refused \(HTTP 401\): check the key id \(--api-key-id\), the issuer \(--api-issuer\) and the key file \(--api-key\)/m);
    expect(r.stdout).toBe('');
  });

  it('a 500 once is retried (progress says so) and the run still succeeds', async () => {
    const s = await servers({ failOnce: ['status'] });
    const r = await cli(['notarize', 'aiwatch.pkg', ...s.urls], s.env);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/notary: submission status \(http:\/\/127\.0\.0\.1:\d+\/notary\/v2\/submissions\/[0-9a-f-]{36}\): HTTP 500; retrying in 1 s/);
  });

  it('never finishing → exit 5 at --timeout, with how to resume; never "notarized"', async () => {
    const s = await servers({ outcome: 'never' });
    const r = await cli(['notarize', 'aiwatch.pkg', '--timeout', '1s', ...s.urls], s.env);
    const id = [...s.notary.submissions.keys()][0]!;
    expect(r.code).toBe(5);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`aiwatch-deploy: notary: submission ${id} is still "In Progress" after 1s (--timeout 1s); nothing was notarized yet. Resume waiting with: notarize <pkg> --submission-id ${id}`);
  });

  it('--no-wait → exit 0 after the upload, saying it is NOT notarized yet; --submission-id then waits for it', async () => {
    const s = await servers();
    const a = await cli(['notarize', 'aiwatch.pkg', '--no-wait', '--json', ...s.urls], s.env);
    const id = [...s.notary.submissions.keys()][0]!;
    expect(a.code).toBe(0);
    expect(JSON.parse(a.stdout)).toMatchObject({ ok: true, submissionId: id, status: 'In Progress', notarized: false });
    const b = await cli(['notarize', 'aiwatch.pkg', '--submission-id', id, ...s.urls], s.env);
    expect(b.code).toBe(0);
    expect(b.stdout).toContain(`submission ${id}: Accepted`);
    expect(s.notary.log.map((l) => l.method)).toEqual(['POST', 'GET']);
  });

  it('missing credentials → exit 2 naming all three at once', async () => {
    const r = await cli(['notarize', 'aiwatch.pkg'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--api-key: the App Store Connect API key file (.p8) is required (or AIWATCH_NOTARY_KEY_FILE)');
    expect(r.stderr).toContain('--api-key-id: the API key ID is required (or AIWATCH_NOTARY_KEY_ID)');
    expect(r.stderr).toContain('--api-issuer: the issuer ID is required (or AIWATCH_NOTARY_ISSUER)');
  });

  it('a bad --timeout → exit 2', async () => {
    const s = await servers();
    const r = await cli(['notarize', 'aiwatch.pkg', '--timeout', '30 minutes', ...s.urls], s.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--timeout: expected a duration like 90s, 30m or 1h, got "30 minutes"');
    expect(s.notary.log).toHaveLength(0);
  });

  it('a malformed key (an RSA PEM) → exit 2, naming the file but not its content', async () => {
    const s = await servers();
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const file = path.join(dir, 'AuthKey_RSA.p8');
    writeFileSync(file, pem);
    secrets.push(pem.split('\n')[1]!, pem.split('\n')[5]!);
    const r = await cli(['notarize', 'aiwatch.pkg', '--api-key', file, ...s.urls], s.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}: expected an App Store Connect API key (.p8: a PKCS#8 PEM P-256 private key, "-----BEGIN PRIVATE KEY-----"); found an RSA key`);
  });

  it('a missing key file → exit 3', async () => {
    const s = await servers();
    const r = await cli(['notarize', 'aiwatch.pkg', '--api-key', 'nope.p8', ...s.urls], s.env);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${path.join(dir, 'nope.p8')}: --api-key: no such file`);
  });

  it('the built binary exits 6 on Invalid (a real process, real exit status)', async () => {
    const s = await servers({ outcome: 'Invalid', issues: ISSUES });
    const bin = path.resolve('bin/aiwatch-deploy.js');
    const child = spawn(process.execPath, [bin, 'notarize', 'aiwatch.pkg', ...s.urls], { cwd: dir, env: { ...process.env, ...s.env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    printed.push(out);
    expect(out).toContain('is Invalid: Apple did not notarize it');
    expect(code).toBe(6);
  });

  it('no secret appeared in anything any run above printed (stdout, stderr, --json)', () => {
    // Tests in a file run in order: this one sees the output of all of the above.
    const all = printed.join('\n');
    expect(all.length).toBeGreaterThan(1000);
    for (const s of secrets) expect(all).not.toContain(s);
  });
});

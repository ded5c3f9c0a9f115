/**
 * (e) Faults the local Jamf Pro server injects during `apply`, through the real CLI: 429 with Retry-After, 503, a
 * connection reset in the middle of the upload body, the token expiring while the upload streams, a slow
 * distribution point that then reports the new hash with the old size (the JCDS quirk) — all survived, the pkg on
 * the server is the release's (sha256 of the pkg in the zip by unzip + sha256sum). A 401 that persists after the
 * token is renewed ends the target with exit 6 and a message naming the target, the object and the status. No planted
 * secret appears in stdout, stderr or --json.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { jamfServer } from '../helpers/servers/jamf/vitest.js';
import { describeWithTools } from '../helpers/tools.js';
import { buildRelease, cli, leakedSecrets, SERVER_OPTIONS, tempDir, writeRollout } from './publish-helpers.js';

let dir: string;
let zip: string;

beforeAll(async () => {
  dir = tempDir('publish-faults');
  zip = path.join(dir, await buildRelease(dir, '1.0.0'));
}, 120_000);

describeWithTools(['unzip', 'sha256sum'], 'apply under injected faults', () => {
  it('survives 429 + Retry-After, 503, a reset mid-upload, token expiry mid-upload and a slow, stale-size distribution point', async () => {
    const s = await jamfServer({ ...SERVER_OPTIONS, convergeAfterReads: 1, staleSizeReads: 1 });
    const work = tempDir('publish-faults-ok');
    const rollout = writeRollout(work, { zip, servers: [{ name: 'acme', url: s.url }] });
    s.inject({ method: 'GET', path: /^\/api\/v2\/computer-groups\/smart-groups$/, action: { status: 503 } });
    s.inject({ method: 'POST', path: /^\/api\/v1\/packages$/, action: { status: 429, retryAfter: 1 } });
    s.inject({ path: /\/upload$/, action: { resetAfterBytes: 4096 } });
    s.inject({ path: /\/upload$/, action: { expireToken: 'during-body' } });
    const r = await cli(['apply', rollout, '--json'], { cwd: work });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(s.faultsFired.map((f) => f.replace(/\/\d+\//, '/{id}/'))).toEqual([
      '503 GET /api/v2/computer-groups/smart-groups',
      '429 POST /api/v1/packages',
      'reset-after-4096-bytes POST /api/v1/packages/{id}/upload',
      'token-expires-during-body POST /api/v1/packages/{id}/upload',
    ]);
    const pkgName = 'aiwatch-1.0.0-macos-arm64.pkg';
    const sha256 = execFileSync('sh', ['-c', 'unzip -p "$1" "$2" | sha256sum', 'sh', zip, pkgName], { encoding: 'utf8' }).split(' ')[0];
    const pkgs = [...s.store.packages.values()];
    expect(pkgs.map((p) => [p.uploaded?.fileName, p.uploaded?.sha256, p.fields.sha256, p.fields.cloudTransferStatus])).toEqual([[pkgName, sha256, sha256, 'READY']]);
    expect(s.store.policies.size).toBe(1);
    expect([s.validationFailures, s.unknownRequests]).toEqual([[], []]);
    expect(leakedSecrets(r.stdout, r.stderr)).toEqual([]);
  });

  it('a 401 that persists after the token is renewed: exit 6, the message names target, object and status, no secret anywhere', async () => {
    const s = await jamfServer(SERVER_OPTIONS);
    const work = tempDir('publish-faults-401');
    const rollout = writeRollout(work, { zip, servers: [{ name: 'acme', url: s.url }] });
    s.inject({ method: 'POST', path: /^\/api\/v1\/packages$/, times: Infinity, action: { status: 401 } });
    const text = await cli(['apply', rollout], { cwd: work });
    expect(text.code).toBe(6);
    expect(text.stdout + text.stderr).toMatch(/acme.*package.*401|acme.*401.*package/);
    const json = await cli(['apply', rollout, '--json'], { cwd: work });
    expect(json.code).toBe(6);
    const report = json.json() as { targets: { target: string; exitCode: number; objects: { kind: string; outcome?: string; error?: { message: string } }[]; error?: { message: string } }[] };
    const t = report.targets[0]!;
    expect([t.target, t.exitCode]).toEqual(['acme', 6]);
    const failed = t.objects.find((o) => o.outcome === 'failed');
    const message = failed?.error?.message ?? t.error?.message ?? '';
    expect(message).toMatch(/acme/);
    expect(message).toMatch(/package/);
    expect(message).toMatch(/401/);
    // The token was renewed once before giving up: more than one token request.
    expect(s.log.filter((e) => e.kind === 'auth').length).toBeGreaterThanOrEqual(2);
    expect(leakedSecrets(text.stdout, text.stderr, json.stdout, json.stderr)).toEqual([]);
    expect(s.validationFailures).toEqual([]);
  });

  it('a wrong client secret: exit 6 naming the target and the token request, the secret not shown', async () => {
    const s = await jamfServer({ ...SERVER_OPTIONS, clients: [{ id: 'aiwatch-ci', secret: 'another-secret' }] });
    const work = tempDir('publish-faults-creds');
    const rollout = writeRollout(work, { zip, servers: [{ name: 'acme', url: s.url }] });
    const r = await cli(['plan', rollout, '--json'], { cwd: work });
    expect(r.code).toBe(6);
    expect(r.stdout).toMatch(/acme/);
    expect(r.stdout).toMatch(/401/);
    expect(leakedSecrets(r.stdout, r.stderr)).toEqual([]);
    expect(s.counts().writes).toBe(0);
  });
});

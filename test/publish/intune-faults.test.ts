/**
 * Faults of Microsoft Graph, Entra ID and Azure Storage injected into `aiwatch-deploy apply` with an Intune target,
 * through the real CLI entry, against the local Intune server with the content in Azurite:
 *   - survived in one apply (exit 0, everything made once, both contents decrypted by the server): 429 with
 *     Retry-After on a read and on a create, an access token that expires mid-run, a SAS dead on arrival (Azurite's
 *     own 403 → renewUpload → a fresh SAS), a connection reset after a create was made (found by name, not made
 *     twice) and one reset before a read (retried);
 *   - failing with the right exit code and a message naming target, object and status: commitFileFailed (6; the next
 *     apply makes a new content version), 401 after signing in again (6), 403 for a missing Graph permission (6), a
 *     refused sign-in (6, Entra's error code, never the secret).
 * Every body matched Microsoft's description; no planted secret and no token in any output.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { intuneServer, useAzurite } from '../helpers/servers/intune/vitest.js';
import { cleanIntune, INTUNE_OPTIONS, leakedTokens, writeIntuneRollout } from './intune-helpers.js';
import { buildRelease, cli, leakedSecrets, SECRETS, tempDir } from './publish-helpers.js';

useAzurite();
let dir: string;
let zip: string;

beforeAll(async () => {
  dir = tempDir('intune-faults');
  zip = path.join(dir, await buildRelease(dir, '1.0.0'));
}, 120_000);

const pkgApp = (s: Awaited<ReturnType<typeof intuneServer>>): Record<string, unknown> => [...s.store.objects.mobileApps.values()].find((o) => o['@odata.type'] === '#microsoft.graph.macOSPkgApp')!;

describe('apply with an Intune target under injected faults', () => {
  it('survives 429 + Retry-After, token expiry, a SAS dead on arrival (403 from Azurite) and connection resets', async () => {
    const s = await intuneServer(INTUNE_OPTIONS);
    const work = tempDir('intune-faults-ok');
    const rollout = writeIntuneRollout(work, zip, [{ name: 'contoso', s }]);
    s.inject({ method: 'GET', path: /\/deviceAppManagement\/mobileApps$/, action: { status: 429, retryAfter: 1 } });
    s.inject({ method: 'POST', path: /\/deviceManagement\/deviceConfigurations$/, action: { status: 429, retryAfter: 1 } });
    s.inject({ method: 'POST', path: /\/deviceManagement\/deviceHealthScripts$/, action: { expireToken: true } });
    s.inject({ method: 'POST', path: /\/deviceAppManagement\/mobileApps$/, action: { reset: 'after' } });
    s.inject({ method: 'GET', path: /\/files\/[^/]+$/, action: { reset: 'before' } });
    s.options.expireNextSas = 1;

    const run = await cli(['apply', rollout], { cwd: work });
    const out = run.stdout + run.stderr;
    expect(run.code, out).toBe(0);
    expect(s.faultsFired).toEqual([
      '429 GET /beta/deviceAppManagement/mobileApps',
      '429 POST /beta/deviceManagement/deviceConfigurations',
      'reset-after POST /beta/deviceAppManagement/mobileApps',
      expect.stringMatching(/^reset-before GET \/beta\/deviceAppManagement\/mobileApps\/[^/]+\/microsoft\.graph\.macOSPkgApp\/contentVersions\/1\/files\/[^/]+$/),
      'token-expired POST /beta/deviceManagement/deviceHealthScripts',
    ]);
    // Each fault left its trace: the renewal after Azurite's 403, a second sign-in, the lost create found by name.
    expect(s.sequence().filter((l) => l.endsWith('/renewUpload'))).toEqual(['POST /beta/deviceAppManagement/mobileApps/{id}/microsoft.graph.macOSPkgApp/contentVersions/{cv}/files/{id}/renewUpload']);
    expect(out).toMatch(/upload block 0: HTTP 403 \(the storage URI expired\): renewing it/);
    expect(out).toMatch(/app "aiwatch agent \(macOS\)": create: connection .*but it was made: using it/);
    expect(s.log.filter((e) => e.kind === 'auth')).toHaveLength(2);
    const names = [...s.store.objects.mobileApps.values(), ...s.store.objects.deviceConfigurations.values(), ...s.store.objects.deviceHealthScripts.values()].map((o) => o.displayName);
    expect(names).toHaveLength(7);
    expect(new Set(names).size).toBe(7);
    expect(s.contents.map((c) => c.name)).toEqual([expect.stringMatching(/\.pkg$/), 'IntunePackage.intunewin']);

    s.resetLog();
    const second = await cli(['apply', rollout], { cwd: work });
    expect(second.code).toBe(0);
    expect(s.sequence({ writesOnly: true })).toEqual([]);
    cleanIntune(s);
    expect(leakedSecrets(out, second.stdout, second.stderr)).toEqual([]);
    expect(leakedTokens(s, out, second.stdout, second.stderr)).toEqual([]);
  });

  it('commitFileFailed fails the target (exit 6) naming target, object and state; the next apply makes a new content version', async () => {
    const s = await intuneServer(INTUNE_OPTIONS);
    const work = tempDir('intune-faults-commit');
    const rollout = writeIntuneRollout(work, zip, [{ name: 'contoso', s }]);
    s.options.commitFails = 1;
    const failed = await cli(['apply', rollout], { cwd: work });
    expect(failed.code, failed.stdout + failed.stderr).toBe(6);
    expect(failed.stdout + failed.stderr).toMatch(/intune contoso: app "aiwatch agent \(macOS\)": commit: content version 1 file [0-9a-f-]{36}: uploadState commitFileFailed/);
    const again = await cli(['apply', rollout], { cwd: work });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(pkgApp(s).committedContentVersion).toBe('2');
    cleanIntune(s);
    expect(leakedSecrets(failed.stdout, failed.stderr, again.stdout, again.stderr)).toEqual([]);
  });

  it('401 after signing in again, 403 (a missing Graph permission) and a refused sign-in: exit 6, the target, object and status named, no secret', async () => {
    const s = await intuneServer(INTUNE_OPTIONS);
    const work = tempDir('intune-faults-auth');
    const rollout = writeIntuneRollout(work, zip, [{ name: 'contoso', s }]);
    const outputs: string[] = [];

    s.inject({ method: 'GET', path: /\/deviceManagement\/deviceConfigurations$/, times: 2, action: { status: 401 } });
    const e401 = await cli(['apply', rollout], { cwd: work });
    outputs.push(e401.stdout, e401.stderr);
    expect(e401.code).toBe(6);
    expect(e401.stdout + e401.stderr).toMatch(/intune contoso: profile "aiwatch — PPPC": find by name: authentication refused \(HTTP 401\) after signing in again/);

    s.inject({ method: 'POST', path: /\/deviceManagement\/deviceConfigurations$/, action: { status: 403, code: 'Forbidden' } });
    const e403 = await cli(['apply', rollout], { cwd: work });
    outputs.push(e403.stdout, e403.stderr);
    expect(e403.code).toBe(6);
    expect(e403.stdout + e403.stderr).toMatch(/intune contoso: profile "aiwatch — PPPC": create: refused with HTTP 403: Forbidden: Injected HTTP 403 \(the app registration lacks a Graph application permission/);

    s.clients[0]!.secret = 'another-secret-than-the-one-in-the-file';
    const refused = await cli(['apply', rollout], { cwd: work });
    outputs.push(refused.stdout, refused.stderr);
    expect(refused.code).toBe(6);
    expect(refused.stdout + refused.stderr).toMatch(/intune contoso: sign in as app [0-9a-f-]{36} \(secret\) to tenant contoso\.onmicrosoft\.com: refused with HTTP 401 \(invalid_client, AADSTS7000215\)/);
    // The one write tried was the refused create: nothing was made.
    expect(s.sequence({ writesOnly: true })).toEqual(['POST /beta/deviceManagement/deviceConfigurations']);
    expect(s.store.objects.deviceConfigurations.size + s.store.objects.mobileApps.size).toBe(0);
    cleanIntune(s);
    expect(leakedSecrets(...outputs)).toEqual([]);
    expect(outputs.join('\n')).not.toContain(SECRETS.clientSecret);
    expect(leakedTokens(s, ...outputs)).toEqual([]);
  });
});

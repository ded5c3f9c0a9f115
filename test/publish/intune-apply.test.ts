/**
 * `aiwatch-deploy plan` / `apply` end to end with an Intune target, through the real CLI entry, against the local
 * Intune server (Graph beta + Entra token endpoint, every body validated against Microsoft's description) with the
 * content in Azurite, and a release zip the project builds itself (demo binary, so the target says testServer):
 *   - plan exits 8 and writes nothing; the first apply's requests are recorded and asserted (methods and path shapes,
 *     in order); the pkg and the .intunewin content the server read back from Azurite and decrypted are the release's;
 *   - a second apply makes 0 writes; plan then exits 0;
 *   - an apply interrupted (Ctrl-C) right after a commit started is resumed by the next: the pending commit is found
 *     and finished, no second content version, the app points at the first;
 *   - two tenants applied at once (--parallel 2), each complete;
 *   - no planted secret and no access token in any output.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { intuneServer, useAzurite } from '../helpers/servers/intune/vitest.js';
import { cleanIntune, INTUNE_OPTIONS, leakedTokens, writeIntuneRollout } from './intune-helpers.js';
import { buildRelease, cli, leakedSecrets, tempDir } from './publish-helpers.js';

useAzurite();
let dir: string;
let zip: string;

beforeAll(async () => {
  dir = tempDir('intune-e2e');
  zip = path.join(dir, await buildRelease(dir, '1.0.0'));
}, 120_000);

/** The pkg inside the release zip, read with unzip (an independent reader). */
function pkgOfZip(file: string): Buffer {
  const name = execFileSync('unzip', ['-Z1', file]).toString('utf8').split('\n').find((n) => n.endsWith('.pkg'));
  if (!name) throw new Error(`no .pkg in ${file}`);
  return execFileSync('unzip', ['-p', file, name], { maxBuffer: 256 * 1024 * 1024 });
}

const APP = '/beta/deviceAppManagement/mobileApps';
const CONFIG = '/beta/deviceManagement/deviceConfigurations';
const HEALTH = '/beta/deviceManagement/deviceHealthScripts';

describe('plan and apply against the local Intune server', () => {
  it('plan 8 → first apply (request sequence asserted) → second apply 0 writes → plan 0; no secret in any output', async () => {
    const s = await intuneServer(INTUNE_OPTIONS);
    const work = tempDir('intune-e2e-a');
    const rollout = writeIntuneRollout(work, zip, [{ name: 'contoso', s }]);
    const outputs: string[] = [];

    const plan = await cli(['plan', rollout], { cwd: work });
    outputs.push(plan.stdout, plan.stderr);
    expect(plan.code, plan.stderr).toBe(8);
    expect(s.sequence({ writesOnly: true })).toEqual([]);

    s.resetLog();
    const first = await cli(['apply', rollout, '--json'], { cwd: work });
    outputs.push(first.stdout, first.stderr);
    expect(first.code, first.stderr + first.stdout).toBe(0);
    const firstSeq = s.sequence();
    const find = (p: string): string[] => [`GET ${p}`];
    const content = (cast: string): string[] => {
      const c = `${APP}/{id}/${cast}/contentVersions`;
      return [`GET ${c}`, `POST ${c}`, `POST ${c}/{cv}/files`, `GET ${c}/{cv}/files/{id}`, `POST ${c}/{cv}/files/{id}/commit`, `GET ${c}/{cv}/files/{id}`];
    };
    // plan: each object looked up by name, in apply order; then apply: each looked up again (a lost create may have
    // made it), made, its content uploaded and committed, pointed at, assigned.
    expect(firstSeq).toEqual([
      ...find(CONFIG),
      ...find(CONFIG),
      ...find(CONFIG),
      ...find(APP),
      ...find(APP),
      ...find(HEALTH),
      ...find(HEALTH),
      ...[0, 1, 2].flatMap(() => [`GET ${CONFIG}`, `POST ${CONFIG}`, `POST ${CONFIG}/{id}/assign`]),
      `GET ${APP}`,
      `POST ${APP}`,
      ...content('microsoft.graph.macOSPkgApp'),
      `PATCH ${APP}/{id}`,
      `POST ${APP}/{id}/assign`,
      `GET ${APP}`,
      `POST ${APP}`,
      ...content('microsoft.graph.win32LobApp'),
      `PATCH ${APP}/{id}`,
      `POST ${APP}/{id}/assign`,
      ...[0, 1].flatMap(() => [`GET ${HEALTH}`, `POST ${HEALTH}`, `POST ${HEALTH}/{id}/assign`]),
    ]);
    expect(s.log.filter((e) => e.kind === 'auth')).toHaveLength(1); // one sign-in for the whole apply
    const pkg = pkgOfZip(zip);
    expect(s.contents.map((c) => c.name)).toEqual([path.basename(zip).replace(/\.zip$/, '.pkg'), 'IntunePackage.intunewin']);
    expect(s.contents[0]!.bytes!.equals(pkg)).toBe(true);
    expect(s.contents[1]!.bytes!.subarray(0, 4).toString('latin1')).toBe('PK\u0003\u0004');
    // The report's write count: the Graph writes + a Put Block and a Put Block List (to Azurite) per content.
    const counts = (first.json().targets as { counts: { writes: number; uploadedBytes: number } }[])[0]!.counts;
    expect(counts.writes).toBe(s.sequence({ writesOnly: true }).length + 4);
    expect(counts.uploadedBytes).toBeGreaterThan(pkg.length);

    s.resetLog();
    const second = await cli(['apply', rollout, '--json'], { cwd: work });
    outputs.push(second.stdout, second.stderr);
    expect(second.code, second.stderr).toBe(0);
    expect((second.json().targets as { counts: { writes: number } }[])[0]!.counts.writes).toBe(0);
    expect(s.sequence({ writesOnly: true })).toEqual([]);
    const secondSeq = s.sequence();
    expect(secondSeq.every((l) => l.startsWith('GET '))).toBe(true);

    const again = await cli(['plan', rollout], { cwd: work });
    outputs.push(again.stdout, again.stderr);
    expect(again.code, again.stdout).toBe(0);
    cleanIntune(s);
    expect(leakedSecrets(...outputs, readFileSync(path.join(work, rollout), 'utf8'))).toEqual([]);
    expect(leakedTokens(s, ...outputs)).toEqual([]);
    console.log(`first apply (${firstSeq.length} Graph requests + 2 × Put Block/Put Block List to Azurite):\n  ${firstSeq.join('\n  ')}\nsecond apply (${secondSeq.length} Graph requests, 0 writes):\n  ${secondSeq.join('\n  ')}`);
  });

  it('healthInventory: the release zip aiwatch-intune-attribute.sh becomes the macOS custom attribute, after the app; a second apply 0 writes', async () => {
    const s = await intuneServer(INTUNE_OPTIONS);
    const work = tempDir('intune-e2e-health');
    const rollout = writeIntuneRollout(work, zip, [{ name: 'contoso', s }], { options: 'healthInventory: true' });
    const first = await cli(['apply', rollout], { cwd: work });
    expect(first.code, first.stderr + first.stdout).toBe(0);
    const firstSeq = s.sequence();
    const ATTR = '/beta/deviceManagement/deviceCustomAttributeShellScripts';
    expect(s.sequence({ writesOnly: true }).slice(-3)).toEqual([`POST ${APP}/{id}/assign`, `POST ${ATTR}`, `POST ${ATTR}/{id}/assign`]);
    const name = execFileSync('unzip', ['-Z1', zip]).toString('utf8').split('\n').find((n) => n.endsWith('aiwatch-intune-attribute.sh'));
    expect(name).toBeDefined();
    const [attr] = [...s.store.objects.deviceCustomAttributeShellScripts.values()];
    expect(Buffer.from(String(attr!.scriptContent), 'base64').equals(execFileSync('unzip', ['-p', zip, name!]))).toBe(true);
    expect(attr).toMatchObject({ displayName: 'aiwatch — health (macOS)', customAttributeName: 'AiwatchHealth', customAttributeType: 'string', runAsAccount: 'system' });

    s.resetLog();
    const second = await cli(['apply', rollout, '--json'], { cwd: work });
    expect(second.code, second.stderr).toBe(0);
    expect((second.json().targets as { counts: { writes: number } }[])[0]!.counts.writes).toBe(0);
    expect(s.sequence({ writesOnly: true })).toEqual([]);
    cleanIntune(s);
    console.log(`healthInventory first apply:\n  ${firstSeq.join('\n  ')}\nsecond apply:\n  ${s.sequence().join('\n  ')}`);
  });

  it('an apply interrupted right after a commit started is resumed: the pending commit is found and finished, not duplicated', async () => {
    const s = await intuneServer(INTUNE_OPTIONS);
    const work = tempDir('intune-e2e-resume');
    const rollout = writeIntuneRollout(work, zip, [{ name: 'contoso', s }]);
    const stop = new AbortController();
    // Ctrl-C as the pkg's commit is answered (204), while Intune reports it commitFilePending.
    s.after = (e) => {
      if (e.method === 'POST' && /macOSPkgApp\/contentVersions\/\d+\/files\/[^/]+\/commit$/.test(e.path)) stop.abort();
    };
    const cut = await cli(['apply', rollout], { cwd: work, signal: stop.signal });
    expect(cut.code, cut.stderr + cut.stdout).toBe(130);
    expect(s.sequence().at(-1)).toMatch(/macOSPkgApp\/contentVersions\/\{cv\}\/files\/\{id\}\/commit$/);
    s.after = undefined;
    const appId = [...s.store.objects.mobileApps.values()].find((o) => o['@odata.type'] === '#microsoft.graph.macOSPkgApp')!.id as string;
    expect(s.store.content.get(appId)).toHaveLength(1);

    s.resetLog();
    const resumed = await cli(['apply', rollout], { cwd: work });
    expect(resumed.code, resumed.stderr + resumed.stdout).toBe(0);
    expect(resumed.stdout + resumed.stderr).toMatch(/app "aiwatch agent \(macOS\)": content version 1 is being committed \(an earlier apply\): waiting for it/);
    const writes = s.sequence({ writesOnly: true });
    expect(writes.filter((l) => /macOSPkgApp\/contentVersions(\/\{cv\}\/files)?$|\/commit$/.test(l) && l.includes('macOSPkgApp'))).toEqual([]);
    expect(s.store.content.get(appId)).toHaveLength(1);
    expect(s.store.objects.mobileApps.get(appId)!.committedContentVersion).toBe('1');
    expect(s.contents.filter((c) => c.app === appId)).toHaveLength(1);
    expect((await cli(['plan', rollout], { cwd: work })).code).toBe(0);
    cleanIntune(s);
  });

  it('two tenants at once (--parallel 2): each signs in to its own tenant and gets its objects and its decrypted content', async () => {
    const a = await intuneServer(INTUNE_OPTIONS);
    const b = await intuneServer({ ...INTUNE_OPTIONS, tenantId: 'fabrikam.onmicrosoft.com' });
    const work = tempDir('intune-e2e-two');
    const rollout = writeIntuneRollout(work, zip, [
      { name: 'contoso', s: a },
      { name: 'fabrikam', s: b },
    ]);
    const run = await cli(['apply', rollout, '--parallel', '2'], { cwd: work });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    for (const s of [a, b]) {
      expect(s.contents.map((c) => c.name)).toEqual([expect.stringMatching(/\.pkg$/), 'IntunePackage.intunewin']);
      expect(s.store.objects.deviceConfigurations.size + s.store.objects.mobileApps.size + s.store.objects.deviceHealthScripts.size).toBe(7);
      expect(s.log.filter((e) => e.kind === 'auth')).toHaveLength(1);
      cleanIntune(s);
    }
    expect(a.contents[0]!.sha256).toBe(b.contents[0]!.sha256);
    expect(leakedSecrets(run.stdout, run.stderr)).toEqual([]);
  });
});

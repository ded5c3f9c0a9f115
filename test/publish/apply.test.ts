/**
 * `aiwatch-deploy plan` / `apply` end to end against the local Jamf Pro server, through the real CLI entry, with a
 * release zip the project builds itself (the demo binary: not Apple-signed, so the target says `testServer: true`):
 *   (a) the first apply creates everything in order smart group → EA → profiles → package → policy; plan before it
 *       exits 8 (changes pending), after it exits 0; a second apply makes 0 write requests; the same release without
 *       testServer is `blocked` (exit 9) and writes nothing;
 *   (c) drift made in the console is shown by plan with the field diff and repaired by apply;
 *   (e) with options.healthInventory, the health EA (the zip's aiwatch-jamf-ea.sh) and the unhealthy group;
 *   (d) an upgrade: a Mac that installed 1.0.0 through the policy is targeted again after applying 1.1.0 (and the
 *       profiles reach the scope's Macs).
 * Every request body the server received matched Jamf's description (validationFailures empty); no planted secret
 * appears in any output.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { jamfServer } from '../helpers/servers/jamf/vitest.js';
import type { JamfServer } from '../helpers/servers/jamf/server.js';
import { buildRelease, cli, leakedSecrets, sequence, SERVER_OPTIONS, stateOf, tempDir, writeRollout } from './publish-helpers.js';
import type { Json } from '../helpers/servers/jamf/classic-xml.js';

let dir: string;
let zip100: string;
let zip110: string;

beforeAll(async () => {
  dir = tempDir('publish');
  zip100 = await buildRelease(dir, '1.0.0');
  zip110 = await buildRelease(dir, '1.1.0');
}, 120_000);

function clean(s: JamfServer): void {
  expect(s.validationFailures).toEqual([]);
  expect(s.unknownRequests).toEqual([]);
}

describe('plan and apply against the local Jamf Pro server', () => {
  it('(a) plan exits 8, apply creates everything in order, a second apply makes 0 writes, plan then exits 0', async () => {
    const s = await jamfServer(SERVER_OPTIONS);
    const work = tempDir('publish-a');
    const rollout = writeRollout(work, { zip: path.join(dir, zip100), servers: [{ name: 'acme', url: s.url }] });
    const outputs: string[] = [];

    const plan = await cli(['plan', rollout], { cwd: work });
    outputs.push(plan.stdout, plan.stderr);
    expect(plan.code, plan.stderr).toBe(8);
    expect(s.counts().writes).toBe(0);

    s.resetLog();
    const first = await cli(['apply', rollout, '--json'], { cwd: work });
    outputs.push(first.stdout, first.stderr);
    expect(first.code, first.stderr + first.stdout).toBe(0);
    const firstSeq = sequence(s);
    const writes = s.log.filter((e) => e.kind === 'write').map((e) => e.object);
    // Safe order: smart group(s) and EA, then profiles, then the package (record + upload), then the policy.
    const firstOf = (k: string): number => writes.indexOf(k);
    const lastOf = (k: string): number => writes.lastIndexOf(k);
    expect(lastOf('smart-group')).toBeLessThan(firstOf('profile'));
    expect(firstOf('extension-attribute')).toBeLessThan(firstOf('profile'));
    expect(lastOf('profile')).toBeLessThan(firstOf('package'));
    expect(lastOf('package')).toBeLessThan(firstOf('policy'));
    expect(s.store.profiles.size).toBe(3);
    expect(s.store.policies.size).toBe(1);
    expect([...s.store.packages.values()].map((p) => p.uploaded?.fileName)).toEqual(['aiwatch-1.0.0-macos-arm64.pkg']);
    const firstCounts = s.countsByObject();
    clean(s);

    s.resetLog();
    const second = await cli(['apply', rollout, '--json'], { cwd: work });
    outputs.push(second.stdout, second.stderr);
    expect(second.code, second.stderr).toBe(0);
    expect(s.counts().writes).toBe(0);
    const secondCounts = s.countsByObject();

    const again = await cli(['plan', rollout], { cwd: work });
    outputs.push(again.stdout, again.stderr);
    expect(again.code, again.stdout).toBe(0);
    expect(s.counts().writes).toBe(0);
    clean(s);
    expect(leakedSecrets(...outputs, JSON.stringify(s.log))).toEqual([]);
    console.log(`first apply:\n  ${firstSeq.join('\n  ')}\nby object: ${JSON.stringify(firstCounts)}\nsecond apply by object: ${JSON.stringify(secondCounts)}`);
  });

  it('(a) the same release without testServer is blocked: exit 9, no write', async () => {
    const s = await jamfServer(SERVER_OPTIONS);
    const work = tempDir('publish-blocked');
    const rollout = writeRollout(work, { zip: path.join(dir, zip100), servers: [{ name: 'acme', url: s.url }], testServer: false });
    const plan = await cli(['plan', rollout, '--json'], { cwd: work });
    expect(plan.code).toBe(9);
    const apply = await cli(['apply', rollout], { cwd: work });
    expect(apply.code).toBe(9);
    expect(apply.stdout + apply.stderr).toMatch(/blocked/);
    expect(s.counts().writes).toBe(0);
    clean(s);
  });

  it('(e) options.healthInventory: the aiwatch-jamf-ea.sh of the release zip becomes the EA "aiwatch health" and the group "AI Watch — aiwatch unhealthy", last; a second apply makes 0 writes', async () => {
    const s = await jamfServer(SERVER_OPTIONS);
    const work = tempDir('publish-health');
    const rollout = writeRollout(work, { zip: path.join(dir, zip100), servers: [{ name: 'acme', url: s.url }] });
    const file = path.join(work, rollout);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/(url: "[^"]+") \}/, '$1, options: { healthInventory: true } }'));
    const first = await cli(['apply', rollout, '--json'], { cwd: work });
    expect(first.code, first.stderr + first.stdout).toBe(0);
    const writes = s.log.filter((e) => e.kind === 'write').map((e) => e.object);
    expect(writes.slice(-3)).toEqual(['policy', 'extension-attribute', 'smart-group']);
    const firstCounts = s.counts();
    const ea = [...s.store.eas.values()].find((e) => e.name === 'aiwatch health');
    expect(ea).toMatchObject({ inputType: 'SCRIPT', dataType: 'STRING', enabled: true });
    expect(String(ea!.scriptContents)).toMatch(/^#!\/bin\/sh[\s\S]*<result>%s<\/result>/);
    expect([...s.store.groups.values()].find((g) => g.name === 'AI Watch — aiwatch unhealthy')!.criteria.map((c) => `${c.name} ${c.searchType} ${c.value}`)).toEqual([
      'Computer Group member of AI Watch',
      'aiwatch health like unhealthy',
    ]);
    clean(s);
    s.resetLog();
    const second = await cli(['apply', rollout, '--json'], { cwd: work });
    expect(second.code, second.stderr).toBe(0);
    expect(s.counts().writes).toBe(0);
    clean(s);
    expect(leakedSecrets(first.stdout, first.stderr, second.stdout, second.stderr)).toEqual([]);
    console.log(`healthInventory end to end: first apply ${JSON.stringify(firstCounts)}, second apply ${JSON.stringify(s.counts())}`);
  });

  it('(c) drift made in the console (policy frequency, smart-group criterion) is shown by plan with the field diff and repaired by apply', async () => {
    const s = await jamfServer(SERVER_OPTIONS);
    const work = tempDir('publish-drift');
    const rollout = writeRollout(work, { zip: path.join(dir, zip100), servers: [{ name: 'acme', url: s.url }] });
    expect((await cli(['apply', rollout], { cwd: work })).code).toBe(0);
    const clean = stateOf(s);
    // A console admin edits two objects.
    const policy = [...s.store.policies.values()][0]!;
    (policy.body.general as Record<string, Json>).frequency = 'Once every month';
    s.store.groupByName('AI Watch')!.criteria[0]!.value = 'imac';
    expect(stateOf(s)).not.toBe(clean);

    s.resetLog();
    const plan = await cli(['plan', rollout], { cwd: work });
    expect(plan.code, plan.stdout + plan.stderr).toBe(8);
    expect(s.counts().writes).toBe(0);
    expect(plan.stdout).toMatch(new RegExp(`^ +policy +${policy.name} +update +.*frequency.*"Once every month".*→.*$`, 'm'));
    expect(plan.stdout).toMatch(/^ +smart-group +AI Watch +update +.*imac.*→.*mac.*$/m);
    const json = await cli(['plan', rollout, '--json'], { cwd: work });
    const objects = (json.json().targets as { objects: { kind: string; action: string; diff: { field: string; from: unknown; to: unknown }[] }[] }[])[0]!.objects;
    expect(objects.filter((o) => o.action === 'update').map((o) => o.kind).sort()).toEqual(['policy', 'smart-group']);
    expect(objects.find((o) => o.kind === 'policy')!.diff).toContainEqual(expect.objectContaining({ from: 'Once every month' }));

    const repair = await cli(['apply', rollout], { cwd: work });
    expect(repair.code, repair.stdout + repair.stderr).toBe(0);
    expect(s.counts().writes).toBe(2);
    expect(stateOf(s)).toBe(clean);
    expect((await cli(['plan', rollout], { cwd: work })).code).toBe(0);
    expect([s.validationFailures, s.unknownRequests]).toEqual([[], []]);
  });

  it('(d) upgrade: a Mac that installed 1.0.0 through the policy is targeted again once 1.1.0 is applied', async () => {
    const s = await jamfServer(SERVER_OPTIONS);
    const work = tempDir('publish-upgrade');
    s.store.addMac('mac-a');
    s.store.addMac('mac-b');
    s.store.addMac('pc-outside');
    const r100 = writeRollout(work, { zip: path.join(dir, zip100), servers: [{ name: 'acme', url: s.url }] }, 'r100.yaml');
    const r110 = writeRollout(work, { zip: path.join(dir, zip110), servers: [{ name: 'acme', url: s.url }] }, 'r110.yaml');
    expect((await cli(['apply', r100], { cwd: work })).code).toBe(0);
    const policyName = [...s.store.policies.values()][0]!.name;
    const checkIn = (mac: string): string[] => s.store.checkIn(mac, { versionEa: 'aiwatch version' });
    expect(s.store.policyTargets(policyName)).toEqual(['mac-a', 'mac-b']);
    expect(checkIn('mac-a')).toEqual([policyName]);
    expect(s.store.macs.find((m) => m.name === 'mac-a')!.eas['aiwatch version']).toBe('1.0.0');
    expect(s.store.policyTargets(policyName)).toEqual(['mac-b']);

    const upgrade = await cli(['apply', r110], { cwd: work });
    expect(upgrade.code, upgrade.stdout + upgrade.stderr).toBe(0);
    expect(s.store.policies.size).toBe(1);
    expect(s.store.policyTargets(policyName)).toEqual(['mac-a', 'mac-b']);
    expect(checkIn('mac-a')).toEqual([policyName]);
    expect(s.store.macs.find((m) => m.name === 'mac-a')!.eas['aiwatch version']).toBe('1.1.0');
    expect(s.store.policyTargets(policyName)).toEqual(['mac-b']);
    for (const profile of s.store.profiles.values()) expect(s.store.profileTargets(profile.name)).toEqual(['mac-a', 'mac-b']);
    expect([s.validationFailures, s.unknownRequests]).toEqual([[], []]);
  });
});

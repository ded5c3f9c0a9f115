/**
 * (f) 200 targets with `--parallel 8`: each target is its own local Jamf Pro server (one port each). One target's
 * API client secret is wrong: it fails with exit 6 and the 199 others are done — one failure does not stop the
 * others. Every server received only bodies that match Jamf's description, and holds one policy and one package.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJamfServer, type JamfServer } from '../helpers/servers/jamf/server.js';
import { buildRelease, cli, leakedSecrets, SERVER_OPTIONS, tempDir, writeRollout } from './publish-helpers.js';

const TARGETS = 200;
const BAD = 137;
let dir: string;
let zip: string;
const servers: JamfServer[] = [];

beforeAll(async () => {
  dir = tempDir('publish-fleet');
  zip = path.join(dir, await buildRelease(dir, '1.0.0'));
  for (let i = 0; i < TARGETS; i++) {
    servers.push(await startJamfServer(i === BAD ? { ...SERVER_OPTIONS, clients: [{ id: 'aiwatch-ci', secret: 'not-the-one-in-the-rollout' }] } : SERVER_OPTIONS));
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe('200 targets, --parallel 8', () => {
  it('199 done, the one with a wrong secret fails with exit 6, the others are not stopped', async () => {
    const rollout = writeRollout(dir, { zip, servers: servers.map((s, i) => ({ name: `t${String(i).padStart(3, '0')}`, url: s.url })) });
    const r = await cli(['apply', rollout, '--parallel', '8', '--json'], { cwd: dir });
    expect(r.code).toBe(6);
    const report = r.json() as { targets: { target: string; exitCode: number }[] };
    expect(report.targets.length).toBe(TARGETS);
    const failed = report.targets.filter((t) => t.exitCode !== 0);
    expect(failed).toEqual([expect.objectContaining({ target: `t${BAD}`, exitCode: 6 })]);
    servers.forEach((s, i) => {
      expect([i, s.validationFailures, s.unknownRequests]).toEqual([i, [], []]);
      expect([i, s.store.policies.size, s.store.packages.size]).toEqual([i, i === BAD ? 0 : 1, i === BAD ? 0 : 1]);
    });
    expect(leakedSecrets(r.stdout, r.stderr)).toEqual([]);
  });
});

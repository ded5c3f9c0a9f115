/**
 * (b) Killed at every step, then resumed: for N = 1 … (the writes of a clean first apply), the server applies the
 * Nth write and then drops the connection while the CLI is stopped at that moment (its signal aborted — as a kill
 * looks from the server: the write happened, the answer never arrived). The next `apply` must finish the job: the
 * final state equals a clean apply's (no duplicate, nothing missing), and one more apply makes 0 writes. Also: the
 * connection dropped after the first write of each kind (smart group, EA, profile, package record, upload, policy)
 * without a kill (the client sees a reset, retries, and must not duplicate), a kill in
 * the middle of the upload body, and one real SIGKILL of a child process.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startJamfServer, type JamfServer } from '../helpers/servers/jamf/server.js';
import { jamfServer } from '../helpers/servers/jamf/vitest.js';
import { buildRelease, cli, leakedSecrets, SERVER_OPTIONS, spawnCli, stateOf, tempDir, writeRollout } from './publish-helpers.js';

let dir: string;
let zip: string;
let cleanState: string;
let cleanWrites: number;
/** The first write of each object kind (and the upload) in a clean apply: where a lost answer is tried. */
let firstWriteOfEach: number[];

beforeAll(async () => {
  dir = tempDir('publish-resume');
  zip = path.join(dir, await buildRelease(dir, '1.0.0'));
  const s = await startJamfServer(SERVER_OPTIONS);
  try {
    const rollout = writeRollout(dir, { zip, servers: [{ name: 'acme', url: s.url }] });
    const r = await cli(['apply', rollout], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    cleanState = stateOf(s);
    cleanWrites = s.counts().writes;
    const writes = s.log.filter((e) => e.kind === 'write').map((e) => (e.path.endsWith('/upload') ? 'upload' : e.object));
    firstWriteOfEach = [...new Set(writes)].map((k) => writes.indexOf(k) + 1);
  } finally {
    await s.close();
  }
}, 120_000);

async function resumeAndCheck(s: JamfServer, work: string, rollout: string): Promise<void> {
  s.onWrite = undefined;
  const resumed = await cli(['apply', rollout], { cwd: work });
  expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
  expect(stateOf(s)).toBe(cleanState);
  s.resetLog();
  const again = await cli(['apply', rollout], { cwd: work });
  expect(again.code).toBe(0);
  expect(s.counts().writes).toBe(0);
  expect(s.validationFailures).toEqual([]);
  expect(s.unknownRequests).toEqual([]);
  expect(leakedSecrets(resumed.stdout, resumed.stderr)).toEqual([]);
}

describe('apply killed at every write, then resumed', () => {
  it('a clean first apply makes writes to kill at', () => {
    expect(cleanWrites).toBeGreaterThanOrEqual(9);
  });

  it('killed right after write N (the answer never arrives), for every N: the next apply finishes, no duplicates', async () => {
    for (let n = 1; n <= cleanWrites; n++) {
      const s = await jamfServer(SERVER_OPTIONS);
      const work = tempDir(`publish-kill-${n}`);
      const rollout = writeRollout(work, { zip, servers: [{ name: 'acme', url: s.url }] });
      const stop = new AbortController();
      s.onWrite = (k) => {
        if (k !== n) return undefined;
        stop.abort();
        return 'drop';
      };
      const killed = await cli(['apply', rollout], { cwd: work, signal: stop.signal });
      expect([n, killed.code]).not.toEqual([n, 0]);
      expect(s.faultsFired).toEqual([`drop-at-write-${n} ${s.log.filter((e) => e.kind === 'write')[n - 1]!.method} ${s.log.filter((e) => e.kind === 'write')[n - 1]!.path}`]);
      await resumeAndCheck(s, work, rollout);
    }
  });

  it('the connection dropped after the first write of each kind without a kill: no duplicate, and apply (this or the next) finishes', async () => {
    expect(firstWriteOfEach.length).toBe(6);
    for (const n of firstWriteOfEach) {
      const s = await jamfServer(SERVER_OPTIONS);
      const work = tempDir(`publish-drop-${n}`);
      const rollout = writeRollout(work, { zip, servers: [{ name: 'acme', url: s.url }] });
      s.inject({ writesOnly: true, skip: n - 1, action: { reset: 'after' } });
      await cli(['apply', rollout], { cwd: work });
      expect(s.faultsFired.length).toBe(1);
      await resumeAndCheck(s, work, rollout);
    }
  });

  it('killed in the middle of the upload body: the next apply uploads the whole pkg', async () => {
    const s = await jamfServer(SERVER_OPTIONS);
    const work = tempDir('publish-kill-upload');
    const rollout = writeRollout(work, { zip, servers: [{ name: 'acme', url: s.url }] });
    const stop = new AbortController();
    s.inject({ path: /\/upload$/, action: { resetAfterBytes: 4096 } });
    const origPush = s.faultsFired.push.bind(s.faultsFired);
    s.faultsFired.push = (...items: string[]) => {
      stop.abort();
      return origPush(...items);
    };
    const killed = await cli(['apply', rollout], { cwd: work, signal: stop.signal });
    expect(killed.code).not.toBe(0);
    expect([...s.store.packages.values()].map((p) => p.uploaded)).toEqual([undefined]);
    await resumeAndCheck(s, work, rollout);
  });

  it('a real SIGKILL of the CLI process after the package record is created, then apply again', async () => {
    const s = await jamfServer(SERVER_OPTIONS);
    const work = tempDir('publish-sigkill');
    const rollout = writeRollout(work, { zip, servers: [{ name: 'acme', url: s.url }] });
    const run = spawnCli(['apply', rollout], { cwd: work });
    s.onWrite = (_n, entry) => {
      if (entry.method === 'POST' && entry.path === '/api/v1/packages') {
        run.child.kill('SIGKILL');
        return 'drop';
      }
      return undefined;
    };
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL');
    expect([...s.store.packages.values()].map((p) => p.uploaded)).toEqual([undefined]);
    await resumeAndCheck(s, work, rollout);
  });
});

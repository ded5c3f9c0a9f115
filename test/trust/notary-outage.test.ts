/**
 * A notary that answers HTTP 500 to everything, through main(argv, io): `build --notarize` retries with the real
 * back-off (1 + 2 + 4 + 8 s: this test takes ~15 s, in a file of its own so it runs beside the others) and then
 * exits 5, leaving nothing in --out. The same outage with an injected sleep is in release-trust.test.ts.
 */
import path from 'node:path';
import { expect, it } from 'vitest';
import { sendJson, startLocalServer } from '../helpers/servers/listen.js';
import { cli, filesIn, startTrustServers, tempDir } from './helpers.js';

it('notary answering 500 forever → exit 5 after 5 attempts, nothing in --out', async () => {
  const s = await startTrustServers();
  let calls = 0;
  const down = await startLocalServer((_req, res) => {
    calls += 1;
    sendJson(res, 500, { errors: [{ status: '500', code: 'UNEXPECTED_ERROR' }] });
  });
  const out = path.join(tempDir('trust-outage'), 'out');
  const args = s.notaryArgs.map((a) => (a === `${s.notary.url}/notary/v2` ? `${down.url}/notary/v2` : a));
  const r = await cli(['build', '--demo', '--sign', ...s.signArgs, '--notarize', ...args, '--staple', ...s.stapleArgs, '--out', out]);
  expect(r.code).toBe(5);
  expect(calls).toBe(5);
  expect(r.stderr).toMatch(/notary: create submission \(http:\/\/127\.0\.0\.1:\d+\/notary\/v2\/submissions\): HTTP 500; retrying in 8 s/);
  expect(r.stderr).toMatch(/aiwatch-deploy: notary: create submission \(http:\/\/127\.0\.0\.1:\d+\/notary\/v2\/submissions\): HTTP 500; gave up after 5 attempts\n$/);
  expect(s.s3.objects.size).toBe(0);
  expect(filesIn(out)).toEqual([]);
}, 40_000);

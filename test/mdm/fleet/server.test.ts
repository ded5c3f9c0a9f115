/**
 * The local Fleet server itself, driven by Node's own FormData encoder (not our client): it takes a form Fleet
 * documents, hashes the uploaded bytes, and refuses — and records as a validation failure — a field Fleet does not
 * read, both team spellings at once, and a missing file; a wrong token is 401 in Fleet's error shape. And the driver
 * facing a server that answers what Fleet never would (HTML, a malformed list): a NetworkError, not a crash.
 */
import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { fleetServer } from '../../helpers/servers/fleet/vitest.js';

const PROFILE = `<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>PayloadDisplayName</key><string>Test</string><key>PayloadIdentifier</key><string>com.example.test</string></dict></plist>
`;

it('accepts a documented form, hashes the pkg, and fails unknown fields, both team names and a missing file', async () => {
  const s = await fleetServer();
  const post = async (path: string, form: FormData, token = s.token): Promise<{ status: number; body: Record<string, unknown> }> => {
    const r = await fetch(`${s.url}${path}`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const bytes = Buffer.alloc(300_000, 7);
  const ok = new FormData();
  ok.append('team_id', '3');
  ok.append('automatic_install', 'true');
  ok.append('labels_include_any', 'macOS');
  ok.append('software', new Blob([bytes]), 'tool-2.0.1.pkg');
  expect((await post('/api/v1/fleet/software/package', ok)).status).toBe(200);
  expect(s.store.uploads).toEqual([{ fileName: 'tool-2.0.1.pkg', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }]);
  expect(s.validationFailures).toEqual([]);

  const unknown = new FormData();
  unknown.append('team_id', '3');
  unknown.append('teamId', '3');
  unknown.append('profile', new Blob([PROFILE]), 'p.mobileconfig');
  const r1 = await post('/api/v1/fleet/configuration_profiles', unknown);
  expect(r1.status).toBe(400);
  expect(s.validationFailures.join('\n')).toMatch(/"teamId" is not a field Fleet reads/);

  const both = new FormData();
  both.append('team_id', '3');
  both.append('fleet_id', '3');
  both.append('profile', new Blob([PROFILE]), 'p.mobileconfig');
  expect((await post('/api/v1/fleet/configuration_profiles', both)).status).toBe(400);
  const none = new FormData();
  none.append('fleet_id', '3');
  expect((await post('/api/v1/fleet/configuration_profiles', none)).status).toBe(400);
  expect(s.validationFailures).toHaveLength(3);

  const fine = new FormData();
  fine.append('fleet_id', '3');
  fine.append('profile', new Blob([PROFILE]), 'p.mobileconfig');
  expect((await post('/api/v1/fleet/configuration_profiles', fine)).status).toBe(200);
  expect((await post('/api/v1/fleet/configuration_profiles', fine)).status).toBe(409);
  const denied = await post('/api/v1/fleet/configuration_profiles', fine, 'wrong');
  expect(denied).toMatchObject({ status: 401, body: { message: expect.any(String), errors: [{ name: 'base', reason: expect.any(String) }] } });
});

it('a server answering what Fleet never would (not JSON, a list that is not one) is a NetworkError naming the target and object', async () => {
  const { createServer } = await import('node:http');
  const { fleetDriver } = await import('../../../src/mdm/fleet/driver.js');
  const { fakeRelease, fakeTarget } = await import('./release.js');
  const answers = ['<html>proxy error</html>', JSON.stringify({ profiles: 'all of them' })];
  for (const body of answers) {
    const http = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    const port = (http.address() as { port: number }).port;
    try {
      const session = await fleetDriver.connect(fakeTarget(`http://127.0.0.1:${port}`, 'tok'), fakeRelease({ size: 10 }), { signal: new AbortController().signal, http: { backoffMs: 1, sleep: async () => undefined } });
      const e = await session.plan().catch((x: Error) => x);
      expect(e).toMatchObject({ exitCode: 5 });
      expect(String(e)).toMatch(/^NetworkError: fleet acme: configuration profiles: read: the answer (\(HTTP 200\) is not a JSON object|has no "profiles" list)/);
    } finally {
      await new Promise((r) => http.close(r));
    }
  }
});

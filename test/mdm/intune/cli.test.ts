// `plan` and `apply` as commands with an Intune target (the rollout file → the registry → the Intune driver) against
// the local Intune server (Graph + token endpoint, bodies validated against Microsoft's description) with Azurite: plan exits 8 with changes pending, apply 0, plan again 0 with every object unchanged;
// the client secret and the org key are in no output.
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli, tempDir } from '../../cli/cli-helpers.js';
import { startIntuneServer, type IntuneServer } from '../../helpers/servers/intune/server.js';
import { useAzurite } from '../../helpers/servers/intune/vitest.js';

const ORG_KEY = 'rl_org_IntuneCliTestKey0123456789';
const CLIENT_SECRET = 'intune-cli-client-secret';
let dir: string;
let g: IntuneServer;
const azurite = useAzurite();

beforeAll(async () => {
  dir = tempDir('intune-cli');
  const built = await cli(['build', '--demo', '--out', path.join(dir, 'out')], { cwd: dir });
  expect(built.code, built.stderr).toBe(0);
  g = await startIntuneServer({ storageUrl: azurite().accountUrl, clients: [{ id: '66666666-7777-8888-9999-000000000000', secret: CLIENT_SECRET }] });
  const zip = readdirSync(path.join(dir, 'out')).find((f) => f.endsWith('.zip'))!;
  writeFileSync(path.join(dir, 'client.secret'), `${CLIENT_SECRET}\n`, { mode: 0o600 });
  writeFileSync(
    path.join(dir, 'rollout.yaml'),
    `release: { zip: out/${zip} }
targets:
  - name: contoso
    mdm: intune
    url: ${g.graphUrl}
    testServer: true
    credentials: { tenantId: contoso.onmicrosoft.com, clientId: 66666666-7777-8888-9999-000000000000, clientSecret: { file: client.secret } }
    tenant: { Host: "https://contoso.runlayer.com", OrgApiKey: { env: ORG_KEY } }
    scope: { group: 0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b }
    options: { authority: "${g.url}", windows: true }
`,
  );
}, 120_000);
afterAll(() => g?.close());

it('plan (8) → apply (0) → plan (0, all unchanged), no secret in any output', async () => {
  const env = { ORG_KEY };
  const p1 = await cli(['plan', 'rollout.yaml', '--json'], { cwd: dir, env });
  expect(p1.code, p1.stderr).toBe(8);
  const a = await cli(['apply', 'rollout.yaml'], { cwd: dir, env });
  expect(a.code, a.stderr + a.stdout).toBe(0);
  const p2 = await cli(['plan', 'rollout.yaml', '--json'], { cwd: dir, env });
  expect(p2.code, p2.stderr).toBe(0);
  const report = JSON.stringify(p2.json());
  expect(report).not.toMatch(/"action":"(create|update|blocked)"/);
  expect(report).toMatch(/"action":"unchanged"/);
  for (const out of [p1, a, p2].map((r) => r.stdout + r.stderr)) {
    expect(out).not.toContain(ORG_KEY);
    expect(out).not.toContain(CLIENT_SECRET);
  }
  expect(g.contents.map((c) => c.name)).toEqual([expect.stringMatching(/\.pkg$/), 'IntunePackage.intunewin']);
  expect(g.validationFailures).toEqual([]);
  expect(g.commitProblems).toEqual([]);
}, 120_000);

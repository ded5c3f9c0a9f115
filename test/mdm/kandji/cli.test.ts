// `plan` and `apply` as commands with a Kandji target (the rollout file → the registry → the Kandji driver) against
// the local Kandji server and its S3 bucket: plan exits 8, apply 0, plan 0 with every object unchanged, a second apply
// makes no write; a profile edited on the server is shown as drift and repaired; the faults (401, 429 + Retry-After,
// 5xx, a reset mid-upload, 503 while the upload is processed, an expired presigned POST) are survived or reported with
// exit 6 naming target, object and status; neither the API token nor the org key is in any output.
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { beforeAll, expect, it } from 'vitest';
import type { CliContext } from '../../../src/cli/command.js';
import { runRollout } from '../../../src/cli/commands/rollout-run.js';
import type { KandjiServer } from '../../helpers/servers/kandji/server.js';
import { kandjiServer } from '../../helpers/servers/kandji/vitest.js';
import { cli, tempDir } from '../../cli/cli-helpers.js';

const ORG_KEY = 'rl_org_KandjiCliTestKey0123456789';
let dir: string;
let zip: string;

beforeAll(async () => {
  dir = tempDir('kandji-cli');
  const built = await cli(['build', '--demo', '--out', path.join(dir, 'out')], { cwd: dir });
  expect(built.code, built.stderr).toBe(0);
  zip = readdirSync(path.join(dir, 'out')).find((f) => f.endsWith('.zip'))!;
}, 120_000);

/** A rollout file for server `s` (its token in a 0600 file), named `name`. */
function rollout(s: KandjiServer, name: string, token = s.token): string {
  writeFileSync(path.join(dir, `${name}.token`), `${token}\n`, { mode: 0o600 });
  writeFileSync(
    path.join(dir, `${name}.yaml`),
    `release: { zip: out/${zip} }
targets:
  - name: acme
    mdm: kandji
    url: ${s.url}
    testServer: true
    credentials: { apiToken: { file: ${name}.token } }
    tenant: { Host: "https://acme.runlayer.com", OrgApiKey: { env: ORG_KEY } }
    scope: { group: Macs }
`,
  );
  return `${name}.yaml`;
}

const env = { ORG_KEY };

function noSecrets(s: KandjiServer, outputs: string[]): void {
  for (const out of outputs) {
    expect(out).not.toContain(ORG_KEY);
    expect(out).not.toContain(s.token);
    expect(out).not.toContain(s.s3.sessionToken);
  }
}

it('plan (8) → apply (0) → plan (0, all unchanged) → apply (0, no write); then a profile edited on the server is drift, repaired', async () => {
  const s = await kandjiServer();
  const file = rollout(s, 'main');
  const p1 = await cli(['plan', file], { cwd: dir, env });
  expect(p1.code, p1.stderr).toBe(8);
  expect(p1.stdout).toMatch(/^ {2}app +aiwatch — agent +create /m);
  const a1 = await cli(['apply', file], { cwd: dir, env });
  expect(a1.code, a1.stderr + a1.stdout).toBe(0);
  expect(s.validationFailures).toEqual([]);
  expect(s.unknownRequests).toEqual([]);
  const p2 = await cli(['plan', file, '--json'], { cwd: dir, env });
  expect(p2.code, p2.stderr).toBe(0);
  const objects = (p2.json() as { targets: { objects: { action: string; kind: string }[] }[] }).targets[0]!.objects;
  expect(objects.map((o) => `${o.kind} ${o.action}`)).toEqual(['profile unchanged', 'profile unchanged', 'profile unchanged', 'app unchanged']);
  s.resetLog();
  const a2 = await cli(['apply', file], { cwd: dir, env });
  expect(a2.code, a2.stderr).toBe(0);
  expect(s.counts()).toMatchObject({ writes: 0, s3: 0 });

  // An admin edits the PPPC profile in Kandji (a top-level key changed): plan shows it as drift, apply repairs it.
  const pppc = [...s.store.profiles.values()].find((p) => p.name === 'aiwatch — PPPC')!;
  pppc.profile = pppc.profile.replace(/(<key>PayloadScope<\/key>\s*<string>)System(<\/string>)/, '$1User$2');
  expect(pppc.profile).toContain('<string>User</string>');
  const p3 = await cli(['plan', file], { cwd: dir, env });
  expect(p3.code, p3.stderr).toBe(8);
  expect(p3.stdout).toMatch(/^ {2}profile +aiwatch — PPPC +update +payload: "sha256:[0-9a-f]{12}" → "sha256:[0-9a-f]{12}" \(drift\)$/m);
  s.resetLog();
  const a3 = await cli(['apply', file], { cwd: dir, env });
  expect(a3.code, a3.stderr).toBe(0);
  expect(s.log.filter((e) => e.kind !== 'read').map((e) => `${e.method} ${e.object}`)).toEqual(['PATCH custom-profile']);
  expect((await cli(['plan', file], { cwd: dir, env })).code).toBe(0);
  noSecrets(s, [p1, a1, p2, a2, p3, a3].map((r) => r.stdout + r.stderr));
}, 60_000);

it('faults survived through apply: 429 + Retry-After, 502 on a create, a reset mid-upload, an expired presigned POST, 503 while processing', async () => {
  const s = await kandjiServer({ processingAnswers: 2 });
  const file = rollout(s, 'faults');
  s.inject({ method: 'GET', path: /custom-apps$/, action: { status: 429, retryAfter: 3 } });
  s.inject({ method: 'POST', path: /custom-profiles$/, skip: 1, action: { status: 502 } });
  s.inject({ s3: true, action: { resetAfterBytes: 20_000 } });
  s.expireNextSlot();
  let out = '';
  const waits: number[] = [];
  const ctx: CliContext = {
    json: false,
    stdout: (t) => void (out += t),
    stderr: (t) => void (out += t),
    stdin: Readable.from([]),
    env,
    isTTY: false,
    cwd: dir,
    signal: new AbortController().signal,
    warn: (w) => void (out += w),
  };
  const args = { rollout: file, target: undefined, parallel: 1, release: undefined, spec: undefined };
  const result = await runRollout('apply', args, ctx, { http: { backoffMs: 1, sleep: async (ms) => void waits.push(ms) } });
  out += result.text;
  expect(result.exitCode, out).toBe(0);
  expect(s.faultsFired).toEqual([
    '429 GET /api/v1/library/custom-apps',
    '502 POST /api/v1/library/custom-profiles',
    `reset-after-20000-bytes POST /${s.bucket}`,
  ]);
  expect(waits).toContain(3000);
  expect(out).toMatch(/kandji acme: custom apps: list .*HTTP 429; retrying in 3 s/);
  expect(out).toMatch(/custom profile "aiwatch — login items": create: HTTP 502; it was not made: trying again/);
  expect(out).toMatch(/Policy expired\. — asking Kandji for a new upload/);
  expect(out).toMatch(/HTTP 503, the uploaded file is still being processed/);
  expect(s.validationFailures).toEqual([]);
  expect(s.store.apps.size).toBe(1);
  expect(s.store.profiles.size).toBe(3);
  const plan = await cli(['plan', file], { cwd: dir, env });
  expect(plan.code, plan.stdout).toBe(0);
  noSecrets(s, [out, plan.stdout + plan.stderr]);
}, 60_000);

it('401: exit 6 naming the target, the object and the status; a 5xx past the retries: exit 5; the token is never printed', async () => {
  const s = await kandjiServer();
  const wrong = '7f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f';
  const bad = await cli(['plan', rollout(s, 'wrong', wrong)], { cwd: dir, env });
  expect(bad.code).toBe(6);
  expect(bad.stdout + bad.stderr).toMatch(/kandji acme: blueprint "Macs": list: authentication refused \(HTTP 401\)/);
  expect(bad.stdout + bad.stderr).not.toContain(wrong);
  s.inject({ method: 'GET', path: /blueprints$/, times: Infinity, action: { status: 500 } });
  const down = await runRollout(
    'plan',
    { rollout: rollout(s, 'down'), target: undefined, parallel: 1, release: undefined, spec: undefined },
    { json: false, stdout: () => undefined, stderr: () => undefined, stdin: Readable.from([]), env, isTTY: false, cwd: dir, signal: new AbortController().signal, warn: () => undefined },
    { http: { backoffMs: 1, sleep: async () => undefined } },
  );
  expect(down.exitCode).toBe(5);
  expect(down.text).toMatch(/kandji acme: blueprint "Macs": list \(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/blueprints\): HTTP 500; gave up after 5 attempts/);
  noSecrets(s, [bad.stdout + bad.stderr, down.text]);
}, 60_000);

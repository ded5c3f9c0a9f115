// `plan` and `apply` as commands with a Fleet target (the rollout file → the registry → the Fleet driver) against the
// local Fleet server, with the demo release the project builds itself: plan exits 8, apply 0, plan again 0 with every
// object unchanged, a second apply makes 0 writes; a profile changed on the server is shown and repaired; 429 with
// Retry-After, a 503 and a reset mid-upload are survived; the API token and the tenant keys are in no output.
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { cli, tempDir } from '../../cli/cli-helpers.js';
import type { FleetServer } from '../../helpers/servers/fleet/server.js';
import { fleetServer } from '../../helpers/servers/fleet/vitest.js';

const ORG_KEY = 'rl_org_FleetCliTestKey0123456789abcdef';
const ENROLL_KEY = 'rl_enroll_FleetCliTestKey0123456789ab';
let dir: string;
let zip: string;

beforeAll(async () => {
  dir = tempDir('fleet-cli');
  const built = await cli(['build', '--demo', '--out', path.join(dir, 'out')], { cwd: dir });
  expect(built.code, built.stderr).toBe(0);
  zip = readdirSync(path.join(dir, 'out')).find((f) => f.endsWith('.zip'))!;
}, 120_000);

function rollout(s: FleetServer): void {
  writeFileSync(path.join(dir, 'fleet.token'), `${s.token}\n`, { mode: 0o600 });
  writeFileSync(
    path.join(dir, 'rollout.yaml'),
    `release: { zip: out/${zip} }
targets:
  - name: acme-fleet
    mdm: fleet
    url: ${s.url}
    testServer: true
    credentials: { apiToken: { file: fleet.token } }
    tenant: { Host: "https://acme.runlayer.com", OrgApiKey: { env: ORG_KEY }, EnrollmentKey: { env: ENROLL_KEY } }
    scope: { group: macOS }
    options: { fleet_id: 3 }
`,
  );
}

const env = { ORG_KEY, ENROLL_KEY };

function actions(report: Record<string, unknown>): string[] {
  const targets = report.targets as { objects: { action: string; kind: string }[] }[];
  return targets[0]!.objects.map((o) => `${o.kind}:${o.action}`);
}

it('plan (8) → apply (0) → plan (0, all unchanged) → apply (0 writes); a changed profile is repaired; faults survived; no secret in any output', async () => {
  const s = await fleetServer();
  rollout(s);
  const outputs: string[] = [];
  const run = async (argv: string[]): Promise<Awaited<ReturnType<typeof cli>>> => {
    const r = await cli(argv, { cwd: dir, env });
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const p1 = await run(['plan', 'rollout.yaml', '--json']);
  expect(p1.code, p1.stderr).toBe(8);
  expect(actions(p1.json())).toEqual(['profile:create', 'profile:create', 'profile:create', 'package:create']);
  expect(s.writes()).toBe(0);

  s.inject({ method: 'POST', path: /configuration_profiles$/, action: { status: 429, retryAfter: 1 } });
  s.inject({ method: 'POST', path: /configuration_profiles$/, action: { status: 503 } });
  s.inject({ method: 'POST', path: /software\/package$/, action: { resetAfterBytes: 2048 } });
  const a1 = await run(['apply', 'rollout.yaml']);
  expect(a1.code, a1.stderr + a1.stdout).toBe(0);
  expect(a1.stderr).toMatch(/fleet acme-fleet: profile ".*": create .*HTTP 429; retrying in 1 s/);
  expect(a1.stderr).toMatch(/HTTP 503; retrying/);
  expect(a1.stderr).toMatch(/package ".*": upload \(.*\): connection .*; retrying in 1 s/);
  expect(s.validationFailures).toEqual([]);
  expect(s.unknownRequests).toEqual([]);
  expect(s.store.uploads.at(-1)?.fileName).toBe(zip.replace(/\.zip$/, '.pkg'));

  const p2 = await run(['plan', 'rollout.yaml', '--json']);
  expect(p2.code, p2.stderr).toBe(0);
  expect(actions(p2.json())).toEqual(['profile:unchanged', 'profile:unchanged', 'profile:unchanged', 'package:unchanged']);

  const st = await run(['status', 'rollout.yaml', '--json']);
  expect(st.code, st.stderr).toBe(0);
  expect(st.json()).toMatchObject({ targets: [{ target: 'acme-fleet', mdm: 'fleet', state: 'current', versions: expect.arrayContaining(['1.0.0']) }] });

  s.resetLog();
  const a2 = await run(['apply', 'rollout.yaml', '--json']);
  expect(a2.code, a2.stderr).toBe(0);
  expect(s.writes()).toBe(0);

  // A profile changed in Fleet (uploaded again with other content under our identifier): shown, then repaired.
  const pppc = [...s.store.profiles.values()].find((p) => /pppc/i.test(p.identifier))!;
  pppc.bytes = Buffer.from(pppc.bytes.toString().replace('</dict>\n</plist>', '<key>PayloadDescription</key>\n<string>edited in Fleet</string>\n</dict>\n</plist>'));
  const st2 = await run(['status', 'rollout.yaml', '--json']);
  expect(st2.code).toBe(8);
  const profiles = (st2.json().targets as { profiles: { column: string; state: string }[] }[])[0]!.profiles;
  expect(profiles.find((p) => p.column === 'PPPC')?.state).toBe('differs');
  const p3 = await run(['plan', 'rollout.yaml']);
  expect(p3.code).toBe(8);
  expect(p3.stdout).toMatch(/update.*changed in Fleet/s);
  s.resetLog();
  const a3 = await run(['apply', 'rollout.yaml']);
  expect(a3.code, a3.stderr).toBe(0);
  expect(s.log.filter((e) => e.kind === 'write').map((e) => e.method)).toEqual(['DELETE', 'POST']);
  const p4 = await run(['plan', 'rollout.yaml', '--json']);
  expect(p4.code).toBe(0);

  for (const out of outputs) {
    expect(out).not.toContain(ORG_KEY);
    expect(out).not.toContain(ENROLL_KEY);
    expect(out).not.toContain(s.token);
  }
  expect(s.refusedTokens).toEqual([]);
}, 120_000);

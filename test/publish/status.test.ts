/**
 * `aiwatch-deploy status` end to end through the real CLI entry, over a mixed rollout against local servers: Jamf Pro
 * (test/helpers/servers/jamf), Intune (test/helpers/servers/intune: Graph beta + Entra token, content in Azurite),
 * Kandji (test/helpers/servers/kandji, with its S3 bucket) and Fleet (test/helpers/servers/fleet).
 * Release 1.1.0 (built by the project itself) is compared with:
 *   jamf-fresh      an empty Jamf Pro                          → pending, no version, every profile missing
 *   jamf-current    1.1.0 applied                              → current
 *   jamf-drift      1.1.0 applied, then a profile edited by hand → drifted (that profile only)
 *   intune-current  1.1.0 applied                              → current
 *   intune-old      1.0.0 applied                              → pending, version 1.0.0, the app to update
 *   kandji-current  1.1.0 applied                              → current
 *   fleet-old       1.0.0 applied                              → pending, version 1.0.0, the package to update
 * plus a target whose Jamf Pro refuses the credentials (an error row, exit 6). The table and the JSON (validated by
 * schemas/status.schema.json) say so per target; no server receives a write (Kandji: nor its bucket);
 * no planted secret appears in any output; the exit code is 8 (pending / drifted), 0 once everything is applied.
 */
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatorFor } from '../../src/config/validate.js';
import { startJamfServer, type JamfServer } from '../helpers/servers/jamf/server.js';
import type { Json } from '../helpers/servers/jamf/classic-xml.js';
import { startIntuneServer, type IntuneServer } from '../helpers/servers/intune/server.js';
import { useAzurite } from '../helpers/servers/intune/vitest.js';
import { startKandjiServer, type KandjiServer } from '../helpers/servers/kandji/server.js';
import { startFleetServer, type FleetServer } from '../helpers/servers/fleet/server.js';
import { buildRelease, cli, CLIENT_ID, leakedSecrets, SECRETS, SERVER_OPTIONS, tempDir } from './publish-helpers.js';

const GROUP = '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
const INTUNE_CLIENT = '66666666-7777-8888-9999-000000000000';
const INTUNE_SECRET = 'intune-PLANTED-client-secret-77c2';
const azurite = useAzurite();

let dir: string;
const jamf: Record<string, JamfServer> = {};
const graph: Record<string, IntuneServer> = {};
const kandji: Record<string, KandjiServer> = {};
const fleet: Record<string, FleetServer> = {};

function jamfTarget(name: string, s: JamfServer): string {
  return `  - name: ${name}
    mdm: jamf
    url: "${s.url}"
    credentials: { clientId: ${CLIENT_ID}, clientSecret: { file: client.secret } }
    scope: { smartGroup: { name: AI Watch, criteria: [{ name: Computer Name, searchType: like, value: mac }] } }`;
}

function intuneTarget(name: string, g: IntuneServer): string {
  return `  - name: ${name}
    mdm: intune
    url: "${g.graphUrl}"
    credentials: { tenantId: ${g.tenantId}, clientId: ${INTUNE_CLIENT}, clientSecret: { file: intune.secret } }
    scope: { group: ${GROUP} }
    options: { authority: "${g.url}" }`;
}

function kandjiTarget(name: string, s: KandjiServer): string {
  writeFileSync(path.join(dir, `${name}.token`), `${s.token}\n`, { mode: 0o600 });
  return `  - name: ${name}
    mdm: kandji
    url: "${s.url}"
    credentials: { apiToken: { file: ${name}.token } }
    scope: { group: Macs }`;
}

function fleetTarget(name: string, s: FleetServer): string {
  writeFileSync(path.join(dir, `${name}.token`), `${s.token}\n`, { mode: 0o600 });
  return `  - name: ${name}
    mdm: fleet
    url: "${s.url}"
    credentials: { apiToken: { file: ${name}.token } }
    scope: { group: macOS }
    options: { fleet_id: 3 }`;
}

function rollout(file: string, zip: string, targets: string[]): string {
  writeFileSync(
    path.join(dir, file),
    `release: { zip: ${zip} }
defaults:
  testServer: true
  tenant: { Host: "https://acme.runlayer.com", OrgApiKey: { env: ORG_KEY }, EnrollmentKey: { env: ENROLL_KEY } }
targets:
${targets.join('\n')}
`,
  );
  return file;
}

/** Writes every server received since its log was last reset. */
function writes(): Record<string, number> {
  return {
    ...Object.fromEntries(Object.entries(jamf).map(([n, s]) => [n, s.counts().writes])),
    ...Object.fromEntries(Object.entries(graph).map(([n, g]) => [n, g.log.filter((e) => e.kind === 'write').length])),
    ...Object.fromEntries(Object.entries(kandji).map(([n, k]) => [n, k.counts().writes + k.counts().s3])),
    ...Object.fromEntries(Object.entries(fleet).map(([n, f]) => [n, f.writes()])),
  };
}

function resetLogs(): void {
  for (const s of Object.values(jamf)) s.resetLog();
  for (const g of Object.values(graph)) g.resetLog();
  for (const k of Object.values(kandji)) k.resetLog();
  for (const f of Object.values(fleet)) f.resetLog();
}

/** Every target, in the rollout file's order, with no write received. */
const NO_WRITES = { 'jamf-fresh': 0, 'jamf-current': 0, 'jamf-drift': 0, 'intune-current': 0, 'intune-old': 0, 'kandji-current': 0, 'fleet-old': 0 };

let zip100: string;
let zip110: string;
let all: string;

beforeAll(async () => {
  dir = tempDir('status');
  zip100 = await buildRelease(dir, '1.0.0');
  zip110 = await buildRelease(dir, '1.1.0');
  writeFileSync(path.join(dir, 'client.secret'), `${SECRETS.clientSecret}\n`, { mode: 0o600 });
  writeFileSync(path.join(dir, 'intune.secret'), `${INTUNE_SECRET}\n`, { mode: 0o600 });
  for (const n of ['jamf-fresh', 'jamf-current', 'jamf-drift']) jamf[n] = await startJamfServer(SERVER_OPTIONS);
  for (const n of ['intune-current', 'intune-old']) graph[n] = await startIntuneServer({ storageUrl: azurite().accountUrl, clients: [{ id: INTUNE_CLIENT, secret: INTUNE_SECRET }], storageUriPendingPolls: 0 });
  kandji['kandji-current'] = await startKandjiServer();
  fleet['fleet-old'] = await startFleetServer();
  const applied = rollout('setup-110.yaml', zip110, [
    jamfTarget('jamf-current', jamf['jamf-current']!),
    jamfTarget('jamf-drift', jamf['jamf-drift']!),
    intuneTarget('intune-current', graph['intune-current']!),
    kandjiTarget('kandji-current', kandji['kandji-current']!),
  ]);
  const old = rollout('setup-100.yaml', zip100, [intuneTarget('intune-old', graph['intune-old']!), fleetTarget('fleet-old', fleet['fleet-old']!)]);
  for (const f of [applied, old]) {
    const r = await cli(['apply', f], { cwd: dir });
    if (r.code !== 0) throw new Error(`apply ${f}: exit ${r.code}\n${r.stdout}${r.stderr}`);
  }
  // The apply's upload was checked by the Intune server: decrypted from Azurite, compared.
  for (const g of Object.values(graph)) expect([g.commitProblems, g.contents.length]).toEqual([[], 1]);
  // A console admin changes how the login-items profile is distributed on one Jamf Pro.
  const li = [...jamf['jamf-drift']!.store.profiles.values()].find((p) => p.name === 'aiwatch — login items')!;
  (li.body.general as Record<string, Json>).distribution_method = 'Make Available in Self Service';
  all = rollout('rollout.yaml', zip110, [
    jamfTarget('jamf-fresh', jamf['jamf-fresh']!),
    jamfTarget('jamf-current', jamf['jamf-current']!),
    jamfTarget('jamf-drift', jamf['jamf-drift']!),
    intuneTarget('intune-current', graph['intune-current']!),
    intuneTarget('intune-old', graph['intune-old']!),
    kandjiTarget('kandji-current', kandji['kandji-current']!),
    fleetTarget('fleet-old', fleet['fleet-old']!),
  ]);
  resetLogs();
}, 180_000);

afterAll(async () => {
  await Promise.all([...Object.values(jamf), ...Object.values(graph), ...Object.values(kandji), ...Object.values(fleet)].map((s) => s.close()));
});

interface StatusTarget {
  target: string;
  mdm: string;
  state: string;
  exitCode: number;
  versions: string[];
  profiles: { column: string; hash: string | null; desired: string; state: string }[];
  drifted: { kind: string; name: string; fields?: string[] }[];
  pending: { kind: string; name: string; action: string }[];
  blocked: unknown[];
  counts: { reads: number; writes: number };
}

describe('status over a mixed rollout (Jamf Pro + Intune + Kandji + Fleet)', () => {
  it('one table: each target\'s version, profile hashes, drift, pending; exit 8; 0 writes; no secret shown', async () => {
    const text = await cli(['status', all], { cwd: dir });
    expect(text.code, text.stderr + text.stdout).toBe(8);
    console.log(`status ${all} (exit ${text.code}):\n${text.stdout}`);
    const row = (name: string): string[] => {
      const line = text.stdout.split('\n').find((l) => l.startsWith(`  ${name} `));
      expect(line, name).toBeDefined();
      return line!.trim().split(/ {2,}/);
    };
    const lines = text.stdout.split('\n');
    expect(lines[0]).toMatch(/^release 1\.1\.0: /);
    expect(lines[1]!.trim().split(/ {2,}/)).toEqual(['TARGET', 'MDM', 'AIWATCH', 'PPPC', 'LOGIN ITEMS', 'TENANT SETTINGS', 'DRIFTED', 'PENDING', 'BLOCKED', 'ERROR', 'STATE']);
    const h = '[0-9a-f]{8}';
    expect(row('jamf-fresh')).toEqual(['jamf-fresh', 'jamf', 'none', 'missing', 'missing', 'missing', '0', '8 create', '0', '-', 'pending']);
    expect(row('jamf-current').join('|')).toMatch(new RegExp(`^jamf-current\\|jamf\\|1\\.1\\.0\\|${h} current\\|${h} current\\|${h} current\\|0\\|0\\|0\\|-\\|current$`));
    expect(row('jamf-drift').join('|')).toMatch(new RegExp(`^jamf-drift\\|jamf\\|1\\.1\\.0\\|${h} current\\|${h} drift\\|${h} current\\|1\\|0\\|0\\|-\\|drifted$`));
    expect(row('intune-current').join('|')).toMatch(new RegExp(`^intune-current\\|intune\\|1\\.1\\.0\\|${h} current\\|${h} current\\|${h} current\\|0\\|0\\|0\\|-\\|current$`));
    // 1.0.0's profiles are byte-identical to 1.1.0's (same identifier and team): only the app is behind.
    expect(row('intune-old').join('|')).toMatch(new RegExp(`^intune-old\\|intune\\|1\\.0\\.0\\|${h} current\\|${h} current\\|${h} current\\|0\\|1 update\\|0\\|-\\|pending$`));
    expect(row('kandji-current').join('|')).toMatch(new RegExp(`^kandji-current\\|kandji\\|1\\.1\\.0\\|${h} current\\|${h} current\\|${h} current\\|0\\|0\\|0\\|-\\|current$`));
    // Fleet names its profiles by their display names; they land in the same columns.
    expect(row('fleet-old').join('|')).toMatch(new RegExp(`^fleet-old\\|fleet\\|1\\.0\\.0\\|${h} current\\|${h} current\\|${h} current\\|0\\|1 update\\|0\\|-\\|pending$`));
    expect(text.stdout).toMatch(/^ {2}jamf-drift: drifted: profile "aiwatch — login items" \(distribution_method\)$/m);
    expect(text.stdout).toMatch(/^ {2}intune-old: update: app "aiwatch agent \(macOS\)" \(fileName, primaryBundleVersion, includedApps, content, marker\)$/m);
    expect(text.stdout).toMatch(/^ {2}fleet-old: update: package "aiwatch-1\.1\.0-macos-arm64\.pkg" \(fileName, marker\)$/m);
    expect(text.stdout).toMatch(/^status: 7 target\(s\): 3 current, 3 pending, 1 drifted, 0 blocked, 0 failed \(\d+ read requests, 0 write\)$/m);
    expect(writes()).toEqual(NO_WRITES);

    const json = await cli(['status', all, '--json'], { cwd: dir });
    expect(json.code).toBe(8);
    const j = json.json();
    const validate = validatorFor('status.schema.json');
    expect(validate(j), JSON.stringify(validate.errors)).toBe(true);
    expect(j).toMatchObject({ ok: false, release: { zip: zip110, version: '1.1.0' }, summary: { targets: 7, current: 3, pending: 3, drifted: 1, blocked: 0, failed: 0, writes: 0 }, error: { kind: 'pending', exitCode: 8 } });
    const t = Object.fromEntries((j.targets as StatusTarget[]).map((x) => [x.target, x]));
    expect(Object.values(t).map((x) => [x.target, x.mdm, x.state, x.exitCode, x.versions.join(',')])).toEqual([
      ['jamf-fresh', 'jamf', 'pending', 8, ''],
      ['jamf-current', 'jamf', 'current', 0, '1.1.0'],
      ['jamf-drift', 'jamf', 'drifted', 8, '1.1.0'],
      ['intune-current', 'intune', 'current', 0, '1.1.0'],
      ['intune-old', 'intune', 'pending', 8, '1.0.0'],
      ['kandji-current', 'kandji', 'current', 0, '1.1.0'],
      ['fleet-old', 'fleet', 'pending', 8, '1.0.0'],
    ]);
    expect(t['jamf-fresh']!.profiles.map((p) => [p.state, p.hash])).toEqual([['missing', null], ['missing', null], ['missing', null]]);
    expect(t['jamf-fresh']!.pending.map((p) => p.action)).toEqual(Array(8).fill('create'));
    expect(t['jamf-drift']!.drifted).toEqual([{ kind: 'profile', name: 'aiwatch — login items', action: 'update', fields: ['distribution_method'], reason: 'drift' }]);
    expect(t['jamf-drift']!.pending).toEqual([]);
    // Hashes: the full marker hash, equal to the desired one where current or drifted; the same release and tenant
    // values give the same profile hashes on every Jamf Pro (the table's short hashes are their first 8 hex).
    for (const p of [...t['jamf-current']!.profiles, ...t['jamf-drift']!.profiles]) expect(p.hash).toBe(p.desired);
    expect(t['jamf-drift']!.profiles.map((p) => p.hash)).toEqual(t['jamf-current']!.profiles.map((p) => p.hash));
    expect(row('jamf-current')[3]).toBe(`${t['jamf-current']!.profiles[0]!.hash!.slice(0, 8)} current`);
    expect(t['intune-old']!.pending).toEqual([expect.objectContaining({ kind: 'app', name: 'aiwatch agent (macOS)', action: 'update' })]);
    expect(Object.values(t).every((x) => x.counts.writes === 0 && x.counts.reads > 0)).toBe(true);
    expect(writes()).toEqual(NO_WRITES);
    const outputs = [text.stdout, text.stderr, json.stdout, json.stderr];
    expect(leakedSecrets(...outputs)).toEqual([]);
    for (const o of outputs) expect(o).not.toContain(INTUNE_SECRET);
    for (const s of [...Object.values(jamf), ...Object.values(graph), ...Object.values(kandji), ...Object.values(fleet)]) expect([s.validationFailures, s.unknownRequests]).toEqual([[], []]);
    for (const [n, k] of Object.entries(kandji)) expect(outputs.some((o) => o.includes(k.token)), n).toBe(false);
    for (const [n, f] of Object.entries(fleet)) expect(outputs.some((o) => o.includes(f.token)), n).toBe(false);
  });

  it('a target whose MDM refuses the credentials is an error row (exit 6), the others are still read; the secret is not shown', async () => {
    const wrong = 'cs-PLANTED-wrong-jamf-secret-31d0';
    writeFileSync(path.join(dir, 'wrong.secret'), `${wrong}\n`, { mode: 0o600 });
    const refused = jamfTarget('jamf-refused', jamf['jamf-current']!).replace('{ file: client.secret }', '{ file: wrong.secret }');
    const file = rollout('refused.yaml', zip110, [jamfTarget('jamf-current', jamf['jamf-current']!), refused]);
    const text = await cli(['status', file], { cwd: dir });
    expect(text.code, text.stdout + text.stderr).toBe(6);
    expect(text.stdout).toMatch(/^ {2}jamf-current +jamf +1\.1\.0 +.* current$/m);
    expect(text.stdout).toMatch(/^ {2}jamf-refused +jamf +\? +\? +\? +\? +0 +0 +0 +rejected \(6\) +error$/m);
    expect(text.stdout).toMatch(/^ {2}jamf-refused: error \(rejected, exit 6\): jamf jamf-refused: sign in as API client "aiwatch-ci": refused with HTTP 401/m);
    const json = await cli(['status', file, '--json'], { cwd: dir });
    const j = json.json();
    expect(validatorFor('status.schema.json')(j)).toBe(true);
    expect(j).toMatchObject({ ok: false, summary: { current: 1, failed: 1 }, error: { kind: 'rejected', exitCode: 6, problems: [expect.stringMatching(/^jamf-refused: error: jamf jamf-refused: sign in/)] } });
    for (const o of [text.stdout, text.stderr, json.stdout, json.stderr]) expect(o).not.toContain(wrong);
    expect(writes()['jamf-current']).toBe(0);
  });

  it('--release compares with another release; --target picks targets; after apply every target is current: exit 0, JSON ok without an error', async () => {
    // Against 1.0.0 the targets left on 1.0.0 are the current ones, and those on 1.1.0 have the app / package to change.
    const older = await cli(['status', all, '--release', zip100, '--target', 'intune-old', '--target', 'fleet-old', '--target', 'intune-current', '--target', 'jamf-current', '--json'], { cwd: dir });
    expect(older.code, older.stdout).toBe(8);
    expect(older.json()).toMatchObject({ release: { version: '1.0.0' } });
    expect((older.json().targets as StatusTarget[]).map((x) => `${x.target} ${x.state} ${x.versions.join(',')} ${x.pending.map((o) => o.kind).join(',')}`)).toEqual([
      'jamf-current pending 1.1.0 smart-group,package,policy',
      'intune-current pending 1.1.0 app',
      'intune-old current 1.0.0 ',
      'fleet-old current 1.0.0 ',
    ]);
    const one = await cli(['status', all, '--target', 'jamf-drift', '--json'], { cwd: dir });
    expect(one.code).toBe(8);
    expect((one.json().targets as StatusTarget[]).map((x) => x.target)).toEqual(['jamf-drift']);
    expect(Object.values(writes()).every((n) => n === 0)).toBe(true);
    const applied = await cli(['apply', all, '--parallel', '7'], { cwd: dir });
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    resetLogs();
    const after = await cli(['status', all, '--json', '--parallel', '2'], { cwd: dir });
    expect(after.code, after.stdout).toBe(0);
    const j = after.json();
    expect(validatorFor('status.schema.json')(j)).toBe(true);
    expect(j).toMatchObject({ ok: true, summary: { targets: 7, current: 7, writes: 0 } });
    expect(j).not.toHaveProperty('error');
    expect((j.targets as StatusTarget[]).map((x) => `${x.target} ${x.versions.join(',')} ${x.profiles.map((p) => p.state).join(',')}`)).toEqual(
      Object.keys(NO_WRITES).map((n) => `${n} 1.1.0 current,current,current`),
    );
    expect(Object.values(writes()).every((n) => n === 0)).toBe(true);
  });
});

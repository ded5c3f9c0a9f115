/**
 * `plan` and `apply` as commands: parse then act (a bad rollout file, an unknown --target, a bad --parallel, a
 * missing secret: exit 2 and not one connection to the MDM — a TCP listener on 127.0.0.1 counts them), a literal
 * secret never echoed in text or JSON, and the reports (a table per target; --json a report per object; exit 8 when
 * changes are pending, 0 after apply) over the small MDM of test/rollout/fake-mdm.ts. The Jamf end-to-end runs are
 * in test/publish (the local Jamf server).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliContext } from '../../src/cli/command.js';
import { runRollout } from '../../src/cli/commands/rollout-run.js';
import { fakeDriver, FakeServer } from '../rollout/fake-mdm.js';
import { cli, tempDir } from './cli-helpers.js';

const SECRET = 'hunter2-CLI-literal-secret';
let dir: string;
let server: net.Server;
let connections = 0;
let url: string;

beforeAll(async () => {
  dir = tempDir('rollout-cli');
  const built = await cli(['build', '--demo', '--out', path.join(dir, 'out')], { cwd: dir });
  expect(built.code, built.stderr).toBe(0);
  server = net.createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const zip = readdirSync(path.join(dir, 'out')).find((f) => f.endsWith('.zip'))!;
  writeFileSync(path.join(dir, 'client.secret'), 'client-secret-from-file\n', { mode: 0o600 });
  writeFileSync(
    path.join(dir, 'rollout.yaml'),
    `release: { zip: out/${zip} }
defaults:
  mdm: jamf
  testServer: true
  credentials: { clientId: aiwatch, clientSecret: { file: client.secret } }
  tenant: { OrgApiKey: { env: ORG_KEY } }
  scope: { smartGroup: { name: AI Watch, criteria: [{ name: Operating System, searchType: like, value: macOS }] } }
targets:
  - { name: acme, url: "${url}/acme", tenant: { Host: "https://acme.runlayer.com" } }
  - { name: globex, url: "${url}/globex", tenant: { Host: "https://globex.runlayer.com" } }
`,
  );
  writeFileSync(path.join(dir, 'norelease.yaml'), readRollout().replace(/^release: .*\n/, ''));
}, 120_000);

afterAll(() => new Promise<void>((r) => server.close(() => r())));

const ENV = { ORG_KEY: 'rl_org_CLIorgKey42' };

describe('plan / apply: parse, then act', () => {
  it('a bad rollout file: exit 2, every problem, the literal secret not shown, no connection', async () => {
    writeFileSync(path.join(dir, 'bad.yaml'), `release: { zip: nope.zip }
targets:
  - { name: a, mdm: jamf, url: ${url}, credentials: { clientId: x, clientSecret: ${SECRET} }, tenant: { Host: "https://a.runlayer.com" }, scope: { group: All } }
  - { name: b, mdm: kandji, url: ${url}, scope: { group: All } }
`);
    for (const json of [false, true]) {
      const r = await cli(['plan', 'bad.yaml', ...(json ? ['--json'] : [])], { cwd: dir, env: ENV });
      expect(r.code).toBe(2);
      const out = r.stdout + r.stderr;
      expect(out).toMatch(/targets\[0\] \(a\): credentials\.clientSecret is a secret: give it by reference/);
      // Every MDM of the schema has a driver now (kandji registered last): the target is judged by it, before any request.
      expect(out).toMatch(/targets\[1\] \(b\): credentials\.apiToken is missing \(kandji needs it, by reference\)/);
      expect(out).not.toContain(SECRET);
      if (json) expect(r.json()).toMatchObject({ ok: false, error: { kind: 'usage', exitCode: 2, problems: expect.arrayContaining([expect.stringMatching(/kandji/)]) } });
    }
    expect(connections).toBe(0);
  });

  it('an unknown --target, a bad --parallel, a missing secret: exit 2 before any connection', async () => {
    const unknown = await cli(['apply', 'rollout.yaml', '--target', 'acme', '--target', 'initech'], { cwd: dir, env: ENV });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--target "initech": no such target in rollout\.yaml \(it has acme, globex\)/);
    const parallel = await cli(['apply', 'rollout.yaml', '--parallel', '0'], { cwd: dir, env: ENV });
    expect(parallel.code).toBe(2);
    expect(parallel.stderr).toMatch(/--parallel: expected a whole number from 1 to 64, got 0/);
    const noEnv = await cli(['apply', 'rollout.yaml'], { cwd: dir, env: {} });
    expect(noEnv.code).toBe(2);
    expect(noEnv.stderr).toMatch(/target acme: tenant\.OrgApiKey: the environment variable ORG_KEY is not set or empty/);
    expect(noEnv.stderr).toMatch(/target globex: tenant\.OrgApiKey: the environment variable ORG_KEY is not set or empty/);
    expect(connections).toBe(0);
  });

  it('--release names the zip in place of release.zip; without either: exit 2', async () => {
    const none = await cli(['plan', 'norelease.yaml'], { cwd: dir, env: ENV });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/norelease\.yaml: no release: give release\.zip in the file or --release ZIP/);
    const missing = await cli(['plan', 'rollout.yaml', '--release', 'other.zip'], { cwd: dir, env: ENV });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/other\.zip/);
    expect(connections).toBe(0);
  });

  it('a missing rollout file: exit 3', async () => {
    const r = await cli(['plan', 'nope.yaml', '--json'], { cwd: dir, env: ENV });
    expect(r.code).toBe(3);
    expect(r.json()).toMatchObject({ ok: false, error: { kind: 'input-file', exitCode: 3 } });
  });
});

describe('plan / apply: reports', () => {
  function context(json: boolean): { ctx: CliContext; out: () => string; warnings: string[] } {
    let out = '';
    const warnings: string[] = [];
    const ctx: CliContext = {
      json, stdout: (t) => void (out += t), stderr: (t) => void (out += t), stdin: Readable.from([]), env: ENV, isTTY: false, cwd: dir,
      signal: new AbortController().signal, warn: (w) => warnings.push(w),
    };
    return { ctx, out: () => out, warnings };
  }
  const args = { rollout: 'rollout.yaml', target: undefined, parallel: 2, release: undefined, spec: undefined };

  it('plan: a table per target, exit 8; apply: done, exit 0; plan again: exit 0 and 0 writes', async () => {
    const drivers = { jamf: fakeDriver(new Map<string, FakeServer>()) };
    const zip = readdirSync(path.join(dir, 'out')).find((f) => f.endsWith('.zip'))!;
    const viaFlag = await runRollout('plan', { ...args, rollout: 'norelease.yaml', release: `out/${zip}` }, context(false).ctx, { drivers });
    expect(viaFlag.exitCode).toBe(8);
    const first = await runRollout('plan', args, context(false).ctx, { drivers });
    expect(first.exitCode).toBe(8);
    expect(first.failure).toMatchObject({ kind: 'pending', message: '12 change(s) pending' });
    expect(first.text).toMatch(/^acme \(jamf\): 6 create — requests: 6 read, 0 write\n {2}KIND +NAME +ACTION +DETAILS\n {2}smart-group +AI Watch +create +new: criteria/m);
    expect(first.text).toMatch(/^ {2}package +aiwatch-1\.0\.0-macos-arm64\.pkg +create +new: sha512, size$/m);
    expect(first.text).toMatch(/plan: 2 target\(s\): 2 with changes pending, 0 up to date, 0 blocked, 0 failed \(12 read requests, 0 write\)$/);
    const applied = await runRollout('apply', args, context(false).ctx, { drivers });
    expect(applied.exitCode).toBe(0);
    expect(applied.text).toMatch(/^ {2}policy +AI Watch 1\.0\.0 +create +done +new: package, scope$/m);
    const { ctx } = context(true);
    const again = await runRollout('plan', args, ctx, { drivers });
    expect(again.exitCode).toBe(0);
    const j = again.json as { ok: boolean; summary: { writes: number; unchanged: number }; targets: Array<{ target: string; objects: Array<{ kind: string; name: string; action: string }> }> };
    expect(j.ok).toBe(true);
    expect(j.summary).toMatchObject({ writes: 0, unchanged: 12 });
    expect(j.targets[0]!.objects[0]).toMatchObject({ kind: 'smart-group', name: 'AI Watch', action: 'unchanged', hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('a blocked release on a production target: plan exit 9, apply applies nothing, exit 9', async () => {
    writeFileSync(path.join(dir, 'prod.yaml'), readRollout().replace('testServer: true', 'testServer: false'));
    const drivers = { jamf: fakeDriver(new Map<string, FakeServer>()) };
    const p = await runRollout('plan', { ...args, rollout: 'prod.yaml' }, context(false).ctx, { drivers });
    expect(p.exitCode).toBe(9);
    expect(p.text).toMatch(/package +aiwatch-1\.0\.0-macos-arm64\.pkg +blocked +the pkg is not trusted \(aiwatch-1\.0\.0-macos-arm64\.pkg is not signed;/);
    const a = await runRollout('apply', { ...args, rollout: 'prod.yaml', target: ['globex'] }, context(true).ctx, { drivers });
    expect(a.exitCode).toBe(9);
    const j = a.json as { targets: Array<{ target: string; counts: { writes: number }; blocked: string }> };
    expect(j.targets.map((t) => [t.target, t.counts.writes])).toEqual([['globex', 0]]);
    expect(j.targets[0]!.blocked).toMatch(/^nothing applied: package/);
    expect(a.failure).toMatchObject({ kind: 'blocked', problems: [expect.stringMatching(/^globex: nothing applied/)] });
  });
});

describe('plan / apply: on a terminal and on failure', () => {
  it('draws an upload bar per upload on a TTY; the JSON error names the kind of the failure that decided the exit code', async () => {
    let err = '';
    const base = { json: false, stdout: () => undefined, stdin: Readable.from([]), env: { ...ENV, COLUMNS: '120' }, cwd: dir, signal: new AbortController().signal, warn: () => undefined };
    const drivers = { jamf: fakeDriver(new Map<string, FakeServer>(), { refuse: new Set(['globex']) }) };
    const args = { rollout: 'rollout.yaml', target: undefined, parallel: 2, release: undefined, spec: undefined };
    const r = await runRollout('apply', args, { ...base, isTTY: true, stderr: (t) => void (err += t) }, { drivers });
    expect(err).toMatch(/acme: aiwatch-1\.0\.0-macos-arm64\.pkg \[\u2588{40}\] 100% (\d+\.\d KiB) of \1/);
    expect(r.exitCode).toBe(5);
    expect(r.failure).toMatchObject({ kind: 'network', problems: [expect.stringMatching(/^globex: globex: connect .*ECONNREFUSED/)] });
    expect(r.text).toMatch(/^globex \(jamf\): FAILED/m);
    let plain = '';
    // Not a terminal: the same uploads (a fresh server), no bar.
    const again = await runRollout('apply', args, { ...base, isTTY: false, stderr: (t) => void (plain += t) }, { drivers: { jamf: fakeDriver(new Map<string, FakeServer>()) } });
    expect(again.json).toMatchObject({ summary: { uploadedBytes: expect.any(Number) } });
    expect((again.json as { summary: { uploadedBytes: number } }).summary.uploadedBytes).toBeGreaterThan(0);
    expect(plain).not.toMatch(/KiB|\u2588/);
  });
});

function readRollout(): string {
  return readFileSync(path.join(dir, 'rollout.yaml'), 'utf8');
}

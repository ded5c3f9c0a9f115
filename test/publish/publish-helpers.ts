/**
 * Shared by the end-to-end publish tests: release zips built by the project itself (`build --demo`, versions 1.0.0
 * and 1.1.0, once per test file), a rollout file pointing at local Jamf Pro servers, the planted secrets, and the
 * real CLI entry (src/cli/main.ts in this process, output captured; or bin/aiwatch-deploy.js as a child).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import type { JamfServer } from '../helpers/servers/jamf/server.js';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');

/** Planted secrets: none of them may appear in any output. */
export const SECRETS = {
  clientSecret: 'cs-PLANTED-jamf-client-secret-5b1e9c',
  orgKey: 'rl_org_PLANTEDorgKeyE2E0123456789abcdef',
  enrollKey: 'rl_enroll_PLANTEDenrollKeyE2E0123456789',
};

export const CLIENT_ID = 'aiwatch-ci';

const made: string[] = [];
process.once('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix: string): string {
  const d = mkdtempSync(path.join(tmpdir(), `aiwatch-${prefix}-`));
  made.push(d);
  return d;
}

export const ENV = { ORG_KEY: SECRETS.orgKey, ENROLL_KEY: SECRETS.enrollKey };

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json: () => Record<string, unknown>;
}

/** `aiwatch-deploy …argv` in this process (the real entry, src/cli/main.ts), output captured. */
export async function cli(argv: string[], o: { cwd: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal }): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env: o.env ?? ENV,
    cwd: o.cwd,
    isTTY: false,
    signal: o.signal ?? new AbortController().signal,
  });
  return { code, stdout, stderr, json: () => JSON.parse(stdout) as Record<string, unknown> };
}

/** The real CLI as a child process (dist/, built by the global setup). */
export function spawnCli(argv: string[], o: { cwd: string; env?: NodeJS.ProcessEnv }): { child: ReturnType<typeof spawn>; done: Promise<Run & { signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/aiwatch-deploy.js'), ...argv], { cwd: o.cwd, env: { PATH: process.env.PATH, ...(o.env ?? ENV) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run & { signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? -1, stdout, stderr, signal, json: () => JSON.parse(stdout) as Record<string, unknown> }));
  });
  return { child, done };
}

/** Build the demo release zip of `version` into `<dir>/out` with the project's own `build`; returns its path relative to dir. */
export async function buildRelease(dir: string, version: string): Promise<string> {
  const r = await cli(['build', '--demo', '--version', version, '--out', path.join(dir, 'out')], { cwd: dir, env: {} });
  if (r.code !== 0) throw new Error(`build --demo --version ${version} failed (${r.code}): ${r.stderr}`);
  return `out/aiwatch-${version}-macos-arm64.zip`;
}

export interface RolloutOptions {
  zip: string;
  servers: { name: string; url: string }[];
  testServer?: boolean;
  scope?: string;
}

/** Write `rollout.yaml` (and the 0600 client secret file) into `dir`. */
export function writeRollout(dir: string, o: RolloutOptions, file = 'rollout.yaml'): string {
  writeFileSync(path.join(dir, 'client.secret'), `${SECRETS.clientSecret}\n`, { mode: 0o600 });
  const scope = o.scope ?? '{ smartGroup: { name: AI Watch, criteria: [{ name: Computer Name, searchType: like, value: mac }] } }';
  writeFileSync(
    path.join(dir, file),
    `release: { zip: ${o.zip} }
defaults:
  mdm: jamf
  testServer: ${o.testServer ?? true}
  credentials: { clientId: ${CLIENT_ID}, clientSecret: { file: client.secret } }
  tenant: { Host: "https://acme.runlayer.com", OrgApiKey: { env: ORG_KEY }, EnrollmentKey: { env: ENROLL_KEY } }
  scope: ${scope}
targets:
${o.servers.map((s) => `  - { name: ${s.name}, url: "${s.url}" }`).join('\n')}
`,
  );
  return file;
}

/**
 * The server options every publish test uses: our API client with the planted secret, and a distribution point
 * that reports an upload at once (the driver waits 2 s between polls and the CLI has no knob for it; the lag and
 * the stale-size quirk have their own tests in faults.test.ts).
 */
export const SERVER_OPTIONS = { clients: [{ id: CLIENT_ID, secret: SECRETS.clientSecret }], convergeAfterReads: 0 };

/** No planted secret in any of these texts. */
export function leakedSecrets(...texts: string[]): string[] {
  const all = texts.join('\n');
  return Object.entries(SECRETS).filter(([, v]) => all.includes(v)).map(([k]) => k);
}

/** What a server holds, without ids and generated UUIDs (which differ between servers): a state to compare. */
export function stateOf(s: JamfServer): string {
  const st = s.store;
  const state = {
    groups: [...st.groups.values()].map((g) => ({ name: g.name, smart: g.smart, description: g.description, criteria: g.criteria })),
    eas: [...st.eas.values()],
    profiles: [...st.profiles.values()].map((p) => p.body),
    packages: [...st.packages.values()].map((p) => ({ fields: p.fields, uploaded: p.uploaded })),
    policies: [...st.policies.values()].map((p) => p.body),
  };
  const sortedJson = (list: unknown[]): string[] => list.map((x) => JSON.stringify(x, (k, v: unknown) => (k === 'id' || k === 'uuid' ? undefined : v))).sort();
  return JSON.stringify(Object.fromEntries(Object.entries(state).map(([k, v]) => [k, sortedJson(v)])), null, 1);
}

/** The request sequence, one line per request. */
export function sequence(s: JamfServer): string[] {
  return s.log.map((e) => `${e.method} ${e.path}${e.query ? decodeURIComponent(e.query) : ''} → ${e.status}`);
}

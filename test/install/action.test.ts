/**
 * The composite GitHub Action (action.yml): read with the `yaml` package and checked statically — every `${{ }}`
 * names a declared input or step, no expression is interpolated into a `run:` script (inputs and secrets go through
 * `env:`), shellcheck passes on every script — then run for real: the steps execute locally as the runner executes
 * a composite (`bash --noprofile --norc -eo pipefail <script>`, GITHUB_OUTPUT/RUNNER_TEMP/GITHUB_ACTION_PATH set,
 * `env:` evaluated from the inputs, `if: always()` honoured) against the demo binary, unsigned and signed with the
 * test PKI. Two steps are not executed: `actions/setup-node` (a JavaScript action of GitHub's; the Node running
 * this test stands in) and `install` (`npm ci` in the action's checkout, which here is this working tree; the
 * installation path is proven by pack-install.test.ts and `npm ci` by CI itself). Both are still shellchecked/read.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { getTestPki, TEST_P12_PASSWORD } from '../helpers/test-pki.js';
import { describeWithTools } from '../helpers/tools.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Input {
  description: string;
  required?: boolean;
  default?: string;
}
interface Step {
  id?: string;
  name?: string;
  uses?: string;
  with?: Record<string, string>;
  shell?: string;
  env?: Record<string, string>;
  run?: string;
  if?: string;
}
interface Action {
  name: string;
  inputs: Record<string, Input>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: Step[] };
}
const action = parseYaml(readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as Action;
const steps = action.runs.steps;

const temps: string[] = [];
const temp = (prefix: string): string => {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  temps.push(d);
  return d;
};
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Every `${{ … }}` in a string, trimmed. */
const expressions = (s: string): string[] => [...s.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].map((m) => m[1]!.trim());
function strings(x: unknown, out: string[] = []): string[] {
  if (typeof x === 'string') out.push(x);
  else if (Array.isArray(x)) x.forEach((v) => strings(v, out));
  else if (x && typeof x === 'object') Object.values(x).forEach((v) => strings(v, out));
  return out;
}

describe('action.yml, read statically', () => {
  it('is a composite action whose every `${{ }}` names a declared input or an earlier step', () => {
    expect(action.runs.using).toBe('composite');
    const ids = steps.map((s) => s.id).filter(Boolean);
    const all = strings(action).flatMap(expressions);
    expect(all.length).toBeGreaterThan(30);
    for (const e of all) {
      const m = /^(?:inputs\.([\w-]+)(?: != '')?|steps\.([\w-]+)\.outputs\.([\w-]+))$/.exec(e);
      expect(m, `unsupported expression: ${e}`).not.toBeNull();
      if (m![1]) expect(Object.keys(action.inputs), e).toContain(m![1]);
      if (m![2]) expect(ids, e).toContain(m![2]);
    }
    for (const [name, input] of Object.entries(action.inputs)) {
      expect(input.description, name).toBeTruthy();
      expect(typeof input.default, `${name}: a default keeps ${'${{ inputs.x }}'} a string`).toBe('string');
    }
  });

  it('no expression is interpolated into a run: script; secrets reach the scripts only through env:', () => {
    for (const s of steps.filter((x) => x.run !== undefined)) {
      expect(s.run, s.name ?? s.id).not.toContain('${{');
      expect(s.shell, s.name ?? s.id).toBe('bash');
    }
    expect(strings(action).flatMap(expressions).filter((e) => e.startsWith('secrets.'))).toEqual([]);
  });

  it('sets up Node >= 22.12 and removes the secrets whatever happened', () => {
    const node = steps.find((s) => s.uses?.startsWith('actions/setup-node@'))!;
    expect(node.uses).toBe('actions/setup-node@v4');
    expect(node.with!['node-version']).toBe('${{ inputs.node-version }}');
    expect(Number(action.inputs['node-version']!.default)).toBeGreaterThanOrEqual(24);
    const last = steps.at(-1)!;
    expect(last.if).toBe('always()');
    expect(last.run).toContain('rm -rf "$RUNNER_TEMP/aiwatch-deploy-secrets"');
  });
});

describe("docs/ci-release.md's example workflow (§7)", () => {
  const doc = readFileSync(path.join(ROOT, 'docs', 'ci-release.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## 7. The GitHub Action'));
  const workflow = parseYaml(/```yaml\n([\s\S]*?)```/.exec(section)![1]!) as { jobs: Record<string, { steps: Step[] }> };
  const wsteps = Object.values(workflow.jobs).flatMap((j) => j.steps);

  it('uses the action with declared inputs only, and passes every secret as an input', () => {
    const use = wsteps.find((s) => s.uses?.includes('/aiwatch-deploy@'))!;
    expect(Object.keys(use.with!).filter((k) => !(k in action.inputs))).toEqual([]);
    for (const [k, v] of Object.entries(use.with!)) if (String(v).includes('secrets.')) expect(action.inputs[k]!.description, k).toMatch(/^Secret\./);
  });
  it('interpolates no expression into its own run: scripts either', () => {
    for (const s of wsteps.filter((x) => x.run !== undefined)) expect(s.run).not.toContain('${{');
  });
});

describeWithTools(['shellcheck'], 'action.yml scripts', () => {
  it.each(steps.filter((s) => s.run !== undefined).map((s) => [s.id ?? s.name!, s.run!] as const))('shellcheck passes on step %s', (_id, script) => {
    const dir = temp('action-sc-');
    const file = path.join(dir, 'step.sh');
    writeFileSync(file, `#!/bin/bash\n${script}`);
    const r = spawnSync('shellcheck', ['-s', 'bash', file], { encoding: 'utf8' });
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  });
});

interface StepRun {
  id: string;
  status: number | null;
  stdout: string;
  stderr: string;
}
interface ActionRun {
  runs: StepRun[];
  outputs: Record<string, string>;
  workspace: string;
  runnerTemp: string;
  /** What the secrets folder held right after the secrets step: name → mode. */
  secretModes?: Record<string, string>;
  secretDirMode?: string;
}

/** `${{ inputs.x }}` / `${{ inputs.x != '' }}` with the given inputs over the defaults; nothing else is supported. */
function evaluate(value: string, inputs: Record<string, string>, outputs: Record<string, Record<string, string>>): string {
  return value.replace(/\$\{\{([\s\S]*?)\}\}/g, (_m, e: string) => {
    const expr = e.trim();
    const input = /^inputs\.([\w-]+)( != '')?$/.exec(expr);
    if (input) {
      const v = inputs[input[1]!] ?? action.inputs[input[1]!]!.default ?? '';
      return input[2] ? String(v !== '') : v;
    }
    const step = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(expr);
    if (step) return outputs[step[1]!]?.[step[2]!] ?? '';
    throw new Error(`unsupported expression ${expr}`);
  });
}

function readOutputs(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** Run the composite's steps as the runner would (see the header for the two not executed). */
function runAction(inputs: Record<string, string>): ActionRun {
  const workspace = temp('action-ws-');
  const runnerTemp = temp('action-tmp-');
  const meta = temp('action-meta-');
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(?:GITHUB_|RUNNER_|npm_)/.test(k) && k !== 'AIWATCH_APPLE_DM_DIR') base[k] = v;
  Object.assign(base, {
    PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspace,
    GITHUB_ACTION_PATH: ROOT,
    RUNNER_TEMP: runnerTemp,
    XDG_CACHE_HOME: path.join(meta, 'cache'),
    SOURCE_DATE_EPOCH: '1700000000',
  });
  const result: ActionRun = { runs: [], outputs: {}, workspace, runnerTemp };
  const stepOutputs: Record<string, Record<string, string>> = {};
  let failed = false;
  steps.forEach((s, i) => {
    const id = s.id ?? `step${i}`;
    if (s.uses || s.id === 'install') return;
    if (failed && s.if !== 'always()') return;
    const outFile = path.join(meta, `${id}.out`);
    writeFileSync(outFile, '');
    const env: NodeJS.ProcessEnv = { ...base, GITHUB_OUTPUT: outFile };
    for (const [k, v] of Object.entries(s.env ?? {})) env[k] = evaluate(v, inputs, stepOutputs);
    const script = path.join(meta, `${id}.sh`);
    writeFileSync(script, s.run!);
    const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], { cwd: workspace, env, encoding: 'utf8', timeout: 120_000 });
    result.runs.push({ id, status: r.status, stdout: r.stdout, stderr: r.stderr });
    stepOutputs[id] = readOutputs(outFile);
    if (r.status !== 0) failed = true;
    if (id === 'secrets') {
      const dir = path.join(runnerTemp, 'aiwatch-deploy-secrets');
      if (existsSync(dir)) {
        result.secretDirMode = (statSync(dir).mode & 0o777).toString(8);
        result.secretModes = Object.fromEntries(readdirSync(dir).map((f) => [f, (statSync(path.join(dir, f)).mode & 0o777).toString(8)]));
      }
    }
  });
  for (const [name, o] of Object.entries(action.outputs)) result.outputs[name] = evaluate(o.value, inputs, stepOutputs);
  return result;
}

/** manifest.json of the zip the action reported (read with Info-ZIP's unzip, not our reader). */
const manifest = (r: ActionRun): { developmentBuild?: boolean; pkg: Record<string, unknown> } =>
  JSON.parse(execFileSync('unzip', ['-p', path.join(r.workspace, r.outputs.zip!), 'manifest.json'], { encoding: 'utf8' })) as { developmentBuild?: boolean; pkg: Record<string, unknown> };
const log = (r: ActionRun): string => r.runs.map((s) => `${s.stdout}${s.stderr}`).join('');
const statuses = (r: ActionRun): Array<[string, number | null]> => r.runs.map((s) => [s.id, s.status]);

describeWithTools(['bash', 'unzip'], 'action.yml, run locally (the composite steps as the runner executes them)', () => {
  it('a demo build: the zip and the outputs, nothing left in RUNNER_TEMP', () => {
    const r = runAction({ demo: 'true' });
    expect(statuses(r), log(r)).toEqual([['check', 0], ['secrets', 0], ['build', 0], ['step5', 0]]);
    expect(r.outputs).toEqual({ zip: 'out/aiwatch-1.0.0-macos-arm64.zip', 'development-build': expect.any(String), cli: path.join(ROOT, 'bin', 'aiwatch-deploy.js') });
    // The output says what the release's own manifest says (the demo binary is not an Apple Developer ID's).
    expect(r.outputs['development-build']).toBe(String(manifest(r).developmentBuild === true));
    expect(r.runs[2]!.stdout).toContain('ok      out/aiwatch-1.0.0-macos-arm64.zip (release zip)');
    expect(existsSync(path.join(r.workspace, r.outputs.zip!))).toBe(true);
    expect(r.secretModes).toEqual({});
    expect(r.secretDirMode).toBe('700');
    expect(readdirSync(r.runnerTemp)).toEqual([]);
  });

  it('a signed build: the identity reaches the CLI as 0600 files, no secret is printed, the pkg is signed', () => {
    const pki = getTestPki();
    const p12 = readFileSync(pki.installer.p12).toString('base64');
    const r = runAction({ demo: 'true', sign: 'true', 'sign-profiles': 'true', 'allow-untrusted': 'true', timestamp: 'false', 'p12-base64': p12, 'p12-password': TEST_P12_PASSWORD, version: '1.4.0' });
    expect(statuses(r), log(r)).toEqual([['check', 0], ['secrets', 0], ['build', 0], ['step5', 0]]);
    expect(r.secretModes).toEqual({ 'installer.p12': '600', 'installer.password': '600' });
    expect(r.outputs.zip).toBe('out/aiwatch-1.4.0-macos-arm64.zip');
    expect(manifest(r).pkg).toMatchObject({ signed: true, notarized: false, stapled: false });
    // The only place the password appears is the ::add-mask:: line the runner consumes (never shown in a log).
    const lines = log(r).split('\n');
    expect(lines.filter((l) => l.includes(TEST_P12_PASSWORD))).toEqual([`::add-mask::${TEST_P12_PASSWORD}`]);
    expect(log(r)).not.toContain(p12.slice(0, 40));
    expect(readdirSync(r.runnerTemp)).toEqual([]);
  });

  it('a boolean that is not true/false, or signing without the identity: exit 2 before anything is installed or written', () => {
    const typo = runAction({ demo: 'yes', notarize: 'true', sign: 'true', 'p12-base64': 'AAAA' });
    expect(statuses(typo)).toEqual([['check', 2], ['step5', 0]]);
    expect(typo.runs[0]!.stdout.trim().split('\n')).toEqual([
      "::error::aiwatch-deploy action: input demo is 'yes'; expected 'true' or 'false'",
      '::error::aiwatch-deploy action: sign/sign-profiles need input p12-password',
      '::error::aiwatch-deploy action: notarize needs input notary-key-p8 (the AuthKey_<ID>.p8 text)',
      '::error::aiwatch-deploy action: notarize needs input notary-key-id',
      '::error::aiwatch-deploy action: notarize needs input notary-issuer',
    ]);
    expect(readdirSync(typo.workspace)).toEqual([]);
    expect(readdirSync(typo.runnerTemp)).toEqual([]);
  });

  it("a failing build (no such binary) fails the step with the CLI's exit code and still removes the secrets", () => {
    const r = runAction({ binary: 'agent/aiwatch', version: '1.4.0' });
    expect(statuses(r)).toEqual([['check', 0], ['secrets', 0], ['build', 3], ['step5', 0]]);
    expect(r.runs[2]!.stderr).toContain('agent/aiwatch: --binary: no such file');
    expect(r.outputs.zip).toBe('');
    expect(readdirSync(r.runnerTemp)).toEqual([]);
  });
});

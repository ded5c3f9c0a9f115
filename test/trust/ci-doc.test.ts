/**
 * docs/ci-release.md must stay runnable: its workflow is valid YAML with the steps the text describes, no step puts a
 * secret inside a script (only `env:`), every shell script passes shellcheck, and every flag it gives to
 * `aiwatch-deploy build` / `sign-binary` is one the command knows (from its --help).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { describeWithTools, tryRun } from '../helpers/tools.js';
import { cli, tempDir } from './helpers.js';

const doc = readFileSync(path.join(import.meta.dirname, '../../docs/ci-release.md'), 'utf8');
const blocks = (lang: string): string[] => [...doc.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);

interface Step { name?: string; uses?: string; run?: string; env?: Record<string, string>; if?: string }
const workflow = parse(blocks('yaml')[0]!) as { on: unknown; jobs: { release: { 'runs-on': string; steps: Step[] } } };
const steps = workflow.jobs.release.steps;

/** `${{ … }}` expressions replaced by what GitHub would substitute: plain words. */
const shell = (run: string): string => run.replace(/\$\{\{[^}]*\}\}/g, 'GITHUB_EXPR');

describe('docs/ci-release.md', () => {
  it('the workflow runs on ubuntu-latest: secrets to 0600 files, SOURCE_DATE_EPOCH, build, verify, cleanup, upload', () => {
    expect(workflow.jobs.release['runs-on']).toBe('ubuntu-latest');
    const runs = steps.map((s) => s.run ?? s.uses ?? '').join('\n');
    expect(runs).toContain('umask 077');
    expect(runs).toContain('SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)');
    expect(runs).toMatch(/aiwatch-deploy build[\s\S]*--sign [\s\S]*--notarize [\s\S]*--staple/);
    expect(runs).toContain('aiwatch-deploy verify');
    expect(runs).toContain('actions/upload-artifact');
    expect(steps.find((s) => s.run?.includes('rm -rf "$RUNNER_TEMP/secrets"'))?.if).toBe('always()');
    const order = ['Write the secrets', 'Build, sign', 'Remove the secrets', 'Verify'].map((n) => steps.findIndex((s) => s.name?.startsWith(n)));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(order.every((i) => i >= 0)).toBe(true);
  });

  it('no secret is interpolated into a script: secrets only through env', () => {
    for (const s of steps) expect(s.run ?? '', s.name).not.toMatch(/secrets\./);
    const envSecrets = steps.flatMap((s) => Object.values(s.env ?? {})).filter((v) => v.includes('secrets.'));
    expect(envSecrets.length).toBeGreaterThanOrEqual(5);
  });

  it('every flag given to build and sign-binary exists', async () => {
    const help = (await cli(['build', '--help'])).stdout;
    const text = blocks('yaml').join('\n') + blocks('sh').join('\n');
    const build = text.slice(text.indexOf('aiwatch-deploy build'), text.indexOf('--out out/'));
    const flags = new Set([...build.matchAll(/(?<=\s)--[a-z0-9-_]+/g)].map((m) => m[0]));
    for (const line of text.split('\n').filter((l) => l.trim().startsWith('--sign-binary'))) for (const m of line.matchAll(/--[a-z0-9-]+/g)) flags.add(m[0]);
    expect(flags.size).toBeGreaterThan(10);
    for (const f of flags) expect(help, f).toMatch(new RegExp(`\\s${f}(\\s|,)`));
    const signBinaryHelp = (await cli(['sign-binary', '--help'])).stdout;
    for (const f of ['--p12', '--p12-password-file']) expect(signBinaryHelp).toContain(f);
  });
});

describeWithTools(['shellcheck'], 'docs/ci-release.md scripts', () => {
  it('every run: script of the workflow passes shellcheck (bash, as GitHub runs them)', () => {
    const dir = tempDir('ci-doc');
    steps.filter((s) => s.run).forEach((s, i) => {
      const f = path.join(dir, `step${i}.sh`);
      writeFileSync(f, `#!/usr/bin/env bash\nset -eo pipefail\n${shell(s.run!)}`);
      const r = tryRun('shellcheck', ['-s', 'bash', f]);
      expect(r.stdout, `${s.name}\n${r.stdout}`).toBe('');
      expect(r.status).toBe(0);
    });
  });
});

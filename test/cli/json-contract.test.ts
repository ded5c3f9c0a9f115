/**
 * The --json contract of every command: one object on stdout; a success carries `warnings` (an array, possibly
 * empty), a failure `{ok: false, error: {kind, exitCode, message, problems}, warnings}` — also `verify` with
 * problems (exit 1) and `tenants` with bad rows (exit 2), which keep their own fields beside `error`. A warning is
 * printed on stderr as `WARNING: …` without --json and is carried in `warnings` with it (not on stderr).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/all.js';
import { cli } from './cli-helpers.js';
import { commandName, makeWorkspace, OUT, pki, validArgs } from './cli-fixtures.js';

let cwd: string;
beforeAll(async () => {
  cwd = await makeWorkspace('json-contract');
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

interface JsonFailure {
  ok: false;
  error: { kind: string; exitCode: number; message: string; problems: string[] };
  warnings: string[];
}

function expectFailure(j: Record<string, unknown>, kind: string, exitCode: number): JsonFailure {
  expect(j).toMatchObject({ ok: false, error: { kind, exitCode, message: expect.any(String), problems: expect.any(Array) }, warnings: expect.any(Array) });
  return j as unknown as JsonFailure;
}

/** Commands that run offline here; notarize, staple and sign-binary need a server or rcodesign. */
const OFFLINE = ['build', 'profiles', 'tenant', 'tenants', 'verify', 'inspect', 'intune', 'sign-pkg', 'sign-profile', 'cleanup-script', 'uninstall-script', 'fleet-gitops'];

/** An input that does not exist, per command: [argv, the option it names]. */
function missingInput(name: string, args: string[]): string[] {
  const positional = ['verify', 'inspect', 'sign-pkg', 'sign-profile', 'sign-binary', 'notarize', 'staple'];
  if (positional.includes(name)) return ['nope.bin', ...args.slice(1)];
  return [...args, '--spec', 'nope.json'];
}

describe('--json: every result has warnings, every failure an error object', () => {
  const v = validArgs();
  it.each(OFFLINE)('%s: success carries warnings: []…', async (name) => {
    const r = await cli([name, ...v[name]!, '--json'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const j = r.json();
    expect(j.ok).toBe(true);
    expect(Array.isArray(j.warnings)).toBe(true);
  });

  it.each(commands.map(commandName))('%s: a missing input → exit 3 and the error object', async (name) => {
    const r = await cli([name, ...missingInput(name, v[name]!), '--json'], { cwd });
    expect(r.code, r.stderr).toBe(3);
    const j = expectFailure(r.json(), 'input-file', 3);
    expect(j.error.message).toMatch(/nope\.(bin|json)/);
    expect(j.error.problems).toEqual([expect.stringMatching(/nope\.(bin|json)/)]);
  });

  it('verify with problems (exit 1): files as before, and error {kind: problems} listing each problem', async () => {
    writeFileSync(path.join(cwd, 'bad.mobileconfig'), readFileSync(path.join(cwd, 'in.mobileconfig'), 'utf8').replace('<string>System</string>', '<string>Nobody</string>'));
    const r = await cli(['verify', 'in.mobileconfig', 'bad.mobileconfig', '--json'], { cwd });
    expect(r.code).toBe(1);
    const j = expectFailure(r.json(), 'problems', 1);
    const files = (r.json().files as Array<{ problems: Array<{ where: string; message: string }> }>);
    expect(files).toHaveLength(2);
    expect(j.error.message).toBe('1 of 2 file(s) with problems');
    expect(j.error.problems).toEqual(files[1]!.problems.map((p) => `${p.where}: ${p.message}`));
    expect(j.error.problems.length).toBeGreaterThan(0);
  });

  it('tenants with a bad row (exit 2): written and failed as before, and error {kind: usage} with the row problems', async () => {
    writeFileSync(path.join(cwd, 'mixed.csv'), 'name,host,org-api-key\ngood,https://good.runlayer.com,rl_org_GOODkey1\nbad,http://bad,rl_org_BADkey2\n');
    const r = await cli(['tenants', '--csv', 'mixed.csv', '--out', `${OUT}/mixed`, '--json'], { cwd });
    expect(r.code).toBe(2);
    const j = expectFailure(r.json(), 'usage', 2);
    expect(r.json()).toMatchObject({ written: [{ name: 'good' }], failed: [{ row: 3, name: 'bad' }] });
    expect(j.error.message).toBe('1 of 2 row(s) failed');
    expect(j.error.problems).toEqual([expect.stringMatching(/mixed\.csv row 3.*Host "http:\/\/bad" expected https/)]);
    expect(r.stderr).toBe('');
  });

  it('a warning: on stderr without --json, in warnings (not on stderr) with it', async () => {
    const args = ['sign-pkg', 'aiwatch.pkg', '--out', `${OUT}/w.pkg`, '--key', pki.installer.key, '--cert', pki.installer.cert, '--chain', pki.chain, '--allow-untrusted', '--no-timestamp'];
    const text = await cli(args, { cwd });
    expect(text.code, text.stderr).toBe(0);
    const line = /^WARNING: (.*is not issued by Apple.*)$/m.exec(text.stderr);
    expect(line).not.toBeNull();
    const json = await cli([...args, '--json'], { cwd });
    expect(json.code).toBe(0);
    expect(json.json().warnings).toEqual([line![1]]);
    expect(json.stderr).not.toContain('WARNING');
  });
});

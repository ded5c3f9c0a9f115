/**
 * Parse, then act: every command of src/cli/commands/all.ts × {unknown flag, misspelled flag, missing required
 * option, stray positional, switch given a value, option given twice, option without its value, invalid choice}
 * exits 2 with a message naming the bad flag, prints no result, and leaves the output folder, the working folder and
 * TMPDIR exactly as they were (a recursive listing with type, size, mode and mtime compared before and after).
 *
 * Each command gets otherwise-valid arguments that would write (or sign, verify, upload …) if the command ran: the
 * control test at the end runs the offline ones and sees them act. `notarize`, `staple` and `sign-binary` need a
 * server or rcodesign; run, they would fail with exit 5 or 4 and another message, which the table would catch too.
 * The CLI runs in-process (main() with cwd set); two cases also run `bin/aiwatch-deploy.js` as a child process.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/all.js';
import { cli, tempDir } from './cli-helpers.js';
import { HOST, makeWorkspace, OUT, validArgs as valid } from './cli-fixtures.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/aiwatch-deploy.js');

/** The working folder every case runs in: inputs, and OUT (an existing output folder holding one file). */
let cwd: string;
/** The private TMPDIR of every run. */
let tmp: string;
/** HOME of the child processes (Node's compile cache goes below it). */
let home: string;
const savedTmpdir = process.env.TMPDIR;

/** A near miss of one of the command's own flags (as typed by a hurried user), and the name yargs reports. */
const MISSPELLED: Record<string, [string[], string]> = {
  build: [['--sgin'], 'sgin'],
  profiles: [['--sepc', 'x.json'], 'sepc'],
  tenant: [['--hots', 'https://b.runlayer.com'], 'hots'],
  tenants: [['--fromat', 'json'], 'fromat'],
  verify: [['--ca-flie', 'ca.pem'], 'ca-flie'],
  inspect: [['--scirpts'], 'scirpts'],
  intune: [['--intunwin'], 'intunwin'],
  'sign-pkg': [['--singer', 'builtin'], 'singer'],
  'sign-profile': [['--cetr', 'c.pem'], 'cetr'],
  'sign-binary': [['--identifer', 'com.x'], 'identifer'],
  notarize: [['--api-kye-id', 'X'], 'api-kye-id'],
  staple: [['--replcae'], 'replcae'],
  'cleanup-script': [['--sepc', 'x.json'], 'sepc'],
  'uninstall-script': [['--otu', 'u.sh'], 'otu'],
  plan: [['--paralel', '2'], 'paralel'],
  apply: [['--taget', 'acme'], 'taget'],
  status: [['--relase', 'r.zip'], 'relase'],
  'fleet-gitops': [['--lable', 'macOS'], 'lable'],
};

/** [argv without the required option, what the message must say]; absent: the command has none. */
function missingRequired(v: Record<string, string[]>): Record<string, [string[], RegExp]> {
  const drop = (argv: string[], flag: string, n = 2): string[] => {
    const i = argv.indexOf(flag);
    return [...argv.slice(0, i), ...argv.slice(i + n)];
  };
  return {
    build: [v.build!.filter((a) => a !== '--demo'), /--binary is required/],
    tenant: [drop(v.tenant!, '--host'), /Host is required.*--host/],
    tenants: [drop(v.tenants!, '--csv'), /Missing required argument: csv/],
    verify: [[], /Missing required argument: <files\.\.>/],
    inspect: [[], /Missing required argument: <file>/],
    intune: [drop(v.intune!, '--out'), /Missing required argument: out/],
    'sign-pkg': [drop(v['sign-pkg']!, '--out'), /Missing required argument: out/],
    'sign-profile': [drop(v['sign-profile']!, '--out'), /Missing required argument: out/],
    'sign-binary': [v['sign-binary']!.slice(1), /Missing required argument: <file>/],
    notarize: [drop(v.notarize!, '--api-key'), /--api-key: the App Store Connect API key file/],
    staple: [v.staple!.slice(1), /Missing required argument: <pkg>/],
    plan: [v.plan!.slice(1), /Missing required argument: <rollout>/],
    apply: [v.apply!.slice(1), /Missing required argument: <rollout>/],
    status: [v.status!.slice(1), /Missing required argument: <rollout>/],
    'fleet-gitops': [v['fleet-gitops']!.slice(2), /Missing required argument: release/],
  };
}

/** A switch of the command given a value that is not true/false. */
const SWITCH_VALUE: Record<string, string> = {
  build: '--demo=yes',
  profiles: '--json=maybe',
  tenant: '--enforcement=maybe',
  tenants: '--json=1',
  verify: '--json=no',
  inspect: '--scripts=all',
  intune: '--intunewin=yes',
  'sign-pkg': '--allow-untrusted=yes',
  'sign-profile': '--p12-password-stdin=pw',
  'sign-binary': '--no-timestamp=false',
  notarize: '--wait=maybe',
  staple: '--replace=maybe',
  'cleanup-script': '--json=yes',
  'uninstall-script': '--json=on',
  plan: '--json=maybe',
  apply: '--json=yes',
  status: '--json=no',
  'fleet-gitops': '--with-enrollment-key=sure',
};

/** A single-valued option given a second time. */
const TWICE: Record<string, string[]> = {
  build: ['--out', 'other'], profiles: ['--out', 'other'], tenant: ['--out', 'other.mobileconfig'], tenants: ['--out', 'other'],
  verify: ['--spec', 'a.json', '--spec', 'b.json'], inspect: ['--spec', 'a.json', '--spec', 'b.json'], intune: ['--out', 'other'],
  'sign-pkg': ['--out', 'other.pkg'], 'sign-profile': ['--out', 'other.mobileconfig'], 'sign-binary': ['--out', 'other'],
  notarize: ['--api-key-id', 'OTHER12345'], staple: ['--out', 'other.pkg'], 'cleanup-script': ['--out', 'other.sh'], 'uninstall-script': ['--out', 'other.sh'],
  plan: ['--parallel', '3'], apply: ['--spec', 'a.json', '--spec', 'b.json'], status: ['--release', 'a.zip', '--release', 'b.zip'],
  'fleet-gitops': ['--label', 'a', '--label', 'b'],
};

/** A string option given last, without its value. */
const NO_VALUE: Record<string, string> = {
  build: '--out', profiles: '--out', tenant: '--spec', tenants: '--out', verify: '--spec', inspect: '--spec', intune: '--spec',
  'sign-pkg': '--keychain', 'sign-profile': '--p12-password-file', 'sign-binary': '--spec', notarize: '--submission-id', staple: '--out',
  'cleanup-script': '--spec', 'uninstall-script': '--spec', plan: '--spec', apply: '--spec', status: '--release', 'fleet-gitops': '--out',
};

/** An option with choices given one it does not have. */
const BAD_CHOICE: Record<string, [string, string]> = {
  build: ['--arch', 'ppc'], tenant: ['--format', 'yaml'], tenants: ['--format', 'yaml'], 'sign-pkg': ['--signer', 'xcode'], 'sign-binary': ['--signer', 'xcode'], 'fleet-gitops': ['--keys', 'yaml'],
};

interface Case {
  command: string;
  name: string;
  argv: string[];
  message: RegExp;
}

function table(): Case[] {
  const v = valid();
  const req = missingRequired(v);
  const out: Case[] = [];
  for (const c of commands) {
    const name = c.command.split(' ')[0]!;
    const args = v[name];
    if (!args) throw new Error(`no valid arguments for ${name}: add it to valid()`);
    const add = (what: string, argv: string[], message: RegExp): void => void out.push({ command: name, name: what, argv: [name, ...argv], message });
    add('unknown flag', [...args, '--bogus-flag'], /^(aiwatch-deploy: )?Unknown argument: bogus-flag$/m);
    const [typo, reported] = MISSPELLED[name]!;
    add('misspelled flag', [...args, ...typo], new RegExp(`Unknown argument: ${reported}\\b`));
    if (req[name]) add('missing required option', req[name][0], req[name][1]);
    // verify <files..> takes any number of files: no positional is stray.
    if (name !== 'verify') add('stray positional', [...args, 'stray-word'], /Unknown argument: stray-word/);
    const sw = SWITCH_VALUE[name]!;
    add('switch given a value', [...args, sw], new RegExp(`${sw.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*switch`));
    const twice = TWICE[name]!;
    add('option given twice', [...args, ...twice], new RegExp(`${twice[0]} was given 2 times`));
    const bare = NO_VALUE[name]!;
    const at = args.indexOf(bare);
    add('option without its value', [...(at < 0 ? args : [...args.slice(0, at), ...args.slice(at + 2)]), bare], new RegExp(`${bare}: expected a value`));
    if (BAD_CHOICE[name]) add('invalid choice', [...args, ...BAD_CHOICE[name]], new RegExp(`Argument: ${BAD_CHOICE[name][0].slice(2)}, Given: "${BAD_CHOICE[name][1]}"`));
  }
  return out;
}

/** Every entry under `dir`: path, type, size, mode and mtime (directories included: a new entry changes theirs). */
function listing(dir: string): string[] {
  const lines: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = path.join(d, e);
      const st = lstatSync(p);
      lines.push(`${path.relative(dir, p)} ${st.isDirectory() ? 'd' : st.isFile() ? 'f' : 'o'} ${st.size} ${st.mode.toString(8)} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  const root = lstatSync(dir);
  lines.push(`. ${root.mode.toString(8)} ${root.mtimeMs}`);
  walk(dir);
  return lines;
}

function snapshot(): { cwd: string[]; tmp: string[] } {
  return { cwd: listing(cwd), tmp: listing(tmp) };
}

beforeAll(async () => {
  cwd = await makeWorkspace('parse-then-act');
  home = tempDir('parse-then-act-home');
  // From here on, every temporary file of a run would land in this private folder, where the test sees it.
  tmp = tempDir('parse-then-act-tmp');
  process.env.TMPDIR = tmp;
});

afterAll(() => {
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  rmSync(cwd, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

describe('parse, then act: a usage error exits 2 and changes nothing', () => {
  const cases = table();
  it('covers every command with at least the four required cases where they apply', () => {
    const names = new Set(cases.map((c) => c.command));
    expect([...names].sort()).toEqual(commands.map((c) => c.command.split(' ')[0]!).sort());
    for (const n of names) {
      const kinds = cases.filter((c) => c.command === n).map((c) => c.name);
      expect(kinds).toEqual(expect.arrayContaining(['unknown flag', 'misspelled flag', 'switch given a value', 'option given twice', 'option without its value']));
    }
    // 14 commands: 4 × 14 cases of the table less 3 commands without a required option and verify's positional.
    expect(cases.filter((c) => ['unknown flag', 'misspelled flag', 'missing required option', 'stray positional'].includes(c.name))).toHaveLength(4 * commands.length - 3 - 1);
  });

  it.each(cases.map((c) => [`${c.command}: ${c.name}`, c] as const))('%s', async (_name, c) => {
    const before = snapshot();
    for (const json of [false, true]) {
      const r = await cli(json ? [...c.argv, '--json'] : c.argv, { cwd, env: { TMPDIR: tmp } });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(c.message);
      if (json) {
        expect(r.json()).toMatchObject({ ok: false, error: { kind: 'usage', exitCode: 2 }, warnings: [] });
        expect((r.json().error as { message: string }).message).toMatch(c.message);
      } else {
        expect(r.stdout).toBe('');
      }
    }
    expect(snapshot()).toEqual(before);
  });
});

describe('parse, then act: bin/aiwatch-deploy.js as a child process', () => {
  function runBin(argv: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [BIN, ...argv], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: home, TMPDIR: tmp } });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }
  it('profiles --out pp --sgin: exit 2, no pp/, nothing in TMPDIR', () => {
    const before = snapshot();
    const r = runBin(['profiles', '--out', 'pp', '--sgin']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('aiwatch-deploy: Unknown argument: sgin\n');
    expect(r.stdout).toBe('');
    expect(snapshot()).toEqual(before);
  });
  it('intune without --out: exit 2, no folder named "undefined"', () => {
    const before = snapshot();
    const r = runBin(['intune', ...HOST, '--org-api-key-file', 'org.key']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Missing required argument: out/);
    expect(snapshot()).toEqual(before);
  });
});

describe('control: the valid arguments of the table do act', () => {
  // Offline commands only (notarize, staple and sign-binary need a server or rcodesign). Run in a copy of the folder.
  const offline = ['build', 'profiles', 'tenant', 'tenants', 'verify', 'inspect', 'intune', 'sign-pkg', 'sign-profile', 'cleanup-script', 'uninstall-script'];
  it.each(offline)('%s', async (name) => {
    const copy = tempDir('parse-then-act-control');
    cpSync(cwd, copy, { recursive: true });
    const r = await cli([name, ...valid()[name]!], { cwd: copy, env: { TMPDIR: tmp } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toBe('');
    if (!['verify', 'inspect'].includes(name)) expect(readdirSync(path.join(copy, OUT), { recursive: true }).length).toBeGreaterThan(1);
    rmSync(copy, { recursive: true, force: true });
  });
});

/**
 * Nothing secret survives a SIGKILL, and debris does not pile up (issue 16 item 3). The real CLI
 * (`node bin/aiwatch-deploy.js`, dist/ built by the global setup) runs with a private TMPDIR and HOME and planted
 * secrets in its environment, and is killed at several points:
 *   build --demo      after 200 ms; as soon as its staging folder appears in TMPDIR; held just before the zip's
 *                     rename (pause-hook.mjs: staging complete, the whole zip as a .partial in --out)
 *   intune --sign-pfx after 200 ms; while the script to sign (in-*.ps1, keys inside) waits for a slow osslsigncode
 *                     (only the CLI is killed: the orphaned tool still writes its signed copy afterwards); while the
 *                     signed copy sits in the signing folder (the whole process group is killed)
 * What each kill left is recorded, then another command runs (`profiles --out` on the same folders): TMPDIR and --out
 * must then hold none of our debris and no file under them a planted secret, and the sweep says so on stderr. While
 * a paused build is alive, a run on the same folders must leave its files alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithTools } from '../helpers/tools.js';
import { makePki, PASSWORD, type Pki } from '../intune/pki.js';
import { CLI, repoRoot } from '../release/build-helpers.js';

const SECRETS = { AIWATCH_ORG_API_KEY: 'rl_org_KILLtestOrgKey4711', AIWATCH_ENROLLMENT_KEY: 'rl_enroll_KILLtestEnroll4711', AIWATCH_PFX_PASSWORD: PASSWORD };
const DEBRIS = /^aiwatch-deploy-[a-z][a-z0-9-]*-\d+-[A-Za-z0-9]{6}$|^\..+\.partial-\d+-\d+$/;
const base = mkdtempSync(path.join(tmpdir(), 'aiwatch-kill-'));
const report: string[] = [];
let pki: Pki;
let stubBin = '';
let n = 0;

/** osslsigncode behind a stub that can be slow before signing or after it (`<bin>/mode`), recording its PID. */
function slowOsslsigncode(dir: string): string {
  const bin = path.join(dir, 'slow-bin');
  mkdirSync(bin);
  const real = ['/usr/bin/osslsigncode', '/usr/local/bin/osslsigncode'].find((p) => existsSync(p)) ?? 'osslsigncode';
  writeFileSync(path.join(bin, 'mode'), 'none');
  writeFileSync(
    path.join(bin, 'osslsigncode'),
    [
      '#!/bin/sh',
      `mode=$(cat '${bin}/mode')`,
      `if [ "$1" = sign ]; then echo $$ > '${bin}/pid'; fi`,
      'if [ "$1" = sign ] && [ "$mode" = before ]; then sleep 1.5; fi',
      `'${real}' "$@"; st=$?`,
      'if [ "$1" = sign ] && [ "$mode" = after ]; then sleep 30; fi',
      'exit $st',
      '',
    ].join('\n'),
  );
  chmodSync(path.join(bin, 'osslsigncode'), 0o755);
  return bin;
}

beforeAll(() => {
  pki = makePki();
  stubBin = slowOsslsigncode(base);
});
afterAll(() => {
  rmSync(base, { recursive: true, force: true });
  rmSync(pki.dir, { recursive: true, force: true });
  process.stderr.write(`\nkill points (what was left → after the next run):\n${report.join('\n')}\n`);
});

interface Place {
  tmp: string;
  out: string;
  home: string;
  marker: string;
}

function place(): Place {
  n += 1;
  const d = path.join(base, `run-${n}`);
  const p = { tmp: path.join(d, 'tmp'), out: path.join(d, 'out'), home: path.join(d, 'home'), marker: path.join(d, 'paused') };
  for (const f of [p.tmp, p.out, p.home]) mkdirSync(f, { recursive: true });
  return p;
}

function envOf(p: Place, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: `${stubBin}:${process.env.PATH}`, HOME: p.home, TMPDIR: p.tmp, LANG: 'C.UTF-8', ...SECRETS, ...extra };
}

function start(argv: string[], p: Place, extra: Record<string, string> = {}): { child: ChildProcess; done: Promise<void> } {
  const child = spawn(process.execPath, [CLI, ...argv], { cwd: repoRoot, env: envOf(p, extra), detached: true, stdio: 'ignore' });
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, done };
}

/** Run the CLI to its end (the run after a kill). */
function runToEnd(argv: string[], p: Place): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...argv], { cwd: repoRoot, env: envOf(p), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll (every ms) until `found` returns a value; fails after `ms`. */
async function until<T>(what: string, found: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = found();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every file and folder under `dir` with its size and mode, and which planted secrets each file holds. */
function inventory(dir: string): Array<{ path: string; size: number; mode: string; secrets: string[] }> {
  const out: Array<{ path: string; size: number; mode: string; secrets: string[] }> = [];
  for (const rel of (readdirSync(dir, { recursive: true }) as string[]).map(String).sort()) {
    const full = path.join(dir, rel);
    const st = lstatSync(full);
    const text = st.isFile() ? readFileSync(full).toString('latin1') : '';
    out.push({ path: rel, size: st.isFile() ? st.size : 0, mode: (st.mode & 0o777).toString(8), secrets: Object.entries(SECRETS).filter(([, v]) => text.includes(v)).map(([k]) => k) });
  }
  return out;
}

function summary(dir: string): string {
  const items = inventory(dir);
  const top = items.filter((i) => !i.path.includes('/'));
  const bytes = items.reduce((a, i) => a + i.size, 0);
  const secret = items.filter((i) => i.secrets.length > 0).map((i) => `${i.path} (${i.mode}: ${i.secrets.join('+')})`);
  return `${top.map((i) => i.path).join(', ') || 'nothing'} [${items.length} entries, ${bytes} bytes${secret.length ? `; secrets in ${secret.join(', ')}` : ''}]`;
}

/** Kill point done: record what was left, run `profiles --out` on the same folders, expect everything of ours gone. */
async function afterKill(label: string, p: Place, expectLeft: RegExp[]): Promise<void> {
  const left = [...readdirSync(p.tmp).map((x) => `TMPDIR/${x}`), ...readdirSync(p.out).map((x) => `out/${x}`)];
  for (const re of expectLeft) expect(left.some((x) => re.test(x)), `${label}: expected ${re} among ${left.join(', ')}`).toBe(true);
  const before = `TMPDIR: ${summary(p.tmp)}; out: ${summary(p.out)}`;
  const r = await runToEnd(['profiles', '--out', p.out], p);
  expect(r.code, r.stderr).toBe(0);
  const debrisLeft = left.filter((x) => DEBRIS.test(path.basename(x)));
  if (debrisLeft.length > 0) expect(r.stderr).toMatch(/^note: removed \d+ item\(s\), \d+ bytes, left in .+ by killed aiwatch-deploy run\(s\) \(PID \d+\): /m);
  expect(readdirSync(p.tmp), `${label}: TMPDIR after the next run`).toEqual([]);
  const out = inventory(p.out);
  expect(out.filter((i) => DEBRIS.test(path.basename(i.path))), `${label}: debris in --out`).toEqual([]);
  expect(out.filter((i) => i.secrets.length > 0), `${label}: planted secrets in --out`).toEqual([]);
  report.push(`  ${label}\n    left:  ${before}\n    after: TMPDIR: ${summary(p.tmp)}; out: ${summary(p.out)}${r.stderr.trim() ? `\n    said:  ${r.stderr.trim().split('\n').join(' | ')}` : ''}`);
}

const stagingIn = (tmp: string): string | undefined => readdirSync(tmp).find((x) => /^aiwatch-deploy-build-\d+-/.test(x));
const signingIn = (tmp: string): string | undefined => readdirSync(tmp).find((x) => /^aiwatch-deploy-authenticode-\d+-/.test(x));

describeWithTools(['osslsigncode', 'openssl'], 'SIGKILL leaves no secret and no debris behind the next run', () => {
  it('build --demo killed after 200 ms', async () => {
    const p = place();
    const { child, done } = start(['build', '--demo', '--out', p.out], p);
    await sleep(200);
    process.kill(-child.pid!, 'SIGKILL');
    await done;
    await afterKill('build --demo, SIGKILL after 200 ms', p, []);
  });

  it('build --demo killed as soon as its staging folder appears', async () => {
    const p = place();
    const { child, done } = start(['build', '--demo', '--out', p.out], p);
    await until('the staging folder', () => stagingIn(p.tmp));
    process.kill(-child.pid!, 'SIGKILL');
    await done;
    await afterKill('build --demo, SIGKILL when the staging folder appears', p, [/^TMPDIR\/aiwatch-deploy-build-\d+-/]);
  });

  it('build --demo killed with the staging complete and the zip written as .partial; a live run is left alone', async () => {
    const p = place();
    const hook = path.join(repoRoot, 'test/kill/pause-hook.mjs');
    const { child, done } = start(['build', '--demo', '--out', p.out], p, { NODE_OPTIONS: `--import=${hook}`, AIWATCH_TEST_PAUSE_MARKER: p.marker });
    const pid = Number(await until('the pause before the rename', () => (existsSync(p.marker) ? readFileSync(p.marker, 'utf8').trim() || undefined : undefined)));
    expect(pid).toBe(child.pid);
    const partial = readdirSync(p.out).find((x) => x.startsWith('.aiwatch-1.0.0-macos-arm64.zip.partial-'));
    expect(partial).toBe(`.aiwatch-1.0.0-macos-arm64.zip.partial-${pid}-1`);
    // the build is alive: another run on the same folders must not touch its files
    const staging = stagingIn(p.tmp)!;
    const live = await runToEnd(['profiles', '--out', p.out], p);
    expect(live.code, live.stderr).toBe(0);
    expect(live.stderr).not.toMatch(/removed/);
    expect(existsSync(path.join(p.tmp, staging))).toBe(true);
    expect(existsSync(path.join(p.out, partial!))).toBe(true);
    process.kill(-pid, 'SIGKILL');
    await done;
    expect(alive(pid)).toBe(false);
    await afterKill('build --demo, SIGKILL just before the zip rename (staging complete, .partial in --out)', p, [/^TMPDIR\/aiwatch-deploy-build-\d+-/, /^out\/\.aiwatch-1\.0\.0-macos-arm64\.zip\.partial-\d+-1$/]);
  });

  const intune = (p: Place): string[] => ['intune', '--host', 'https://acme.runlayer.com', '--sign-pfx', pki.pfx, '--sign-ca-file', pki.caCert, '--out', p.out];

  it('intune --sign-pfx killed after 200 ms', async () => {
    writeFileSync(path.join(stubBin, 'mode'), 'none');
    const p = place();
    const { child, done } = start(intune(p), p);
    await sleep(200);
    process.kill(-child.pid!, 'SIGKILL');
    await done;
    await afterKill('intune --sign-pfx, SIGKILL after 200 ms', p, []);
  });

  it('intune --sign-pfx killed while the script to sign waits for osslsigncode (the orphaned tool finishes)', async () => {
    writeFileSync(path.join(stubBin, 'mode'), 'before');
    rmSync(path.join(stubBin, 'pid'), { force: true });
    const p = place();
    const { child, done } = start(intune(p), p);
    const dir = await until('the signing folder', () => signingIn(p.tmp));
    await until('the script to sign', () => readdirSync(path.join(p.tmp, dir)).find((x) => x.startsWith('in-')));
    const tool = Number(await until('the osslsigncode stub', () => (existsSync(path.join(stubBin, 'pid')) ? readFileSync(path.join(stubBin, 'pid'), 'utf8').trim() || undefined : undefined)));
    await sleep(100); // the password is in the tool's stdin pipe by now
    child.kill('SIGKILL'); // the CLI only: osslsigncode lives on and writes its signed copy
    await done;
    await until('the orphaned osslsigncode to finish', () => (alive(tool) ? undefined : true));
    expect(readdirSync(path.join(p.tmp, dir)).some((x) => x.endsWith('.ps1') && !x.startsWith('in-'))).toBe(true);
    expect(inventory(p.tmp).some((i) => i.secrets.includes('AIWATCH_ORG_API_KEY'))).toBe(true);
    expect(inventory(p.tmp).filter((i) => i.path.endsWith('.ps1')).map((i) => i.mode)).toEqual(expect.arrayContaining(['600']));
    expect(inventory(p.tmp).some((i) => /pfx-password/.test(i.path) || i.secrets.includes('AIWATCH_PFX_PASSWORD'))).toBe(false);
    await afterKill('intune --sign-pfx, SIGKILL of the CLI while in-*.ps1 waits for a slow osslsigncode (which then finishes)', p, [/^TMPDIR\/aiwatch-deploy-authenticode-\d+-/]);
  });

  it('intune --sign-pfx killed (process group) while the signed script sits in the signing folder', async () => {
    writeFileSync(path.join(stubBin, 'mode'), 'after');
    const p = place();
    const { child, done } = start(intune(p), p);
    const dir = await until('the signing folder', () => signingIn(p.tmp));
    await until('the signed script', () => readdirSync(path.join(p.tmp, dir)).find((x) => x.endsWith('.ps1') && !x.startsWith('in-')));
    process.kill(-child.pid!, 'SIGKILL');
    await done;
    expect(inventory(p.tmp).some((i) => i.secrets.length > 0)).toBe(true);
    await afterKill('intune --sign-pfx, SIGKILL (group) while the signed script is in the signing folder', p, [/^TMPDIR\/aiwatch-deploy-authenticode-\d+-/]);
    writeFileSync(path.join(stubBin, 'mode'), 'none');
  });
});

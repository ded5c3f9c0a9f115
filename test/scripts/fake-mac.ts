/**
 * A fake Mac for running the generated shell scripts for real under dash on Linux:
 *  - a fake root folder (AIWATCH_TEST_ROOT) that the scripts address every file through;
 *  - stubs first on PATH (AIWATCH_TEST_BIN) for the macOS commands (test/fixtures/scripts/stubs/macos-stub.sh),
 *    which record their argv and answer from a small state (loaded launchd jobs, file owners, receipts, users).
 * File contents and modes are real (the oracle for what was removed or kept is the file system itself); only
 * ownership is simulated, in the stubs' owners table, since tests need not run as root.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DeploymentSpec } from '../../src/config/spec-types.js';

const STUB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/scripts/stubs/macos-stub.sh');
export const STUBBED = ['launchctl', 'stat', 'id', 'ps', 'dscl', 'pkgutil', 'codesign', 'chown', 'chmod', 'sleep'] as const;
const LOGINWINDOW = '/System/Library/CoreServices/loginwindow.app/Contents/MacOS/loginwindow';

export interface FakeMacOptions {
  /** Local accounts: name → uid (root is implied). */
  users?: Record<string, number>;
  /** Owner of /dev/console (default root: nobody logged in). */
  consoleUser?: string;
  /** uids with a loginwindow process (fast user switching); 0 is the login window itself. */
  loginwindowUids?: number[];
  /** `dscl . -list /Users NFSHomeDirectory` lines as [name, home]. */
  homes?: Array<[string, string]>;
  /** Leave codesign off PATH (the fallback path of the wrapper check). */
  withoutCodesign?: boolean;
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
  /** Stub calls of this run, each as argv (command first); the fake root is shown as `<ROOT>`. */
  calls: string[][];
}

export class FakeMac {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-fakemac-'));
  readonly root = path.join(this.dir, 'root');
  readonly bin = path.join(this.dir, 'bin');
  readonly state = path.join(this.dir, 'state');
  readonly log = path.join(this.dir, 'calls.log');
  private readonly env: Record<string, string>;

  constructor(opts: FakeMacOptions = {}) {
    for (const d of [this.root, this.bin, this.state]) mkdirSync(d, { mode: 0o755 });
    chmodSync(this.root, 0o755);
    // a private executable copy, so the fixture's own mode bits do not matter
    const stub = path.join(this.dir, 'macos-stub.sh');
    writeFileSync(stub, readFileSync(STUB), { mode: 0o755 });
    for (const name of STUBBED) {
      if (name === 'codesign' && opts.withoutCodesign) continue;
      symlinkSync(stub, path.join(this.bin, name));
    }
    const users = opts.users ?? {};
    writeFileSync(path.join(this.state, 'users'), Object.entries(users).map(([n, u]) => `${n}:${u}\n`).join(''));
    for (const f of ['loaded', 'owners', 'receipts']) writeFileSync(path.join(this.state, f), '');
    this.env = {
      AIWATCH_TEST_ROOT: this.root,
      AIWATCH_TEST_BIN: this.bin,
      STUB_LOG: this.log,
      STUB_STATE: this.state,
      STUB_CONSOLE_USER: opts.consoleUser ?? 'root',
      STUB_PS_OUT: (opts.loginwindowUids ?? []).map((u) => `  ${u} ${LOGINWINDOW}\n`).join(''),
      STUB_DSCL_OUT: (opts.homes ?? []).map(([n, h]) => `${n.padEnd(24)}${h}\n`).join(''),
    };
  }

  /** Real path of a Mac path inside the fake root. */
  p(macPath: string): string {
    return path.join(this.root, macPath);
  }

  mkdir(macPath: string, mode = 0o755): void {
    const parts = macPath.split('/').filter(Boolean);
    let cur = this.root;
    for (const part of parts) {
      cur = path.join(cur, part);
      if (!existsSync(cur)) {
        mkdirSync(cur);
        chmodSync(cur, 0o755);
      }
    }
    chmodSync(cur, mode);
  }

  file(macPath: string, content: string, mode = 0o644): void {
    this.mkdir(path.posix.dirname(macPath));
    writeFileSync(this.p(macPath), content);
    chmodSync(this.p(macPath), mode);
  }

  symlink(macPath: string, target: string): void {
    this.mkdir(path.posix.dirname(macPath));
    symlinkSync(target, this.p(macPath));
  }

  rm(macPath: string): void {
    rmSync(this.p(macPath));
  }

  rmTree(macPath: string): void {
    rmSync(this.p(macPath), { recursive: true });
  }

  /** A file outside the fake root (next to it); returns its real path. */
  outside(name: string, content: string): string {
    const file = path.join(this.dir, name);
    writeFileSync(file, content);
    return file;
  }

  readOutside(name: string): string {
    return readFileSync(path.join(this.dir, name), 'utf8');
  }

  exists(macPath: string): boolean {
    try {
      lstatSync(this.p(macPath));
      return true;
    } catch {
      return false;
    }
  }

  read(macPath: string): string {
    return readFileSync(this.p(macPath), 'utf8');
  }

  mode(macPath: string): number {
    return lstatSync(this.p(macPath)).mode & 0o7777;
  }

  /** Simulated owner (uid, group) of a path; root when never chowned. */
  owner(macPath: string): { uid: number; group: string } {
    let found = { uid: 0, group: '' };
    for (const line of readFileSync(path.join(this.state, 'owners'), 'utf8').split('\n')) {
      const [p, uid, group] = line.split('\t');
      if (p === this.p(macPath).replace(/\/$/, '') || (macPath === '/' && p === `${this.root}/`)) found = { uid: Number(uid), group: group ?? '' };
    }
    return found;
  }

  setOwner(macPath: string, uid: number, group = 'staff'): void {
    writeFileSync(path.join(this.state, 'owners'), `${this.p(macPath)}\t${uid}\t${group}\n`, { flag: 'a' });
  }

  setLoaded(targets: string[]): void {
    writeFileSync(path.join(this.state, 'loaded'), targets.map((t) => `${t}\n`).join(''));
  }

  loaded(): string[] {
    return readFileSync(path.join(this.state, 'loaded'), 'utf8').split('\n').filter(Boolean).sort();
  }

  setReceipts(ids: string[]): void {
    writeFileSync(path.join(this.state, 'receipts'), ids.map((t) => `${t}\n`).join(''));
  }

  receipts(): string[] {
    return readFileSync(path.join(this.state, 'receipts'), 'utf8').split('\n').filter(Boolean);
  }

  /** Put the package payload in place as Installer would: binary 0755, plists 0644. */
  installPayload(spec: DeploymentSpec): void {
    this.file(spec.installPath, '#!/bin/sh\nIDENT:com.runlayer.aiwatch\n', 0o755);
    for (const u of spec.units) this.file(u.plistPath, `<plist><dict><key>Label</key><string>${u.label}</string></dict></plist>\n`);
  }

  /**
   * Run `script` with `args` under dash (default) or another shell command line such as `['bash', '--posix']`
   * (macOS /bin/sh is bash in POSIX mode); `env` adds stub knobs (STUB_BOOTSTRAP_RCS, STUB_CHOWN_RC …).
   */
  run(script: string, args: string[] = [], env: Record<string, string> = {}, shell: readonly string[] = ['dash']): RunResult {
    const file = path.join(this.dir, 'script.sh');
    writeFileSync(file, script, { mode: 0o755 });
    writeFileSync(this.log, '');
    const [cmd = 'dash', ...flags] = shell;
    const r = spawnSync(cmd, [...flags, file, ...args], {
      encoding: 'utf8',
      env: { HOME: this.dir, ...this.env, ...env },
      timeout: 20_000,
    });
    const calls = readFileSync(this.log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\x1f').map((a) => a.split(this.root).join('<ROOT>')));
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, calls };
  }

  /** Every file under the fake root with type, mode, size and link target, plus the stub state: for "changes nothing". */
  snapshot(): string {
    const out: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir).sort()) {
        const full = path.join(dir, name);
        const st = lstatSync(full);
        const rel = path.relative(this.root, full);
        if (st.isSymbolicLink()) out.push(`${rel} -> ${readlinkSync(full)}`);
        else if (st.isDirectory()) {
          out.push(`${rel}/ ${(st.mode & 0o7777).toString(8)}`);
          walk(full);
        } else out.push(`${rel} ${(st.mode & 0o7777).toString(8)} ${st.size}`);
      }
    };
    walk(this.root);
    for (const f of ['loaded', 'owners', 'receipts']) out.push(`[${f}]`, readFileSync(path.join(this.state, f), 'utf8'));
    return out.join('\n');
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Calls to one command, as space-joined strings (for readable expectations). */
export function callsOf(r: RunResult, cmd: string): string[] {
  return r.calls.filter((c) => c[0] === cmd).map((c) => c.join(' '));
}

/**
 * Every path argument a stub received for a file operation must be inside the fake root: a script that forgot the
 * root prefix would otherwise touch this machine's real files.
 */
export function unprefixedPaths(r: RunResult): string[] {
  const bad: string[] = [];
  for (const c of r.calls) {
    const [cmd, ...args] = c;
    const paths =
      cmd === 'stat' ? (args[2] === '/dev/console' ? [] : [args[2]]) :
      cmd === 'chown' || cmd === 'chmod' ? args.slice(1) :
      cmd === 'codesign' ? [args[1]] :
      cmd === 'launchctl' && args[0] === 'bootstrap' ? [args[2]] : [];
    for (const p of paths) if (p === undefined || !p.startsWith('<ROOT>')) bad.push(c.join(' '));
  }
  return bad;
}

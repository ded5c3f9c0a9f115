/**
 * A fake Mac for running aiwatch-doctor.sh for real under dash on Linux: a fake root folder (AIWATCH_TEST_ROOT)
 * that every file path is prefixed with, and recording stubs first on PATH (AIWATCH_TEST_BIN) for the macOS
 * commands (test/doctor/macos-doctor-stub.sh), answering from a small state the test writes. `healthy()` lays out
 * a Mac on which every check passes; each scenario then breaks one thing.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DeploymentSpec } from '../../src/config/spec-types.js';

const STUB = path.resolve(import.meta.dirname, 'macos-doctor-stub.sh');
export const DOCTOR_STUBBED = ['profiles', 'sqlite3', 'codesign', 'launchctl', 'curl', 'security', 'scutil', 'stat', 'id', 'dscl', 'plutil', 'pkgutil', 'sw_vers'] as const;

/** Key-shaped test values (not real keys). */
export const ORG_KEY = 'rl_org_T3stOrgKey0123456789abcdefXYZ';
export const ENROLL_KEY = 'rl_enroll_T3stEnrollKey9876543210zyx';

export interface DoctorRun {
  status: number;
  stdout: string;
  stderr: string;
  /** Stub calls, each as argv (command first); the fake root is shown as `<ROOT>`. */
  calls: string[][];
  /** What curl was given in its --config files, with the URL of each call. */
  curlConfigs: string;
  ms: number;
}

export class FakeDoctorMac {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-doctor-mac-'));
  readonly root = path.join(this.dir, 'root');
  readonly bin = path.join(this.dir, 'bin');
  readonly state = path.join(this.dir, 'state');
  readonly tmp = path.join(this.dir, 'tmp');
  private readonly log = path.join(this.dir, 'calls.log');

  constructor() {
    for (const d of [this.root, this.bin, this.state, this.tmp]) mkdirSync(d, { mode: 0o755 });
    const stub = path.join(this.dir, 'stub.sh');
    writeFileSync(stub, readFileSync(STUB), { mode: 0o755 });
    for (const name of DOCTOR_STUBBED) symlinkSync(stub, path.join(this.bin, name));
    for (const f of ['loaded', 'receipts', 'users', 'tcc']) writeFileSync(path.join(this.state, f), '');
  }

  p(macPath: string): string {
    return path.join(this.root, macPath);
  }

  file(macPath: string, content: string, mode = 0o644): void {
    mkdirSync(path.dirname(this.p(macPath)), { recursive: true });
    writeFileSync(this.p(macPath), content);
    chmodSync(this.p(macPath), mode);
  }

  rm(macPath: string): void {
    rmSync(this.p(macPath), { force: true });
  }

  /** A file next to the fake root (not inside it); returns its real path. */
  outsideFile(name: string, content: string): string {
    const file = path.join(this.dir, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    return file;
  }

  symlinkOutside(name: string, target: string): void {
    symlinkSync(target, path.join(this.dir, name));
  }

  setState(name: 'profiles' | 'tcc' | 'loaded' | 'receipts' | 'users' | 'print.extra', lines: string[]): void {
    writeFileSync(path.join(this.state, name), lines.map((l) => `${l}\n`).join(''));
  }

  removeState(name: 'profiles'): void {
    rmSync(path.join(this.state, name), { force: true });
  }

  /** The tenant profile's managed preferences as a plist (XML) in the fake root. */
  prefs(spec: DeploymentSpec, values: Record<string, string | boolean>, where = `/Library/Managed Preferences/${spec.domain}.plist`): void {
    const body = Object.entries(values)
      .map(([k, v]) => `\t<key>${k}</key>\n\t${typeof v === 'boolean' ? `<${String(v)}/>` : `<string>${v}</string>`}`)
      .join('\n');
    this.file(where, `<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<dict>\n${body}\n</dict>\n</plist>\n`);
  }

  profileList(ids: string[], extra: string[] = []): void {
    const lines = [`There are ${ids.length} configuration profiles installed`];
    ids.forEach((id, i) => lines.push(`_computerlevel[${i + 1}] attribute: name: ${id}`, `_computerlevel[${i + 1}] attribute: profileIdentifier: ${id}`));
    this.setState('profiles', [...lines, ...extra]);
  }

  /** Every check passes: alice at the screen, payload signed right, units loaded, profiles, FDA, prefs, enrolled, logs clean. */
  healthy(spec: DeploymentSpec): void {
    this.setState('users', ['alice:501']);
    this.file(spec.installPath, `#!/bin/sh\nIDENT:${spec.identifier}\nTEAM:${spec.teamId}\n`, 0o755);
    for (const u of spec.units) this.file(u.plistPath, `<plist><dict><key>Label</key><string>${u.label}</string></dict></plist>\n`);
    this.setState('loaded', spec.units.map((u) => (u.kind === 'daemon' ? `system/${u.label}` : `gui/501/${u.label}`)));
    this.setState('receipts', [`${spec.packageIdentifier} 1.4.0`]);
    this.profileList([`${spec.identifier}.pppc`, `${spec.identifier}.loginitems`, `${spec.identifier}.tenant`]);
    this.file('/Library/Application Support/com.apple.TCC/TCC.db', 'SQLite format 3\n');
    this.setState('tcc', [`com.apple.Terminal|2`, `${spec.identifier}|2`]);
    this.prefs(spec, { Host: 'https://acme.runlayer.com', OrgApiKey: ORG_KEY, EnrollmentKey: ENROLL_KEY, Enforcement: true, Sessions: true });
    this.file('/Users/alice/.runlayer/config.json', '{}\n');
    this.file('/private/var/db/com.apple.xpc.launchd/config/user.plist', `<plist><dict><key>PathEnvironmentVariable</key><string>${path.posix.dirname(spec.installPath)}:/usr/bin:/bin:/usr/sbin:/sbin</string></dict></plist>\n`);
    for (const f of ['ai_watch_detect.log', 'ai_watch_enforce.log', 'auto_provisioning.log']) this.file(path.posix.join(spec.logDir, f), '2026-12-06 04:00:00 INFO scan done\n', 0o664);
  }

  run(script: string, args: string[] = [], env: Record<string, string> = {}, shell: readonly string[] = ['dash']): DoctorRun {
    const file = path.join(this.dir, 'doctor.sh');
    writeFileSync(file, script, { mode: 0o755 });
    writeFileSync(this.log, '');
    writeFileSync(path.join(this.state, 'curl.configs'), '');
    const [cmd = 'dash', ...flags] = shell;
    const t0 = performance.now();
    const r = spawnSync(cmd, [...flags, file, ...args], {
      encoding: 'utf8',
      env: { HOME: this.dir, TMPDIR: this.tmp, AIWATCH_TEST_ROOT: this.root, AIWATCH_TEST_BIN: this.bin, STUB_LOG: this.log, STUB_STATE: this.state, STUB_CONSOLE_USER: 'alice', ...env },
      timeout: 30_000,
    });
    const ms = performance.now() - t0;
    const calls = readFileSync(this.log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\x1f').map((a) => a.split(this.root).join('<ROOT>')));
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, calls, curlConfigs: readFileSync(path.join(this.state, 'curl.configs'), 'utf8'), ms };
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface CheckResult {
  id: string;
  status: 'ok' | 'warn' | 'fail' | 'skip';
  exitCode: number;
  evidence: string;
  fix: string;
}

export interface DoctorReport {
  schemaVersion: 1;
  tool: 'aiwatch-doctor';
  version: string | null;
  status: 'ok' | 'warn' | 'fail';
  exitCode: number;
  summary: string;
  checks: CheckResult[];
}

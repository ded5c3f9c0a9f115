/**
 * Windows artifacts for the verify/inspect tests, made by the real command (`aiwatch-deploy intune` through
 * main()): unsigned scripts + .intunewin, and the same signed with a test CA made by openssl (test/intune/pki.ts),
 * plus a second, unrelated root for "does not chain" cases. Also small helpers to plant corruptions.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { cli, tempDir, type CliRun } from '../cli/cli-helpers.js';
import { makePki, PASSWORD, type Pki } from '../intune/pki.js';

export const ORG_KEY = 'rl_org_test123';
export const HOST = 'https://acme.runlayer.com';
export const EPOCH = '1767225600';
export const INTUNEWIN = 'Install-AiwatchDetect.intunewin';
export const SCRIPTS = ['Detect-Aiwatch.ps1', 'Install-AiwatchDetect.ps1', 'Invoke-AiwatchScan.ps1', 'Remediate-Aiwatch.ps1', 'Uninstall-Aiwatch.ps1'];

export interface WindowsFixture {
  dir: string;
  /** Folder names under `dir`. */
  plain: string;
  signed?: string;
  pki?: Pki;
  /** A root CA that signed nothing here. */
  otherCa?: string;
}

async function intune(dir: string, out: string, extra: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  const r = await cli(['intune', '--host', HOST, '--intunewin', '--out', out, ...extra], { cwd: dir, env: { AIWATCH_ORG_API_KEY: ORG_KEY, SOURCE_DATE_EPOCH: EPOCH, ...env } });
  expect(r.code, r.stderr).toBe(0);
}

/** Unsigned scripts and .intunewin in `<dir>/plain`. */
export async function makeWindowsFixture(): Promise<WindowsFixture> {
  const dir = tempDir('verify-windows');
  await intune(dir, 'plain', []);
  return { dir, plain: 'plain' };
}

/** Add `<dir>/signed` (needs openssl and osslsigncode): the same, Authenticode-signed by a fresh test CA. */
export async function addSigned(f: WindowsFixture): Promise<Required<WindowsFixture>> {
  const pki = makePki();
  await intune(f.dir, 'signed', ['--sign-pfx', pki.pfx, '--sign-ca-file', pki.caCert], { AIWATCH_PFX_PASSWORD: PASSWORD });
  const otherCa = path.join(f.dir, 'other-root.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(f.dir, 'other.key'), '-out', otherCa, '-subj', '/CN=Unrelated Root', '-days', '2'], { stdio: 'pipe' });
  // Recorded on `f` itself, so that cleanup(f) also removes the PKI folder.
  return Object.assign(f, { signed: 'signed', pki, otherCa });
}

export function cleanup(f: WindowsFixture | undefined): void {
  if (!f) return;
  rmSync(f.dir, { recursive: true, force: true });
  if (f.pki) rmSync(f.pki.dir, { recursive: true, force: true });
}

/** `aiwatch-deploy verify|inspect …` run in the fixture folder. */
export function run(f: WindowsFixture, argv: string[]): Promise<CliRun> {
  return cli(argv, { cwd: f.dir });
}

/** Copy `from` (relative to the fixture) to `to` after `edit`; returns `to`. */
export function planted(f: WindowsFixture, from: string, to: string, edit: (b: Buffer) => Buffer): string {
  const target = path.join(f.dir, to);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, edit(readFileSync(path.join(f.dir, from))));
  return to;
}

/** The same text with the character at `i` replaced by `c` (same length, still ASCII). */
export function replaceAt(b: Buffer, i: number, c: string): Buffer {
  const out = Buffer.from(b);
  out.write(c, i, 'latin1');
  return out;
}

/** Nothing the tests print may hold the org key. */
export function expectNoKey(r: CliRun, extra: readonly string[] = []): void {
  for (const s of [ORG_KEY, ...extra]) expect(r.stdout + r.stderr).not.toContain(s);
}

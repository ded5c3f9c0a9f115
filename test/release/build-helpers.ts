/**
 * Shared by the release-build tests: run the CLI in this process (captured output, injected env/signal) or as a real
 * child process, unpack a release zip and its pkg with independent tools, and list what is left in a folder.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import { run } from '../helpers/tools.js';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
export const demoArm64Path = path.join(repoRoot, 'fixtures/demo/aiwatch-arm64');
export const demoX8664Path = path.join(repoRoot, 'fixtures/demo/aiwatch-x86_64');
export const CLI = path.join(repoRoot, 'bin/aiwatch-deploy.js');

const made: string[] = [];
process.once('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary folder, removed when the test process exits. */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(path.join(tmpdir(), `aiwatch-${prefix}-`));
  made.push(d);
  return d;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `aiwatch-deploy …argv` in this process, output captured; `env` defaults to a copy without SOURCE_DATE_EPOCH. */
export async function cli(argv: string[], o: { env?: NodeJS.ProcessEnv; cwd?: string; signal?: AbortSignal; isTTY?: boolean } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const env = o.env ?? { ...process.env, SOURCE_DATE_EPOCH: undefined };
  const code = await main(argv, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env,
    cwd: o.cwd ?? repoRoot,
    isTTY: o.isTTY ?? false,
    signal: o.signal ?? new AbortController().signal,
  });
  return { code, stdout, stderr };
}

/** The real CLI in a child process (dist/, built by the global setup). `onStderr` sees the output as it arrives. */
export function spawnCli(argv: string[], o: { env?: NodeJS.ProcessEnv; onStderr?: (all: string, kill: (sig: NodeJS.Signals) => void) => void } = {}): Promise<CliRun & { signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...argv], { cwd: repoRoot, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      o.onStderr?.(stderr, (sig) => child.kill(sig));
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? -1, stdout, stderr, signal }));
  });
}

/** Every path under `dir` (relative, sorted), files and folders. */
export function listTree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).map(String).sort();
}

export interface Unpacked {
  /** The unzipped release folder. */
  release: string;
  pkgName: string;
  /** The pkg extracted by bsdtar. */
  pkg: string;
  /** The Payload and Scripts extracted by GNU cpio (after gunzip). */
  payload: string;
  scripts: string;
}

/** gunzip a Payload/Scripts file (to `<into>.cpio`) and extract it with GNU cpio into `into`. */
export function cpioExtract(gz: string, into: string): void {
  mkdirSync(into, { recursive: true });
  const cpio = `${into}.cpio`;
  run('sh', ['-c', 'gzip -dc "$1" > "$2" && cpio -idm --quiet < "$2"', 'sh', gz, cpio], { cwd: into });
}

/** Unzip a release zip (unzip), extract its pkg (bsdtar) and the pkg's Payload/Scripts (gzip + cpio). */
export function unpackRelease(zip: string, work: string): Unpacked {
  const release = path.join(work, 'release');
  mkdirSync(release, { recursive: true });
  run('unzip', ['-q', zip, '-d', release]);
  const pkgName = readdirSync(release).find((n) => n.endsWith('.pkg'))!;
  const pkg = path.join(work, 'pkg');
  mkdirSync(pkg);
  run('bsdtar', ['-xf', path.join(release, pkgName), '-C', pkg]);
  const comp = readdirSync(pkg).find((n) => n.endsWith('.pkg'))!;
  const payload = path.join(work, 'payload');
  const scripts = path.join(work, 'scripts');
  cpioExtract(path.join(pkg, comp, 'Payload'), payload);
  cpioExtract(path.join(pkg, comp, 'Scripts'), scripts);
  return { release, pkgName, pkg, payload, scripts };
}

export const readText = (f: string): string => readFileSync(f, 'utf8');

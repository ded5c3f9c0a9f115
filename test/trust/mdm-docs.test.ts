/**
 * The `verify` commands the MDM guides tell an administrator to run in the unzipped release (docs/jamf.md,
 * docs/intune-macos.md) must work there as written: each inline `npx aiwatch-deploy verify …` is taken from the
 * document, run by /bin/sh (so its globs expand as in the admin's shell) in the folder `unzip` made of a
 * `build --demo` zip (the zip beside its files), with `npx aiwatch-deploy` standing for this checkout's
 * bin/aiwatch-deploy.js and the placeholders `<version>`/`<arch>` for the demo's.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeWithTools, tryRun } from '../helpers/tools.js';
import { cli, tempDir, unzipRelease } from './helpers.js';

const ROOT = path.join(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/aiwatch-deploy.js');

/** Every inline `npx aiwatch-deploy verify …` command of a document. */
function verifyCommands(doc: string): string[] {
  const text = readFileSync(path.join(ROOT, 'docs', doc), 'utf8');
  return [...text.matchAll(/`(npx aiwatch-deploy verify [^`]+)`/g)].map((m) => m[1]!.replace(/<version>/g, '1.0.0').replace(/<arch>/g, 'arm64'));
}

describeWithTools(['unzip'], 'verify commands of the MDM guides, in the unzipped release', () => {
  let release = '';
  beforeAll(async () => {
    const out = tempDir('mdm-docs');
    const r = await cli(['build', '--demo', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    release = unzipRelease(path.join(out, 'aiwatch-1.0.0-macos-arm64.zip'));
    copyFileSync(path.join(out, 'aiwatch-1.0.0-macos-arm64.zip'), path.join(release, 'aiwatch-1.0.0-macos-arm64.zip'));
  });

  describe.each(['jamf.md', 'intune-macos.md'])('docs/%s', (doc) => {
    const commands = verifyCommands(doc);
    it('has a verify command to try', () => expect(commands.length).toBeGreaterThan(0));
    it.each(commands)('%s exits 0 and checks every file it names', (command) => {
      const script = command.replace(/^npx aiwatch-deploy /, `"${process.execPath}" "${BIN}" `);
      const r = tryRun('sh', ['-c', script], { cwd: release });
      expect(r.stdout + r.stderr, command).not.toMatch(/FAILED|not a kind of file/);
      expect(r.status, `${command}\n${r.stdout}${r.stderr}`).toBe(0);
      const expanded = tryRun('sh', ['-c', `printf '%s\\n' ${command.replace(/^npx aiwatch-deploy verify /, '').replace(/--[a-z-]+ \S+/g, '')}`], { cwd: release }).stdout.trim().split('\n');
      const ok = r.stdout.split('\n').filter((l) => l.startsWith('ok '));
      expect(ok).toHaveLength(expanded.length);
    });
  });
});

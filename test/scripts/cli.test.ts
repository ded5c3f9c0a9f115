/** The `cleanup-script` and `uninstall-script` commands, through the real CLI entry (main). */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { renderCleanupScript, renderUninstallScript } from '../../src/release/macos-scripts.js';

const dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-cli-scripts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), cwd: dir });
  return { code, out, err };
}

describe.each([
  ['cleanup-script', 'cleanup-runlayer-scan.sh', renderCleanupScript],
  ['uninstall-script', 'uninstall-aiwatch.sh', (s: ReturnType<typeof loadDefaultSpec>) => renderUninstallScript(s)],
] as const)('%s', (command, name, render) => {
  it('--out FILE writes the rendered script, mode 0755', async () => {
    const r = await cli([command, '--out', name]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`wrote ${name}\n`);
    const file = path.join(dir, name);
    expect(readFileSync(file, 'utf8')).toBe(render(loadDefaultSpec()));
    expect(statSync(file).mode & 0o777).toBe(0o755);
  });

  it('without --out prints the script; --json reports it', async () => {
    expect((await cli([command])).out).toBe(render(loadDefaultSpec()));
    const j = JSON.parse((await cli([command, '--json', '--out', `j-${name}`])).out) as Record<string, unknown>;
    expect(j).toMatchObject({ ok: true, name, out: path.join(dir, `j-${name}`) });
  });

  it('--spec is applied, and a spec the scripts cannot honour is a usage error (exit 2)', async () => {
    writeFileSync(path.join(dir, 'staging.json'), JSON.stringify({ logDir: '/var/log/staging' }));
    expect((await cli([command, '--spec', 'staging.json'])).out).toContain("LOG_DIR='/var/log/staging'");
    writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ legacy: { wrapperPath: '/x/y', signingIdentifier: 'com.runlayer.scan', label: 'com.runlayer.aiwatch.legacy', logFiles: [] } }));
    const r = await cli([command, '--spec', 'bad.json', '--out', 'never.sh']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('/legacy/label: must be outside labelPrefix');
  });
});

/**
 * The committed demo binaries (fixtures/demo/) are exactly what scripts/make-demo-binary.ts generates: the
 * generator is re-run (in-process and as `node scripts/make-demo-binary.ts`, the way the README says) and compared
 * byte for byte, so the fixtures cannot drift from their documented recipe.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDemoBinary, demoFixtures } from '../../scripts/demo-binary/build.js';
import { repoRoot } from './macho-helpers.js';

describe('demo binary generator', () => {
  it('reproduces the committed fixtures byte for byte', () => {
    const fixtures = demoFixtures();
    expect([...fixtures.keys()]).toEqual(['aiwatch-arm64', 'aiwatch-x86_64']);
    for (const [name, bytes] of fixtures) {
      const committed = readFileSync(path.join(repoRoot, 'fixtures/demo', name));
      expect(bytes.equals(committed), `${name} drifted: run node scripts/make-demo-binary.ts`).toBe(true);
    }
  });

  it('runs as a plain node script (type stripping) and its --check agrees', () => {
    const r = spawnSync(process.execPath, ['scripts/make-demo-binary.ts', '--check'], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('--out writes the same bytes, --check reports a drifted file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'demo-bin-'));
    try {
      const w = spawnSync(process.execPath, ['scripts/make-demo-binary.ts', '--out', dir], { cwd: repoRoot, encoding: 'utf8' });
      expect(w.status).toBe(0);
      expect(readFileSync(path.join(dir, 'aiwatch-arm64')).equals(readFileSync(path.join(repoRoot, 'fixtures/demo/aiwatch-arm64')))).toBe(true);
      rmSync(path.join(dir, 'aiwatch-x86_64'));
      const c = spawnSync(process.execPath, ['scripts/make-demo-binary.ts', '--check', '--out', dir], { cwd: repoRoot, encoding: 'utf8' });
      expect(c.status).toBe(1);
      expect(c.stderr).toContain('aiwatch-x86_64: differs');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is a pure function of its options', () => {
    expect(buildDemoBinary({ arch: 'x86_64', signature: 'adhoc' }).equals(buildDemoBinary({ arch: 'x86_64', signature: 'adhoc' }))).toBe(true);
    expect(buildDemoBinary({ arch: 'x86_64', teamId: 'ZZZZZZZZZZ' }).equals(buildDemoBinary({ arch: 'x86_64' }))).toBe(false);
  });
});

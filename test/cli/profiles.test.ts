import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planProfiles } from '../../src/profiles/plan.js';
import { spec } from '../profiles/helpers.js';
import { cli, tempDir } from './cli-helpers.js';

describe('aiwatch-deploy profiles', () => {
  it('writes the planned files, 0644, byte-identical to the plan, and reports them as JSON', async () => {
    const dir = tempDir('profiles');
    const r = await cli(['profiles', '--out', 'o', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const files = r.json().files as Array<{ path: string; sha256: string; mode: string; secret: boolean }>;
    const plan = planProfiles(spec);
    expect(files.map((f) => path.relative(path.join(dir, 'o'), f.path))).toEqual(plan.map((a) => a.path));
    for (const [i, a] of plan.entries()) {
      const f = files[i]!;
      expect(readFileSync(f.path)).toEqual(Buffer.from(a.bytes));
      expect(statSync(f.path).mode & 0o777).toBe(0o644);
      expect([f.mode, f.secret, f.sha256]).toEqual(['0644', false, expect.stringMatching(/^[0-9a-f]{64}$/)]);
    }
  });
  it('prints what it wrote; --spec changes the content', async () => {
    const dir = tempDir('profiles');
    const specFile = path.join(dir, 'staging.json');
    writeFileSync(specFile, JSON.stringify({ teamId: '483DWKW443' }));
    const r = await cli(['profiles', '--out', 'o', '--spec', 'staging.json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('wrote o/com.runlayer.aiwatch.pppc.mobileconfig');
    expect(readFileSync(path.join(dir, 'o/com.runlayer.aiwatch.pppc.mobileconfig'), 'utf8')).toContain('= "483DWKW443"');
  });
  it('a bad --spec is a usage error naming the value', async () => {
    const dir = tempDir('profiles');
    writeFileSync(path.join(dir, 's.json'), JSON.stringify({ teamId: 'nope' }));
    const r = await cli(['profiles', '--out', 'o', '--spec', 's.json'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"nope"');
  });
  it('--help shows examples', async () => {
    const r = await cli(['profiles', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain('--out');
  });
});

import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';

describe('cli', () => {
  it('prints help and exits 0', async () => {
    let out = '';
    const code = await main(['--help'], { stdout: (t) => (out += t), stderr: () => undefined });
    expect(code).toBe(0);
    expect(out).toContain('aiwatch-deploy <command>');
  });
  it('an unknown option is a usage error (exit 2)', async () => {
    let err = '';
    const code = await main(['--no-such-flag'], { stdout: () => undefined, stderr: (t) => (err += t) });
    expect(code).toBe(2);
    expect(err).toMatch(/aiwatch-deploy:/);
  });
});

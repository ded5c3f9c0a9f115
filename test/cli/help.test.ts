/** Every command's --help (options, defaults, examples) pinned by a golden file, as users read it. */
import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/index.js';
import { main } from '../../src/cli/main.js';

async function help(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(argv, { stdout: (t) => (out += t), stderr: (t) => (out += t), isTTY: false });
  return { code, out };
}

describe('--help', () => {
  it('the command list', async () => {
    const r = await help(['--help']);
    expect(r.code).toBe(0);
    for (const c of commands) expect(r.out).toContain(c.command.split(' ')[0]);
    await expect(r.out).toMatchFileSnapshot('../golden/help/aiwatch-deploy.txt');
  });

  for (const c of commands) {
    const name = c.command.split(' ')[0]!;
    it(`${name} --help shows its options and examples`, async () => {
      const r = await help([name, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain('Examples:');
      await expect(r.out).toMatchFileSnapshot(`../golden/help/${name}.txt`);
    });
  }
});

/** Every command's --help (options, defaults, examples) pinned by a golden file, as users read it. */
import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/all.js';
import { COMMAND_LOADERS, commandsFor } from '../../src/cli/commands/index.js';
import { main } from '../../src/cli/main.js';

async function help(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(argv, { stdout: (t) => (out += t), stderr: (t) => (out += t), isTTY: false });
  return { code, out };
}

describe('the start-up command table (src/cli/commands/index.ts)', () => {
  it('names every command of all.ts, in its order, and each loader loads that command', async () => {
    expect(COMMAND_LOADERS.map(([name]) => name)).toEqual(commands.map((c) => c.command.split(' ')[0]));
    for (const [name, load] of COMMAND_LOADERS) expect((await load()).command.split(' ')[0]).toBe(name);
  });

  it('loads only the commands argv names, and all of them when it names none', async () => {
    expect((await commandsFor(['verify', 'a.zip', '--json'])).map((c) => c.command)).toEqual(['verify <files..>']);
    expect((await commandsFor(['--json', 'inspect', 'build'])).map((c) => c.command)).toEqual(['build', 'inspect <file>']);
    expect(await commandsFor(['--help'])).toHaveLength(commands.length);
    expect(await commandsFor(['verfy', 'x'])).toHaveLength(commands.length);
    // after `--` a word is a value, not a command
    expect(await commandsFor(['--', 'verify'])).toHaveLength(commands.length);
  });
});

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

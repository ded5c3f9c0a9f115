/**
 * `aiwatch-deploy cleanup-script [--out FILE]`: adapter over src/release/macos-scripts.ts. Writes
 * cleanup-runlayer-scan.sh (mode 0755), which an MDM runs before the pkg to remove the legacy runlayer-scan
 * deployment; without --out the script is printed. `writeScript` is shared with `uninstall-script`.
 */
import path from 'node:path';
import { loadSpec } from '../../config/spec.js';
import type { DeploymentSpec } from '../../config/spec-types.js';
import { writeFileAtomic } from '../../io/fs.js';
import { CLEANUP_SCRIPT_NAME, renderCleanupScript } from '../../release/macos-scripts.js';
import { prepareOutput } from '../artifacts.js';
import { defineCommand, type CliContext, type CommandResult } from '../command.js';
import type { InferOptions, OptionDefs } from '../options.js';

/** The options of `cleanup-script` and `uninstall-script`. */
export const SCRIPT_OPTIONS = {
  out: { type: 'string', describe: 'Write the script to this file (default: print it)' },
  spec: { type: 'string', describe: 'Deployment spec JSON overriding the built-in values' },
} as const satisfies OptionDefs;

/** Load `--spec`, render, and write `--out` (0755) or return the script as the text to print. */
export async function writeScript(
  args: InferOptions<typeof SCRIPT_OPTIONS>,
  ctx: CliContext,
  name: string,
  render: (spec: DeploymentSpec) => string,
): Promise<CommandResult> {
  const spec = await loadSpec(args.spec && path.resolve(ctx.cwd, args.spec));
  const script = render(spec);
  if (args.out === undefined) return { text: script, json: { ok: true, name, script } };
  const out = path.resolve(ctx.cwd, args.out);
  await prepareOutput(ctx, out, 'file');
  await writeFileAtomic(out, script, { mode: 0o755 });
  return { text: `wrote ${path.relative(ctx.cwd, out) || out}`, json: { ok: true, name, out, bytes: Buffer.byteLength(script) } };
}

export const cleanupScriptCommand = defineCommand({
  command: 'cleanup-script',
  describe: `Write ${CLEANUP_SCRIPT_NAME}: removes the legacy runlayer-scan deployment (run it from the MDM before the pkg)`,
  examples: [
    [`$0 cleanup-script --out ${CLEANUP_SCRIPT_NAME}`, 'write the script (0755); run it as root, --dry-run first to see what it would do'],
    ['$0 cleanup-script --spec staging.json', 'print the script for another deployment spec'],
  ],
  options: SCRIPT_OPTIONS,
  run: (args, ctx) => writeScript(args, ctx, CLEANUP_SCRIPT_NAME, renderCleanupScript),
});

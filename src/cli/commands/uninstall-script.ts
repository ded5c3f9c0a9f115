/**
 * `aiwatch-deploy uninstall-script [--out FILE]`: adapter over src/release/macos-scripts.ts. Writes
 * uninstall-aiwatch.sh (mode 0755), which removes exactly the package's payload (listed from the spec); without
 * --out the script is printed.
 */
import { renderUninstallScript, UNINSTALL_SCRIPT_NAME } from '../../release/macos-scripts.js';
import { defineCommand } from '../command.js';
import { SCRIPT_OPTIONS, writeScript } from './cleanup-script.js';

export const uninstallScriptCommand = defineCommand({
  command: 'uninstall-script',
  describe: `Write ${UNINSTALL_SCRIPT_NAME}: boots out the aiwatch jobs, removes the package's files, forgets the receipt`,
  examples: [
    [`$0 uninstall-script --out ${UNINSTALL_SCRIPT_NAME}`, 'write the script (0755); run it as root with --dry-run, then without; --purge also removes the logs'],
  ],
  options: SCRIPT_OPTIONS,
  run: (args, ctx) => writeScript(args, ctx, UNINSTALL_SCRIPT_NAME, (spec) => renderUninstallScript(spec)),
});

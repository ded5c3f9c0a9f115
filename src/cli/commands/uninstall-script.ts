/**
 * `aiwatch-deploy uninstall-script [--out FILE]`: adapter over src/release/macos-scripts.ts. Writes
 * uninstall-aiwatch.sh (mode 0755), which removes exactly the package's payload (listed from the spec); without
 * --out the script is printed.
 */
import { renderUninstallScript, UNINSTALL_SCRIPT_NAME } from '../../release/macos-scripts.js';
import type { AiwatchCommand } from '../command.js';
import { writeScript } from './cleanup-script.js';

export const uninstallScriptCommand: AiwatchCommand = {
  command: 'uninstall-script',
  describe: `Write ${UNINSTALL_SCRIPT_NAME}: boots out the aiwatch jobs, removes the package's files, forgets the receipt`,
  examples: [
    [`$0 uninstall-script --out ${UNINSTALL_SCRIPT_NAME}`, 'write the script (0755); run it as root with --dry-run, then without; --purge also removes the logs'],
  ],
  builder: (y) =>
    y
      .option('out', { type: 'string', describe: 'Write the script to this file (default: print it)' })
      .option('spec', { type: 'string', describe: 'Deployment spec JSON overriding the built-in values' }),
  run: (args, ctx) => writeScript(args, ctx, UNINSTALL_SCRIPT_NAME, (spec) => renderUninstallScript(spec)),
};

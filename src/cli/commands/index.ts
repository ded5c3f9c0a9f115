/**
 * The command table the CLI starts from: each command's name and how to load its module. A run loads only the
 * command(s) its argv names, so `verify` does not load the rollout drivers, the notary client or the build's
 * writers — every command module imports its implementation, and loading all of them cost ~0.4 s of each start
 * (docs/benchmarks.md "Start-up"). `--help`, no command or an unknown one load them all (./all.ts), so the help and
 * yargs' "did you mean" see every command. Keep the order of ./all.ts (test/cli/help.test.ts checks both).
 */
import type { AiwatchCommand } from '../command.js';
import { optionWords } from '../options.js';

export const COMMAND_LOADERS: ReadonlyArray<readonly [name: string, load: () => Promise<AiwatchCommand>]> = [
  ['build', async () => (await import('./build.js')).buildCommand],
  ['profiles', async () => (await import('./profiles.js')).profilesCommand],
  ['tenant', async () => (await import('./tenant.js')).tenantCommand],
  ['tenants', async () => (await import('./tenants.js')).tenantsCommand],
  ['verify', async () => (await import('./verify.js')).verifyCommand],
  ['inspect', async () => (await import('./inspect.js')).inspectCommand],
  ['intune', async () => (await import('./intune.js')).intuneCommand],
  ['sign-pkg', async () => (await import('./sign-pkg.js')).signPkgCommand],
  ['sign-profile', async () => (await import('./sign-profile.js')).signProfileCommand],
  ['sign-binary', async () => (await import('./sign-binary.js')).signBinaryCommand],
  ['notarize', async () => (await import('./notarize.js')).notarizeCommand],
  ['staple', async () => (await import('./staple.js')).stapleCommand],
  ['cleanup-script', async () => (await import('./cleanup-script.js')).cleanupScriptCommand],
  ['uninstall-script', async () => (await import('./uninstall-script.js')).uninstallScriptCommand],
  ['plan', async () => (await import('./plan.js')).planCommand],
  ['apply', async () => (await import('./apply.js')).applyCommand],
  ['status', async () => (await import('./status.js')).statusCommand],
  ['fleet-gitops', async () => (await import('./fleet-gitops.js')).fleetGitopsCommand],
];

/**
 * The commands `argv` can run: those whose name is one of its words (before `--`), in table order; every command
 * when none is named or `--help` is asked without one. A word that only looks like a command (a file named `build`)
 * loads that module too, and yargs still decides which command runs.
 */
export async function commandsFor(argv: readonly string[]): Promise<AiwatchCommand[]> {
  const words = new Set(optionWords(argv));
  const named = COMMAND_LOADERS.filter(([name]) => words.has(name));
  if (named.length === 0) return (await import('./all.js')).commands;
  return Promise.all(named.map(([, load]) => load()));
}

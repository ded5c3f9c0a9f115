/** `aiwatch-deploy plan ROLLOUT`: what `apply` would do to each target, read from its MDM; writes nothing (src/cli/commands/rollout-run.ts). */
import { defineCommand } from '../command.js';
import { ROLLOUT_OPTIONS, ROLLOUT_POSITIONALS, runRollout } from './rollout-run.js';

export const planCommand = defineCommand({
  command: 'plan <rollout>',
  describe: "Show what apply would do to each target of a rollout file (create / update with a diff / unchanged / blocked), read from each MDM's API; writes nothing. Exit 0: up to date, 8: changes pending, 9: blocked",
  examples: [
    ['$0 plan rollout.yaml', 'every target: a table of objects and what apply would do'],
    ['$0 plan rollout.yaml --target acme --json', 'one target, a JSON report per object (for CI)'],
  ],
  positionals: ROLLOUT_POSITIONALS,
  options: ROLLOUT_OPTIONS,
  run: (args, ctx) => runRollout('plan', args, ctx),
});

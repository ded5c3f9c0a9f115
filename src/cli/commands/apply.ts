/** `aiwatch-deploy apply ROLLOUT`: make each target match its plan, in the safe order; idempotent and resumable (src/cli/commands/rollout-run.ts). */
import { defineCommand } from '../command.js';
import { ROLLOUT_OPTIONS, ROLLOUT_POSITIONALS, runRollout } from './rollout-run.js';

export const applyCommand = defineCommand({
  command: 'apply <rollout>',
  describe: 'Publish a release to every target of a rollout file (smart group, profiles, package, policy), skipping what is unchanged; a second run makes no write. Exit: 0 all done, else the worst target\'s code',
  examples: [
    ['$0 apply rollout.yaml', 'every target, 4 at a time'],
    ['$0 apply rollout.yaml --target acme --target globex --parallel 8', 'two targets'],
  ],
  positionals: ROLLOUT_POSITIONALS,
  options: ROLLOUT_OPTIONS,
  run: (args, ctx) => runRollout('apply', args, ctx),
});

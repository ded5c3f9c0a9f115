/**
 * `aiwatch-deploy status ROLLOUT`: one table across every target of every MDM — the aiwatch version each delivers,
 * each profile's marker hash and whether it is this release's, what drifted, what is pending or blocked, errors.
 * It plans (src/cli/commands/rollout-run.ts → the engine: GET requests only) and renders src/rollout/status.ts.
 */
import { redact } from '../../secret.js';
import { renderStatus, rolloutStatus, statusFailure } from '../../rollout/status.js';
import { defineCommand, type CliContext, type CommandResult } from '../command.js';
import { redactDeep, ROLLOUT_OPTIONS, ROLLOUT_POSITIONALS, runEngine, type RolloutArgs, type RolloutDeps } from './rollout-run.js';

/** Read every target and give its status; writes nothing. */
export async function runStatus(args: RolloutArgs, ctx: CliContext, deps: RolloutDeps = {}): Promise<CommandResult> {
  const run = await runEngine('plan', args, ctx, deps);
  const status = rolloutStatus(run.report, run.version);
  const { version, targets, summary, exitCode } = status;
  return {
    text: redact(renderStatus(status), run.secrets),
    json: redactDeep({ ok: exitCode === 0, rollout: run.rollout, release: { zip: run.zip, version }, summary, targets }, run.secrets),
    exitCode,
    failure: redactDeep(statusFailure(status), run.secrets) as ReturnType<typeof statusFailure>,
  };
}

export const statusCommand = defineCommand({
  command: 'status <rollout>',
  describe: 'One table across every target of a rollout file: the aiwatch version each MDM delivers, each profile\'s hash and whether it is the release\'s, drifted / pending / blocked objects, errors; read from each MDM, writes nothing. Exit 0: all current, 8: pending or drifted, 9: blocked',
  examples: [
    ['$0 status rollout.yaml', 'every target, one line each'],
    ['$0 status rollout.yaml --release new.zip --json', 'compared with another release, as JSON (schemas/status.schema.json)'],
  ],
  positionals: ROLLOUT_POSITIONALS,
  options: { ...ROLLOUT_OPTIONS, release: { ...ROLLOUT_OPTIONS.release, describe: "The release zip to compare with, in place of the rollout file's release.zip" } },
  run: (args, ctx) => runStatus(args, ctx),
});

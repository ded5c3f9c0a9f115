/** `aiwatch-deploy notarize PKG`: adapter over src/notary/notarize.ts (see docs/notarization.md). */
import path from 'node:path';
import { UsageError } from '../../errors.js';
import { DEFAULT_NOTARY_URL } from '../../notary/client.js';
import { NotarizationRejected, notarize, type NotarizeResult } from '../../notary/notarize.js';
import { parseDuration } from '../../notary/poll.js';
import { serviceUrlProblems } from '../../notary/url.js';
import { sweepDebris } from '../artifacts.js';
import { defineCommand } from '../command.js';
import { NOTARY_KEY_OPTIONS, notaryKeyFromArgs } from '../notary-key.js';

function json(r: NotarizeResult, ok: boolean): Record<string, unknown> {
  return { ok, submissionId: r.submissionId, status: r.status, notarized: r.notarized, sha256: r.sha256, submissionName: r.submissionName, issues: r.issues };
}

export const notarizeCommand = defineCommand({
  command: 'notarize <pkg>',
  describe: "Submit a signed .pkg to Apple's notary service and wait for the verdict (exit 0 only when Accepted)",
  examples: [
    ['$0 notarize out/aiwatch.pkg --api-key AuthKey_2X9R4HXF34.p8 --api-key-id 2X9R4HXF34 --api-issuer <issuer-uuid>', 'submit, upload and wait up to 30 minutes'],
    ['$0 notarize out/aiwatch.pkg --submission-id <id>', 'resume waiting for an earlier submission'],
  ],
  positionals: { pkg: { type: 'string', describe: 'Signed .pkg to notarize' } },
  options: {
    ...NOTARY_KEY_OPTIONS,
    'notary-url': { type: 'string', describe: 'Notary API base URL', default: DEFAULT_NOTARY_URL },
    's3-url': { type: 'string', describe: "S3-compatible endpoint replacing Apple's upload host (testing)" },
    timeout: { type: 'string', describe: 'Give up waiting after this long (90s, 30m, 1h)', default: '30m' },
    'submission-id': { type: 'string', describe: 'Resume waiting for this submission instead of submitting' },
    wait: { type: 'boolean', default: true, describe: 'Wait for the verdict (--no-wait: exit after the upload)' },
  },
  run: async (args, ctx) => {
    const timeoutMs = parseDuration(args.timeout);
    const problems = serviceUrlProblems({ '--notary-url': args['notary-url'], '--s3-url': args['s3-url'] });
    if (timeoutMs === undefined || timeoutMs <= 0) problems.push(`--timeout: expected a duration like 90s, 30m or 1h, got ${JSON.stringify(args.timeout)}`);
    if (problems.length) throw new UsageError(problems);
    const pkg = path.resolve(ctx.cwd, args.pkg);
    const apiKey = await notaryKeyFromArgs(args, ctx);
    const progress = ctx.json ? undefined : (line: string) => ctx.stderr(`${line}\n`);
    await sweepDebris(ctx);
    try {
      const r = await notarize({
        pkg, apiKey, progress, onWarning: ctx.warn, signal: ctx.signal, timeoutMs, wait: args.wait,
        notaryUrl: args['notary-url'], s3Endpoint: args['s3-url'], submissionId: args['submission-id'],
      });
      const text = r.notarized
        ? `notarized: ${args.pkg} (submission ${r.submissionId}: Accepted)\nnext: aiwatch-deploy staple ${args.pkg}`
        : `submitted, NOT yet notarized: submission ${r.submissionId} is ${r.status}\nwait for it: aiwatch-deploy notarize ${args.pkg} --submission-id ${r.submissionId}`;
      return { text, json: json(r, true) };
    } catch (e) {
      if (!(e instanceof NotarizationRejected) || !ctx.json) throw e;
      ctx.stderr(`aiwatch-deploy: ${e.message}\n`);
      return { text: '', json: json(e.result, false), exitCode: e.exitCode, failure: { kind: e.kind, message: e.message, problems: e.message.split('\n').slice(1).map((l) => l.trim()) } };
    }
  },
});

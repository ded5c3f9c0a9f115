/** `aiwatch-deploy staple PKG`: adapter over src/notary/staple.ts (see docs/notarization.md). */
import path from 'node:path';
import { staplePkg } from '../../notary/staple.js';
import { DEFAULT_TICKET_URL } from '../../notary/ticket.js';
import { checkServiceUrls } from '../../notary/url.js';
import { prepareOutput } from '../artifacts.js';
import { requiredArg } from '../args.js';
import type { AiwatchCommand } from '../command.js';

export const stapleCommand: AiwatchCommand = {
  command: 'staple <pkg>',
  describe: 'Attach the notarization ticket Apple published for a notarized .pkg (offline Gatekeeper checks)',
  examples: [
    ['$0 staple out/aiwatch.pkg', 'staple in place (written to a temporary file, then renamed)'],
    ['$0 staple out/aiwatch.pkg --out dist/aiwatch.pkg', 'write the stapled copy elsewhere; the input is left as it is'],
  ],
  builder: (y) =>
    y
      .positional('pkg', { type: 'string', describe: 'Notarized .pkg' })
      .option('out', { type: 'string', describe: 'Write the stapled package here (default: replace PKG)' })
      .option('ticket-url', { type: 'string', describe: 'Ticket lookup URL', default: DEFAULT_TICKET_URL })
      .option('replace', { type: 'boolean', default: false, describe: 'Replace a ticket already stapled (default: refuse)' }),
  run: async (args, ctx) => {
    checkServiceUrls({ '--ticket-url': typeof args['ticket-url'] === 'string' ? args['ticket-url'] : undefined });
    const pkg = path.resolve(ctx.cwd, requiredArg(args, 'pkg'));
    const out = typeof args.out === 'string' && args.out !== '' ? path.resolve(ctx.cwd, args.out) : undefined;
    await prepareOutput(ctx, out ?? pkg, 'file');
    const progress = ctx.json ? undefined : (line: string) => ctx.stderr(`${line}\n`);
    const r = await staplePkg({
      pkg, out, progress, replace: args.replace === true,
      ticketUrl: typeof args['ticket-url'] === 'string' ? args['ticket-url'] : undefined,
      http: { signal: ctx.signal, onRetry: progress },
    });
    return {
      text: `stapled: ${r.out} (${r.ticketBytes}-byte ticket, record ${r.recordName}${r.replaced ? ', replaced the previous one' : ''})`,
      json: { ok: true, pkg: r.pkg, out: r.out, recordName: r.recordName, ticketBytes: r.ticketBytes, replaced: r.replaced },
    };
  },
};

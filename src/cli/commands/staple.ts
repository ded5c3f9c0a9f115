/** `aiwatch-deploy staple PKG`: adapter over src/notary/staple.ts (see docs/notarization.md). */
import path from 'node:path';
import { staplePkg } from '../../notary/staple.js';
import { DEFAULT_TICKET_URL } from '../../notary/ticket.js';
import { checkServiceUrls } from '../../notary/url.js';
import { prepareOutput } from '../artifacts.js';
import { defineCommand } from '../command.js';

export const stapleCommand = defineCommand({
  command: 'staple <pkg>',
  describe: 'Attach the notarization ticket Apple published for a notarized .pkg (offline Gatekeeper checks)',
  examples: [
    ['$0 staple out/aiwatch.pkg', 'staple in place (written to a temporary file, then renamed)'],
    ['$0 staple out/aiwatch.pkg --out dist/aiwatch.pkg', 'write the stapled copy elsewhere; the input is left as it is'],
  ],
  positionals: { pkg: { type: 'string', describe: 'Notarized .pkg' } },
  options: {
    out: { type: 'string', describe: 'Write the stapled package here (default: replace PKG)' },
    'ticket-url': { type: 'string', describe: 'Ticket lookup URL', default: DEFAULT_TICKET_URL },
    replace: { type: 'boolean', default: false, describe: 'Replace a ticket already stapled (default: refuse)' },
  },
  run: async (args, ctx) => {
    checkServiceUrls({ '--ticket-url': args['ticket-url'] });
    const pkg = path.resolve(ctx.cwd, args.pkg);
    const out = args.out && path.resolve(ctx.cwd, args.out);
    await prepareOutput(ctx, out ?? pkg, 'file');
    const progress = ctx.json ? undefined : (line: string) => ctx.stderr(`${line}\n`);
    const r = await staplePkg({
      pkg, out, progress, replace: args.replace,
      ticketUrl: args['ticket-url'],
      http: { signal: ctx.signal, onRetry: progress },
    });
    return {
      text: `stapled: ${r.out} (${r.ticketBytes}-byte ticket, record ${r.recordName}${r.replaced ? ', replaced the previous one' : ''})`,
      json: { ok: true, pkg: r.pkg, out: r.out, recordName: r.recordName, ticketBytes: r.ticketBytes, replaced: r.replaced },
    };
  },
});

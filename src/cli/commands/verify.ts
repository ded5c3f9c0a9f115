/** `aiwatch-deploy verify FILE…`: adapter over src/verify (detects each file's kind and runs its checks). */
import path from 'node:path';
import { loadSpec } from '../../config/spec.js';
import { ExitCode } from '../../errors.js';
import { registerAllVerifiers } from '../../verify/all.js';
import { verifyFiles, type FileReport } from '../../verify/run.js';
import type { AiwatchCommand } from '../command.js';

function textOf(r: FileReport, cwd: string): string {
  const name = path.relative(cwd, r.file) || r.file;
  const head = r.problems.length === 0 ? `ok      ${name} (${r.describe})` : `FAILED  ${name} (${r.describe}): ${r.problems.length} problem(s)`;
  const rel = (w: string): string => (w.startsWith(r.file) ? name + w.slice(r.file.length) : w);
  return [head, ...r.problems.map((p) => `  ${rel(p.where)}: ${p.message}`), ...r.notes.map((n) => `  note: ${n}`)].join('\n');
}

export const verifyCommand: AiwatchCommand = {
  command: 'verify <files..>',
  describe: 'Check profiles, launchd plists, Jamf schemas (and more kinds as they are added): every problem at once',
  examples: [
    ['$0 verify out/*.mobileconfig out/launchd/*.plist', 'exit 0 when every file is fine, 1 when any has a problem'],
    ['$0 verify --json acme.mobileconfig', 'the problems as JSON'],
  ],
  builder: (y) =>
    y
      .positional('files', { type: 'string', array: true, describe: 'Files to check' })
      .option('spec', { type: 'string', describe: 'Deployment spec JSON the files were generated from (identifier, team, domain, …)' }),
  run: async (args, ctx) => {
    registerAllVerifiers();
    const spec = await loadSpec(typeof args.spec === 'string' ? path.resolve(ctx.cwd, args.spec) : undefined);
    const files = (args.files as string[]).map((f) => path.resolve(ctx.cwd, String(f)));
    const reports = await verifyFiles(files, { spec, env: ctx.env, signal: ctx.signal });
    const bad = reports.filter((r) => r.problems.length > 0).length;
    return {
      text: [...reports.map((r) => textOf(r, ctx.cwd)), `${reports.length - bad} ok, ${bad} with problems`].join('\n'),
      json: { ok: bad === 0, files: reports },
      exitCode: bad > 0 ? ExitCode.problems : ExitCode.ok,
    };
  },
};

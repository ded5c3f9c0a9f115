/** `aiwatch-deploy tenants --csv FILE --out DIR`: adapter over src/profiles/tenants-plan.ts and planTenant, one folder per tenant. */
import path from 'node:path';
import { loadDefaultSpec, loadSpec } from '../../config/spec.js';
import { ExitCode, InterruptedError } from '../../errors.js';
import { readInputText } from '../../io/fs.js';
import { planTenant, TENANT_FORMATS } from '../../profiles/plan.js';
import { csvColumnName, parseTenantsCsv } from '../../profiles/tenants-plan.js';
import { BatchWriter } from '../../io/batch.js';
import { prepareOutput, writeArtifactsBatch, type WrittenFile } from '../artifacts.js';
import { defineCommand } from '../command.js';
import { createProgress } from '../progress.js';

/**
 * How long the batch runs on before it lets the event loop in (a signal, the progress bar): files are written with
 * synchronous calls (io/batch.ts), and an interrupt must still stop it between tenants.
 */
const SLICE_MS = 50;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export const tenantsCommand = defineCommand({
  command: 'tenants',
  describe: 'Write tenant-config profiles for every row of a CSV, one folder per tenant',
  examples: [
    ['$0 tenants --csv tenants.csv --out profiles/', 'profiles/<name>/com.runlayer.aiwatch.tenant.mobileconfig for each row (0600)'],
    ['$0 tenants --csv tenants.csv --out profiles/ --format mobileconfig --format intune-plist', 'two formats per tenant'],
  ],
  options: {
    csv: {
      type: 'string',
      demandOption: 'give the tenants CSV with --csv FILE',
      describe: `CSV with a header row: name, ${loadDefaultSpec().tenantKeys.map(csvColumnName).join(', ')} (UTF-8, BOM and CRLF accepted)`,
    },
    out: { type: 'string', default: 'out/tenants', describe: 'Output folder (one subfolder per tenant)' },
    format: { type: 'array', choices: TENANT_FORMATS, default: ['mobileconfig'], describe: 'Formats to write per tenant (repeatable)' },
    spec: { type: 'string', describe: 'Deployment spec JSON' },
  },
  run: async (args, ctx) => {
    const spec = await loadSpec(args.spec && path.resolve(ctx.cwd, args.spec));
    const csv = path.resolve(ctx.cwd, args.csv);
    const shown = path.relative(ctx.cwd, csv) || csv;
    const formats = [...new Set(args.format)];
    const out = path.resolve(ctx.cwd, args.out);
    const rows = parseTenantsCsv(spec, await readInputText(csv, '--csv'), shown);
    await prepareOutput(ctx, out, 'folder');
    const progress = createProgress(ctx, rows.length, 'tenants');
    const written: Array<{ row: number; name: string; folder: string; files: WrittenFile[] } | undefined> = [];
    const writer = new BatchWriter();
    try {
      let slice = performance.now();
      for (const [i, r] of rows.entries()) {
        if (performance.now() - slice > SLICE_MS) {
          await yieldToLoop();
          slice = performance.now();
        }
        if (ctx.signal.aborted) break;
        if (r.tenant && r.folder) {
          const folder = path.join(out, r.folder);
          written[i] = { row: r.row, name: r.name, folder, files: await writeArtifactsBatch(writer, folder, formats.map((f) => planTenant(spec, r.tenant!, f))) };
        }
        progress.tick(r.name);
      }
      await writer.finish();
    } finally {
      await writer.finish().catch(() => undefined); // after a failure: let the files already on their way land whole
      progress.stop();
    }
    const done = written.filter((w) => w !== undefined);
    // Every file written is whole (BatchWriter renames a finished file only); the rest was never started.
    if (ctx.signal.aborted) throw new InterruptedError(`interrupted after ${done.length} of ${rows.length} tenant(s) written to ${path.relative(ctx.cwd, out) || out}; the files written are whole; run again to write the rest`);
    const failed = rows.filter((r) => r.problems.length > 0);
    if (!ctx.json) for (const p of failed.flatMap((r) => r.problems)) ctx.stderr(`${p}\n`);
    return {
      text: `${done.length} tenant(s) written to ${path.relative(ctx.cwd, out) || out}, ${failed.length} row(s) failed`,
      json: { ok: failed.length === 0, out, written: done, failed: failed.map((r) => ({ row: r.row, name: r.name, problems: r.problems })) },
      exitCode: failed.length > 0 ? ExitCode.usage : ExitCode.ok,
      failure: { kind: 'usage', message: `${failed.length} of ${rows.length} row(s) failed`, problems: failed.flatMap((r) => r.problems) },
    };
  },
});

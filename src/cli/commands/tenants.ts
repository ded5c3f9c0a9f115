/** `aiwatch-deploy tenants --csv FILE --out DIR`: adapter over src/profiles/tenants-plan.ts and planTenant, one folder per tenant. */
import path from 'node:path';
import { loadDefaultSpec, loadSpec } from '../../config/spec.js';
import { ExitCode } from '../../errors.js';
import { readInputText } from '../../io/fs.js';
import { planTenant, TENANT_FORMATS } from '../../profiles/plan.js';
import { csvColumnName, parseTenantsCsv } from '../../profiles/tenants-plan.js';
import { prepareOutput, writeArtifacts, type WrittenFile } from '../artifacts.js';
import { defineCommand } from '../command.js';
import { createProgress } from '../progress.js';

/**
 * Tenants written at once (each one's files in order): every file is an atomic write ending in fsync + rename, and
 * waiting for those one tenant at a time left the process idle most of the run (docs/decisions.md, issue 14).
 */
const WRITERS = 16;

/** `fn` over `items` with at most `n` running; no new item starts once `signal` is aborted; the first error wins. */
async function inPool<T>(items: readonly T[], n: number, signal: AbortSignal, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < items.length && !signal.aborted && !failure; i = next++) {
      try {
        await fn(items[i]!, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, lane));
  if (failure) throw failure.error;
}

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
    try {
      await inPool(rows, WRITERS, ctx.signal, async (r, i) => {
        if (r.tenant && r.folder) {
          const folder = path.join(out, r.folder);
          written[i] = { row: r.row, name: r.name, folder, files: await writeArtifacts(folder, formats.map((f) => planTenant(spec, r.tenant!, f))) };
        }
        progress.tick(r.name);
      });
    } finally {
      progress.stop();
    }
    const done = written.filter((w) => w !== undefined);
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

/**
 * What `plan` and `apply` share: their options, and the run — parse then act. The rollout file, the `--target`
 * names, `--parallel`, every secret reference and the release zip are all read and checked before the first request
 * (a problem: exit 2, or 3 for a missing/damaged file, and no target is contacted); then the engine
 * (src/rollout/engine.ts) plans or applies, and the report is rendered (src/rollout/report.ts) or given as JSON.
 * Every string of the output passes through redact() with the secrets read, whatever a driver put in it.
 */
import { Writable } from 'node:stream';
import path from 'node:path';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { loadSpec } from '../../config/spec.js';
import { UsageError } from '../../errors.js';
import { MDM_DRIVERS } from '../../mdm/index.js';
import { applyRollout, DEFAULT_PARALLEL, MAX_PARALLEL, planRollout, type EngineOptions, type RolloutReport } from '../../rollout/engine.js';
import { loadRollout, selectTargets, type DriverRegistry } from '../../rollout/file.js';
import type { DriverContext } from '../../rollout/model.js';
import { loadRelease } from '../../rollout/release.js';
import { renderReport, summaryCounts } from '../../rollout/report.js';
import { resolveTargets } from '../../rollout/secrets.js';
import { isSecret, redact, type Secret } from '../../secret.js';
import type { CliContext, CommandResult } from '../command.js';
import type { OptionDefs } from '../options.js';

export const ROLLOUT_POSITIONALS = { rollout: { type: 'string', describe: 'The rollout file (YAML or JSON, docs/publish.md)' } } as const;

export const ROLLOUT_OPTIONS = {
  target: { type: 'array', describe: 'Only this target (repeatable; default: every target of the file)' },
  parallel: { type: 'number', default: DEFAULT_PARALLEL, describe: `Targets worked on at once (1–${MAX_PARALLEL})` },
  release: { type: 'string', describe: "The release zip to publish, in place of the rollout file's release.zip (e.g. the one CI just built)" },
  spec: { type: 'string', describe: 'Deployment spec JSON (tenant keys, identifiers) the release was built with' },
} as const satisfies OptionDefs;

export interface RolloutArgs {
  rollout: string;
  target: readonly string[] | undefined;
  parallel: number;
  release: string | undefined;
  spec: string | undefined;
}

/** For tests: other drivers, HTTP tuning. */
export interface RolloutDeps {
  drivers?: DriverRegistry;
  http?: DriverContext['http'];
}

/** Upload bars, one per upload, on a terminal only (not with --json); notes are printed above them. */
function uploadDisplay(ctx: CliContext): { progress: EngineOptions['onUploadProgress']; note: (line: string) => void; stop: () => void } {
  if (ctx.json) return { progress: undefined, note: () => undefined, stop: () => undefined };
  if (!ctx.isTTY) return { progress: undefined, note: (line) => ctx.stderr(`${line}\n`), stop: () => undefined };
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer | string, _enc, cb) {
        ctx.stderr(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
        cb();
      },
    }),
    { isTTY: true, columns: Number(ctx.env.COLUMNS) || 100 },
  );
  const multi = new MultiBar({ stream, format: '{what} [{bar}] {percentage}% {done} of {total_}', hideCursor: true, clearOnComplete: false, fps: 10 }, Presets.shades_classic);
  const bars = new Map<string, SingleBar>();
  const size = (n: number): string => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`);
  return {
    progress: (target, name, done, total) => {
      const key = `${target}\u0000${name}`;
      let bar = bars.get(key);
      if (!bar) {
        bar = multi.create(total, 0, { what: `${target}: ${name}`, done: size(0), total_: size(total) });
        bars.set(key, bar);
      }
      bar.update(done, { done: size(done), total_: size(total) });
      if (done >= total) {
        bar.stop();
        bars.delete(key);
      }
    },
    note: (line) => multi.log(`${line}\n`),
    stop: () => multi.stop(),
  };
}

/** Replace every secret value in every string of `v` (a report) by its masked form. */
export function redactDeep(v: unknown, secrets: readonly Secret[]): unknown {
  if (typeof v === 'string') return redact(v, secrets);
  if (Array.isArray(v)) return v.map((x) => redactDeep(x, secrets));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactDeep(x, secrets)]));
  return v;
}

/** What the engine gave back, with what an output needs beside it. */
export interface RolloutRun {
  report: RolloutReport;
  /** The release's version, read from its zip. */
  version: string;
  /** The rollout file and the release zip as shown (relative to the working folder when inside it). */
  rollout: string;
  zip: string;
  /** Every secret read: each string of an output passes through redact() with them. */
  secrets: Secret[];
}

/** Read and check everything (no request before that), then plan or apply with the engine (`status` plans). */
export async function runEngine(mode: 'plan' | 'apply', args: RolloutArgs, ctx: CliContext, deps: RolloutDeps = {}): Promise<RolloutRun> {
  const drivers = deps.drivers ?? MDM_DRIVERS;
  if (!Number.isInteger(args.parallel) || args.parallel < 1 || args.parallel > MAX_PARALLEL) {
    throw new UsageError(`--parallel: expected a whole number from 1 to ${MAX_PARALLEL}, got ${JSON.stringify(args.parallel)}`);
  }
  const spec = await loadSpec(args.spec && path.resolve(ctx.cwd, args.spec));
  const file = path.resolve(ctx.cwd, args.rollout);
  const shown = path.relative(ctx.cwd, file).startsWith('..') ? file : path.relative(ctx.cwd, file);
  const rollout = await loadRollout(file, drivers, shown);
  const targets = selectTargets(rollout, args.target?.map(String));
  const zip = args.release !== undefined ? path.resolve(ctx.cwd, args.release) : rollout.release.zip;
  if (zip === undefined) throw new UsageError(`${shown}: no release: give release.zip in the file or --release ZIP`);
  const resolved = await resolveTargets(targets, spec, { env: ctx.env, warn: ctx.warn });
  const secrets = resolved.flatMap((t) => [...Object.values(t.credentials), ...Object.values(t.tenant)].filter(isSecret));
  const display = uploadDisplay(ctx);
  const zipShown = path.relative(ctx.cwd, zip).startsWith('..') ? zip : path.relative(ctx.cwd, zip);
  let report: RolloutReport;
  let version: string;
  try {
    const release = await loadRelease(zip, { spec, env: ctx.env, shown: zipShown, note: (m) => display.note(`note: ${m}`), signal: ctx.signal });
    const opts: EngineOptions = {
      drivers,
      parallel: args.parallel,
      signal: ctx.signal,
      onUploadProgress: display.progress,
      onNote: (target, m) => display.note(redact(`${target}: ${m}`, secrets)),
      ...(deps.http ? { http: deps.http } : {}),
    };
    version = release.version;
    report = mode === 'plan' ? await planRollout(resolved, release, opts) : await applyRollout(resolved, release, opts);
  } finally {
    display.stop();
  }
  return { report, version, rollout: shown, zip: zipShown, secrets };
}

/** `plan` or `apply`: read and check everything, then run the engine and report. */
export async function runRollout(mode: 'plan' | 'apply', args: RolloutArgs, ctx: CliContext, deps: RolloutDeps = {}): Promise<CommandResult> {
  const { report, rollout: shown, zip: zipShown, secrets } = await runEngine(mode, args, ctx, deps);
  const summary = summaryCounts(report);
  const failedTargets = report.targets.filter((t) => t.exitCode !== 0 && t.exitCode !== 8);
  // The error kind of the target that decided the exit code (network, rejected, interrupted …).
  const worst = report.targets.find((t) => t.exitCode === report.exitCode);
  const worstKind = worst?.error?.kind ?? worst?.objects.find((o) => o.error?.exitCode === report.exitCode)?.error?.kind ?? 'failed';
  return {
    text: redact(renderReport(report), secrets),
    json: redactDeep({ ok: report.exitCode === 0, mode, rollout: shown, release: { zip: zipShown }, summary, targets: report.targets }, secrets),
    exitCode: report.exitCode,
    failure: {
      kind: report.exitCode === 8 ? 'pending' : report.exitCode === 9 ? 'blocked' : worstKind,
      message: redact(report.exitCode === 8 ? `${summary.create + summary.update} change(s) pending` : `${failedTargets.length} of ${report.targets.length} target(s) blocked or failed`, secrets),
      problems: failedTargets.map((t) => redact(`${t.target}: ${t.error?.message ?? t.blocked ?? t.objects.find((o) => o.error)?.error?.message ?? `exit ${t.exitCode}`}`, secrets)),
    },
  };
}

/**
 * The MDM-neutral engine of `plan` and `apply` (issue 11). For each target (already validated, secrets read): connect
 * its driver, ask for the plan, and — for apply — perform the planned objects in the driver's order (smart group →
 * profiles → package → policy), skipping those unchanged. Targets run concurrently, at most `parallel` at a time;
 * one target's failure is recorded in its result and never stops the others.
 *
 * Rules of apply, per target:
 *  - a target with any `blocked` object applies nothing (the objects after a blocked one depend on it: a policy
 *    without its package, a package without its PPPC profile); its result says why;
 *  - objects are performed one at a time in plan order; the first failure stops that target (what follows depends
 *    on it), the rest are reported `not-run`;
 *  - an abort (SIGINT, ctx.signal) stops before the next object and before the next target; the object in flight is
 *    the driver's to stop (it gets the signal). A second `apply` finishes the job: objects are found by name.
 * Error messages are passed through redact() with the target's secrets, whatever the driver put in them.
 *
 * Exit codes (src/errors.ts, README): per target 0 nothing to do / all done, {@link ExitCode.pending} (plan only:
 * changes pending), {@link ExitCode.blocked} (something is blocked), or the error's own code (5 network, 6 refused
 * …); the run's is the worst target's ({@link worstExitCode}).
 */
import { AiwatchError, ExitCode, InterruptedError } from '../errors.js';
import { isSecret, redact, type Secret } from '../secret.js';
import type { DriverRegistry } from './file.js';
import type { DriverContext, MdmKind, MdmSession, PlannedObject, ReleaseContent, RequestCounts, ResolvedTarget } from './model.js';

/** Default bound on targets worked on at once (`--parallel`). */
export const DEFAULT_PARALLEL = 4;
/** The largest `--parallel` accepted. */
export const MAX_PARALLEL = 64;

export interface ErrorReport {
  kind: string;
  exitCode: number;
  message: string;
}

/** What happened to one object in `apply`; absent in `plan`. */
export type Outcome = 'done' | 'failed' | 'unchanged' | 'blocked' | 'not-run';

export interface ObjectReport extends PlannedObject {
  outcome?: Outcome;
  error?: ErrorReport;
}

export interface TargetReport {
  target: string;
  mdm: MdmKind;
  objects: ObjectReport[];
  /** The target could not be planned or applied as a whole (connection, credentials, abort). */
  error?: ErrorReport;
  /** Why nothing was applied (a blocked object), in words. */
  blocked?: string;
  counts: RequestCounts;
  exitCode: number;
}

export interface RolloutReport {
  mode: 'plan' | 'apply';
  targets: TargetReport[];
  exitCode: number;
}

export interface EngineOptions {
  drivers: DriverRegistry;
  /** Targets worked on at once (default {@link DEFAULT_PARALLEL}). */
  parallel?: number;
  signal: AbortSignal;
  onUploadProgress?: (target: string, objectName: string, done: number, total: number) => void;
  onNote?: (target: string, message: string) => void;
  /** A target finished (for a progress line). */
  onTarget?: (report: TargetReport) => void;
  http?: DriverContext['http'];
}

const ZERO: RequestCounts = { reads: 0, writes: 0, uploadedBytes: 0 };

/** Read every target's state and say what apply would do; writes nothing. */
export function planRollout(targets: readonly ResolvedTarget[], release: ReleaseContent, opts: EngineOptions): Promise<RolloutReport> {
  return run('plan', targets, release, opts);
}

/** Make every target match its plan (see the module comment for the rules). */
export function applyRollout(targets: readonly ResolvedTarget[], release: ReleaseContent, opts: EngineOptions): Promise<RolloutReport> {
  return run('apply', targets, release, opts);
}

async function run(mode: 'plan' | 'apply', targets: readonly ResolvedTarget[], release: ReleaseContent, opts: EngineOptions): Promise<RolloutReport> {
  const reports = await pool(targets, Math.max(1, Math.min(opts.parallel ?? DEFAULT_PARALLEL, MAX_PARALLEL)), async (t) => {
    const r = await runTarget(mode, t, release, opts);
    opts.onTarget?.(r);
    return r;
  });
  return { mode, targets: reports, exitCode: worstExitCode(reports.map((r) => r.exitCode)) };
}

/** Run `work` over `items`, at most `limit` at once; results in the items' order. */
async function pool<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

function secretsOf(t: ResolvedTarget): Secret[] {
  return [...Object.values(t.credentials), ...Object.values(t.tenant)].filter(isSecret);
}

/** An error as a report line: its kind and exit code, its message with the target's secrets masked. */
export function errorReport(e: unknown, secrets: readonly Secret[]): ErrorReport {
  if (e instanceof AiwatchError) return { kind: e.kind, exitCode: e.exitCode, message: redact(e.message, secrets) };
  const message = e instanceof Error ? e.message : String(e);
  return { kind: 'internal', exitCode: ExitCode.tool, message: redact(message, secrets) };
}

async function runTarget(mode: 'plan' | 'apply', t: ResolvedTarget, release: ReleaseContent, opts: EngineOptions): Promise<TargetReport> {
  const secrets = secretsOf(t);
  const report: TargetReport = { target: t.name, mdm: t.mdm, objects: [], counts: { ...ZERO }, exitCode: ExitCode.ok };
  const fail = (e: unknown): TargetReport => {
    report.error = errorReport(e, secrets);
    report.exitCode = report.error.exitCode;
    return report;
  };
  if (opts.signal.aborted) return fail(new InterruptedError(`target ${t.name}: not started (interrupted)`));
  const driver = opts.drivers[t.mdm];
  if (!driver) return fail(new Error(`target ${t.name}: no driver for mdm "${t.mdm}"`));
  const ctx: DriverContext = {
    signal: opts.signal,
    onUploadProgress: opts.onUploadProgress && ((name, done, total) => opts.onUploadProgress!(t.name, name, done, total)),
    onNote: opts.onNote && ((m) => opts.onNote!(t.name, redact(m, secrets))),
    ...(opts.http ? { http: opts.http } : {}),
  };
  let session: MdmSession | undefined;
  try {
    session = await driver.connect(t, release, ctx);
    report.objects = (await session.plan()).map((o) => ({ ...o }));
    if (mode === 'plan') report.exitCode = planExitCode(report.objects);
    else await applyObjects(session, report, opts.signal, secrets);
  } catch (e) {
    fail(e);
  } finally {
    if (session) {
      report.counts = { ...session.counts() };
      await session.close().catch(() => undefined);
    }
  }
  return report;
}

/** 0 nothing to do, 8 changes pending, 9 something blocked. */
function planExitCode(objects: readonly PlannedObject[]): number {
  if (objects.some((o) => o.action === 'blocked')) return ExitCode.blocked;
  if (objects.some((o) => o.action === 'create' || o.action === 'update')) return ExitCode.pending;
  return ExitCode.ok;
}

async function applyObjects(session: MdmSession, report: TargetReport, signal: AbortSignal, secrets: readonly Secret[]): Promise<void> {
  const blocked = report.objects.filter((o) => o.action === 'blocked');
  if (blocked.length > 0) {
    report.blocked = `nothing applied: ${blocked.map((o) => `${o.kind} "${o.name}" is blocked${o.reason ? ` (${o.reason})` : ''}`).join('; ')}`;
    for (const o of report.objects) o.outcome = o.action === 'blocked' ? 'blocked' : o.action === 'unchanged' ? 'unchanged' : 'not-run';
    report.exitCode = ExitCode.blocked;
    return;
  }
  let stopped = false;
  for (const o of report.objects) {
    if (o.action === 'unchanged') {
      o.outcome = 'unchanged';
      continue;
    }
    if (stopped) {
      o.outcome = 'not-run';
      continue;
    }
    if (signal.aborted) {
      o.outcome = 'not-run';
      stopped = true;
      report.error = errorReport(new InterruptedError(`target ${report.target}: interrupted before ${o.kind} "${o.name}"`), secrets);
      report.exitCode = report.error.exitCode;
      continue;
    }
    try {
      await session.apply(o);
      o.outcome = 'done';
    } catch (e) {
      o.outcome = 'failed';
      o.error = errorReport(e, secrets);
      report.exitCode = o.error.exitCode;
      stopped = true;
    }
  }
}

/**
 * The run's exit code from its targets': an error outranks blocked, which outranks pending, which outranks 0;
 * among errors, interrupted (130) first, then the highest code.
 */
export function worstExitCode(codes: readonly number[]): number {
  const rank = (c: number): number => (c === ExitCode.ok ? 0 : c === ExitCode.pending ? 1 : c === ExitCode.blocked ? 2 : c === ExitCode.interrupted ? 1000 : 10 + c);
  return codes.reduce((worst, c) => (rank(c) > rank(worst) ? c : worst), ExitCode.ok as number);
}

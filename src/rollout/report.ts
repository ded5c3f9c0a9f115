/**
 * The text of a plan or apply report: one table per target (object kind, name, action — and for apply its outcome —
 * and a summary of the diff or the reason), then one summary line. Values are cut to a width and quoted as JSON
 * (control characters escaped: names come from a server); a field marked secret is shown only as its hash
 * (src/rollout/marker.ts secretShown), whatever the driver put in it.
 */
import { secretShown } from './marker.js';
import type { FieldDiff, FieldValue } from './model.js';
import type { ObjectReport, RolloutReport, TargetReport } from './engine.js';

const VALUE_WIDTH = 40;
const DIFFS_SHOWN = 3;

function value(v: FieldValue, secret: boolean | undefined): string {
  if (v === null) return '(none)';
  if (secret && !(typeof v === 'string' && /^sha256:[0-9a-f]{12}$/.test(v))) return secretShown(String(v));
  if (typeof v !== 'string') return String(v);
  const cut = v.length > VALUE_WIDTH ? `${v.slice(0, VALUE_WIDTH - 1)}…` : v;
  return JSON.stringify(cut);
}

/** Printable text from a server (a name): control and bidi characters escaped. */
export function safe(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function diffSummary(diff: readonly FieldDiff[], action: string): string {
  if (action === 'create') return diff.length > 0 ? `new: ${diff.map((d) => d.field).slice(0, 6).join(', ')}${diff.length > 6 ? ', …' : ''}` : 'new';
  const shown = diff.slice(0, DIFFS_SHOWN).map((d) => `${d.field}: ${value(d.from, d.secret)} → ${value(d.to, d.secret)}`);
  if (diff.length > DIFFS_SHOWN) shown.push(`+${diff.length - DIFFS_SHOWN} more`);
  return shown.join('; ');
}

function details(o: ObjectReport): string {
  if (o.error) return safe(o.error.message);
  if (o.action === 'blocked') return safe(o.reason ?? 'blocked');
  if (o.action === 'unchanged') return '';
  const d = diffSummary(o.diff, o.action);
  return safe(o.reason ? `${d} (${o.reason})` : d);
}

/** Rows as aligned columns (the first row is the header), each line indented by two spaces. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd());
}

function counts(objects: readonly ObjectReport[]): string {
  const by = (a: string): number => objects.filter((o) => o.action === a).length;
  return [['create', by('create')], ['update', by('update')], ['unchanged', by('unchanged')], ['blocked', by('blocked')]]
    .filter(([, n]) => n !== 0)
    .map(([a, n]) => `${n} ${a}`)
    .join(', ');
}

/** One target's block of text. */
export function renderTarget(t: TargetReport, mode: 'plan' | 'apply'): string {
  const head = `${safe(t.target)} (${t.mdm}): ${t.error && t.objects.length === 0 ? 'FAILED' : counts(t.objects) || 'nothing'} — requests: ${t.counts.reads} read, ${t.counts.writes} write${t.counts.uploadedBytes ? `, ${t.counts.uploadedBytes} bytes uploaded` : ''}`;
  const lines = [head];
  if (t.objects.length > 0) {
    const header = mode === 'apply' ? ['KIND', 'NAME', 'ACTION', 'RESULT', 'DETAILS'] : ['KIND', 'NAME', 'ACTION', 'DETAILS'];
    const rows = t.objects.map((o) => {
      const base = [o.kind, safe(o.name), o.action];
      return mode === 'apply' ? [...base, o.outcome ?? '', details(o)] : [...base, details(o)];
    });
    lines.push(...table([header, ...rows]));
  }
  if (t.blocked) lines.push(`  ${safe(t.blocked)}`);
  if (t.error) lines.push(`  error (${t.error.kind}, exit ${t.error.exitCode}): ${safe(t.error.message)}`);
  return lines.join('\n');
}

/** Every target's block, then the summary line. */
export function renderReport(r: RolloutReport): string {
  return [...r.targets.map((t) => renderTarget(t, r.mode)), summaryLine(r)].join('\n\n');
}

export function summaryLine(r: RolloutReport): string {
  const n = r.targets.length;
  const failed = r.targets.filter((t) => t.error !== undefined || t.objects.some((o) => o.outcome === 'failed')).length;
  const blocked = r.targets.filter((t) => !t.error && t.objects.some((o) => o.action === 'blocked')).length;
  const writes = r.targets.reduce((s, t) => s + t.counts.writes, 0);
  const reads = r.targets.reduce((s, t) => s + t.counts.reads, 0);
  if (r.mode === 'plan') {
    const pending = r.targets.filter((t) => !t.error && !t.objects.some((o) => o.action === 'blocked') && t.objects.some((o) => o.action === 'create' || o.action === 'update')).length;
    return `plan: ${n} target(s): ${pending} with changes pending, ${n - pending - blocked - failed} up to date, ${blocked} blocked, ${failed} failed (${reads} read requests, ${writes} write)`;
  }
  const done = r.targets.filter((t) => t.exitCode === 0).length;
  return `apply: ${n} target(s): ${done} done, ${blocked} blocked, ${failed} failed (${reads} read requests, ${writes} write)`;
}

/** Counts for the --json summary. */
export interface SummaryCounts {
  targets: number;
  failedTargets: number;
  blockedTargets: number;
  create: number;
  update: number;
  unchanged: number;
  blocked: number;
  reads: number;
  writes: number;
  uploadedBytes: number;
}

export function summaryCounts(r: RolloutReport): SummaryCounts {
  const objects = r.targets.flatMap((t) => t.objects);
  return {
    targets: r.targets.length,
    failedTargets: r.targets.filter((t) => t.error !== undefined || t.objects.some((o) => o.outcome === 'failed')).length,
    blockedTargets: r.targets.filter((t) => t.objects.some((o) => o.action === 'blocked')).length,
    create: objects.filter((o) => o.action === 'create').length,
    update: objects.filter((o) => o.action === 'update').length,
    unchanged: objects.filter((o) => o.action === 'unchanged').length,
    blocked: objects.filter((o) => o.action === 'blocked').length,
    reads: r.targets.reduce((s, t) => s + t.counts.reads, 0),
    writes: r.targets.reduce((s, t) => s + t.counts.writes, 0),
    uploadedBytes: r.targets.reduce((s, t) => s + t.counts.uploadedBytes, 0),
  };
}

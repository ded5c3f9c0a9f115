/**
 * `status` (issue 15): one table across every target of every MDM, made from a plan report (the engine's
 * planRollout: GET requests only, so status never writes). Per target: the aiwatch version the MDM delivers, per
 * profile the marker hash found and whether it is the one this release and target ask for, the objects drifted
 * (changed in the console since we made them), what is pending (create / update), what is blocked, and an error.
 *
 * Where the facts come from: each driver fills PlannedObject.observed (rollout/model.ts) from the object it found —
 * the hash in its marker, and for the package / app / policy the aiwatch version it carries. Nothing here reads a
 * server. Texts from a server (names, versions) are escaped and cut, as in the plan report (report.ts).
 *
 * A target's state, the worst first: error (it could not be read), blocked, drifted, pending, current. Drifted and
 * pending are disjoint: an update whose marker already holds the desired hash is drift; any other update, and every
 * create, is pending. The exit code is plan's (engine.ts): 0 all current, 8 pending or drifted, 9 blocked, else the
 * error's code; the worst target decides (docs/decisions.md "status exit codes").
 */
import type { ErrorReport, ObjectReport, RolloutReport, TargetReport } from './engine.js';
import type { MdmKind, ObjectKind, RequestCounts } from './model.js';
import { safe, table } from './report.js';

/** Hex digits of a marker hash shown in the table (the JSON has all 64). */
export const SHORT_HASH = 8;
/** A version read from a server is cut to this many characters. */
const VERSION_WIDTH = 64;

/**
 * A profile as found: `current` (our marker with the desired hash, fields as desired), `drift` (desired hash, a
 * field changed since), `differs` (our marker with another hash: another release, or other tenant or scope values),
 * `unmarked` (there, without our marker), `missing` (not there).
 */
export type ProfileState = 'current' | 'drift' | 'differs' | 'unmarked' | 'missing';

export type TargetState = 'current' | 'pending' | 'drifted' | 'blocked' | 'error';

export interface ProfileStatus {
  /** The table column: `PPPC`, `login items`, `tenant settings` (see {@link column}), else part of the name. */
  column: string;
  name: string;
  /** The marker hash found (64 hex), or null. */
  hash: string | null;
  /** The hash this release and target ask for. */
  desired: string;
  state: ProfileState;
}

export interface ObjectLine {
  kind: ObjectKind;
  name: string;
  action: 'create' | 'update' | 'blocked';
  /** The fields that differ (update), or the reason (blocked). */
  fields?: string[];
  reason?: string;
}

export interface TargetStatus {
  target: string;
  mdm: MdmKind;
  state: TargetState;
  exitCode: number;
  /** The aiwatch versions the MDM's package / app / policy carry, distinct, in plan order (usually one; none: []). */
  versions: string[];
  profiles: ProfileStatus[];
  drifted: ObjectLine[];
  pending: ObjectLine[];
  blocked: ObjectLine[];
  error?: ErrorReport;
  counts: RequestCounts;
}

export interface StatusSummary {
  targets: number;
  current: number;
  pending: number;
  drifted: number;
  blocked: number;
  failed: number;
  reads: number;
  writes: number;
}

export interface RolloutStatus {
  /** The release compared against. */
  version: string;
  targets: TargetStatus[];
  summary: StatusSummary;
  exitCode: number;
}

/**
 * The profile's column, from its name: drivers name profiles their own way (Jamf and Intune `aiwatch — PPPC`; Fleet
 * and Kandji may use the profile's display name, `AI Watch: privacy permissions (PPPC)`), so the three roles are
 * recognised by words — the tenant profile first, as only its name holds a host — and any other profile gets the
 * part of its name after the last " — " or ": ".
 */
export function column(name: string): string {
  if (/tenant settings/i.test(name)) return 'tenant settings';
  if (/login items/i.test(name)) return 'login items';
  if (/\bPPPC\b|privacy permissions/i.test(name)) return 'PPPC';
  const at = Math.max(name.lastIndexOf(' — ') + 3, name.lastIndexOf(': ') + 2);
  return at > 2 && at < name.length ? name.slice(at) : name;
}

function profileStatus(o: ObjectReport): ProfileStatus {
  const hash = o.observed?.hash ?? null;
  const state: ProfileState =
    o.observed === undefined ? 'missing' : hash === null ? 'unmarked' : hash !== o.hash ? 'differs' : o.action === 'update' ? 'drift' : 'current';
  return { column: column(o.name), name: o.name, hash, desired: o.hash, state };
}

const isDrift = (o: ObjectReport): boolean => o.action === 'update' && o.observed?.hash !== undefined && o.observed.hash === o.hash;

function line(o: ObjectReport): ObjectLine {
  if (o.action === 'blocked') return { kind: o.kind, name: o.name, action: 'blocked', ...(o.reason ? { reason: o.reason } : {}) };
  const action = o.action === 'create' ? 'create' : 'update';
  return { kind: o.kind, name: o.name, action, ...(action === 'update' ? { fields: o.diff.map((d) => d.field) } : {}), ...(o.reason ? { reason: o.reason } : {}) };
}

function stateOf(t: TargetReport, s: Pick<TargetStatus, 'drifted' | 'pending' | 'blocked'>): TargetState {
  if (t.error) return 'error';
  if (s.blocked.length > 0) return 'blocked';
  if (s.drifted.length > 0) return 'drifted';
  if (s.pending.length > 0) return 'pending';
  return 'current';
}

/** One target's status from its plan report. */
export function targetStatus(t: TargetReport): TargetStatus {
  const versions: string[] = [];
  for (const o of t.objects) {
    const v = o.observed?.version;
    if (v !== undefined && v !== '') {
      const cut = v.length > VERSION_WIDTH ? `${v.slice(0, VERSION_WIDTH - 1)}…` : v;
      if (!versions.includes(cut)) versions.push(cut);
    }
  }
  const parts = {
    drifted: t.objects.filter(isDrift).map(line),
    pending: t.objects.filter((o) => (o.action === 'create' || o.action === 'update') && !isDrift(o)).map(line),
    blocked: t.objects.filter((o) => o.action === 'blocked').map(line),
  };
  return {
    target: t.target,
    mdm: t.mdm,
    state: stateOf(t, parts),
    exitCode: t.exitCode,
    versions,
    profiles: t.objects.filter((o) => o.kind === 'profile').map(profileStatus),
    ...parts,
    ...(t.error ? { error: t.error } : {}),
    counts: { ...t.counts },
  };
}

/** The status of every target of a plan report, compared with release `version`. */
export function rolloutStatus(report: RolloutReport, version: string): RolloutStatus {
  const targets = report.targets.map(targetStatus);
  const n = (s: TargetState): number => targets.filter((t) => t.state === s).length;
  return {
    version,
    targets,
    summary: {
      targets: targets.length,
      current: n('current'),
      pending: n('pending'),
      drifted: n('drifted'),
      blocked: n('blocked'),
      failed: n('error'),
      reads: targets.reduce((s, t) => s + t.counts.reads, 0),
      writes: targets.reduce((s, t) => s + t.counts.writes, 0),
    },
    exitCode: report.exitCode,
  };
}

function profileCell(t: TargetStatus, column: string): string {
  const p = t.profiles.find((x) => x.column === column);
  if (!p) return t.error ? '?' : '';
  if (p.hash === null) return p.state === 'missing' ? 'missing' : 'no marker';
  return `${p.hash.slice(0, SHORT_HASH)} ${p.state}`;
}

function pendingCell(t: TargetStatus): string {
  const create = t.pending.filter((o) => o.action === 'create').length;
  const update = t.pending.length - create;
  return [create ? `${create} create` : '', update ? `${update} update` : ''].filter(Boolean).join(', ') || '0';
}

function detailLines(t: TargetStatus): string[] {
  const name = (o: ObjectLine): string => `${o.kind} ${JSON.stringify(o.name)}`;
  const fields = (o: ObjectLine): string => (o.fields && o.fields.length > 0 ? ` (${o.fields.slice(0, 6).join(', ')}${o.fields.length > 6 ? ', …' : ''})` : '');
  const out: string[] = [];
  if (t.drifted.length > 0) out.push(`drifted: ${t.drifted.map((o) => `${name(o)}${fields(o)}`).join('; ')}`);
  const updates = t.pending.filter((o) => o.action === 'update');
  if (updates.length > 0) out.push(`update: ${updates.map((o) => `${name(o)}${fields(o)}`).join('; ')}`);
  if (t.blocked.length > 0) out.push(`blocked: ${name(t.blocked[0]!)}: ${t.blocked[0]!.reason ?? 'blocked'}${t.blocked.length > 1 ? ` (+${t.blocked.length - 1} more)` : ''}`);
  if (t.error) out.push(`error (${t.error.kind}, exit ${t.error.exitCode}): ${t.error.message}`);
  return out.map((l) => `  ${safe(t.target)}: ${safe(l)}`);
}

/** The table, the detail lines of the targets that are not current, and the summary line. */
export function renderStatus(s: RolloutStatus): string {
  const columns: string[] = [];
  for (const t of s.targets) for (const p of t.profiles) if (!columns.includes(p.column)) columns.push(p.column);
  const header = ['TARGET', 'MDM', 'AIWATCH', ...columns.map((c) => safe(c.toUpperCase())), 'DRIFTED', 'PENDING', 'BLOCKED', 'ERROR', 'STATE'];
  const rows = s.targets.map((t) => [
    safe(t.target),
    t.mdm,
    t.versions.length > 0 ? safe(t.versions.join(', ')) : t.error ? '?' : 'none',
    ...columns.map((c) => profileCell(t, c)),
    String(t.drifted.length),
    pendingCell(t),
    String(t.blocked.length),
    t.error ? `${t.error.kind} (${t.error.exitCode})` : '-',
    t.state,
  ]);
  const sum = s.summary;
  return [
    `release ${safe(s.version)}: hashes are the first ${SHORT_HASH} hex of each profile's marker; "current" = what this release and target ask for`,
    ...table([header, ...rows]),
    ...s.targets.flatMap(detailLines),
    '',
    `status: ${sum.targets} target(s): ${sum.current} current, ${sum.pending} pending, ${sum.drifted} drifted, ${sum.blocked} blocked, ${sum.failed} failed (${sum.reads} read requests, ${sum.writes} write)`,
  ].join('\n');
}

/** The `error` of the --json output when the exit code is not 0: its kind, one line, and one problem per target. */
export function statusFailure(s: RolloutStatus): { kind: string; message: string; problems: string[] } {
  const off = s.targets.filter((t) => t.state !== 'current');
  const decided = s.targets.find((t) => t.exitCode === s.exitCode);
  const kind = s.exitCode === 8 ? 'pending' : s.exitCode === 9 ? 'blocked' : (decided?.error?.kind ?? 'failed');
  const why = (t: TargetStatus): string =>
    t.error?.message ?? (t.state === 'blocked' ? `${t.blocked.length} object(s) blocked` : `${t.drifted.length} drifted, ${t.pending.length} pending`);
  return {
    kind,
    message: `${off.length} of ${s.targets.length} target(s) not current`,
    problems: off.map((t) => `${t.target}: ${t.state}: ${why(t)}`),
  };
}

/**
 * launchd unit definitions (`launchd/*.json`, read by spec.ts) → the LaunchdUnit the generators and scripts use,
 * with the exact dictionary that will be serialised to `/Library/Launch{Agents,Daemons}/<Label>.plist`. Part of
 * loading the spec, so it lives in config/ (src/launchd/ renders the plists from it).
 *
 * The EnrollmentKey gate: enroll and bootstrap must do nothing until the tenant profile carrying EnrollmentKey has
 * arrived. They run `/bin/sh -c GATE <binary> <args…>`: the gate reads the key from the device-level managed
 * preferences and `exit 0`s when it is absent or empty — exit 0, not non-zero, because the bootstrap daemon has
 * KeepAlive {SuccessfulExit: false} and a failing gate would be respawned every ThrottleInterval forever. When the
 * key is there it `exec`s the binary with the arguments, passed as positional parameters ($0 "$@") so no value is
 * ever parsed by the shell.
 */
import { shQuote } from '../render/templates.js';
import type { LaunchdUnit } from './spec-types.js';
import { ENROLLMENT_KEY } from './tenant-keys.js';

/** The JSON form of a unit in `launchd/*.json` (see schemas/launchd-unit.schema.json). */
export interface LaunchdUnitDef {
  label: string;
  kind: 'agent' | 'daemon';
  arguments: string[];
  enrollmentGate: boolean;
  runAtLoad: boolean;
  startInterval?: number;
  throttleInterval?: number;
  keepAlive?: { successfulExit: boolean };
  limitLoadToSessionType?: string;
  processType?: string;
}

/** `/Library/Managed Preferences/<domain>.plist`: where device-level managed preferences land. */
export function managedPreferencesPath(domain: string): string {
  return `/Library/Managed Preferences/${domain}.plist`;
}

/** The `/bin/sh -c` gate script; `$0` is the binary, `"$@"` its arguments. */
export function enrollmentGateScript(domain: string): string {
  const prefs = shQuote(managedPreferencesPath(domain));
  return [
    `key=$(/usr/libexec/PlistBuddy -c 'Print :${ENROLLMENT_KEY}' ${prefs} 2>/dev/null) || exit 0`,
    `[ -n "$key" ] || exit 0`,
    `exec "$0" "$@"`,
  ].join('; ');
}

export function unitPlistPath(kind: 'agent' | 'daemon', label: string): string {
  return `/Library/${kind === 'agent' ? 'LaunchAgents' : 'LaunchDaemons'}/${label}.plist`;
}

/** Resolve a unit definition against the spec values it refers to. */
export function resolveUnit(def: LaunchdUnitDef, v: { labelPrefix: string; installPath: string; domain: string }): LaunchdUnit {
  const label = def.label.replace('{labelPrefix}', v.labelPrefix);
  const programArguments = def.enrollmentGate
    ? ['/bin/sh', '-c', enrollmentGateScript(v.domain), v.installPath, ...def.arguments]
    : [v.installPath, ...def.arguments];
  // Keys in the order launchd.plist(5) documents them; the serializer keeps insertion order.
  const plist: Record<string, unknown> = { Label: label, ProgramArguments: programArguments, RunAtLoad: def.runAtLoad };
  if (def.startInterval !== undefined) plist.StartInterval = def.startInterval;
  if (def.keepAlive) plist.KeepAlive = { SuccessfulExit: def.keepAlive.successfulExit };
  if (def.throttleInterval !== undefined) plist.ThrottleInterval = def.throttleInterval;
  if (def.limitLoadToSessionType) plist.LimitLoadToSessionType = def.limitLoadToSessionType;
  if (def.processType) plist.ProcessType = def.processType;
  return {
    label,
    kind: def.kind,
    plistPath: unitPlistPath(def.kind, label),
    arguments: [...def.arguments],
    enrollmentGate: def.enrollmentGate,
    plist,
  };
}

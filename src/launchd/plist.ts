/**
 * launchd unit plists: the dictionary resolved in units.ts, serialised as an XML property list. Keys keep the
 * order units.ts builds them in (the order launchd.plist(5) documents them), so the output is byte-stable and
 * reads like Apple's examples. Installed root:wheel 0644 by the package; this module only renders the bytes.
 */
import type { LaunchdUnit } from '../config/spec-types.js';
import { serializePlist, type PlistDict } from '../formats/plist-serialize.js';

/** `<Label>.plist`, the file name launchd expects for a unit. */
export function launchdFileName(unit: Pick<LaunchdUnit, 'label'>): string {
  return `${unit.label}.plist`;
}

export function renderLaunchdPlist(unit: LaunchdUnit): string {
  return serializePlist(unit.plist as PlistDict);
}

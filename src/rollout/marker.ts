/**
 * The marker every object we make in an MDM carries (issue 11): one line in a free-text field (a description, notes)
 *
 *     aiwatch-deploy: <kind> sha256=<64 hex> version=<release version>
 *
 * holding the hash of the desired content the object was made from. `plan` reads it back to tell an object we made
 * (and from which content) from one made by hand, and to call a difference "drift" when the marker still matches what
 * is desired but the fields no longer do. The rest of the field is the admin's: writing a marker replaces our line and
 * keeps every other line as it was.
 *
 * The text comes from a server, so reading is bounded: only the first {@link MARKER_SCAN_LIMIT} characters are looked
 * at, line by line, with an anchored pattern of bounded repetitions (no backtracking blow-up on hostile text).
 *
 * The content hash is SHA-256 over canonical JSON (object keys sorted, no whitespace) of the desired fields. A
 * {@link Secret} enters it as the SHA-256 of its value (a changed key changes the hash; the value itself is never part
 * of any string we build), bytes as the SHA-256 of the bytes.
 */
import { createHash } from 'node:crypto';
import { isSecret, type Secret } from '../secret.js';

export interface Marker {
  /** What the object is for us: an ObjectKind (`profile`, `package`, …) or a finer role (`profile-pppc`). */
  kind: string;
  /** The desired content hash, 64 lowercase hex. */
  sha256: string;
  /** The release version the object was made for. */
  version: string;
}

/** How much of a free-text field is scanned for a marker (a Jamf notes field is far shorter; hostile text is not). */
export const MARKER_SCAN_LIMIT = 64 * 1024;

const PREFIX = 'aiwatch-deploy:';
const KIND = /^[a-z][a-z0-9-]{0,39}$/;
const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const LINE = /^aiwatch-deploy: ([a-z][a-z0-9-]{0,39}) sha256=([0-9a-f]{64}) version=([0-9A-Za-z][0-9A-Za-z.+_-]{0,63})$/;

/** The marker's one line; throws on a kind, hash or version that would not read back (a programming error). */
export function formatMarker(marker: Marker): string {
  if (!KIND.test(marker.kind)) throw new Error(`marker kind must match ${KIND.source}, got ${JSON.stringify(marker.kind)}`);
  if (!HEX64.test(marker.sha256)) throw new Error(`marker sha256 must be 64 lowercase hex, got ${JSON.stringify(marker.sha256)}`);
  if (!VERSION.test(marker.version)) {
    throw new Error(`marker version must match ${VERSION.source}, got ${JSON.stringify(marker.version)}`);
  }
  return `${PREFIX} ${marker.kind} sha256=${marker.sha256} version=${marker.version}`;
}

/**
 * `text` with our marker line replaced by `marker` (every earlier marker line removed, the admin's lines kept in
 * order), the marker last. Empty or missing text gives the marker alone.
 */
export function writeMarker(text: string | null | undefined, marker: Marker): string {
  const line = formatMarker(marker);
  // Split on LF only: an admin's CRLF lines keep their CR, so writing the same marker twice gives the same text.
  const kept = (text ?? '')
    .split('\n')
    .filter((l) => !l.trimStart().startsWith(PREFIX));
  while (kept.length > 0 && kept[kept.length - 1]!.trim() === '') kept.pop();
  return kept.length === 0 ? line : `${kept.join('\n')}\n${line}`;
}

/** The first well-formed marker line in the first {@link MARKER_SCAN_LIMIT} characters of `text`, or undefined. */
export function readMarker(text: string | null | undefined): Marker | undefined {
  if (typeof text !== 'string' || text.length === 0) return undefined;
  const scanned = text.length > MARKER_SCAN_LIMIT ? text.slice(0, MARKER_SCAN_LIMIT) : text;
  let start = 0;
  while (start <= scanned.length) {
    let end = scanned.indexOf('\n', start);
    if (end < 0) end = scanned.length;
    const line = scanned.slice(start, end).trim();
    // A marker line is at most ~190 characters; a longer line is not looked into.
    if (line.length <= 256 && line.startsWith(PREFIX)) {
      const m = LINE.exec(line);
      if (m) return { kind: m[1]!, sha256: m[2]!, version: m[3]! };
    }
    start = end + 1;
  }
  return undefined;
}

/** A desired value as the hash sees it: JSON data, a Secret, or bytes. */
export type Hashable =
  | string
  | number
  | boolean
  | null
  | undefined
  | Secret
  | Uint8Array
  | readonly Hashable[]
  | { readonly [key: string]: Hashable };

/**
 * Canonical JSON of `value`: object keys sorted by code unit, no whitespace, undefined members dropped; a Secret as
 * `{"secret-sha256":"<hex>"}`, bytes as `{"bytes-sha256":"<hex>"}`. Non-finite numbers are refused.
 */
export function canonicalJson(value: Hashable): string {
  return JSON.stringify(canonical(value));
}

function canonical(v: Hashable): unknown {
  if (v === null || v === undefined) return null;
  if (isSecret(v)) return { 'secret-sha256': sha256Hex(v.reveal()) };
  if (v instanceof Uint8Array) return { 'bytes-sha256': sha256Hex(v) };
  if (Array.isArray(v)) return (v as readonly Hashable[]).map(canonical);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`canonical JSON: a number must be finite, got ${v}`);
    return v;
  }
  if (typeof v === 'object') {
    const o = v as { readonly [key: string]: Hashable };
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o).sort()) if (o[k] !== undefined) out[k] = canonical(o[k]);
    return out;
  }
  return v;
}

/** SHA-256 (64 lowercase hex) of the canonical JSON of the desired fields: the marker's hash. */
export function contentHash(desired: Hashable): string {
  return sha256Hex(canonicalJson(desired));
}

/** How a secret appears in a plan's diff: `sha256:` and the first 12 hex of its SHA-256 (never the value). */
export function secretShown(value: string | Secret): string {
  const raw = typeof value === 'string' ? value : value.reveal();
  return `sha256:${sha256Hex(raw).slice(0, 12)}`;
}

function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

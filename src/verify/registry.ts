/**
 * The verifier registry behind `aiwatch-deploy verify FILE…`. Each kind of artifact (configuration profile, signed
 * profile, launchd plist, Jamf schema, … and later pkg, zip) registers a verifier: a cheap `detect` that sniffs the
 * first bytes of a file, and a `check` that reads the file and returns every problem found. `verify` picks, for
 * each file, the registered verifier with the highest priority whose `detect` accepts it.
 *
 * To add a kind: call {@link registerVerifier} in your module and import that module from src/verify/all.ts.
 * Registering an existing kind again replaces it (e.g. a real signed-profile verifier replacing the placeholder).
 */
import { open } from 'node:fs/promises';
import type { DeploymentSpec } from '../config/spec-types.js';
import type { Problem } from '../errors.js';

/** How many leading bytes `detect` sees. */
export const HEAD_BYTES = 64 * 1024;

/** The first {@link HEAD_BYTES} bytes of a file (fewer when it is shorter), what `detect` is given. */
export async function readHead(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export interface VerifyContext {
  /** The deployment spec (`--spec`), for checks of our own artifacts (tenant keys, designated requirement). */
  spec: DeploymentSpec;
  env: NodeJS.ProcessEnv;
  /** Tell the user something that is not a problem (e.g. a check that could not run). */
  note: (message: string) => void;
  signal?: AbortSignal;
  /** `--ca-file`: PEM trust anchors that Authenticode-signed scripts must chain to (osslsigncode verify). Default: none. */
  caFile?: string;
}

export interface Verifier {
  /** Short machine name shown in output, e.g. `mobileconfig`, `launchd-plist`, `pkg`. */
  kind: string;
  /** Human description, e.g. `configuration profile`. */
  describe: string;
  /** Higher wins when several detectors accept a file (default 0; catch-alls use negative values). */
  priority?: number;
  /** Does this file look like our kind? `head` holds up to HEAD_BYTES leading bytes. Must not throw. */
  detect: (head: Uint8Array, file: string) => boolean;
  /** Read `file` and return every problem (empty: none). Throw only for I/O failures. */
  check: (file: string, ctx: VerifyContext) => Promise<Problem[]>;
}

const registry: Verifier[] = [];

/** Add a verifier, replacing an earlier one of the same kind. */
export function registerVerifier(v: Verifier): void {
  const i = registry.findIndex((r) => r.kind === v.kind);
  if (i >= 0) registry.splice(i, 1, v);
  else registry.push(v);
}

/** Registered verifiers, highest priority first (registration order among equals). */
export function registeredVerifiers(): Verifier[] {
  return registry.map((v, i) => ({ v, i })).sort((a, b) => (b.v.priority ?? 0) - (a.v.priority ?? 0) || a.i - b.i).map((x) => x.v);
}

/** The verifier for a file, given its leading bytes. */
export function detectVerifier(head: Uint8Array, file: string): Verifier | undefined {
  return registeredVerifiers().find((v) => {
    try {
      return v.detect(head, file);
    } catch {
      return false;
    }
  });
}

/** Sniffing helpers for detectors. */
export function headText(head: Uint8Array): string {
  return Buffer.from(head).toString('utf8').replace(/^\uFEFF/, '').trimStart();
}

export function startsWithBytes(head: Uint8Array, magic: string | number[]): boolean {
  const m = typeof magic === 'string' ? Buffer.from(magic, 'latin1') : Buffer.from(magic);
  return head.length >= m.length && Buffer.from(head.subarray(0, m.length)).equals(m);
}

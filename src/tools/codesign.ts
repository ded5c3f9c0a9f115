/**
 * Code signing of a Mach-O binary by an external tool, through runTool (the one spawn boundary):
 *   - Apple's `codesign` (macOS only; the identity lives in a keychain):
 *       codesign --sign NAME --force --options runtime --timestamp[=URL|=none] --identifier ID [--keychain K] FILE
 *     It signs FILE in place. `--timestamp` alone asks Apple's server; codesign takes a URL only in the `=` form
 *     (its options with optional values ignore a separate word).
 *   - `rcodesign sign` (apple-codesign, a Rust re-implementation that runs on Linux; the identity is a .p12 file):
 *       rcodesign sign --p12-file P --p12-password-file F --code-signature-flags runtime --binary-identifier ID
 *                      --timestamp-url URL|none INPUT OUTPUT
 *     The password goes in a 0600 file the caller wrote (never argv, never the environment of a logged command).
 *
 * Why not @electron/osx-sign: it signs `.app` bundles (walks Contents/, picks entitlements per Electron helper) and
 * spawns codesign itself, outside our spawn boundary; for one Mach-O the codesign argv above is the whole job.
 * The argv builders are pure and exported so tests can pin them; the runners only add runTool.
 * Not covered: entitlements, bundles, detached signatures, verifying (src/sign/binary-check.ts reads signatures back).
 */
import type { Secret } from '../secret.js';
import { runTool } from './run.js';

export const CODESIGN = 'codesign';
export const RCODESIGN = 'rcodesign';

export interface CodesignArgs {
  /** File to sign in place. */
  file: string;
  /** Keychain identity: its common name ("Developer ID Application: …") or SHA-1 hash. */
  identity: string;
  /** Signing identifier sealed into the CodeDirectory (the spec's `identifier`). */
  identifier: string;
  /** Time-stamp server; undefined: Apple's default; null: none. */
  timestampUrl?: string | null;
  /** Keychain file to search instead of the default search list. */
  keychain?: string;
}

/** `codesign` argv for a Developer ID release signature: hardened runtime, secure timestamp, explicit identifier. */
export function codesignArgs(a: CodesignArgs): string[] {
  const ts = a.timestampUrl === null ? '--timestamp=none' : a.timestampUrl === undefined ? '--timestamp' : `--timestamp=${a.timestampUrl}`;
  const args = ['--sign', a.identity, '--force', '--options', 'runtime', ts, '--identifier', a.identifier];
  if (a.keychain) args.push('--keychain', a.keychain);
  args.push(a.file);
  return args;
}

export interface RcodesignArgs {
  input: string;
  output: string;
  /** The Developer ID Application identity as a PKCS#12 file. */
  p12: string;
  /** A 0600 file holding exactly the .p12 password. */
  passwordFile: string;
  identifier: string;
  /** Time-stamp server (rcodesign's default is Apple's too, but we say it); null: none. */
  timestampUrl: string | null;
}

/** `rcodesign sign` argv: same signature shape as codesignArgs (runtime flag, identifier, timestamp). */
export function rcodesignArgs(a: RcodesignArgs): string[] {
  return [
    'sign',
    '--p12-file', a.p12,
    '--p12-password-file', a.passwordFile,
    '--code-signature-flags', 'runtime',
    '--binary-identifier', a.identifier,
    '--timestamp-url', a.timestampUrl ?? 'none',
    a.input,
    a.output,
  ];
}

export interface ToolRunOptions {
  secrets?: readonly Secret[];
  signal?: AbortSignal;
}

export async function codesignSign(a: CodesignArgs, opts: ToolRunOptions = {}): Promise<string[]> {
  const argv = codesignArgs(a);
  await runTool(CODESIGN, argv, { secrets: opts.secrets, signal: opts.signal, input: '' });
  return argv;
}

export async function rcodesignSign(a: RcodesignArgs, opts: ToolRunOptions = {}): Promise<string[]> {
  const argv = rcodesignArgs(a);
  await runTool(RCODESIGN, argv, { secrets: opts.secrets, signal: opts.signal, input: '' });
  return argv;
}

/**
 * osslsigncode (2.6 or later; 2.9 tested) for Authenticode signatures on PowerShell scripts, through runTool.
 * Debian 12's 2.5 cannot sign scripts ("Unrecognized file type"), hence the version check. The key's password
 * reaches it on stdin (`-readpass -`: no file holds it, not even for a moment), never on the command line or in its
 * environment; an empty password means a PFX without one.
 * Covers `sign` and `verify` as src/sign/authenticode.ts uses them; nothing else of the tool.
 */
import { ToolError } from '../errors.js';
import type { Secret } from '../secret.js';
import { runTool } from './run.js';

export const OSSLSIGNCODE = 'osslsigncode';

export interface OsslSignArgs {
  input: string;
  output: string;
  /** PKCS#12 file holding the signing key and certificate (and optionally its chain). */
  pkcs12: string;
  /** The PKCS#12 password, given on osslsigncode's stdin (`-readpass -`); omitted for a PFX without password. */
  password?: Secret;
  /** Signed description (`-n`), shown by Windows in the signature details. */
  description?: string;
  /** RFC 3161 timestamp server (`-ts`); needs network. */
  timestampUrl?: string;
}

export interface ToolCallOptions {
  /** Secrets to mask in anything reported from the tool's output. */
  secrets?: readonly Secret[];
  signal?: AbortSignal;
}

/** `osslsigncode --version` → e.g. `2.9`; a ToolError when missing or older than 2.6. */
export async function osslsigncodeVersion(opts: ToolCallOptions = {}): Promise<string> {
  const r = await runTool(OSSLSIGNCODE, ['--version'], { signal: opts.signal, okExitCodes: [0, 1] });
  const m = /osslsigncode\s+(\d+)\.(\d+)/.exec(`${r.stdout}\n${r.stderr}`);
  if (!m) throw new ToolError(OSSLSIGNCODE, 'cannot tell its version', `${r.stdout}${r.stderr}`.trim().slice(0, 400));
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major < 2 || (major === 2 && minor < 6)) {
    throw new ToolError(OSSLSIGNCODE, `version ${major}.${minor} cannot sign PowerShell scripts; install 2.9 (Debian: bookworm-backports, see docs/decisions.md)`);
  }
  return `${major}.${minor}`;
}

export async function osslsigncodeSign(a: OsslSignArgs, opts: ToolCallOptions = {}): Promise<void> {
  const args = ['sign', '-pkcs12', a.pkcs12];
  const password = a.password?.reveal() ?? '';
  if (password !== '') args.push('-readpass', '-');
  args.push('-h', 'sha256');
  if (a.description) args.push('-n', a.description);
  if (a.timestampUrl) args.push('-ts', a.timestampUrl);
  args.push('-in', a.input, '-out', a.output);
  await runTool(OSSLSIGNCODE, args, { secrets: opts.secrets, signal: opts.signal, input: password });
}

export interface OsslVerifyResult {
  ok: boolean;
  /** stdout and stderr together, for messages. */
  output: string;
}

/**
 * `osslsigncode verify`: the digest over the script and the signature, and the signer's chain up to a
 * certificate in `caFile`. CRL distribution points are not fetched (`-ignore-cdp`): this runs offline.
 */
export async function osslsigncodeVerify(file: string, caFile: string, opts: ToolCallOptions = {}): Promise<OsslVerifyResult> {
  const r = await runTool(OSSLSIGNCODE, ['verify', '-in', file, '-CAfile', caFile, '-ignore-cdp'], {
    secrets: opts.secrets,
    signal: opts.signal,
    okExitCodes: [0, 1, 255],
    input: '',
  });
  const output = `${r.stdout}${r.stderr}`;
  return { ok: r.exitCode === 0 && /^Succeeded\s*$/m.test(output), output };
}

/**
 * The rules every generated Intune PowerShell file obeys, and the validation of the inputs that reach those files
 * beyond the tenant values (which `config/tenant.ts` validates): the Windows part of the deployment spec and the
 * `--ca-bundle` PEM.
 *
 * Text rules (reference launchd-intune-ops.md §4.2): 7-bit ASCII (Windows PowerShell 5.1 reads a BOM-less file as
 * ANSI, so any other character breaks signature hashing in some locales, while Remediations refuse a BOM), CRLF
 * line ends only (LF files verify unreliably once signed), no BOM, and at most 200 KB (Intune's platform-script
 * limit). Not covered: whether PowerShell would run the text; `test/intune` parses every file with
 * tree-sitter-powershell for that.
 */
import { X509Certificate } from 'node:crypto';
import { UsageError } from '../errors.js';
import { certificatePem } from '../sign/certificate.js';
import type { TenantInput, WindowsSpec } from '../config/spec-types.js';
import { SECRET_KEY_NAMES } from '../config/tenant-keys.js';
import { Secret } from '../secret.js';

/** Intune's limit for a platform script, in bytes. */
export const INTUNE_SCRIPT_MAX_BYTES = 200 * 1024;

/** Convert every line end to CRLF (a lone CR is refused: it has no place in a generated script). */
export function toCrlf(text: string, name: string): string {
  if (/\r(?!\n)/.test(text)) throw new Error(`${name}: generated text holds a lone CR`);
  return text.replace(/\r?\n/g, '\r\n');
}

/** Problems with a finished script's text, each naming the file (empty when it obeys every rule). */
export function scriptTextProblems(name: string, text: string): string[] {
  const problems: string[] = [];
  const bad = /[^\x00-\x7f]/.exec(text);
  if (bad) {
    const line = text.slice(0, bad.index).split('\n').length;
    const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    problems.push(`${name}: line ${line} holds U+${code}; generated PowerShell must be ASCII (PowerShell 5.1 reads BOM-less files as ANSI)`);
  }
  if (/\r(?!\n)|(?<!\r)\n/.test(text)) problems.push(`${name}: line ends must all be CRLF`);
  if (text.startsWith('\uFEFF')) problems.push(`${name}: must not start with a byte-order mark`);
  const size = Buffer.byteLength(text, 'utf8');
  if (size > INTUNE_SCRIPT_MAX_BYTES) {
    problems.push(`${name}: ${size} bytes is over Intune's ${INTUNE_SCRIPT_MAX_BYTES}-byte script limit (a smaller --ca-bundle helps)`);
  }
  return problems;
}

/** Throw one UsageError listing every text problem of every file. */
export function assertScriptText(files: ReadonlyArray<{ name: string; text: string }>): void {
  const problems = files.flatMap((f) => scriptTextProblems(f.name, f.text));
  if (problems.length > 0) throw new UsageError(problems);
}

/**
 * Tenant values the scripts embed must be ASCII: we refuse rather than escape, since a host or key is ASCII in
 * practice (an internationalised host has an ASCII xn-- form). Secrets are named, never shown.
 */
export function tenantAsciiProblems(t: TenantInput): string[] {
  const problems: string[] = [];
  const bad = (v: string): string | undefined => /[^\x00-\x7f]/.exec(v)?.[0];
  const host = bad(t.Host);
  if (host) {
    const code = host.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    problems.push(`--host: ${JSON.stringify(t.Host)} holds U+${code}; the Windows scripts take ASCII only (give an internationalised host in its xn-- form)`);
  }
  for (const key of SECRET_KEY_NAMES.map((n) => t[n])) {
    if (key instanceof Secret && bad(key.reveal())) problems.push(`${key.label}: ${key.masked()} holds a character outside ASCII; the Windows scripts take ASCII only`);
  }
  return problems;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PACKAGE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const PRINTABLE_ASCII = /^[ -~]+$/;

/** The Windows part of the spec as the scripts need it; `subject` names the spec (file) in messages. */
export function windowsSpecProblems(w: WindowsSpec, subject: string): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(w.env)) {
    if (!ENV_NAME.test(value)) problems.push(`${subject}: /windows/env/${key} must be an environment variable name like RUNLAYER_HOST, got ${JSON.stringify(value)}`);
  }
  const names = Object.values(w.env);
  if (new Set(names.map((n) => n.toUpperCase())).size !== names.length) {
    problems.push(`${subject}: /windows/env: each value needs its own variable name (Windows ignores case), got ${JSON.stringify(names)}`);
  }
  if (!PACKAGE_NAME.test(w.cliPackage)) {
    problems.push(`${subject}: /windows/cliPackage must be a bare PyPI package name (it is also the name of the installed .exe), got ${JSON.stringify(w.cliPackage)}`);
  }
  if (!PRINTABLE_ASCII.test(w.logDir)) problems.push(`${subject}: /windows/logDir must be printable ASCII, got ${JSON.stringify(w.logDir)}`);
  if (w.secretsVia !== 'env') problems.push(`${subject}: /windows/secretsVia: only "env" is supported, got ${JSON.stringify(w.secretsVia)}`);
  return problems;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/**
 * Normalise a CA bundle to ASCII PEM holding only its certificates, in order, each re-encoded from its DER (so
 * comments, `Subject:` lines with non-ASCII names and odd line ends go away). Refuses a bundle with no
 * certificate, a block that does not parse, and any block that is not a certificate (a private key, say).
 */
export function normaliseCaBundle(text: string, subject: string): string {
  const problems: string[] = [];
  const out: string[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    const label = m[1]!;
    if (label !== 'CERTIFICATE') {
      problems.push(`${subject}: holds a "${label}" block; a CA bundle may hold only certificates`);
      continue;
    }
    try {
      out.push(certificatePem(new X509Certificate(`-----BEGIN CERTIFICATE-----${m[2]!}-----END CERTIFICATE-----`).raw));
    } catch (e) {
      problems.push(`${subject}: certificate ${out.length + problems.length + 1} does not parse (${(e as Error).message})`);
    }
  }
  if (out.length === 0 && problems.length === 0) problems.push(`${subject}: expected PEM certificates (-----BEGIN CERTIFICATE-----), found none`);
  if (problems.length > 0) throw new UsageError(problems);
  return out.join('');
}

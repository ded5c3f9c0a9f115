/**
 * Reading secrets (OrgApiKey, EnrollmentKey, certificate and key passwords): from a file, an environment variable or
 * stdin — never from argv. The value is wrapped in a {@link Secret} at once. One trailing newline (LF or CRLF) is
 * stripped, as `echo key > file` leaves one; anything else (inner whitespace, control characters) is left for the
 * key's own validation to reject.
 */
import { UsageError } from '../errors.js';
import { readInputText } from '../io/fs.js';
import { Secret } from '../secret.js';

export interface SecretSources {
  /** Path given with `--<flag>-file`. */
  file?: string;
  /** Whether `--<flag>-stdin` was given. */
  stdin?: boolean;
  /** Name of the environment variable, e.g. AIWATCH_ORG_API_KEY. */
  envName: string;
  /** The flag stem, for messages: `org-api-key`. */
  flag: string;
  /** What the secret is: `OrgApiKey`. */
  label: string;
}

export async function readStdinText(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function trimOneNewline(s: string): string {
  return s.replace(/^\uFEFF/, '').replace(/\r?\n$/, '');
}

/**
 * Resolve a secret from exactly one of its sources (file, stdin, env). Returns undefined when none is given.
 * Two sources at once is a usage error: silently preferring one hides mistakes.
 */
export async function readSecret(
  src: SecretSources,
  io: { env: NodeJS.ProcessEnv; stdin: NodeJS.ReadableStream },
): Promise<Secret | undefined> {
  const envValue = io.env[src.envName];
  const given = [src.file !== undefined, src.stdin === true, envValue !== undefined && envValue !== ''].filter(Boolean).length;
  if (given > 1) {
    throw new UsageError(`${src.label}: give it one way only: --${src.flag}-file, --${src.flag}-stdin or ${src.envName}`);
  }
  if (src.file !== undefined) return new Secret(trimOneNewline(await readInputText(src.file, `--${src.flag}-file`)), src.label);
  if (src.stdin) return new Secret(trimOneNewline(await readStdinText(io.stdin)), src.label);
  if (envValue) return new Secret(trimOneNewline(envValue), src.label);
  return undefined;
}

/** Environment variable name for a tenant key flag: `org-api-key` → `AIWATCH_ORG_API_KEY`. */
export function envNameForFlag(flag: string): string {
  return `AIWATCH_${flag.replace(/-/g, '_').toUpperCase()}`;
}

/**
 * Reading secrets (OrgApiKey, EnrollmentKey, certificate and key passwords): from a file, an environment variable or
 * stdin — never from argv. The value is wrapped in a {@link Secret} at once. One trailing newline (LF or CRLF) is
 * stripped, as `echo key > file` leaves one; anything else (inner whitespace, control characters) is left for the
 * key's own validation to reject. Messages never show what may be the secret itself: a `--…-file` that does not
 * exist is not named (the key or password may have been typed in its place). An empty key is refused ("is
 * empty"); an empty password is a password (a .p12 may have none), labelled so that a file needing one says "no
 * password was given".
 */
import { stat } from 'node:fs/promises';
import { InputFileError, UsageError } from '../errors.js';
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
  /** A key must not be empty; a password may be (default: key). */
  kind?: 'key' | 'password';
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
  if (src.file !== undefined) {
    const exists = await stat(src.file).then(() => true, () => false);
    if (!exists) throw new InputFileError(`--${src.flag}-file`, 'no such file (the name given is not shown: it may be the secret itself)');
    return nonEmpty(src, trimOneNewline(await readInputText(src.file, `--${src.flag}-file`)), `--${src.flag}-file ${src.file}`);
  }
  if (src.stdin) return nonEmpty(src, trimOneNewline(await readStdinText(io.stdin)), `--${src.flag}-stdin (standard input)`);
  if (envValue) return nonEmpty(src, trimOneNewline(envValue), src.envName);
  return undefined;
}

/** The secret read from `where`; empty: a usage error for a key, an empty password labelled as such. */
function nonEmpty(src: SecretSources, value: string, where: string): Secret {
  if (value !== '') return new Secret(value, src.label);
  if (src.kind === 'password') return new Secret('', `${where} is empty`);
  throw new UsageError(`${where}: is empty (expected ${src.label})`);
}

/** Environment variable name for a tenant key flag: `org-api-key` → `AIWATCH_ORG_API_KEY`. */
export function envNameForFlag(flag: string): string {
  return `AIWATCH_${flag.replace(/-/g, '_').toUpperCase()}`;
}

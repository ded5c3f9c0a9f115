/**
 * The few error types of aiwatch-deploy, each tied to one process exit code (README "Exit codes").
 *
 * Every message names the subject, the bad value (secrets masked) and what was expected, e.g.
 * `launchd/com.runlayer.aiwatch.json: StartInterval must be a positive integer, got "15m"`.
 * The CLI maps an error to its exit code in one place (`src/cli/main.ts`); nothing else calls process.exit.
 */

export const ExitCode = {
  ok: 0,
  /** verify found problems. */
  problems: 1,
  /** Usage error or invalid input value (flag, spec, CSV row, key format). */
  usage: 2,
  /** An input file is missing, unreadable or of the wrong kind. */
  inputFile: 3,
  /** An external tool is missing or failed. */
  tool: 4,
  /** A network or remote-service failure (connection, 5xx after retries, timeout). */
  network: 5,
  /** A remote service rejected the work (notarization Invalid/Rejected, auth refused). */
  rejected: 6,
  /** `plan`: changes are pending (like `terraform plan -detailed-exitcode`'s 2); nothing failed. */
  pending: 8,
  /** `plan` / `apply`: an object is blocked (an untrusted pkg, a PPPC requirement the binary does not meet): nothing of that target applied. */
  blocked: 9,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class AiwatchError extends Error {
  abstract readonly exitCode: ExitCodeValue;
  /** Machine-readable kind, printed in `--json` error output. */
  abstract readonly kind: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A bad flag, spec value, CSV row or key: exit 2. `problems` carries every problem found at once. */
export class UsageError extends AiwatchError {
  readonly exitCode = ExitCode.usage;
  readonly kind = 'usage';
  readonly problems: string[];
  constructor(problems: string | string[]) {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list.join('\n'));
    this.problems = list;
  }
}

/** An input file is missing, unreadable, a directory, or not the kind of file expected: exit 3. */
export class InputFileError extends AiwatchError {
  readonly exitCode = ExitCode.inputFile;
  readonly kind = 'input-file';
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
  }
}

/** An external program is missing or failed: exit 4. Carries the tail of its output (already redacted). */
export class ToolError extends AiwatchError {
  readonly exitCode = ExitCode.tool;
  readonly kind = 'tool';
  constructor(
    readonly tool: string,
    message: string,
    readonly outputTail = '',
    options?: { cause?: unknown },
  ) {
    super(`${tool}: ${message}${outputTail ? `\n${outputTail}` : ''}`, options);
  }
}

/** Network or remote-service failure (including timeouts): exit 5. */
export class NetworkError extends AiwatchError {
  readonly exitCode = ExitCode.network;
  readonly kind = 'network';
}

/** The remote service answered and said no (notarization Invalid, 401/403): exit 6. */
export class RemoteRejection extends AiwatchError {
  readonly exitCode = ExitCode.rejected;
  readonly kind = 'rejected';
}

/** An output could not be written (folder not writable, disk full): exit 3, like an unusable input path. */
export class OutputError extends AiwatchError {
  readonly exitCode = ExitCode.inputFile;
  readonly kind = 'output';
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
  }
}

/** The run was interrupted (SIGINT/SIGTERM or an AbortSignal): exit 130. */
export class InterruptedError extends AiwatchError {
  readonly exitCode = ExitCode.interrupted;
  readonly kind = 'interrupted';
  constructor(message = 'interrupted') {
    super(message);
  }
}

/**
 * Where a problem is, as data: the file (or a named source, e.g. `release.zip:aiwatch.pkg` for a pkg read in place
 * from a zip), the member inside it (a xar entry such as `aiwatch.pkg/Payload`, a zip entry), and the place inside
 * that member (a payload path, a plist key path).
 */
export interface ProblemPlace {
  file: string;
  member?: string;
  path?: string;
}

/** One problem found by `verify`: where, and what is wrong. */
export interface Problem {
  /** File (and, after a colon, the place inside it), e.g. `out/x.mobileconfig:PayloadContent[0].Services`. */
  where: string;
  message: string;
  /**
   * The same place as data, for code that acts on it (e.g. which pkg member is damaged), when the problem was made
   * by {@link problemAt}. Not enumerable: printed and `--json` problems stay `{where, message}`.
   */
  readonly at?: ProblemPlace;
}

/** `file:member:path`, the printed form of a place. */
export function placeText(at: ProblemPlace): string {
  return [at.file, at.member, at.path].filter((x) => x !== undefined).join(':');
}

/** A problem at `at`: its `where` is derived from the place, which it also carries as data. */
export function problemAt(at: ProblemPlace, message: string): Problem {
  const p: Problem = { where: placeText(at), message };
  Object.defineProperty(p, 'at', { value: { ...at }, enumerable: false });
  return p;
}

export function isAiwatchError(e: unknown): e is AiwatchError {
  return e instanceof AiwatchError;
}

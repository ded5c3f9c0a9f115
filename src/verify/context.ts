/**
 * What every `verify` check is given and what it is: the context (spec, environment, notes, trust anchors) and a
 * verifier — a file kind of src/read/kinds.ts paired with the check that reads such a file (by path, or its bytes
 * with a name) and returns every problem.
 */
import type { DeploymentSpec } from '../config/spec-types.js';
import type { Problem } from '../errors.js';
import type { FileKind } from '../read/kinds.js';
import { byteText, InputLimitError, LIMITS, readInputFileWithin, type LimitName } from '../formats/limits.js';

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

/** A file's bytes already in memory and the name problems call it (`zip:entry` for a member of a release zip). */
export interface NamedBytes {
  name: string;
  bytes: Buffer;
}

/** What a check reads: a file by path, or named bytes (a release zip's member, read in place: no temporary copy). */
export type CheckInput = string | NamedBytes;

/** The name problems give `input`: its path, or the name it came with. */
export const inputName = (input: CheckInput): string => (typeof input === 'string' ? input : input.name);

/**
 * `input`'s bytes, at most `limit` of src/formats/limits.ts (else an InputLimitError naming it, the file not read);
 * `what` says what reads it, in errors.
 */
export async function readCheckInput(input: CheckInput, what: string, limit: LimitName): Promise<Buffer> {
  if (typeof input === 'string') return readInputFileWithin(input, what, limit);
  const size = input.bytes.length;
  if (size > LIMITS[limit]) throw new InputLimitError(input.name, limit, `${what}: ${size} bytes: over the limit of ${byteText(LIMITS[limit])} for this kind of file (not read)`);
  return input.bytes;
}

/** Read `input` and return every problem (empty: none), named by {@link inputName}. Throw only for I/O failures. */
export type Check = (input: CheckInput, ctx: VerifyContext) => Promise<Problem[]>;

export interface Verifier {
  /** Short machine name shown in output, e.g. `mobileconfig`, `launchd-plist`, `pkg`. */
  kind: FileKind;
  /** Human description, e.g. `configuration profile`. */
  describe: string;
  check: Check;
}

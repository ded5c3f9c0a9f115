/**
 * What every `verify` check is given and what it is: the context (spec, environment, notes, trust anchors) and a
 * verifier — a file kind of src/read/kinds.ts paired with the check that reads such a file and returns every problem.
 */
import type { DeploymentSpec } from '../config/spec-types.js';
import type { Problem } from '../errors.js';
import type { FileKind } from '../read/kinds.js';

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

/** Read `file` and return every problem (empty: none). Throw only for I/O failures. */
export type Check = (file: string, ctx: VerifyContext) => Promise<Problem[]>;

export interface Verifier {
  /** Short machine name shown in output, e.g. `mobileconfig`, `launchd-plist`, `pkg`. */
  kind: FileKind;
  /** Human description, e.g. `configuration profile`. */
  describe: string;
  check: Check;
}

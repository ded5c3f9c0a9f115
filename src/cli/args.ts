/**
 * Reading parsed arguments in a command's `run`. parse.ts has already refused missing required options, repeated
 * ones and empty values; these accessors make the same promise locally, so no value can ever become the path
 * "undefined" (or "a,b", or the working folder) even if a builder forgets its `demandOption`.
 */
import { UsageError } from '../errors.js';

/** A string argument when given (not empty), else undefined. */
export function optionalArg(args: Record<string, unknown>, name: string): string | undefined {
  const v = args[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new UsageError(`--${name}: expected one value, got ${JSON.stringify(v)}`);
  return v;
}

/** A string argument that must be given: `what` says what it is, for the message. */
export function requiredArg(args: Record<string, unknown>, name: string, what = 'a value'): string {
  const v = optionalArg(args, name);
  if (v === undefined) throw new UsageError(`--${name} is required: ${what}`);
  return v;
}

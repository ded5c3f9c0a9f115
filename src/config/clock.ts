/**
 * The one clock of the build: SOURCE_DATE_EPOCH (reproducible-builds.org) when set, otherwise a fixed instant,
 * 1980-01-01T00:00:00Z — the earliest time a zip can record — so that a build without the variable is still
 * byte-reproducible. Nothing that renders bytes calls Date.now(); signing (signingTime, timestamps) is the one
 * exception and takes its own clock.
 */
import { UsageError } from '../errors.js';

export const DEFAULT_EPOCH = 315532800;

/** Seconds since the Unix epoch for every timestamp the build writes. */
export function buildEpoch(env: NodeJS.ProcessEnv): number {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return DEFAULT_EPOCH;
  if (!/^[0-9]{1,12}$/.test(raw)) {
    throw new UsageError(`SOURCE_DATE_EPOCH must be a whole number of seconds since 1970, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

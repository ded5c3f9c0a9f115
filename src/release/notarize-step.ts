/**
 * The release's notarize → wait → staple step, run on the finished pkg in the staging folder (release.ts `afterPkg`):
 * submit the pkg to Apple's notary service and wait for its verdict (src/notary/notarize.ts), then staple the ticket,
 * looking again while a freshly accepted ticket is not published yet (Apple needs a moment after "Accepted").
 * The CLI only maps its flags to these options (src/cli/release-trust.ts). Failures keep their exit codes:
 * 5 network/timeout, 6 rejected, 130 interrupted.
 */
import { InterruptedError, RemoteRejection } from '../errors.js';
import { sleepFor } from '../net/retry.js';
import type { ApiKey } from '../notary/jwt.js';
import { notarize } from '../notary/notarize.js';
import { staplePkg } from '../notary/staple.js';

/** Ticket lookups after a fresh Accepted, and the pauses between them. */
export const TICKET_WAITS_MS = [10_000, 20_000, 30_000, 60_000, 60_000] as const;

export interface NotarizeStepOptions {
  /** Submit and wait for Accepted. */
  notarize?: { apiKey: ApiKey; notaryUrl?: string; s3Endpoint?: string; timeoutMs?: number };
  /** Staple the ticket (after `notarize`, or for a pkg Apple already notarized: then no waiting for the ticket). */
  staple?: { ticketUrl?: string };
  progress: (line: string) => void;
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
  /** Injected by tests; defaults: global fetch, real timers, the real clock, TICKET_WAITS_MS. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  ticketWaitsMs?: readonly number[];
}

export type AfterPkg = (pkgFile: string) => Promise<{ notarized: boolean; stapled: boolean }>;

/** Staple, looking again after each pause in `waits` while the service answers "no ticket". */
async function stapleWithWait(pkg: string, waits: readonly number[], o: NotarizeStepOptions): Promise<void> {
  const sleep = o.sleep ?? ((ms: number) => sleepFor(ms, o.signal));
  const http = { fetch: o.fetch, sleep: o.sleep, signal: o.signal, onRetry: o.progress };
  for (let i = 0; ; i += 1) {
    try {
      await staplePkg({ pkg, ticketUrl: o.staple?.ticketUrl, progress: o.progress, http });
      return;
    } catch (e) {
      if (!(e instanceof RemoteRejection) || i >= waits.length) throw e;
      o.progress(`staple: no ticket published yet; Apple needs a moment after "Accepted": looking again in ${Math.round(waits[i]! / 1000)} s`);
      await sleep(waits[i]!);
      if (o.signal?.aborted) throw new InterruptedError('interrupted while waiting for the notarization ticket');
    }
  }
}

/** The step, or none when neither notarizing nor stapling is asked for. */
export function notarizeStep(o: NotarizeStepOptions): AfterPkg | undefined {
  const n = o.notarize;
  if (!n && !o.staple) return undefined;
  return async (pkgFile) => {
    let notarized = false;
    if (n) {
      o.progress('notarize pkg…');
      const r = await notarize({
        pkg: pkgFile, apiKey: n.apiKey, notaryUrl: n.notaryUrl, s3Endpoint: n.s3Endpoint, timeoutMs: n.timeoutMs,
        progress: o.progress, onWarning: o.onWarning, signal: o.signal, fetch: o.fetch, sleep: o.sleep, now: o.now,
      });
      notarized = r.notarized;
    }
    if (!o.staple) return { notarized, stapled: false };
    o.progress('staple pkg…');
    await stapleWithWait(pkgFile, n ? (o.ticketWaitsMs ?? TICKET_WAITS_MS) : [], o);
    // A ticket exists only for a package Apple accepted: stapled implies notarized.
    return { notarized: true, stapled: true };
  };
}

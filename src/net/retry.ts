/**
 * The one retry policy of everything that talks to a server (notary, ticket lookup, S3 upload, RFC 3161
 * time-stamping): a failure the attempt marks `Retryable` (connection error, per-request timeout, HTTP 429 or 5xx)
 * is tried again a bounded number of times, waiting `backoffMs` and doubling, or longer when the server said so
 * (`Retry-After`, capped); any other error is a final answer and passes through. Retries exhausted → the caller's
 * `gaveUp` error (a NetworkError, exit 5). An aborted `signal` → InterruptedError (exit 130). Waits go through an
 * injectable `sleep` so tests take no time.
 */
import { InterruptedError, NetworkError } from '../errors.js';

export interface RetryPolicy {
  /** Retries after the first attempt for retryable failures. */
  retries?: number;
  /** First backoff delay; doubles per retry. Default 1000 ms. */
  backoffMs?: number;
  /** Injected for tests; default a real timer that ends early on abort. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Aborted on SIGINT/SIGTERM. */
  signal?: AbortSignal;
  /** Told about each retry (a progress line). */
  onRetry?: (message: string) => void;
}

/** The longest `Retry-After` honoured: a server asking for more is waited on this long, then asked again. */
export const MAX_RETRY_AFTER_MS = 120_000;

/** A failure worth another attempt; `retryAfterMs` is the server's own request (Retry-After), if any. */
export class Retryable extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A timer that ends early (resolving) when `signal` aborts; callers check `signal.aborted` afterwards. */
export function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** `Retry-After` as milliseconds (delta-seconds or an HTTP date), capped; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS) : undefined;
}

export interface RetryNames {
  /** What is being tried, for retry lines: "notary: create submission (https://…)". */
  where: string;
  /** The error once retries are exhausted; default `${where}: ${last.message}; gave up after N attempts`. */
  gaveUp?: (last: Retryable, attempts: number) => Error;
  /** Message of the InterruptedError on abort; default the class's. */
  interrupted?: string;
}

/** Run `attempt` under the policy above. */
export async function withRetries<T>(attempt: () => Promise<T>, names: RetryNames, policy: RetryPolicy, defaultRetries = 4): Promise<T> {
  const retries = policy.retries ?? defaultRetries;
  const sleep = policy.sleep ?? sleepFor;
  const interrupted = (): InterruptedError => (names.interrupted ? new InterruptedError(names.interrupted) : new InterruptedError());
  let delay = policy.backoffMs ?? 1000;
  for (let n = 0; ; n += 1) {
    try {
      return await attempt();
    } catch (e) {
      if (policy.signal?.aborted) throw interrupted();
      if (!(e instanceof Retryable)) throw e;
      if (n >= retries) throw names.gaveUp ? names.gaveUp(e, n + 1) : new NetworkError(`${names.where}: ${e.message}; gave up after ${n + 1} attempts`);
      const wait = Math.max(delay, e.retryAfterMs ?? 0);
      policy.onRetry?.(`${names.where}: ${e.message}; retrying in ${Math.round(wait / 1000)} s`);
      await sleep(wait, policy.signal);
      if (policy.signal?.aborted) throw interrupted();
      delay *= 2;
    }
  }
}

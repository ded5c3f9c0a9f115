/**
 * JSON over HTTPS for the notary and ticket services, with the one retry policy both use:
 * connection errors, per-request timeouts, 429 and 5xx are retried a bounded number of times with exponential
 * backoff (through an injectable `sleep`); 401/403 and other 4xx are final answers (RemoteRejection, exit 6);
 * retries exhausted is a NetworkError (exit 5). An aborted `signal` is an InterruptedError (exit 130).
 *
 * Messages name the service and the URL without its query string: pre-signed URLs (the developer log) carry
 * credentials there, and a bearer token is never part of a message.
 */
import { InterruptedError, NetworkError, RemoteRejection } from '../errors.js';

export interface HttpOptions {
  /** Injected for tests; default the global fetch. */
  fetch?: typeof fetch;
  /** Injected for tests; default a real timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Retries after the first attempt for retryable failures; default 4. */
  retries?: number;
  /** First backoff delay; doubles per retry. Default 1000 ms. */
  backoffMs?: number;
  /** Per-request time limit; default 60 s. */
  requestTimeoutMs?: number;
  /** Aborted on SIGINT/SIGTERM. */
  signal?: AbortSignal;
  /** Told about each retry (a progress line). */
  onRetry?: (message: string) => void;
}

export interface JsonRequest {
  /** What this request is, for messages: "notary: create submission". */
  what: string;
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: unknown;
  /** Text appended to a 401/403 message (what to check). */
  authHint?: string;
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

/** The URL without query or fragment, safe to print. */
export function printableUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

class Retryable extends Error {}

function describeFetchError(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return `connection failed (${cause.code})`;
  if ((e as Error)?.name === 'TimeoutError') return 'no answer within the request time limit';
  return `connection failed (${cause?.message ?? (e as Error)?.message ?? String(e)})`;
}

async function attempt(req: JsonRequest, opts: HttpOptions): Promise<unknown> {
  const doFetch = opts.fetch ?? fetch;
  const timeout = AbortSignal.timeout(opts.requestTimeoutMs ?? 60_000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await doFetch(req.url, {
      method: req.method ?? 'GET',
      headers: { accept: 'application/json', ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}), ...req.headers },
      body: req.body !== undefined ? JSON.stringify(req.body) : undefined,
      signal,
    });
  } catch (e) {
    if (opts.signal?.aborted) throw new InterruptedError();
    throw new Retryable(describeFetchError(e));
  }
  const text = await res.text().catch((e: unknown) => {
    throw new Retryable(`connection lost while reading the answer (${String(e)})`);
  });
  if (res.status === 429 || res.status >= 500) throw new Retryable(`HTTP ${res.status}`);
  const where = `${req.what} (${printableUrl(req.url)})`;
  if (res.status === 401 || res.status === 403) {
    throw new RemoteRejection(`${where}: authentication refused (HTTP ${res.status})${req.authHint ? `: ${req.authHint}` : ''}`);
  }
  if (res.status >= 400) throw new RemoteRejection(`${where}: refused with HTTP ${res.status}: ${excerpt(text)}`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new NetworkError(`${where}: the answer is not JSON (HTTP ${res.status}): ${excerpt(text)}`);
  }
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat || '(empty body)';
}

/** Send one JSON request with the retry policy above; resolves to the parsed JSON body of a 2xx answer. */
export async function requestJson(req: JsonRequest, opts: HttpOptions = {}): Promise<unknown> {
  const retries = opts.retries ?? 4;
  const sleep = opts.sleep ?? ((ms: number) => sleepFor(ms, opts.signal));
  let delay = opts.backoffMs ?? 1000;
  for (let n = 0; ; n += 1) {
    try {
      return await attempt(req, opts);
    } catch (e) {
      if (!(e instanceof Retryable)) throw e;
      const where = `${req.what} (${printableUrl(req.url)})`;
      if (n >= retries) throw new NetworkError(`${where}: ${e.message}; gave up after ${n + 1} attempts`);
      opts.onRetry?.(`${where}: ${e.message}; retrying in ${Math.round(delay / 1000)} s`);
      await sleep(delay);
      if (opts.signal?.aborted) throw new InterruptedError();
      delay *= 2;
    }
  }
}

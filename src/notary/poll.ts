/**
 * Wait for a notary submission to reach a verdict: poll `GET submissions/{id}` with exponential backoff
 * (3 s, ×1.5, at most 30 s between polls; rcodesign polls every 3 s) until the status is Accepted, Invalid or
 * Rejected, or the time limit passes — a NetworkError (exit 5) that says how to resume with --submission-id.
 * Clock and sleep are injected, so tests run a 30-minute wait in milliseconds.
 */
import { InterruptedError, NetworkError } from '../errors.js';
import { FINAL_STATUSES, type NotaryClient, type SubmissionInfo } from './client.js';
import { sleepFor } from '../net/retry.js';

export interface PollOptions {
  /** Give up after this long; default 30 minutes. */
  timeoutMs?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Milliseconds since the epoch. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Aborted on SIGINT/SIGTERM: stop waiting (InterruptedError naming the submission to resume). */
  signal?: AbortSignal;
  /** Told about each status seen. */
  onStatus?: (info: SubmissionInfo, elapsedMs: number) => void;
}

export const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;

/** Poll until a final status; resolves with it (Accepted, Invalid or Rejected alike). */
export async function waitForVerdict(client: NotaryClient, id: string, opts: PollOptions = {}): Promise<SubmissionInfo> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => sleepFor(ms, opts.signal));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const start = now();
  let delay = opts.initialDelayMs ?? 3000;
  const interrupted = (): InterruptedError => new InterruptedError(`interrupted while waiting for submission ${id}; resume with --submission-id ${id}`);
  for (;;) {
    const info = await client.getSubmission(id).catch((e: unknown) => {
      throw e instanceof InterruptedError ? interrupted() : e;
    });
    const elapsed = now() - start;
    opts.onStatus?.(info, elapsed);
    if (FINAL_STATUSES.includes(info.status)) return info;
    const left = timeoutMs - elapsed;
    if (left <= 0) {
      throw new NetworkError(
        `notary: submission ${id} is still "${info.status}" after ${formatDuration(elapsed)} (--timeout ${formatDuration(timeoutMs)}); ` +
          `nothing was notarized yet. Resume waiting with: notarize <pkg> --submission-id ${id}`,
      );
    }
    await sleep(Math.min(delay, left));
    if (opts.signal?.aborted) throw interrupted();
    delay = Math.min(delay * 1.5, opts.maxDelayMs ?? 30_000);
  }
}

/** `1h2m3s`-style, whole seconds. */
export function formatDuration(ms: number): string {
  let s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = [h ? `${h}h` : '', m ? `${m}m` : '', s || (!h && !m) ? `${s}s` : ''];
  return parts.join('');
}

/** Parse `--timeout`: `90`, `90s`, `30m`, `1h`, `1h30m`. Returns milliseconds, or undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(t);
  if (!m || t === '') return undefined;
  const [h, min, s] = [m[1], m[2], m[3]].map((x) => Number(x ?? 0)) as [number, number, number];
  return ((h * 60 + min) * 60 + s) * 1000;
}

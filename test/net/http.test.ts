/**
 * The one HTTP client (src/net): its retry policy seen from outside with an injected fetch and sleep — 429 with
 * Retry-After waits what the server asked (capped), 5xx and resets back off 1, 2, 4 s, 4xx is final, an abort is
 * exit 130 — and the RFC 3161 client going through it (a 429 from a time-stamp server is retried, not a refusal).
 */
import { describe, expect, it } from 'vitest';
import { InterruptedError, NetworkError, RemoteRejection } from '../../src/errors.js';
import { requestJson } from '../../src/net/http.js';
import { MAX_RETRY_AFTER_MS, retryAfterMs } from '../../src/net/retry.js';
import { requestTimestamp } from '../../src/sign/timestamp.js';

type Step = Response | Error;

function scripted(steps: Step[]): { fetch: typeof fetch; calls: number } {
  const state: { fetch: typeof fetch; calls: number } = { calls: 0, fetch: (async () => {
    const s: Step | undefined = steps[state.calls++];
    if (!s) throw new Error('no more scripted answers');
    if (s instanceof Error) throw s;
    return s;
  }) as typeof fetch };
  return state;
}

const reset = (): Error => new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });

describe('net: one retry policy', () => {
  it('429 with Retry-After: waits the seconds asked, then succeeds', async () => {
    const f = scripted([new Response('', { status: 429, headers: { 'retry-after': '7' } }), Response.json({ ok: 1 })]);
    const sleeps: number[] = [];
    const lines: string[] = [];
    const got = await requestJson({ what: 'test: thing', url: 'https://example.test/a?secret=1' }, { fetch: f.fetch, sleep: async (ms) => void sleeps.push(ms), onRetry: (l) => lines.push(l) });
    expect(got).toEqual({ ok: 1 });
    expect(sleeps).toEqual([7000]);
    expect(lines).toEqual(['test: thing (https://example.test/a): HTTP 429; retrying in 7 s']);
  });

  it('5xx and connection resets back off 1, 2, 4 s; then NetworkError naming the attempts', async () => {
    const f = scripted([new Response('', { status: 502 }), reset(), new Response('', { status: 503 }), reset()]);
    const sleeps: number[] = [];
    const e = await requestJson({ what: 'test: thing', url: 'https://example.test/a' }, { fetch: f.fetch, retries: 3, sleep: async (ms) => void sleeps.push(ms) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetworkError);
    expect((e as Error).message).toBe('test: thing (https://example.test/a): connection failed (ECONNRESET); gave up after 4 attempts');
    expect(sleeps).toEqual([1000, 2000, 4000]);
    expect(f.calls).toBe(4);
  });

  it('a 4xx is a final answer: no retry', async () => {
    const f = scripted([new Response('nope', { status: 404 })]);
    const e = await requestJson({ what: 'test: thing', url: 'https://example.test/a' }, { fetch: f.fetch, sleep: async () => undefined }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RemoteRejection);
    expect(f.calls).toBe(1);
  });

  it('an abort during the backoff is an interruption, not another attempt', async () => {
    const ac = new AbortController();
    const f = scripted([new Response('', { status: 500 }), Response.json({})]);
    const e = await requestJson({ what: 'test: thing', url: 'https://example.test/a' }, { fetch: f.fetch, signal: ac.signal, sleep: async () => ac.abort() }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InterruptedError);
    expect(f.calls).toBe(1);
  });

  it('Retry-After: seconds or an HTTP date, capped; garbage ignored', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(retryAfterMs('999999', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });

  it('the time-stamp client goes through it: a 429 is retried (then "answered HTTP 429", exit 5), not a refusal', async () => {
    const statuses: number[] = [];
    const real = globalThis.fetch;
    globalThis.fetch = (async () => {
      statuses.push(429);
      return new Response('', { status: 429 });
    }) as typeof fetch;
    try {
      const sleeps: number[] = [];
      const e = await requestTimestamp(Buffer.from('x'), { url: 'http://tsa.example.test/ts', sleep: async (ms) => void sleeps.push(ms) }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NetworkError);
      expect((e as Error).message).toBe('time-stamp server http://tsa.example.test/ts answered HTTP 429');
      expect(statuses).toHaveLength(3);
      expect(sleeps).toEqual([1000, 2000]);
    } finally {
      globalThis.fetch = real;
    }
  });
});

/**
 * The HTTP client of everything that talks to a server: the notary and ticket services (JSON), RFC 3161
 * time-stamp servers (bytes) and MDM APIs (JSON, XML, form and streamed multipart bodies). One attempt is one fetch
 * with a per-request time limit (joined with the caller's AbortSignal); connection errors, that time limit, HTTP 429
 * and 5xx are `Retryable` (with the server's `Retry-After`), and the one retry policy (net/retry.ts) decides what
 * happens next. 401/403 and other 4xx are final answers (RemoteRejection, exit 6); retries exhausted is a
 * NetworkError (exit 5); an abort is InterruptedError (130).
 *
 * Every attempt is built afresh: a streamed body is re-opened (`StreamBody.open`) and the Authorization header is
 * asked of `authorization()` each time, so a retry after a connection reset re-sends the whole body with a token that
 * is valid now. A streamed body goes through node:http (net/stream-request.ts, for backpressure; an injected `fetch`
 * does not see it) and its time limit is an idle limit (no chunk taken for that long), then the same limit for the
 * answer once the body is sent: a 1 GiB upload may take longer than any whole-request limit.
 *
 * Messages name the service and the URL without its query string: pre-signed URLs (the developer log) carry
 * credentials there, and a bearer token is never part of a message.
 */
import { InterruptedError, NetworkError, RemoteRejection } from '../errors.js';
import { Retryable, retryAfterMs, withRetries, type RetryNames, type RetryPolicy } from './retry.js';
import { sendStream } from './stream-request.js';


export interface HttpOptions extends RetryPolicy {
  /** Injected for tests; default the global fetch. */
  fetch?: typeof fetch;
  /** Per-request time limit; default 60 s. */
  requestTimeoutMs?: number;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

export interface JsonRequest {
  /** What this request is, for messages: "notary: create submission". */
  what: string;
  url: string;
  method?: HttpMethod;
  headers?: Record<string, string>;
  body?: unknown;
  /** Text appended to a 401/403 message (what to check). */
  authHint?: string;
}

/**
 * A body too large to hold in memory: `length` bytes, produced afresh by each `open()` (an attempt that failed
 * part-way is re-sent from the start).
 */
export interface StreamBody {
  length: number;
  open: () => AsyncIterable<Uint8Array>;
}

/** A request whose answer is bytes. */
export interface BytesRequest {
  url: string;
  method?: HttpMethod;
  headers?: Record<string, string>;
  body?: Uint8Array | string | StreamBody;
  /** The Authorization header value, asked for before every attempt (a token provider refreshes as it must). */
  authorization?: () => Promise<string>;
  /** Bytes of a streamed body handed to the connection so far, per attempt (restarts at 0 on a retry). */
  onProgress?: (sent: number, total: number) => void;
}

/** A non-retryable answer: status and body, for the caller to judge. */
export interface HttpAnswer {
  status: number;
  body: Uint8Array;
  /** The answer's headers (absent in answers made by hand in tests). */
  headers?: Headers;
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

function describeFetchError(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return `connection failed (${cause.code})`;
  if ((e as Error)?.name === 'TimeoutError') return 'no answer within the request time limit';
  return `connection failed (${cause?.message ?? (e as Error)?.message ?? String(e)})`;
}

function isStreamBody(body: BytesRequest['body']): body is StreamBody {
  return typeof body === 'object' && !(body instanceof Uint8Array);
}

/** The largest answer read into memory: every answer we read is JSON, XML or a time-stamp token of a few KiB to MiB. */
export const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** The answer's bytes, refused past {@link MAX_ANSWER_BYTES} (a hostile or broken server is not buffered whole). */
async function readAnswer(res: Response, where: string): Promise<Uint8Array> {
  const over = (): NetworkError => new NetworkError(`${where}: the answer (HTTP ${res.status}) is larger than ${MAX_ANSWER_BYTES} bytes; not read`);
  if (Number(res.headers.get('content-length') ?? 0) > MAX_ANSWER_BYTES) {
    await res.body?.cancel().catch(() => undefined);
    throw over();
  }
  if (!res.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of res.body) {
    size += c.byteLength;
    if (size > MAX_ANSWER_BYTES) throw over();
    chunks.push(c);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** A streamed body goes through node:http (net/stream-request.ts: backpressure), not fetch; judged the same way. */
async function sendStreamOnce(req: BytesRequest, body: StreamBody, headers: Record<string, string>, opts: HttpOptions, idleMs: number): Promise<HttpAnswer> {
  let answer: HttpAnswer;
  try {
    answer = await sendStream({ url: req.url, method: req.method ?? 'POST', headers, length: body.length, open: body.open, onProgress: req.onProgress, signal: opts.signal, idleMs, maxAnswerBytes: MAX_ANSWER_BYTES });
  } catch (e) {
    if (opts.signal?.aborted) throw new InterruptedError();
    throw new Retryable(describeFetchError(e), undefined, { cause: e });
  }
  if (answer.status === 429 || answer.status >= 500) throw new Retryable(`HTTP ${answer.status}`, retryAfterMs(answer.headers?.get('retry-after') ?? null));
  return answer;
}

/** One fetch under the per-request time limit; transport failures, 429 and 5xx throw Retryable. */
async function sendOnce(req: BytesRequest, opts: HttpOptions, where: string): Promise<HttpAnswer> {
  const limitMs = opts.requestTimeoutMs ?? 60_000;
  const headers: Record<string, string> = { ...req.headers };
  // Asked before the request: a token provider's own failure (credentials refused) is its answer, not a retry.
  if (req.authorization) headers.authorization = await req.authorization();
  if (isStreamBody(req.body)) return sendStreamOnce(req, req.body, headers, opts, limitMs);
  const doFetch = opts.fetch ?? fetch;
  const timeout = AbortSignal.timeout(limitMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await doFetch(req.url, { method: req.method ?? 'GET', headers, body: req.body, signal });
  } catch (e) {
    if (opts.signal?.aborted) throw new InterruptedError();
    throw new Retryable(describeFetchError(e), undefined, { cause: e });
  }
  const body = await readAnswer(res, where).catch((e: unknown) => {
    if (opts.signal?.aborted) throw new InterruptedError();
    if (e instanceof NetworkError) throw e;
    throw new Retryable(`connection lost while reading the answer (${String(e)})`, undefined, { cause: e });
  });
  if (res.status === 429 || res.status >= 500) throw new Retryable(`HTTP ${res.status}`, retryAfterMs(res.headers.get('retry-after')));
  return { status: res.status, body, headers: res.headers };
}

/** Send `req` under the retry policy; resolves to the first answer that is neither 429 nor 5xx. */
export function requestBytes(req: BytesRequest, opts: HttpOptions, names: RetryNames, defaultRetries = 4): Promise<HttpAnswer> {
  return withRetries(() => sendOnce(req, opts, names.where), names, opts, defaultRetries);
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat || '(empty body)';
}

function judgeJson(req: JsonRequest, answer: HttpAnswer): unknown {
  const where = `${req.what} (${printableUrl(req.url)})`;
  const text = Buffer.from(answer.body).toString('utf8');
  if (answer.status === 401 || answer.status === 403) {
    throw new RemoteRejection(`${where}: authentication refused (HTTP ${answer.status})${req.authHint ? `: ${req.authHint}` : ''}`);
  }
  if (answer.status >= 400) throw new RemoteRejection(`${where}: refused with HTTP ${answer.status}: ${excerpt(text)}`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new NetworkError(`${where}: the answer is not JSON (HTTP ${answer.status}): ${excerpt(text)}`);
  }
}

/** Send one JSON request with the retry policy above; resolves to the parsed JSON body of a 2xx answer. */
export async function requestJson(req: JsonRequest, opts: HttpOptions = {}): Promise<unknown> {
  const headers = { accept: 'application/json', ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}), ...req.headers };
  const body = req.body !== undefined ? JSON.stringify(req.body) : undefined;
  const answer = await requestBytes({ url: req.url, method: req.method, headers, body }, opts, { where: `${req.what} (${printableUrl(req.url)})` });
  return judgeJson(req, answer);
}

/**
 * Upload the submitted file to the S3 bucket the notary service named, with its temporary credentials
 * (SigV4 + session token, region us-west-2 — the region rcodesign found empirically; Apple documents none).
 * A single streamed PutObject (the file is read from disk as it is sent, never buffered whole); S3 takes up to
 * 5 GiB that way, far above any pkg this tool builds, and larger files are refused rather than half-supported.
 *
 * Retries are ours (src/net/retry.ts, the policy every server request follows), not the SDK's: a consumed stream
 * cannot be resent, so each attempt opens the file afresh.
 * `endpoint` replaces Apple's S3 in tests (path-style addressing, e.g. http://127.0.0.1:port); without it the
 * SDK's standard AWS endpoint is used and AWS_ENDPOINT_URL* settings are ignored on purpose.
 */
import { createReadStream } from 'node:fs';
import type { S3Client } from '@aws-sdk/client-s3';
import { InputFileError, InterruptedError, RemoteRejection } from '../errors.js';
import { redact } from '../secret.js';
import type { UploadTarget } from './client.js';
import { Retryable, withRetries } from '../net/retry.js';

export const NOTARY_S3_REGION = 'us-west-2';
const MAX_SINGLE_PUT = 5 * 1024 ** 3;

export interface UploadOptions {
  /** S3-compatible endpoint for tests (path-style). */
  endpoint?: string;
  retries?: number;
  backoffMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
  onRetry?: (message: string) => void;
  /** A connection silent this long counts as failed (and is retried); default 120 s. */
  idleTimeoutMs?: number;
}

interface SdkError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}


const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/**
 * The AWS SDK is loaded only when an upload happens: it is the heaviest dependency (~25 MB resident, ~0.1 s to load)
 * and every other command, `build` without `--notarize` included, would otherwise pay for it at start.
 */
const sdk = (): Promise<typeof import('@aws-sdk/client-s3')> => import('@aws-sdk/client-s3');

async function makeClient(target: UploadTarget, endpoint: string | undefined, idleTimeoutMs: number): Promise<S3Client> {
  const { S3Client } = await sdk();
  return new S3Client({
    region: NOTARY_S3_REGION,
    credentials: {
      accessKeyId: target.accessKeyId,
      secretAccessKey: target.secretAccessKey.reveal(),
      sessionToken: target.sessionToken.reveal(),
    },
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    ignoreConfiguredEndpointUrls: true,
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 30_000, socketTimeout: idleTimeoutMs },
    // The SDK prints some warnings to the console unless given a logger; we report failures ourselves.
    logger: quietLogger,
  });
}

async function putOnce(client: S3Client, file: string, size: number, target: UploadTarget, signal?: AbortSignal): Promise<void> {
  const { PutObjectCommand } = await sdk();
  const body = createReadStream(file);
  try {
    await client.send(new PutObjectCommand({ Bucket: target.bucket, Key: target.object, Body: body, ContentLength: size }), {
      abortSignal: signal,
    });
  } finally {
    body.destroy();
  }
}

/** An SDK failure as the retry policy sees it: S3's 4xx (not 429) is final, anything else is worth another try. */
function uploadFailure(e: unknown, where: string, secrets: Parameters<typeof redact>[1], signal: AbortSignal | undefined): Error {
  if (signal?.aborted) return new InterruptedError();
  const err = e as SdkError;
  const status = err.$metadata?.httpStatusCode;
  const what = redact(status ? `HTTP ${status} ${err.name ?? ''}`.trim() : `connection failed (${err.message ?? String(e)})`, secrets);
  if (status !== undefined && status < 500 && status !== 429) return new RemoteRejection(`${where}: S3 refused the upload: ${what}`);
  return new Retryable(what);
}

/** Upload `file` (`size` bytes) to `target`; NetworkError after retries, RemoteRejection if S3 refuses. */
export async function uploadToS3(file: string, size: number, target: UploadTarget, opts: UploadOptions = {}): Promise<void> {
  if (size > MAX_SINGLE_PUT) throw new InputFileError(file, `package: ${size} bytes is over the 5 GiB single-upload limit (multipart upload is not implemented)`);
  const client = await makeClient(target, opts.endpoint, opts.idleTimeoutMs ?? 120_000);
  const secrets = [target.secretAccessKey, target.sessionToken];
  const where = `notary: upload to s3://${target.bucket}`;
  try {
    const attempt = (): Promise<void> => putOnce(client, file, size, target, opts.signal).catch((e: unknown) => {
      throw uploadFailure(e, where, secrets, opts.signal);
    });
    return await withRetries(attempt, { where }, opts);
  } finally {
    client.destroy();
  }
}

/**
 * Notarize a signed .pkg through Apple's Notary REST API v2, as a list of named steps:
 * hash → create submission → upload to S3 → wait for the verdict → (Invalid/Rejected) fetch the developer log.
 * `submissionId` skips the first three and resumes waiting. Only "Accepted" resolves as notarized; Invalid and
 * Rejected throw {@link NotarizationRejected} (exit 6) carrying the log's issues; network trouble after retries,
 * and the time limit, throw NetworkError (exit 5). With `wait: false` it resolves right after the upload with
 * status "In Progress" (submitted, not notarized — see docs/notarization.md).
 * Before any request: the URLs must be https (loopback http for tests, src/notary/url.ts: exit 2) and the file a
 * signed flat package (src/notary/pkg-check.ts: exit 3).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { RemoteRejection, UsageError } from '../errors.js';
import { checkInputFile } from '../io/fs.js';
import { checkNotarizablePkg } from './pkg-check.js';
import { checkServiceUrls } from './url.js';
import { NotaryClient, type SubmissionInfo } from './client.js';
import { formatIssues, parseDeveloperLog, type LogIssue } from './devlog.js';
import { sha256File } from './digest.js';
import type { HttpOptions } from '../net/http.js';
import { TokenSource, type ApiKey } from './jwt.js';
import { waitForVerdict } from './poll.js';
import { uploadToS3 } from './upload.js';

export interface NotarizeOptions {
  pkg: string;
  apiKey: ApiKey;
  /** Default https://appstoreconnect.apple.com/notary/v2. */
  notaryUrl?: string;
  /** S3-compatible endpoint replacing Apple's bucket host (tests). */
  s3Endpoint?: string;
  /** Default 30 minutes. */
  timeoutMs?: number;
  /** Resume an existing submission instead of submitting `pkg`. */
  submissionId?: string;
  /** Default true; false returns after the upload. */
  wait?: boolean;
  /** Progress lines (no trailing newline). */
  progress?: (line: string) => void;
  /** Warnings the user must see (a signature the notary will refuse); default: progress. */
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
  /** Injected for tests. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface NotarizeResult {
  submissionId: string;
  status: string;
  /** True only for "Accepted". */
  notarized: boolean;
  /** sha256 of the submitted file (absent when resuming). */
  sha256?: string;
  submissionName?: string;
  issues: LogIssue[];
}

/** The notary answered Invalid or Rejected; `result` holds the submission id, status and the log's issues. */
export class NotarizationRejected extends RemoteRejection {
  constructor(readonly result: NotarizeResult) {
    const lines = formatIssues(result.issues);
    super(
      `notary: submission ${result.submissionId} is ${result.status}: Apple did not notarize it` +
        (lines.length ? `\n  ${lines.join('\n  ')}` : ''),
    );
  }
}

const SUBMISSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Apple's upload rejected names with spaces or colons (rcodesign changelog): keep [A-Za-z0-9._-]. */
export function submissionNameFor(file: string): string {
  return path.basename(file).replace(/[^A-Za-z0-9._-]/g, '_') || 'package.pkg';
}

async function submit(opts: NotarizeOptions, client: NotaryClient, http: HttpOptions): Promise<{ id: string; sha256: string; name: string }> {
  const say = opts.progress ?? (() => undefined);
  await checkInputFile(opts.pkg, 'package');
  for (const w of (await checkNotarizablePkg(opts.pkg)).warnings) (opts.onWarning ?? say)(w);
  const size = (await stat(opts.pkg)).size;
  const sha256 = await sha256File(opts.pkg);
  const name = submissionNameFor(opts.pkg);
  const sub = await client.createSubmission(name, sha256);
  say(`notary: submission ${sub.id} created for ${name} (sha256 ${sha256})`);
  await uploadToS3(opts.pkg, size, sub.upload, { endpoint: opts.s3Endpoint, sleep: http.sleep, signal: opts.signal, onRetry: say });
  say(`notary: uploaded ${size} bytes; Apple is checking it`);
  return { id: sub.id, sha256, name };
}

async function logIssues(client: NotaryClient, id: string, say: (l: string) => void): Promise<LogIssue[]> {
  try {
    const log = parseDeveloperLog(await client.fetchLog(await client.getLogUrl(id)));
    if (log.statusSummary) say(`notary: ${log.statusSummary}`);
    return log.issues;
  } catch (e) {
    say(`notary: the developer log could not be fetched: ${(e as Error).message}`);
    return [];
  }
}

export async function notarize(opts: NotarizeOptions): Promise<NotarizeResult> {
  const say = opts.progress ?? (() => undefined);
  checkServiceUrls({ '--notary-url': opts.notaryUrl, '--s3-url': opts.s3Endpoint });
  if (opts.submissionId !== undefined && !SUBMISSION_ID.test(opts.submissionId)) {
    throw new UsageError(`--submission-id: expected a submission id (a UUID), got ${JSON.stringify(opts.submissionId)}`);
  }
  const http: HttpOptions = { fetch: opts.fetch, sleep: opts.sleep, signal: opts.signal, onRetry: say };
  const tokens = new TokenSource(opts.apiKey, opts.now);
  const client = new NotaryClient({ baseUrl: opts.notaryUrl, token: () => tokens.bearer(), http });

  const submitted = opts.submissionId === undefined ? await submit(opts, client, http) : undefined;
  const id = opts.submissionId ?? submitted!.id;
  const base = { submissionId: id, sha256: submitted?.sha256, submissionName: submitted?.name, issues: [] as LogIssue[] };
  if (opts.wait === false) return { ...base, status: 'In Progress', notarized: false };

  let last = '';
  const info: SubmissionInfo = await waitForVerdict(client, id, {
    timeoutMs: opts.timeoutMs,
    now: opts.now,
    sleep: opts.sleep,
    signal: opts.signal,
    onStatus: (s) => {
      if (s.status !== last) say(`notary: submission ${id}: ${s.status}`);
      last = s.status;
    },
  });
  if (info.status === 'Accepted') return { ...base, submissionName: base.submissionName ?? info.name, status: 'Accepted', notarized: true };
  const issues = await logIssues(client, id, say);
  throw new NotarizationRejected({ ...base, submissionName: base.submissionName ?? info.name, status: info.status, notarized: false, issues });
}

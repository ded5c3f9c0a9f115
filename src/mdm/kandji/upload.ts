/**
 * The custom app's file and record on Kandji (Iru), the flow of Kandji's API documentation:
 *
 *  1. `POST /api/v1/library/custom-apps/upload` `{name}` → 201 `{post_url, post_data, file_key, expires}`: a slot
 *     in Kandji's S3 bucket, an S3 presigned POST;
 *  2. `POST {post_url}`: multipart/form-data, every `post_data` field first and the file last (S3 ignores fields
 *     after the file), no Kandji token → 204. The pkg is streamed from the release (net/multipart.ts: bounded
 *     memory, exact Content-Length); a reset or 5xx re-sends it whole under the one retry policy. A policy that has
 *     expired (S3: 403 "Invalid according to Policy: Policy expired") asks Kandji for a new slot, at most twice;
 *  3. `POST /api/v1/library/custom-apps` (create) or `PATCH …/{id}` (a new `file_key` replaces the file), form
 *     encoded. While Kandji processes the uploaded file it answers **503**: tried again, waiting 2 s doubling to 30 s,
 *     for at most 5 minutes (what Kandji's own CLI does). A create is never re-sent blindly (Kandji keeps two items
 *     of one name): after a 503, 429, 5xx or a lost answer the app is looked up by name first, and used when the
 *     lost attempt made it.
 *
 * The answer's `file_size` and (when given) `sha256` are compared with the release's pkg: a mismatch is an error.
 * What an interrupted run leaves: an S3 object no library item points at (Kandji's API lists no pending uploads, so
 * the next run cannot find it and uploads again), or a library item — found by name by the next run and completed.
 */
import { InterruptedError, NetworkError, RemoteRejection } from '../../errors.js';
import { multipartFileBody } from '../../net/multipart.js';
import { sleepFor } from '../../net/retry.js';
import type { DriverContext, ReleaseContent } from '../../rollout/model.js';
import { excerptOf, KandjiUnavailable, type KandjiClient } from './client.js';
import type { DesiredApp } from './desired.js';

/** How long Kandji may answer 503 ("still processing") to a create or update, in waits summed. */
export const PROCESSING_BUDGET_MS = 5 * 60_000;
const PROCESSING_CAP_MS = 30_000;
/** Other failures (429, 5xx, reset) of a create or update: attempts in all. */
const ATTEMPTS = 5;
/** New upload slots asked for after an expired presigned POST. */
const RENEWALS = 2;

const FIELD = /^[A-Za-z0-9_.-]{1,100}$/;

export interface AppStep {
  client: KandjiClient;
  desired: DesiredApp;
  release: ReleaseContent;
  ctx: DriverContext;
}

interface Slot {
  postUrl: string;
  postData: Record<string, string>;
  fileKey: string;
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}

/** The upload slot from Kandji's answer, checked: an https URL (http only to this machine), string fields, bounded. */
function slotOf(step: AppStep, body: Record<string, unknown>): Slot {
  const where = step.client.where(`custom app "${step.desired.name}"`, 'request upload');
  const bad = (what: string): NetworkError => new NetworkError(`${where}: the answer's ${what}`);
  let url: URL;
  try {
    url = new URL(typeof body.post_url === 'string' && body.post_url.length <= 2048 ? body.post_url : '');
  } catch {
    throw bad('post_url is not a URL');
  }
  if (!(url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname))) || url.username || url.password) throw bad('post_url is not an https URL');
  const data = body.post_data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw bad('post_data is not an object');
  const entries = Object.entries(data as Record<string, unknown>);
  if (entries.length === 0 || entries.length > 32) throw bad(`post_data has ${entries.length} fields (expected 1 to 32)`);
  const postData: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (!FIELD.test(k) || k === 'file') throw bad(`post_data has a field name we cannot send (${JSON.stringify(k.slice(0, 40))})`);
    if (typeof v !== 'string' || v.length > 16_384 || /[\r\n]/.test(v)) throw bad(`post_data.${k} is not a one-line string of at most 16 KiB`);
    postData[k] = v;
  }
  const fileKey = body.file_key;
  if (typeof fileKey !== 'string' || fileKey.length === 0 || fileKey.length > 1024 || /[\u0000-\u001f]/.test(fileKey)) throw bad('file_key is not a usable string');
  return { postUrl: url.toString(), postData, fileKey };
}

/** `<Code>` and `<Message>` of an S3 XML error, bounded. */
function s3Error(body: Uint8Array): { code: string; message: string } {
  const text = Buffer.from(body.subarray(0, 8192)).toString('utf8');
  const code = /<Code>([^<]{0,100})<\/Code>/.exec(text)?.[1] ?? '';
  const message = /<Message>([^<]{0,300})<\/Message>/.exec(text)?.[1] ?? '';
  return { code, message };
}

/** Ask for a slot, stream the pkg to it; resolves to the file key. */
export async function uploadPkg(step: AppStep): Promise<string> {
  const { client, desired: d, release, ctx } = step;
  const object = `custom app "${d.name}"`;
  for (let renewal = 0; ; renewal += 1) {
    const answer = await client.json({ object, action: 'request upload', method: 'POST', path: '/api/v1/library/custom-apps/upload', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: d.fileName }) }, [200, 201]);
    const slot = slotOf(step, answer);
    const form = multipartFileBody({ field: 'file', fileName: d.fileName, contentType: 'application/octet-stream', size: release.pkg.size, read: release.pkg.read }, slot.postData);
    ctx.onUploadProgress?.(d.name, 0, release.pkg.size);
    const s3 = await client.s3({
      object,
      url: slot.postUrl,
      headers: { 'content-type': form.contentType },
      body: form.body,
      fileBytes: release.pkg.size,
      onProgress: (sent) => ctx.onUploadProgress?.(d.name, Math.min(release.pkg.size, Math.max(0, sent - form.fileStart)), release.pkg.size),
    });
    if (s3.status === 204 || s3.status === 200 || s3.status === 201) return slot.fileKey;
    const err = s3Error(s3.body);
    if (s3.status === 403 && /expired/i.test(err.message) && renewal < RENEWALS) {
      ctx.onNote?.(`${client.where(object, 'upload to S3')}: HTTP 403 ${err.code}: ${err.message} — asking Kandji for a new upload`);
      continue;
    }
    const detail = err.code ? `${err.code}: ${err.message}` : excerptOf(s3.body, client.opts.secrets ?? []);
    throw new RemoteRejection(`${client.where(object, 'upload to S3')}: refused with HTTP ${s3.status}: ${detail}`);
  }
}

/** The custom app's form fields (everything but `file_key`), our marker in the audit script. */
export function appForm(d: DesiredApp, auditScript: string): Record<string, string> {
  return {
    name: d.name,
    install_type: 'package',
    install_enforcement: 'continuously_enforce',
    audit_script: auditScript,
    preinstall_script: '',
    postinstall_script: '',
    show_in_self_service: 'false',
    restart: 'false',
    active: 'true',
  };
}

export interface SendApp {
  step: AppStep;
  /** Update this item, or create one. */
  id?: string;
  form: Record<string, string>;
  /** The item of this name as it is now (after a create whose answer was lost); undefined: not there. */
  find: () => Promise<Record<string, unknown> | undefined>;
}

function sleep(ctx: DriverContext, ms: number): Promise<void> {
  return (ctx.http?.sleep ?? sleepFor)(ms, ctx.signal);
}

/** Create or update the custom app record, through Kandji's processing 503s; resolves to the item Kandji answered. */
export async function sendApp(s: SendApp): Promise<Record<string, unknown>> {
  const { client, desired: d, ctx } = s.step;
  const object = `custom app "${d.name}"`;
  const action = s.id ? 'update' : 'create';
  const base = ctx.http?.backoffMs ?? 2000;
  let processingWait = base;
  let processed = 0;
  let failures = 0;
  for (;;) {
    try {
      const answer = await client.send({
        object,
        action,
        method: s.id ? 'PATCH' : 'POST',
        path: s.id ? `/api/v1/library/custom-apps/${encodeURIComponent(s.id)}` : '/api/v1/library/custom-apps',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(s.form).toString(),
        retries: 0,
      });
      if (answer.status === 200 || answer.status === 201) return client.parse(answer, { object, action });
      throw client.refused({ object, action }, answer);
    } catch (e) {
      if (!(e instanceof KandjiUnavailable) || ctx.signal.aborted) throw e;
      if (!s.id) {
        const made = await s.find();
        if (made && made.file_key === s.form.file_key) {
          ctx.onNote?.(`${client.where(object, action)}: ${e.status ? `HTTP ${e.status}` : 'no answer'}, but the app was made: using it`);
          return made;
        }
      }
      let wait: number;
      if (e.status === 503) {
        if (processed >= PROCESSING_BUDGET_MS) {
          throw new NetworkError(`${client.where(object, action)}: Kandji still answers HTTP 503 (the uploaded file is being processed) after ${Math.round(processed / 1000)} s: run apply again later; it finds the app by name`);
        }
        wait = Math.max(processingWait, e.retryAfterMs ?? 0);
        processingWait = Math.min(PROCESSING_CAP_MS, processingWait * 2);
        processed += wait;
        ctx.onNote?.(`${client.where(object, action)}: HTTP 503, the uploaded file is still being processed; trying again in ${Math.round(wait / 1000)} s`);
      } else {
        failures += 1;
        if (failures >= ATTEMPTS) throw e;
        wait = Math.max(base * 2 ** (failures - 1), e.retryAfterMs ?? 0);
        ctx.onNote?.(`${client.where(object, action)}: ${e.status ? `HTTP ${e.status}` : 'no answer'}${s.id ? '' : '; it was not made'}: trying again in ${Math.round(wait / 1000)} s`);
      }
      await sleep(ctx, wait);
      if (ctx.signal.aborted) throw new InterruptedError();
    }
  }
}

/** The answer's file size and sha256 (when given) against the release's pkg. */
export function checkUploaded(step: AppStep, item: Record<string, unknown>): void {
  const { client, desired: d } = step;
  const size = item.file_size;
  const sha = typeof item.sha256 === 'string' ? item.sha256.toLowerCase() : undefined;
  if ((typeof size === 'number' && size !== d.size) || (sha !== undefined && sha !== d.sha256)) {
    throw new NetworkError(
      `${client.where(`custom app "${d.name}"`, 'upload')}: Kandji reports the file as ${String(size)} bytes${sha ? `, sha256 ${sha}` : ''}; expected ${d.size} bytes, sha256 ${d.sha256}. The upload was damaged: run apply again`,
    );
  }
}

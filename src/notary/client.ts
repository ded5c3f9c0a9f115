/**
 * Apple Notary REST API v2 (developer.apple.com/documentation/notaryapi), the calls notarization needs:
 * - `POST {base}/submissions` `{submissionName, sha256, notifications: []}` → `data.id` and `data.attributes`
 *   `{awsAccessKeyId, awsSecretAccessKey, awsSessionToken, bucket, object}` (temporary upload credentials);
 * - `GET {base}/submissions/{id}` → `data.attributes.{status, name, createdDate}`,
 *   status "In Progress" | "Accepted" | "Invalid" | "Rejected";
 * - `GET {base}/submissions/{id}/logs` → `data.attributes.developerLogUrl` (pre-signed, short-lived), whose JSON
 *   is fetched without the bearer token.
 * Every call carries a fresh-enough ES256 bearer token (jwt.ts). Answers of an unexpected shape are NetworkErrors
 * (a proxy or captive portal answered, not Apple); the upload credentials come back as Secrets.
 */
import { NetworkError } from '../errors.js';
import { Secret } from '../secret.js';
import { printableUrl, requestJson, type HttpOptions } from '../net/http.js';

export const DEFAULT_NOTARY_URL = 'https://appstoreconnect.apple.com/notary/v2';

export type SubmissionStatus = 'In Progress' | 'Accepted' | 'Invalid' | 'Rejected';
export const FINAL_STATUSES: readonly string[] = ['Accepted', 'Invalid', 'Rejected'];

export interface UploadTarget {
  bucket: string;
  object: string;
  accessKeyId: string;
  secretAccessKey: Secret;
  sessionToken: Secret;
}

export interface NewSubmission {
  id: string;
  upload: UploadTarget;
}

export interface SubmissionInfo {
  id: string;
  /** As Apple sent it; usually one of {@link SubmissionStatus}. */
  status: string;
  name?: string;
  createdDate?: string;
}

export interface NotaryClientOptions {
  /** Default {@link DEFAULT_NOTARY_URL}. */
  baseUrl?: string;
  /** A valid bearer token per call. */
  token: () => Promise<Secret>;
  http?: HttpOptions;
}

const AUTH_HINT = 'check the key id (--api-key-id), the issuer (--api-issuer) and the key file (--api-key); the key must be an App Store Connect Team key';

type Json = Record<string, unknown>;

function field(obj: unknown, path: string[], what: string, url: string): string {
  let v: unknown = obj;
  for (const k of path) v = v && typeof v === 'object' ? (v as Json)[k] : undefined;
  if (typeof v !== 'string' || v === '') {
    throw new NetworkError(`${what} (${printableUrl(url)}): unexpected answer, missing ${path.join('.')}`);
  }
  return v;
}

export class NotaryClient {
  readonly baseUrl: string;

  constructor(private readonly opts: NotaryClientOptions) {
    this.baseUrl = (opts.baseUrl ?? DEFAULT_NOTARY_URL).replace(/\/+$/, '');
  }

  private async call(what: string, url: string, method: 'GET' | 'POST', body?: unknown): Promise<unknown> {
    const token = await this.opts.token();
    return requestJson(
      { what, url, method, body, headers: { authorization: `Bearer ${token.reveal()}` }, authHint: AUTH_HINT },
      this.opts.http,
    );
  }

  private submissionUrl(id?: string, suffix = ''): string {
    return `${this.baseUrl}/submissions${id === undefined ? '' : `/${encodeURIComponent(id)}`}${suffix}`;
  }

  /** Start a submission; returns its id and where to upload the file. */
  async createSubmission(submissionName: string, sha256: string): Promise<NewSubmission> {
    const what = 'notary: create submission';
    const url = this.submissionUrl();
    const res = await this.call(what, url, 'POST', { submissionName, sha256, notifications: [] });
    const attr = (path: string) => field(res, ['data', 'attributes', path], what, url);
    return {
      id: field(res, ['data', 'id'], what, url),
      upload: {
        bucket: attr('bucket'),
        object: attr('object'),
        accessKeyId: attr('awsAccessKeyId'),
        secretAccessKey: new Secret(attr('awsSecretAccessKey'), 'awsSecretAccessKey'),
        sessionToken: new Secret(attr('awsSessionToken'), 'awsSessionToken'),
      },
    };
  }

  async getSubmission(id: string): Promise<SubmissionInfo> {
    const what = 'notary: submission status';
    const url = this.submissionUrl(id);
    const res = await this.call(what, url, 'GET');
    const attrs = ((res as Json)?.data as Json | undefined)?.attributes as Json | undefined;
    return {
      id,
      status: field(res, ['data', 'attributes', 'status'], what, url),
      name: typeof attrs?.name === 'string' ? attrs.name : undefined,
      createdDate: typeof attrs?.createdDate === 'string' ? attrs.createdDate : undefined,
    };
  }

  /** The pre-signed URL of the developer log (never print it: its query carries credentials). */
  async getLogUrl(id: string): Promise<string> {
    const what = 'notary: submission log';
    const url = this.submissionUrl(id, '/logs');
    return field(await this.call(what, url, 'GET'), ['data', 'attributes', 'developerLogUrl'], what, url);
  }

  /** Fetch the developer log JSON (no bearer token: the URL is pre-signed). */
  async fetchLog(logUrl: string): Promise<unknown> {
    return requestJson({ what: 'notary: developer log', url: logUrl }, this.opts.http);
  }
}

/**
 * A minimal S3-compatible PutObject endpoint (path-style: `PUT /<bucket>/<key>`), standing in for the bucket
 * Apple's notary service hands out. It checks what a real S3 would refuse without: a SigV4 `Authorization`
 * header naming the expected access key id, region us-west-2 and service s3, and the `x-amz-security-token`
 * session token. It does NOT verify the signature itself. It stores the bytes (decoding the `aws-chunked`
 * framing the AWS SDK uses for streamed bodies with trailing checksums) so a test can compare their sha256.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { crc32 } from 'node:zlib';
import { startLocalServer, type LocalServer } from './listen.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

export interface StoredObject {
  bytes: Buffer;
  sha256: string;
  /** Request headers of the PUT (lower-case names). */
  headers: IncomingMessage['headers'];
}

export interface S3Server extends LocalServer {
  credentials: S3Credentials;
  /** `<bucket>/<key>` → object. */
  objects: Map<string, StoredObject>;
  /** Every request: method, path, and the status answered. */
  log: { method: string; path: string; status: number }[];
}

export interface S3ServerOptions {
  credentials?: Partial<S3Credentials>;
  /** Answer the first N PUTs with 500 (S3 "InternalError"). */
  failFirst?: number;
  /** Read the upload, then never answer (a stalled connection). */
  stall?: boolean;
}

/**
 * Decode `aws-chunked` framing: `<hex-size>[;chunk-signature=…]\r\n<data>\r\n` … `0\r\n<trailers>\r\n\r\n`,
 * returning the data and the trailer headers (e.g. `x-amz-checksum-crc32`).
 */
export function decodeAwsChunked(body: Buffer): { data: Buffer; trailers: Map<string, string> } {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', pos);
    if (eol < 0) throw new Error('aws-chunked: missing chunk header');
    const size = Number.parseInt(body.subarray(pos, eol).toString('latin1').split(';')[0]!, 16);
    if (!Number.isFinite(size)) throw new Error('aws-chunked: bad chunk size');
    if (size === 0) {
      const trailers = new Map<string, string>();
      for (const line of body.subarray(eol + 2).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon > 0) trailers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
      }
      return { data: Buffer.concat(parts), trailers };
    }
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
}

function crc32Base64(bytes: Buffer): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32(bytes));
  return b.toString('base64');
}

function s3Error(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

function authProblem(req: IncomingMessage, creds: S3Credentials): string | undefined {
  const auth = req.headers.authorization ?? '';
  const cred = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=[0-9a-f]{64}$/.exec(auth);
  if (!cred) return 'missing or malformed SigV4 Authorization header';
  if (cred[1] !== creds.accessKeyId) return 'unknown access key id';
  if (cred[2] !== 'us-west-2' || cred[3] !== 's3') return `wrong scope ${cred[2]}/${cred[3]}`;
  if (req.headers['x-amz-security-token'] !== creds.sessionToken) return 'missing or wrong x-amz-security-token';
  if (!cred[4]!.split(';').includes('x-amz-security-token')) return 'session token not signed';
  return undefined;
}

export async function startS3Server(opts: S3ServerOptions = {}): Promise<S3Server> {
  const credentials: S3Credentials = {
    accessKeyId: 'ASIATESTACCESSKEY01',
    secretAccessKey: 'test-s3-secret-key-wJalrXUtnFEMI-K7MDENG',
    sessionToken: 'test-s3-session-token-IQoJb3JpZ2luX2VjEJr',
    ...opts.credentials,
  };
  const objects = new Map<string, StoredObject>();
  const log: S3Server['log'] = [];
  let failures = opts.failFirst ?? 0;
  const server = await startLocalServer((req, res, body) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!.slice(1));
    const answer = (status: number, xml?: string): void => {
      log.push({ method: req.method ?? '', path, status });
      res.writeHead(status, xml ? { 'content-type': 'application/xml' } : { etag: '"0"' });
      res.end(xml);
    };
    if (req.method !== 'PUT') return answer(405, s3Error('MethodNotAllowed', 'only PUT'));
    const problem = authProblem(req, credentials);
    if (problem) return answer(403, s3Error('AccessDenied', problem));
    if (failures > 0) {
      failures -= 1;
      return answer(500, s3Error('InternalError', 'injected failure'));
    }
    if (opts.stall) {
      log.push({ method: 'PUT', path, status: 0 });
      return;
    }
    const chunked = (req.headers['content-encoding'] ?? '').includes('aws-chunked');
    const { data: bytes, trailers } = chunked ? decodeAwsChunked(body) : { data: body, trailers: new Map<string, string>() };
    const crc = trailers.get('x-amz-checksum-crc32');
    if (crc !== undefined && crc !== crc32Base64(bytes)) return answer(400, s3Error('BadDigest', 'CRC32 mismatch'));
    objects.set(path, { bytes, sha256: createHash('sha256').update(bytes).digest('hex'), headers: req.headers });
    return answer(200);
  });
  return { ...server, credentials, objects, log };
}

/**
 * The S3 side of a Kandji custom-app upload: the presigned POST policy the local Kandji server hands out, and the
 * bucket endpoint that takes the browser-style POST (multipart/form-data) and judges it the way S3 does:
 *
 *  - the policy is base64 JSON `{expiration, conditions}`, signed with AWS Signature Version 4 (HMAC-SHA256 of the
 *    base64 policy with the key derived from the secret, date, region and `s3`); the form must carry `key`,
 *    `policy`, `x-amz-algorithm`, `x-amz-credential`, `x-amz-date`, `x-amz-signature` and the session token;
 *  - a wrong signature is 403 SignatureDoesNotMatch; an expired policy 403 AccessDenied "Invalid according to
 *    Policy: Policy expired."; a field the policy does not allow, or one that differs from its condition, 403
 *    AccessDenied; a file outside `content-length-range` 400 EntityTooLarge / EntityTooSmall; no file, or a field
 *    after the file, 400 InvalidArgument; an Authorization header 400 InvalidArgument (the POST is authorized by its
 *    policy alone);
 *  - success is 204 with Location and ETag; the file's bytes are hashed as they arrive (sha256) and not kept.
 */
import { createHash, createHmac } from 'node:crypto';

export const S3_REGION = 'us-east-1';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

export interface PresignedPost {
  postUrl: string;
  fields: Record<string, string>;
  expires: string;
}

/** A condition of a POST policy: `{field: value}` (exact) or `["content-length-range", min, max]`, `["eq"|"starts-with", "$f", v]`. */
type Condition = Record<string, string> | [string, string | number, string | number];

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function signingKey(secret: string, date: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), S3_REGION), 's3'), 'aws4_request');
}

export function signPolicy(secret: string, date: string, policy: string): string {
  return createHmac('sha256', signingKey(secret, date)).update(policy).digest('hex');
}

function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** A presigned POST for `key` in `bucket`, valid until `expiresAt`, limited to `maxBytes`. */
export function presign(o: { bucketUrl: string; bucket: string; key: string; creds: S3Credentials; now: number; expiresAt: number; maxBytes: number }): PresignedPost {
  const date = amzDate(o.now);
  const credential = `${o.creds.accessKeyId}/${date.slice(0, 8)}/${S3_REGION}/s3/aws4_request`;
  const conditions: Condition[] = [
    { bucket: o.bucket },
    { key: o.key },
    { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' },
    { 'x-amz-credential': credential },
    { 'x-amz-date': date },
    { 'x-amz-security-token': o.creds.sessionToken },
    ['content-length-range', 1, o.maxBytes],
  ];
  const expires = new Date(o.expiresAt).toISOString();
  const policy = Buffer.from(JSON.stringify({ expiration: expires, conditions })).toString('base64');
  return {
    postUrl: o.bucketUrl,
    expires,
    fields: {
      key: o.key,
      'x-amz-algorithm': 'AWS4-HMAC-SHA256',
      'x-amz-credential': credential,
      'x-amz-date': date,
      'x-amz-security-token': o.creds.sessionToken,
      policy,
      'x-amz-signature': signPolicy(o.creds.secretAccessKey, date.slice(0, 8), policy),
    },
  };
}

export interface PostedForm {
  /** Text fields, in order, with whether each came after the file part. */
  fields: { name: string; value: string; afterFile: boolean }[];
  file?: { size: number; sha256: string; filename?: string };
  /** More than one file part. */
  files: number;
}

export interface S3Verdict {
  status: number;
  code?: string;
  message?: string;
  key?: string;
}

/** Judge a POST to the bucket `bucket` the way S3 does (see the header). */
export function judgePost(form: PostedForm, o: { bucket: string; creds: S3Credentials; now: number; authorization: boolean }): S3Verdict {
  const fail = (status: number, code: string, message: string): S3Verdict => ({ status, code, message });
  if (o.authorization) return fail(400, 'InvalidArgument', 'Unsupported Authorization Type');
  if (form.files !== 1 || !form.file) return fail(400, 'InvalidArgument', 'POST requires exactly one file upload per request.');
  const late = form.fields.find((f) => f.afterFile);
  if (late) return fail(400, 'InvalidArgument', `Bucket POST must have the file last: the field ${late.name} came after it`);
  const field = new Map(form.fields.map((f) => [f.name.toLowerCase(), f.value]));
  for (const name of ['key', 'policy', 'x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-signature']) {
    if (!field.has(name)) return fail(400, 'InvalidArgument', `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`);
  }
  const policyB64 = field.get('policy')!;
  const credential = /^([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request$/.exec(field.get('x-amz-credential')!);
  if (!credential || credential[1] !== o.creds.accessKeyId || credential[3] !== S3_REGION) return fail(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  if (field.get('x-amz-signature') !== signPolicy(o.creds.secretAccessKey, credential[2]!, policyB64)) {
    return fail(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  }
  let policy: { expiration?: string; conditions?: Condition[] };
  try {
    policy = JSON.parse(Buffer.from(policyB64, 'base64').toString('utf8')) as typeof policy;
  } catch {
    return fail(400, 'InvalidPolicyDocument', 'Invalid Policy: Invalid JSON.');
  }
  if (!policy.expiration || !(Date.parse(policy.expiration) > o.now)) return fail(403, 'AccessDenied', 'Invalid according to Policy: Policy expired.');
  const allowed = new Set(['policy', 'x-amz-signature', 'file']);
  for (const c of policy.conditions ?? []) {
    if (Array.isArray(c)) {
      if (c[0] === 'content-length-range') {
        const size = form.file.size;
        if (size > Number(c[2])) return fail(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
        if (size < Number(c[1])) return fail(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size');
        continue;
      }
      const name = String(c[1]).replace(/^\$/, '').toLowerCase();
      allowed.add(name);
      const have = field.get(name) ?? '';
      const ok = c[0] === 'starts-with' ? have.startsWith(String(c[2])) : have === String(c[2]);
      if (!ok) return fail(403, 'AccessDenied', `Invalid according to Policy: Policy Condition failed: ${JSON.stringify(c)}`);
      continue;
    }
    for (const [k, v] of Object.entries(c)) {
      const name = k.toLowerCase();
      allowed.add(name);
      if (name === 'bucket') {
        if (v !== o.bucket) return fail(403, 'AccessDenied', `Invalid according to Policy: Policy Condition failed: ${JSON.stringify(['eq', '$bucket', v])}`);
        continue;
      }
      if (field.get(name) !== v) return fail(403, 'AccessDenied', `Invalid according to Policy: Policy Condition failed: ${JSON.stringify(['eq', `$${k}`, v])}`);
    }
  }
  const extra = form.fields.map((f) => f.name.toLowerCase()).filter((n) => !allowed.has(n));
  if (extra.length > 0) return fail(403, 'AccessDenied', `Invalid according to Policy: Extra input fields: ${extra.join(', ')}`);
  return { status: 204, key: field.get('key')! };
}

export function s3ErrorXml(code: string, message: string): string {
  const requestId = createHash('sha256').update(`${code}${message}`).digest('hex').slice(0, 16).toUpperCase();
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</Message><RequestId>${requestId}</RequestId></Error>`;
}

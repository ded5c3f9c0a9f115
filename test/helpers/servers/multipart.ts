/**
 * A streaming multipart/form-data reader (RFC 7578) for the local Jamf Pro, Kandji (and its S3) and Fleet servers: each part's
 * bytes are hashed as they arrive (md5, sha256, sha512) and then dropped, so a 1 GiB upload costs the server a few
 * chunks of memory, never the file. Bounded: part headers ≤ 16 KiB, at most `partLimit` parts (default 16); a part without a closing
 * delimiter, a missing final `--` or bytes that are not multipart are an error naming what was wrong.
 */
import { createHash, type Hash } from 'node:crypto';

export interface UploadedPart {
  name: string;
  filename?: string;
  contentType?: string;
  size: number;
  md5: string;
  sha256: string;
  sha512: string;
  /** The part's bytes, when it is no larger than `keepUpTo` (form fields; a file's bytes are not kept). */
  value?: Buffer;
}

const HEADER_LIMIT = 16 * 1024;

/** The boundary of a `multipart/form-data; boundary=…` content type, or undefined. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) return undefined;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

function parseHeaders(text: string): { name?: string; filename?: string; contentType?: string } {
  const out: { name?: string; filename?: string; contentType?: string } = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === 'content-disposition') {
      if (!/^form-data\b/i.test(value)) throw new Error(`part disposition is not form-data: ${value.slice(0, 60)}`);
      const name = /;\s*name="([^"]*)"/i.exec(value);
      const filename = /;\s*filename="([^"]*)"/i.exec(value);
      if (name) out.name = name[1];
      if (filename) out.filename = filename[1];
    } else if (key === 'content-type') out.contentType = value;
  }
  return out;
}

interface Current {
  head: { name?: string; filename?: string; contentType?: string };
  size: number;
  hashes: [Hash, Hash, Hash];
  kept: Buffer[] | undefined;
}

/**
 * Read the whole multipart body from `body`, hashing each part; throws Error with a reason when malformed. A part of
 * at most `keepUpTo` bytes (default 0: none) also keeps its bytes in `value` (the local Kandji and S3 servers read
 * form fields this way).
 */
export async function readMultipart(body: AsyncIterable<Buffer>, boundary: string, keepUpTo = 0, partLimit = 16): Promise<UploadedPart[]> {
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const parts: UploadedPart[] = [];
  // A virtual CRLF in front lets the first delimiter be found like the others.
  let buf: Buffer = Buffer.from('\r\n');
  let state: 'preamble' | 'after-delimiter' | 'headers' | 'data' | 'done' = 'preamble';
  let current: Current | undefined;
  const finishPart = (): void => {
    if (!current) return;
    const [md5, sha256, sha512] = current.hashes.map((h) => h.digest('hex')) as [string, string, string];
    const value = current.kept ? Buffer.concat(current.kept) : undefined;
    parts.push({ name: current.head.name ?? '', filename: current.head.filename, contentType: current.head.contentType, size: current.size, md5, sha256, sha512, ...(value ? { value } : {}) });
    current = undefined;
  };
  const feed = (data: Buffer): void => {
    if (!current || data.length === 0) return;
    current.size += data.length;
    for (const h of current.hashes) h.update(data);
    if (current.kept && current.size <= keepUpTo) current.kept.push(Buffer.from(data));
    else current.kept = undefined;
  };
  const step = (): boolean => {
    switch (state) {
      case 'preamble':
      case 'data': {
        const at = buf.indexOf(delimiter);
        if (at < 0) {
          const keep = Math.min(buf.length, delimiter.length - 1);
          if (state === 'data') feed(buf.subarray(0, buf.length - keep));
          buf = buf.subarray(buf.length - keep);
          return false;
        }
        if (state === 'data') {
          feed(buf.subarray(0, at));
          finishPart();
        }
        buf = buf.subarray(at + delimiter.length);
        state = 'after-delimiter';
        return true;
      }
      case 'after-delimiter': {
        if (buf.length < 2) return false;
        if (buf[0] === 0x2d && buf[1] === 0x2d) {
          state = 'done';
          return false;
        }
        const crlf = buf.indexOf('\r\n');
        if (crlf < 0) return false;
        if (buf.subarray(0, crlf).toString('latin1').trim() !== '') throw new Error('bytes after a boundary delimiter');
        buf = buf.subarray(crlf + 2);
        state = 'headers';
        return true;
      }
      case 'headers': {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > HEADER_LIMIT) throw new Error(`part headers longer than ${HEADER_LIMIT} bytes`);
          return false;
        }
        if (parts.length >= partLimit) throw new Error(`more than ${partLimit} parts`);
        current = { head: parseHeaders(buf.subarray(0, end).toString('utf8')), size: 0, hashes: [createHash('md5'), createHash('sha256'), createHash('sha512')], kept: keepUpTo > 0 ? [] : undefined };
        buf = buf.subarray(end + 4);
        state = 'data';
        return true;
      }
      default:
        return false;
    }
  };
  for await (const chunk of body) {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (step());
  }
  while (step());
  if (state === 'preamble') throw new Error(`no multipart delimiter --${boundary} in the body`);
  if (state !== 'done') throw new Error(`the body ends inside a part (state ${state}): no closing --${boundary}--`);
  return parts;
}

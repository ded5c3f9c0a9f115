/**
 * A streaming multipart/form-data reader (RFC 7578) for the local Fleet server: every part is hashed (sha256) and
 * counted as it arrives; a part is kept in memory only when `keep(name)` says so and it stays under `keepLimit`
 * (text fields, a profile) — the pkg is hashed and dropped, so a large upload costs the server a few chunks.
 * Bounded: part headers ≤ 16 KiB, at most 64 parts; malformed bodies are an Error naming what was wrong.
 * Written for this server (the client's encoder is src/net/multipart.ts; the two share no code).
 */
import { createHash, type Hash } from 'node:crypto';

export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  size: number;
  sha256: string;
  /** The bytes, for kept parts. */
  bytes?: Buffer;
}

const HEADER_LIMIT = 16 * 1024;
const PART_LIMIT = 64;

export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) return undefined;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

function headersOf(text: string): { name?: string; filename?: string; contentType?: string } {
  const out: { name?: string; filename?: string; contentType?: string } = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === 'content-disposition') {
      if (!/^form-data\b/i.test(value)) throw new Error(`part disposition is not form-data: ${value.slice(0, 60)}`);
      out.name = /;\s*name="([^"]*)"/i.exec(value)?.[1];
      out.filename = /;\s*filename="([^"]*)"/i.exec(value)?.[1];
    } else if (key === 'content-type') out.contentType = value;
  }
  return out;
}

export async function readForm(body: AsyncIterable<Buffer>, boundary: string, keep: (name: string) => boolean, keepLimit: number): Promise<FormPart[]> {
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const parts: FormPart[] = [];
  let buf: Buffer = Buffer.from('\r\n');
  let state: 'preamble' | 'after' | 'headers' | 'data' | 'done' = 'preamble';
  let cur: { head: ReturnType<typeof headersOf>; size: number; hash: Hash; chunks?: Buffer[] } | undefined;
  const feed = (data: Buffer): void => {
    if (!cur || data.length === 0) return;
    cur.size += data.length;
    cur.hash.update(data);
    if (cur.chunks) {
      if (cur.size > keepLimit) throw new Error(`part ${cur.head.name ?? '?'} is larger than ${keepLimit} bytes`);
      cur.chunks.push(Buffer.from(data));
    }
  };
  const finish = (): void => {
    if (!cur) return;
    parts.push({ name: cur.head.name ?? '', filename: cur.head.filename, contentType: cur.head.contentType, size: cur.size, sha256: cur.hash.digest('hex'), ...(cur.chunks ? { bytes: Buffer.concat(cur.chunks) } : {}) });
    cur = undefined;
  };
  const step = (): boolean => {
    if (state === 'preamble' || state === 'data') {
      const at = buf.indexOf(delimiter);
      if (at < 0) {
        const hold = Math.min(buf.length, delimiter.length - 1);
        if (state === 'data') feed(buf.subarray(0, buf.length - hold));
        buf = buf.subarray(buf.length - hold);
        return false;
      }
      if (state === 'data') {
        feed(buf.subarray(0, at));
        finish();
      }
      buf = buf.subarray(at + delimiter.length);
      state = 'after';
      return true;
    }
    if (state === 'after') {
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
    if (state === 'headers') {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > HEADER_LIMIT) throw new Error(`part headers longer than ${HEADER_LIMIT} bytes`);
        return false;
      }
      if (parts.length >= PART_LIMIT) throw new Error(`more than ${PART_LIMIT} parts`);
      const head = headersOf(buf.subarray(0, end).toString('utf8'));
      if (!head.name) throw new Error('a part without a name');
      cur = { head, size: 0, hash: createHash('sha256'), ...(keep(head.name) ? { chunks: [] } : {}) };
      buf = buf.subarray(end + 4);
      state = 'data';
      return true;
    }
    return false;
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

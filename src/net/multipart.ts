/**
 * A `multipart/form-data` body (RFC 7578) of text fields and one file part, as a {@link StreamBody}: the parts'
 * headers and the closing boundary are small strings, the file's bytes are streamed from its source each time the
 * body is opened, so a 1 GiB upload is sent in bounded memory and its exact length (the Content-Length) is known
 * before the first byte.
 *
 * Covers: ASCII field names, a file name quoted with `"`, CR, LF and `\` escaped as percent-encoding (what browsers
 * send, RFC 7578 §2 leaves the form to the sender) and a random boundary that the file's bytes are not scanned
 * for (a 72-bit random boundary colliding with the content is not a practical concern). Does not cover several
 * files, non-ASCII names (RFC 5987 `filename*`) or nested multiparts.
 */
import { randomBytes } from 'node:crypto';
import type { StreamBody } from './http.js';

export interface MultipartFile {
  /** The form field name, e.g. `file`. */
  field: string;
  fileName: string;
  contentType: string;
  size: number;
  /** A fresh stream of the file's bytes each call. */
  read: () => AsyncIterable<Uint8Array>;
}

export interface MultipartBody {
  /** `multipart/form-data; boundary=…`. */
  contentType: string;
  body: StreamBody;
  /** Where the file's bytes start in the body (for progress in file bytes). */
  fileStart: number;
}

const NAME = /^[A-Za-z0-9_.-]{1,100}$/;

function quoted(value: string): string {
  return value.replace(/["\r\n\\%]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** The body of one file part (plus optional text fields before it). */
export function multipartFileBody(file: MultipartFile, fields: Record<string, string> = {}, boundary = `aiwatch-${randomBytes(9).toString('hex')}`): MultipartBody {
  for (const name of [file.field, ...Object.keys(fields)]) {
    if (!NAME.test(name)) throw new Error(`multipart: field name ${JSON.stringify(name)} must match ${NAME.source}`);
  }
  let head = '';
  for (const [name, value] of Object.entries(fields)) {
    head += `--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  }
  head += `--${boundary}\r\ncontent-disposition: form-data; name="${file.field}"; filename="${quoted(file.fileName)}"\r\ncontent-type: ${file.contentType}\r\n\r\n`;
  const headBytes = Buffer.from(head, 'utf8');
  const tailBytes = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    fileStart: headBytes.length,
    body: {
      length: headBytes.length + file.size + tailBytes.length,
      async *open() {
        yield headBytes;
        yield* file.read();
        yield tailBytes;
      },
    },
  };
}

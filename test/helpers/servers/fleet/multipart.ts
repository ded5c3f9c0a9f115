/**
 * The local Fleet server's view of a multipart/form-data body: the shared streaming reader (../multipart.ts: every
 * part hashed as it arrives, bounded headers and part count) with Fleet's rule on top — a part the server wants to
 * read (`keep(name)`: text fields, a profile) must fit in `keepLimit` bytes; the pkg is hashed and dropped.
 */
import { readMultipart } from '../multipart.js';

export { boundaryOf } from '../multipart.js';

export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  size: number;
  sha256: string;
  /** The bytes, for kept parts. */
  bytes?: Buffer;
}

const PART_LIMIT = 64;

export async function readForm(body: AsyncIterable<Buffer>, boundary: string, keep: (name: string) => boolean, keepLimit: number): Promise<FormPart[]> {
  const parts = await readMultipart(body, boundary, keepLimit, PART_LIMIT);
  return parts.map((p) => {
    if (!p.name) throw new Error('a part without a name');
    const kept = keep(p.name);
    if (kept && p.size > keepLimit) throw new Error(`part ${p.name} is larger than ${keepLimit} bytes`);
    return { name: p.name, filename: p.filename, contentType: p.contentType, size: p.size, sha256: p.sha256, ...(kept ? { bytes: p.value ?? Buffer.alloc(0) } : {}) };
  });
}

/**
 * Small byte-stream helpers for reading package members: peeking at the first bytes of a stream (to tell gzip from
 * pbzx from raw cpio), gunzip as an async iterable, counting bytes as they pass, and turning a reader's error into
 * the text `inspect`/`verify` print. Memory stays at a few chunks whatever the stream's size.
 */
import { pipeline, Readable } from 'node:stream';
import { createGunzip, type ZlibOptions } from 'node:zlib';
import { InputFileError } from '../errors.js';
import { byteText, InputLimitError, type LimitName } from '../formats/limits.js';
import type { ByteSource } from '../formats/byte-stream.js';

/** The first `n` bytes of `src` (fewer if it is shorter), and the whole stream again (head included) as `rest`. */
export async function peek(src: ByteSource, n: number): Promise<{ head: Buffer; rest: AsyncGenerator<Uint8Array> }> {
  const it = src[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let len = 0;
  let done = false;
  while (len < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    parts.push(Buffer.from(r.value));
    len += r.value.length;
  }
  const first = Buffer.concat(parts);
  async function* rest(): AsyncGenerator<Uint8Array> {
    try {
      if (first.length > 0) yield first;
      while (!done) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      if (!done) await it.return?.();
    }
  }
  return { head: first.subarray(0, n), rest: rest() };
}

/**
 * Output chunk of {@link gunzipSource}: 256 KiB instead of zlib's 16 KiB, so a 256 MiB Payload is 1,024 inflate
 * jobs and callbacks rather than 16,384 (and its programs are spilled in as few writes); a bound is still checked
 * after every chunk, so a bomb overshoots it by at most this much.
 */
export const GUNZIP_CHUNK = 1 << 18;

/** gunzip a byte stream (several members are decoded one after another, as gunzip does). */
export function gunzipSource(src: ByteSource): ByteSource {
  // Up to 2 chunks inflated ahead: the reader (hashing, cpio) and the inflate thread then overlap instead of taking
  // turns.
  return pipeline(Readable.from(src, { objectMode: false }), createGunzip({ chunkSize: GUNZIP_CHUNK, readableHighWaterMark: 2 * GUNZIP_CHUNK } as ZlibOptions), () => undefined) as unknown as ByteSource;
}

/** Counts the bytes that pass. */
export class ByteCounter {
  bytes = 0;
}

/** Pass `src` through, adding each chunk's length to `counter`. */
export async function* counted(src: AsyncIterable<Uint8Array>, counter: ByteCounter): AsyncGenerator<Uint8Array> {
  for await (const chunk of src) {
    counter.bytes += chunk.length;
    yield chunk;
  }
}

/** How many bytes a stream may carry, which limit that is, and why (for the message). */
export interface ByteBound {
  max: number;
  limit: LimitName;
  why: string;
}

/** Pass `src` through until more than `bound.max` bytes have passed, then throw an InputLimitError naming `what`. */
export async function* bounded(src: AsyncIterable<Uint8Array>, bound: ByteBound, what: string): AsyncGenerator<Uint8Array> {
  let n = 0;
  for await (const chunk of src) {
    n += chunk.length;
    if (n > bound.max) throw new InputLimitError(what, bound.limit, `inflates to more than ${byteText(bound.max)}: over the limit of ${bound.why} (a hostile or damaged archive; not read further)`);
    yield chunk;
  }
}

/** Read the rest of a generator (after a reader stopped early) so the whole stream is measured and checked. */
export async function drainRest(gen: AsyncGenerator<Uint8Array>): Promise<void> {
  for (;;) {
    const r = await gen.next();
    if (r.done) return;
  }
}

/** An error's message without the `file: ` prefix an InputFileError carries (the caller names the place). */
export function errorText(e: unknown): string {
  if (e instanceof InputFileError) return e.message.startsWith(`${e.file}: `) ? e.message.slice(e.file.length + 2) : e.message;
  return e instanceof Error ? e.message : String(e);
}

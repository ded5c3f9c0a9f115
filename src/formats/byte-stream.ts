/**
 * Byte-stream plumbing shared by the xar writer, re-signer and reader, the zip writer and the artifact readers:
 * reading byte ranges of a file in bounded chunks, zlib (RFC 1950) deflate/inflate as async iterables, hashing while
 * bytes pass, and writing to a caller's Writable with backpressure. Memory stays at a few chunks whatever the
 * payload size.
 * Does not open output files (src/io/fs.ts does) and does not spawn anything.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { pipeline, Readable, type Writable } from 'node:stream';
import { createDeflate, createInflate, constants as zc } from 'node:zlib';

/**
 * Read chunk size: large enough for throughput, small enough that memory does not matter. 64 KiB, not 1 MiB: a chunk
 * waiting in the output stream's buffer outlives V8's young-generation collections, and 1 MiB chunks then piled up
 * as old garbage while a 90 MiB Payload was copied (peak RSS of a 256 MiB build ~200 → ~155 MiB; same speed).
 */
export const CHUNK_SIZE = 1 << 16;

/** zlib level for the TOC and x-gzip members; Apple's xar uses Z_BEST_COMPRESSION. Fixed for reproducible bytes. */
export const ZLIB_LEVEL = zc.Z_BEST_COMPRESSION;

export type ByteSource = AsyncIterable<Uint8Array>;

/** Bytes [start, start+length) of `file` (to EOF when length is omitted), in chunks of at most {@link CHUNK_SIZE}. */
export function fileRange(file: string, start = 0, length?: number): ByteSource {
  if (length === 0) return (async function* () {})();
  const end = length === undefined ? undefined : start + length - 1;
  return createReadStream(file, { start, end, highWaterMark: CHUNK_SIZE });
}

function through(src: ByteSource, transform: NodeJS.ReadWriteStream): ByteSource {
  // pipeline destroys every stage on error; iterating the last stage then rejects with that error.
  return pipeline(Readable.from(src, { objectMode: false }), transform, () => undefined) as unknown as ByteSource;
}

/** zlib-compress a byte stream (what xar calls `application/x-gzip`). */
export function deflateSource(src: ByteSource): ByteSource {
  return through(src, createDeflate({ level: ZLIB_LEVEL }));
}

/** zlib-decompress a byte stream. */
export function inflateSource(src: ByteSource): ByteSource {
  return through(src, createInflate());
}

/** Counts and hashes bytes as they pass. */
export class Meter {
  bytes = 0;
  private readonly hash: Hash;
  constructor(algorithm = 'sha1') {
    this.hash = createHash(algorithm);
  }
  update(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
  }
  hex(): string {
    return this.hash.digest('hex');
  }
}

/** Pass `src` through unchanged, feeding `meter`. */
export async function* metered(src: ByteSource, meter: Meter): ByteSource {
  for await (const chunk of src) {
    meter.update(chunk);
    yield chunk;
  }
}

/** Consume a source, only for its side effects (meters). */
export async function drain(src: ByteSource): Promise<void> {
  for await (const _chunk of src) {
    // counted by the meters upstream
  }
}

/** Write one chunk, waiting for 'drain' when the stream's buffer is full. Rejects if the stream errors. */
export async function writeChunk(out: Writable, chunk: Uint8Array): Promise<void> {
  if (chunk.length === 0) return;
  if (!out.write(chunk)) await once(out, 'drain');
}

/** Write a whole source to `out` with backpressure; returns the number of bytes written. */
export async function writeSource(out: Writable, src: ByteSource): Promise<number> {
  let n = 0;
  for await (const chunk of src) {
    await writeChunk(out, chunk);
    n += chunk.length;
  }
  return n;
}

/** {@link collect} saw more than its `max` bytes. */
export class CollectLimitError extends RangeError {
  constructor(readonly max: number) {
    super(`more than ${max} bytes`);
  }
}

/** Collect a (small) source into one Buffer; throws {@link CollectLimitError} once more than `max` bytes arrive. */
export async function collect(src: ByteSource, max: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of src) {
    n += chunk.length;
    if (n > max) throw new CollectLimitError(max);
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** A single-chunk source. */
export async function* bytesSource(bytes: Uint8Array): ByteSource {
  if (bytes.length > 0) yield bytes;
}

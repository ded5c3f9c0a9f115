/**
 * Random-access byte sources: what the readers of nested formats (a pkg inside a release zip, a xar, a zip read
 * back from memory) read from instead of a path, so a member stored inside another file is read in place — no
 * temporary copy. A source knows its size, reads a range into a Buffer (headers, TOCs, signatures: small) and
 * streams a range in bounded chunks (member bytes: large). Three kinds: a file by path (opened per read or per
 * stream, so a source needs no closing), a Buffer, and a window (offset, length) of another source.
 * Does not cover writing, nor sources that cannot seek (a gzip or AES stream: those are read sequentially).
 */
import { createReadStream, promises as fsp } from 'node:fs';

/**
 * Chunk size of {@link RandomAccessSource.stream}: 256 KiB. `verify` and `inspect` read a release's pkg through these
 * streams three times (the zip entry's hash, the xar checksums, the Payload), and each read of a file stream costs
 * the main thread a fixed price: at 64 KiB that was ~0.13 CPU-s for a 256 MiB agent. Measured, 5 interleaved runs
 * each: verify 2.00 → 1.85 s (CPU 2.65 → 2.50), inspect 1.94 → 1.71 s, peak RSS 113 → 126 MiB; 1 MiB chunks were
 * slower again (more GC, 150 MiB). The writers keep 64 KiB (byte-stream.ts CHUNK_SIZE explains why).
 */
const CHUNK = 1 << 18;

export interface RandomAccessSource {
  /** Bytes in the source. */
  readonly size: number;
  /** Bytes [offset, offset + length), fewer only at the end of the source. */
  read(offset: number, length: number): Promise<Buffer>;
  /** Bytes [offset, offset + length) in chunks of at most 64 KiB (fewer only at the end of the source). */
  stream(offset: number, length: number): AsyncIterable<Uint8Array>;
}

/** A named source: `name` is what problems and errors call it (a path, or `zip:entry` for a nested file). */
export interface NamedSource {
  name: string;
  source: RandomAccessSource;
}

function clamp(size: number, offset: number, length: number): number {
  return Math.max(0, Math.min(length, size - offset));
}

/** The file at `file`, of `size` bytes (the caller stat'ed it). Each read opens and closes it; a stream reads through. */
export function fileSource(file: string, size: number): RandomAccessSource {
  return {
    size,
    async read(offset, length) {
      const n = clamp(size, offset, length);
      if (n === 0) return Buffer.alloc(0);
      const fh = await fsp.open(file, 'r');
      try {
        const buf = Buffer.alloc(n);
        const { bytesRead } = await fh.read(buf, 0, n, offset);
        return buf.subarray(0, bytesRead);
      } finally {
        await fh.close();
      }
    },
    stream(offset, length) {
      const n = clamp(size, offset, length);
      if (n === 0) return (async function* () {})();
      return createReadStream(file, { start: offset, end: offset + n - 1, highWaterMark: CHUNK });
    },
  };
}

/** An open file handle of `size` bytes (the caller closes it when done with the source). */
export function handleSource(fh: fsp.FileHandle, size: number): RandomAccessSource {
  const read = async (offset: number, length: number): Promise<Buffer> => {
    const n = clamp(size, offset, length);
    const buf = Buffer.alloc(n);
    const { bytesRead } = n === 0 ? { bytesRead: 0 } : await fh.read(buf, 0, n, offset);
    return buf.subarray(0, bytesRead);
  };
  return {
    size,
    read,
    async *stream(offset, length) {
      let at = offset;
      let left = clamp(size, offset, length);
      while (left > 0) {
        const chunk = await read(at, Math.min(CHUNK, left));
        if (chunk.length === 0) return;
        yield chunk;
        at += chunk.length;
        left -= chunk.length;
      }
    },
  };
}

/** Bytes in memory (views of `bytes`, not copies). */
export function bufferSource(bytes: Uint8Array): RandomAccessSource {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    size: buf.length,
    read: async (offset, length) => buf.subarray(offset, offset + clamp(buf.length, offset, length)),
    async *stream(offset, length) {
      const end = offset + clamp(buf.length, offset, length);
      for (let at = offset; at < end; at += CHUNK) yield buf.subarray(at, Math.min(end, at + CHUNK));
    },
  };
}

/** Bytes [offset, offset + length) of `parent` as a source of its own (a stored zip entry, read in place). */
export function windowSource(parent: RandomAccessSource, offset: number, length: number): RandomAccessSource {
  if (offset < 0 || length < 0 || offset + length > parent.size) throw new RangeError(`window [${offset}, +${length}) lies outside a source of ${parent.size} bytes`);
  return {
    size: length,
    read: (o, n) => parent.read(offset + o, clamp(length, o, n)),
    stream: (o, n) => parent.stream(offset + o, clamp(length, o, n)),
  };
}

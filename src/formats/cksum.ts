/**
 * POSIX `cksum` CRC (CRC-32/CKSUM), the per-file checksum a Bom records (reference pkg-format.md §3.3).
 *
 * Covers: the exact algorithm of the POSIX `cksum` utility — polynomial 0x04C11DB7, MSB-first, initial value 0,
 * the message length appended least-significant byte first using only as many bytes as it needs, then the ones'
 * complement — computed incrementally over chunks, over an async byte stream, or over a file read in chunks.
 * Does not cover: zlib's CRC-32 (a different, reflected CRC; gzip uses that one, via `zlib.crc32`) nor cksum's
 * other algorithms (`cksum -a …`).
 *
 * Hand-written because Node has no CRC-32/CKSUM (zlib.crc32 is the reflected CRC, and turning one into the other
 * needs every byte bit-reversed, a pass as slow as the CRC itself). The tables are built at load time and the inner
 * loop consumes sixteen bytes per step ("slicing by 16", one flat 16 × 256 table): 0.09–0.10 CPU-s per 128 MiB
 * against 0.20–0.24 for slicing by 4 (docs/benchmarks.md); a Bom's cksum of a 256 MiB binary is computed while the
 * Payload is written, and `verify` recomputes it.
 */
import { createReadStream } from 'node:fs';

const POLY = 0x04c11db7;
const SLICES = 16;

/** Table k (at k × 256): the CRC state contribution of byte i followed by k zero bytes. */
const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256 * SLICES);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let bit = 0; bit < 8; bit++) c = c & 0x80000000 ? (c << 1) ^ POLY : c << 1;
    t[i] = c >>> 0;
  }
  for (let k = 1; k < SLICES; k++) {
    for (let i = 0; i < 256; i++) {
      const prev = t[(k - 1) * 256 + i]!;
      t[k * 256 + i] = ((prev << 8) ^ t[prev >>> 24]!) >>> 0;
    }
  }
  return t;
})();

/** Feed `data` into a running (un-finalised) CRC register and return the new register. */
export function cksumUpdate(crc: number, data: Uint8Array): number {
  const T = TABLE;
  let c = crc >>> 0;
  const n = data.length;
  const end16 = n - (n % 16);
  let i = 0;
  for (; i < end16; i += 16) {
    const x = c ^ ((data[i]! << 24) | (data[i + 1]! << 16) | (data[i + 2]! << 8) | data[i + 3]!);
    c =
      T[3840 + (x >>> 24)]! ^ T[3584 + ((x >>> 16) & 0xff)]! ^ T[3328 + ((x >>> 8) & 0xff)]! ^ T[3072 + (x & 0xff)]! ^
      T[2816 + data[i + 4]!]! ^ T[2560 + data[i + 5]!]! ^ T[2304 + data[i + 6]!]! ^ T[2048 + data[i + 7]!]! ^
      T[1792 + data[i + 8]!]! ^ T[1536 + data[i + 9]!]! ^ T[1280 + data[i + 10]!]! ^ T[1024 + data[i + 11]!]! ^
      T[768 + data[i + 12]!]! ^ T[512 + data[i + 13]!]! ^ T[256 + data[i + 14]!]! ^ T[data[i + 15]!]!;
  }
  for (; i < n; i++) c = (c << 8) ^ T[((c >>> 24) ^ data[i]!) & 0xff]!;
  return c >>> 0;
}

/** Append the length (LSB first, only the bytes needed) and complement: the value `cksum` prints. */
export function cksumFinalize(crc: number, length: number): number {
  let c = crc >>> 0;
  for (let n = length; n > 0; n = Math.floor(n / 256)) c = (c << 8) ^ TABLE[((c >>> 24) ^ (n % 256)) & 0xff]!;
  return ~c >>> 0;
}

/** POSIX cksum of one buffer (e.g. a symlink target). `cksum(empty)` is 4294967295. */
export function cksum(data: Uint8Array): number {
  return cksumFinalize(cksumUpdate(0, data), data.length);
}

/** Incremental POSIX cksum: `update` with each chunk in order, then `digest()`. */
export class Cksum {
  #crc = 0;
  #length = 0;
  update(chunk: Uint8Array): this {
    this.#crc = cksumUpdate(this.#crc, chunk);
    this.#length += chunk.length;
    return this;
  }
  /** Bytes fed so far. */
  get length(): number {
    return this.#length;
  }
  digest(): number {
    return cksumFinalize(this.#crc, this.#length);
  }
}

/** POSIX cksum and byte count of an async byte stream, consumed once. */
export async function cksumStream(source: AsyncIterable<Uint8Array>): Promise<{ cksum: number; size: number }> {
  const sum = new Cksum();
  for await (const chunk of source) sum.update(chunk);
  return { cksum: sum.digest(), size: sum.length };
}

/** POSIX cksum and size of a file, read in `chunkSize` pieces (default 1 MiB): memory does not grow with the file. */
export async function cksumFile(file: string, chunkSize = 1 << 20): Promise<{ cksum: number; size: number }> {
  return cksumStream(createReadStream(file, { highWaterMark: chunkSize }) as AsyncIterable<Buffer>);
}

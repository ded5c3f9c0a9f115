/**
 * CRC-32 (zlib's, as `zlib.crc32` computes it) of two byte runs joined, from the CRC-32 of each and the length of the
 * second — zlib's crc32_combine, which Node does not expose. It lets the release's zip entry for the pkg carry its
 * CRC-32 in the local header without a pass over the pkg: the CRC of the Payload is taken as the Payload is written,
 * the CRC of the small members in memory, and the two are combined (src/pkg/xar.ts).
 *
 * Method (zlib's): appending `len2` zero bytes to the first run is a linear map on the CRC register over GF(2); the
 * map for one zero byte is a 32 × 32 bit matrix, squared repeatedly to reach `len2`'s bits, so the work is
 * O(log len2) matrix products, not O(len2).
 *
 * Hand-written: no maintained npm package exposes it for zlib's CRC-32 (the few that exist wrap their own CRC code).
 */

const POLY = 0xedb88320; // the reflected CRC-32 polynomial

function timesMatrix(mat: Uint32Array, vec: number): number {
  let sum = 0;
  for (let i = 0; vec !== 0; i++, vec >>>= 1) if (vec & 1) sum ^= mat[i]!;
  return sum >>> 0;
}

function square(into: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n++) into[n] = timesMatrix(mat, mat[n]!);
}

/** CRC-32 of A followed by B, given crc32(A), crc32(B) and B's length in bytes. */
export function crc32Combine(crc1: number, crc2: number, len2: number): number {
  if (!Number.isSafeInteger(len2) || len2 < 0) throw new RangeError(`crc32Combine: length must be a whole number of bytes ≥ 0, got ${len2}`);
  if (len2 === 0) return crc1 >>> 0;
  const even = new Uint32Array(32); // operator for 2^k zero bits, k even
  const odd = new Uint32Array(32);
  odd[0] = POLY; // the operator for one zero bit
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row >>> 0;
  square(even, odd); // two zero bits
  square(odd, even); // four zero bits
  let c = crc1 >>> 0;
  let len = len2;
  // Apply len2 zero bytes (8 × len2 zero bits), one bit of len2 at a time, starting with one byte (eight bits).
  for (;;) {
    square(even, odd);
    if (len % 2 === 1) c = timesMatrix(even, c);
    len = Math.floor(len / 2);
    if (len === 0) break;
    square(odd, even);
    if (len % 2 === 1) c = timesMatrix(odd, c);
    len = Math.floor(len / 2);
    if (len === 0) break;
  }
  return (c ^ crc2) >>> 0;
}

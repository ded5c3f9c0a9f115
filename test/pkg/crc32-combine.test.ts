/** crc32Combine against zlib.crc32 of the joined bytes: every split of short runs, random splits of longer ones. */
import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32Combine } from '../../src/formats/crc32-combine.js';

describe('crc32Combine', () => {
  it('equals zlib.crc32 of the joined bytes at every split of a 300-byte run, and of a known vector', () => {
    const data = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff));
    for (let cut = 0; cut <= data.length; cut++) {
      const [a, b] = [data.subarray(0, cut), data.subarray(cut)];
      expect(crc32Combine(zlib.crc32(a), zlib.crc32(b), b.length)).toBe(zlib.crc32(data));
    }
    // "123456789" → 0xCBF43926, the CRC-32 check value
    expect(crc32Combine(zlib.crc32('1234'), zlib.crc32('56789'), 5)).toBe(0xcbf43926);
  });

  it('equals zlib.crc32 for random runs and splits, lengths up to 3 MiB (the exponent bits of long runs)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 4096 }), fc.integer({ min: 0, max: 3 * 1024 * 1024 }), fc.nat(), (head, zeros, seed) => {
        const tail = Buffer.alloc(zeros, seed & 0xff);
        const joined = Buffer.concat([head, tail]);
        expect(crc32Combine(zlib.crc32(head), zlib.crc32(tail), tail.length)).toBe(zlib.crc32(joined));
      }),
      { numRuns: 40 },
    );
  });

  it('refuses a length that is not a whole number of bytes', () => {
    expect(() => crc32Combine(0, 0, -1)).toThrow(RangeError);
    expect(() => crc32Combine(0, 0, 1.5)).toThrow(RangeError);
  });
});

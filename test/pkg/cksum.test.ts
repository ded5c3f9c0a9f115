import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Cksum, cksum, cksumFile, cksumStream } from '../../src/formats/cksum.js';
import { describeWithTools, run } from '../helpers/tools.js';

const ascii = (s: string) => Buffer.from(s, 'latin1');

/** Bit-at-a-time CRC-32/CKSUM straight from the POSIX description: an oracle independent of the table code. */
function slowCksum(data: Uint8Array): number {
  let crc = 0;
  const feed = (byte: number) => {
    for (let bit = 7; bit >= 0; bit--) {
      const top = ((crc >>> 31) ^ (byte >>> bit)) & 1;
      crc = ((crc << 1) ^ (top ? 0x04c11db7 : 0)) >>> 0;
    }
  };
  data.forEach(feed);
  for (let n = data.length; n > 0; n = Math.floor(n / 256)) feed(n & 0xff);
  return ~crc >>> 0;
}

describe('cksum: hand-checked values', () => {
  // Values printed by GNU coreutils `cksum` and, for "APPL????", recorded in Apple's own Bom sample (§3.3).
  it.each([
    ['', 4294967295],
    ['a', 1220704766],
    ['123456789', 930766865],
    ['APPL????', 742937289],
  ])('cksum(%j) = %d', (input, expected) => {
    expect(cksum(ascii(input))).toBe(expected);
    expect(slowCksum(ascii(input))).toBe(expected);
  });

  it('256 zero bytes need a two-byte length suffix: 4215202376', () => {
    expect(cksum(new Uint8Array(256))).toBe(4215202376);
  });

  it('is not zlib crc32', async () => {
    const { crc32 } = await import('node:zlib');
    expect(cksum(ascii('123456789'))).not.toBe(crc32(ascii('123456789')));
  });

  it('agrees with the bit-wise oracle for any bytes, however they are chunked', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(3000), { maxLength: 5 }), (data, cuts) => {
        const sum = new Cksum();
        let last = 0;
        for (const cut of [...cuts].sort((a, b) => a - b)) {
          const at = Math.min(cut, data.length);
          sum.update(data.subarray(last, at));
          last = at;
        }
        sum.update(data.subarray(last));
        expect(sum.length).toBe(data.length);
        expect(sum.digest()).toBe(slowCksum(data));
        expect(cksum(data)).toBe(slowCksum(data));
      }),
      { numRuns: 200 },
    );
  });

  it('cksumStream consumes an async iterable', async () => {
    async function* parts() {
      yield ascii('1234');
      yield ascii('56789');
    }
    expect(await cksumStream(parts())).toEqual({ cksum: 930766865, size: 9 });
  });
});

describeWithTools(['cksum'], 'cksum: agrees with the cksum command', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cksum-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([0, 1, 3, 255, 256, 65_536, 70_001, 3 * 1024 * 1024 + 5])('%d pseudo-random bytes (file, small chunks)', async (n) => {
    const data = Buffer.alloc(n);
    let x = n + 1;
    for (let i = 0; i < n; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      data[i] = x >>> 24;
    }
    const file = path.join(dir, `f${n}`);
    writeFileSync(file, data);
    const [expected, size] = run('cksum', [file]).trim().split(' ');
    expect(await cksumFile(file, 4093)).toEqual({ cksum: Number(expected), size: Number(size) });
    expect(cksum(data)).toBe(Number(expected));
  });
});

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { gzipParallel, type GzipOptions } from '../../src/formats/gzip.js';
import { describeWithTools, run } from '../helpers/tools.js';

// Realistic, compressible input: TypeScript's DOM declarations (≈ 2.3 MB of text) plus some binary noise.
const text = readFileSync(createRequire(import.meta.url).resolve('typescript/lib/lib.dom.d.ts'));
const SEG = 64 * 1024;

function noise(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}
const input = Buffer.concat([text.subarray(0, 700_000), noise(150_000, 1), text.subarray(700_000, 1_000_000)]);

async function* chunks(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
  if (data.length === 0) yield Buffer.alloc(0);
}

async function gz(data: Buffer, opts: GzipOptions, chunkSize = 100_000): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of gzipParallel(chunks(data, chunkSize), opts)) parts.push(Buffer.from(b));
  return Buffer.concat(parts);
}

describe('parallel gzip', () => {
  it('one member: header (mtime 0, OS Unix), one deflate stream holding all the input, CRC-32 and ISIZE', async () => {
    const out = await gz(input, { workers: 2, segmentSize: SEG });
    expect([...out.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    // The body alone inflates to the whole input: a multi-member stream would stop at the first member's end.
    expect(zlib.inflateRawSync(out.subarray(10, -8)).equals(input)).toBe(true);
    expect(out.readUInt32LE(out.length - 8)).toBe(zlib.crc32(input));
    expect(out.readUInt32LE(out.length - 4)).toBe(input.length);
    expect(zlib.gunzipSync(out).equals(input)).toBe(true);
  });

  it('the same bytes whatever the pool size and however the source is chunked', async () => {
    const a = await gz(input, { workers: 1, segmentSize: SEG }, 100_000);
    const b = await gz(input, { workers: 2, segmentSize: SEG }, 7_777);
    const c = await gz(input, { workers: 0, segmentSize: SEG }, 1 << 20);
    expect(b.equals(a)).toBe(true);
    expect(c.equals(a)).toBe(true);
    // Segment size, by contrast, is part of the output's identity.
    expect((await gz(input, { workers: 2, segmentSize: 2 * SEG })).equals(a)).toBe(false);
  });

  it.each([0, 1, SEG - 1, SEG, SEG + 1, 2 * SEG, 3 * SEG + 5])('decodes correctly at segment boundaries: %d bytes', async (n) => {
    const data = input.subarray(0, n);
    const out = await gz(data, { workers: 2, segmentSize: SEG }, 10_000);
    expect(zlib.gunzipSync(out).equals(data)).toBe(true);
    expect(zlib.inflateRawSync(out.subarray(10, -8)).length).toBe(n);
  });

  it('levels set XFL like gzip and still decode', async () => {
    const l1 = await gz(input, { level: 1, workers: 1, segmentSize: SEG });
    const l9 = await gz(input, { level: 9, workers: 1, segmentSize: SEG });
    expect([l1[8], l9[8]]).toEqual([4, 2]);
    expect(zlib.gunzipSync(l9).equals(input)).toBe(true);
    expect(l9.length).toBeLessThan(l1.length);
  });

  it('pulls the source only as far as the bounded in-flight window allows', async () => {
    let pulled = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      for (;;) {
        pulled += 16_384;
        yield text.subarray(0, 16_384);
      }
    }
    const gen = gzipParallel(endless(), { workers: 1, segmentSize: SEG, maxInFlight: 3 });
    await gen.next(); // header
    await gen.next(); // first segment's output
    // 3 in flight + the one just yielded + one held back + one being filled, plus a source chunk.
    expect(pulled).toBeLessThanOrEqual(6 * SEG + 16_384);
    const pulledThen = pulled;
    await new Promise((r) => setTimeout(r, 50));
    expect(pulled).toBe(pulledThen); // nothing is read while the consumer waits
    await gen.return(undefined); // terminates the workers
  });

  it('rejects bad options with one UsageError listing them', async () => {
    const bad = gzipParallel(chunks(input, 1000), { level: 10, segmentSize: 1000, workers: -1 });
    const err = await bad.next().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).problems).toEqual([
      'gzip level must be an integer 0…9, got 10',
      'gzip segment size must be an integer ≥ 32768, got 1000',
      'gzip workers must be an integer ≥ 0, got -1',
    ]);
  });

  it('a failing source rejects and the workers are released', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield input.subarray(0, 3 * SEG);
      throw new Error('disk on fire');
    }
    await expect(
      (async () => {
        for await (const _ of gzipParallel(failing(), { workers: 2, segmentSize: SEG })) void _;
      })(),
    ).rejects.toThrow('disk on fire');
  });
});

describeWithTools(['gzip', 'pigz'], 'parallel gzip: read by gzip and pigz', () => {
  it('gzip -t passes; gzip -dc and pigz -dc give back the input; size within 3% of gzip -6', async () => {
    const out = await gz(input, { workers: 2 });
    expect(run('sh', ['-c', 'base64 -d | gzip -t && echo ok'], { input: out.toString('base64') }).trim()).toBe('ok');
    const viaGzip = run('sh', ['-c', 'base64 -d | gzip -dc | base64 -w0'], { input: out.toString('base64') });
    const viaPigz = run('sh', ['-c', 'base64 -d | pigz -dc | base64 -w0'], { input: out.toString('base64') });
    expect(Buffer.from(viaGzip, 'base64').equals(input)).toBe(true);
    expect(Buffer.from(viaPigz, 'base64').equals(input)).toBe(true);
    const reference = Buffer.from(run('sh', ['-c', 'base64 -d | gzip -6 -n -c | base64 -w0'], { input: input.toString('base64') }), 'base64');
    expect(out.length / reference.length).toBeLessThan(1.03);
  });
});

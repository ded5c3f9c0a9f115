// The Intune content encryption (src/mdm/intune/encrypt.ts) checked by an independent oracle: openssl decrypts the
// ciphertext with the key and IV of the fileEncryptionInfo, and computes the HMAC and the plaintext digest.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { blockId, blocksOf, encryptedSize, encryptedStream, measure, newContentKeys } from '../../../src/mdm/intune/encrypt.js';

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

/** A plaintext source yielding odd-sized chunks (not multiples of the AES block). */
function source(data: Buffer, chunk = 777): () => AsyncIterable<Uint8Array> {
  return async function* () {
    for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
  };
}

const openssl = (args: string[], input?: Buffer): Buffer => execFileSync('openssl', args, { input, maxBuffer: 64 * 1024 * 1024 });

describe('intune content encryption (ProfileVersion1)', () => {
  for (const size of [0, 1, 15, 16, 17, 100_003]) {
    it(`encrypts ${size} bytes so that openssl decrypts it and checks the HMAC and digest`, async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'intune-enc-'));
      const plain = Buffer.alloc(size);
      for (let i = 0; i < size; i += 1) plain[i] = (i * 131 + 7) & 0xff;
      const keys = newContentKeys();
      const { info, mac, size: measured } = await measure(source(plain), keys);
      expect(measured).toBe(size);
      const file = await collect(encryptedStream(source(plain), keys, mac));
      expect(file.length).toBe(encryptedSize(size));

      const key = Buffer.from(info.encryptionKey, 'base64');
      const macKey = Buffer.from(info.macKey, 'base64');
      const iv = Buffer.from(info.initializationVector, 'base64');
      expect([key.length, macKey.length, iv.length]).toEqual([32, 32, 16]);
      expect(info.profileIdentifier).toBe('ProfileVersion1');
      expect(info.fileDigestAlgorithm).toBe('SHA256');
      // Layout: MAC(32) ‖ IV(16) ‖ ciphertext.
      expect(file.subarray(0, 32).toString('base64')).toBe(info.mac);
      expect(file.subarray(32, 48).equals(iv)).toBe(true);

      const ct = path.join(dir, 'ct');
      writeFileSync(ct, file.subarray(48));
      const decrypted = openssl(['enc', '-d', '-aes-256-cbc', '-K', key.toString('hex'), '-iv', iv.toString('hex'), '-in', ct]);
      expect(decrypted.equals(plain)).toBe(true);

      const ivct = path.join(dir, 'ivct');
      writeFileSync(ivct, file.subarray(32));
      const hmacLine = openssl(['dgst', '-sha256', '-mac', 'HMAC', '-macopt', `hexkey:${macKey.toString('hex')}`, '-r', ivct]).toString('utf8');
      expect(hmacLine.split(' ')[0]).toBe(Buffer.from(info.mac, 'base64').toString('hex'));

      const digestLine = openssl(['dgst', '-sha256', '-r'], plain).toString('utf8');
      expect(digestLine.split(' ')[0]).toBe(Buffer.from(info.fileDigest, 'base64').toString('hex'));
      expect(readFileSync(ct).length % 16).toBe(0);
    });
  }

  it('a wrong MAC key does not verify (the oracle can fail)', async () => {
    const plain = Buffer.from('hello intune');
    const keys = newContentKeys();
    const { info } = await measure(source(plain), keys);
    const file = await collect(encryptedStream(source(plain), keys, Buffer.from(info.mac, 'base64')));
    const other = newContentKeys().macKey.toString('hex');
    const line = openssl(['dgst', '-sha256', '-mac', 'HMAC', '-macopt', `hexkey:${other}`, '-r'], file.subarray(32)).toString('utf8');
    expect(line.split(' ')[0]).not.toBe(Buffer.from(info.mac, 'base64').toString('hex'));
  });

  it('cuts a stream into fixed blocks whatever the chunk sizes, the last one shorter', async () => {
    const data = Buffer.alloc(10_000, 3);
    const blocks: Buffer[] = [];
    for await (const b of blocksOf(source(data, 333)(), 4096)) blocks.push(Buffer.from(b));
    expect(blocks.map((b) => b.length)).toEqual([4096, 4096, 1808]);
    expect(Buffer.concat(blocks).equals(data)).toBe(true);
    const none: Buffer[] = [];
    for await (const b of blocksOf(source(Buffer.alloc(0))(), 4096)) none.push(b);
    expect(none).toEqual([]);
  });

  it('block ids are base64 of equal length and distinct', () => {
    const ids = [0, 1, 9, 10, 99_999].map(blockId);
    expect(new Set(ids.map((i) => i.length)).size).toBe(1);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(Buffer.from(id, 'base64').toString('base64')).toBe(id);
  });
});

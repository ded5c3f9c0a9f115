/**
 * The encryption Intune asks of every app content file (`fileEncryptionInfo`, profile "ProfileVersion1"), in the
 * layout of Microsoft's upload sample (powershell-intune-samples, Win32_Application_Add.ps1 / the Content Prep Tool):
 *
 *   uploaded bytes = HMAC-SHA256(macKey, IV ‖ C)  ‖  IV  ‖  C,   C = AES-256-CBC(encryptionKey, IV, plaintext, PKCS#7)
 *
 * and `fileEncryptionInfo` = {encryptionKey, macKey, initializationVector, mac, profileIdentifier "ProfileVersion1",
 * fileDigest = SHA-256(plaintext), fileDigestAlgorithm "SHA256"}, each binary value base64 (graph-intune.json:
 * fileEncryptionInfo — `mac` "the hash of the concatenation of the IV and encrypted file content. Must be 32 bytes").
 *
 * The MAC comes first in the file but covers all of the ciphertext, so a file of any size is done in two streamed
 * passes over the plaintext in bounded memory: {@link measure} encrypts once to learn the MAC and digest (nothing
 * kept), {@link encryptedStream} encrypts again with the same key and IV (AES-CBC is deterministic) and yields the
 * bytes to upload. Keys and IV are fresh random bytes per content file; they leave this process only in the commit
 * body, to Intune.
 */
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';

export const PROFILE_IDENTIFIER = 'ProfileVersion1';
const MAC_BYTES = 32;
const IV_BYTES = 16;

export interface ContentKeys {
  encryptionKey: Buffer;
  macKey: Buffer;
  iv: Buffer;
}

/** The commit body's `fileEncryptionInfo` (base64 binaries, as Graph takes them). */
export interface FileEncryptionInfo {
  encryptionKey: string;
  macKey: string;
  initializationVector: string;
  mac: string;
  profileIdentifier: string;
  fileDigest: string;
  fileDigestAlgorithm: string;
}

export function newContentKeys(): ContentKeys {
  return { encryptionKey: randomBytes(32), macKey: randomBytes(32), iv: randomBytes(IV_BYTES) };
}

/** The size of the uploaded file for a plaintext of `size` bytes: MAC + IV + ciphertext with PKCS#7 padding. */
export function encryptedSize(size: number): number {
  return MAC_BYTES + IV_BYTES + (Math.floor(size / 16) + 1) * 16;
}

/** Pass 1: the MAC over IV ‖ ciphertext and the plaintext's SHA-256; `fileEncryptionInfo` from them. */
export async function measure(read: () => AsyncIterable<Uint8Array>, keys: ContentKeys): Promise<{ info: FileEncryptionInfo; mac: Buffer; size: number }> {
  const cipher = createCipheriv('aes-256-cbc', keys.encryptionKey, keys.iv);
  const hmac = createHmac('sha256', keys.macKey).update(keys.iv);
  const digest = createHash('sha256');
  let size = 0;
  for await (const chunk of read()) {
    size += chunk.byteLength;
    digest.update(chunk);
    hmac.update(cipher.update(chunk));
  }
  hmac.update(cipher.final());
  const mac = hmac.digest();
  const info: FileEncryptionInfo = {
    encryptionKey: keys.encryptionKey.toString('base64'),
    macKey: keys.macKey.toString('base64'),
    initializationVector: keys.iv.toString('base64'),
    mac: mac.toString('base64'),
    profileIdentifier: PROFILE_IDENTIFIER,
    fileDigest: digest.digest().toString('base64'),
    fileDigestAlgorithm: 'SHA256',
  };
  return { info, mac, size };
}

/** Pass 2: the bytes to upload, MAC ‖ IV ‖ ciphertext, for the `mac` that {@link measure} gave with the same keys. */
export async function* encryptedStream(read: () => AsyncIterable<Uint8Array>, keys: ContentKeys, mac: Buffer): AsyncGenerator<Uint8Array> {
  if (mac.length !== MAC_BYTES) throw new Error(`the content MAC must be ${MAC_BYTES} bytes, got ${mac.length}`);
  const cipher = createCipheriv('aes-256-cbc', keys.encryptionKey, keys.iv);
  yield Buffer.concat([mac, keys.iv]);
  for await (const chunk of read()) {
    const out = cipher.update(chunk);
    if (out.length > 0) yield out;
  }
  yield cipher.final();
}

/**
 * Cut a stream into blocks of `blockSize` bytes (the last one shorter): each is held once in memory, so an upload
 * holds at most one block however large the file (a retried Put Block re-sends the same bytes).
 */
export async function* blocksOf(source: AsyncIterable<Uint8Array>, blockSize: number): AsyncGenerator<Buffer> {
  let parts: Uint8Array[] = [];
  let have = 0;
  for await (let chunk of source) {
    while (have + chunk.byteLength >= blockSize) {
      const take = blockSize - have;
      parts.push(chunk.subarray(0, take));
      yield Buffer.concat(parts, blockSize);
      parts = [];
      have = 0;
      chunk = chunk.subarray(take);
    }
    if (chunk.byteLength > 0) {
      parts.push(Buffer.from(chunk));
      have += chunk.byteLength;
    }
  }
  if (have > 0) yield Buffer.concat(parts, have);
}

/** The base64 block id of block `index`: equal length for every block of a blob, as Put Block requires. */
export function blockId(index: number): string {
  return Buffer.from(`block-${String(index).padStart(6, '0')}`, 'ascii').toString('base64');
}

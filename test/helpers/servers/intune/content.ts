/**
 * What Intune does with a committed content file, as the local server models it: read the blob back from Azure
 * Storage (Azurite), check it against the `fileEncryptionInfo` of the commit — layout HMAC ‖ IV ‖ AES-256-CBC
 * ciphertext, HMAC-SHA256(macKey, IV ‖ ciphertext) equal to `mac` and to the blob's first 32 bytes, the IV equal to
 * `initializationVector`, PKCS#7 padding intact, SHA-256 of the plaintext equal to `fileDigest`, sizes equal to the
 * file entry's `size` and `sizeEncrypted` — and decrypt it. Streamed: a 1 GiB blob is checked in bounded memory.
 * (Facts: graph-intune.json fileEncryptionInfo descriptions; Microsoft's upload sample Win32_Application_Add.ps1.)
 */
import { createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface EncryptionInfo {
  encryptionKey?: string | null;
  macKey?: string | null;
  initializationVector?: string | null;
  mac?: string | null;
  profileIdentifier?: string | null;
  fileDigest?: string | null;
  fileDigestAlgorithm?: string | null;
}

export interface Checked {
  /** Every reason the content is refused (empty: commitFileSuccess). */
  problems: string[];
  size: number;
  sha256: string;
  /** The plaintext, when asked for and not larger than `keepUpTo`. */
  bytes?: Buffer;
}

function key(info: EncryptionInfo, field: keyof EncryptionInfo, bytes: number, problems: string[]): Buffer | undefined {
  const v = info[field];
  if (typeof v !== 'string') {
    problems.push(`fileEncryptionInfo.${field} is missing`);
    return undefined;
  }
  const b = Buffer.from(v, 'base64');
  if (b.length !== bytes) {
    problems.push(`fileEncryptionInfo.${field} is ${b.length} bytes, must be ${bytes}`);
    return undefined;
  }
  return b;
}

/** Check and decrypt an uploaded content file. */
export async function checkContent(blob: AsyncIterable<Uint8Array>, info: EncryptionInfo, file: { size: number; sizeEncrypted: number }, keepUpTo: number): Promise<Checked> {
  const problems: string[] = [];
  if (info.profileIdentifier !== 'ProfileVersion1') problems.push(`fileEncryptionInfo.profileIdentifier is ${JSON.stringify(info.profileIdentifier)}, only "ProfileVersion1" is supported`);
  if (info.fileDigestAlgorithm !== 'SHA256') problems.push(`fileEncryptionInfo.fileDigestAlgorithm is ${JSON.stringify(info.fileDigestAlgorithm)}, ProfileVersion1 supports only "SHA256"`);
  const encKey = key(info, 'encryptionKey', 32, problems);
  const macKey = key(info, 'macKey', 32, problems);
  const iv = key(info, 'initializationVector', 16, problems);
  const mac = key(info, 'mac', 32, problems);
  const digest = key(info, 'fileDigest', 32, problems);
  if (!encKey || !macKey || !iv || !mac || !digest) {
    for await (const _ of blob) void _; // drain
    return { problems, size: 0, sha256: '' };
  }
  const decipher = createDecipheriv('aes-256-cbc', encKey, iv);
  const hmac = createHmac('sha256', macKey);
  const sha = createHash('sha256');
  const keep: Buffer[] = [];
  let head = Buffer.alloc(0);
  let total = 0;
  let plain = 0;
  const take = (b: Buffer): void => {
    if (b.length === 0) return;
    sha.update(b);
    plain += b.length;
    if (plain <= keepUpTo) keep.push(b);
  };
  for await (const chunk of blob) {
    let c = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    total += c.length;
    if (head.length < 48) {
      const need = 48 - head.length;
      head = Buffer.concat([head, c.subarray(0, need)]);
      c = c.subarray(need);
      if (head.length < 48) continue;
      if (!timingSafeEqual(head.subarray(0, 32), mac)) problems.push('the blob does not start with the mac of fileEncryptionInfo');
      if (!head.subarray(32, 48).equals(iv)) problems.push('the IV in the blob differs from fileEncryptionInfo.initializationVector');
      hmac.update(head.subarray(32, 48));
    }
    hmac.update(c);
    take(decipher.update(c));
  }
  if (total !== file.sizeEncrypted) problems.push(`the blob is ${total} bytes, the file entry's sizeEncrypted says ${file.sizeEncrypted}`);
  if (head.length === 48 && !timingSafeEqual(hmac.digest(), mac)) problems.push('HMAC-SHA256(macKey, IV ‖ ciphertext) differs from fileEncryptionInfo.mac');
  try {
    take(decipher.final());
  } catch {
    problems.push('the ciphertext does not decrypt with encryptionKey (bad PKCS#7 padding)');
  }
  const sha256 = sha.digest();
  if (!sha256.equals(digest)) problems.push('SHA-256 of the decrypted content differs from fileEncryptionInfo.fileDigest');
  if (plain !== file.size) problems.push(`the decrypted content is ${plain} bytes, the file entry's size says ${file.size}`);
  return { problems, size: plain, sha256: sha256.toString('hex'), ...(plain <= keepUpTo ? { bytes: Buffer.concat(keep) } : {}) };
}

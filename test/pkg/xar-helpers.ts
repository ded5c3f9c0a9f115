/**
 * Shared set-up for the xar tests: a small product-archive-shaped input set, a file-writing wrapper around
 * writeXar, and a throwaway signer (self-signed RSA key made by openssl; RSA via node:crypto, CMS via `openssl cms`).
 * The signer is a test double for src/sign/: it exists to check the layout, not the cryptography.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, privateEncrypt, constants } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeStreamAtomic } from '../../src/io/fs.js';
import { writeXar, type XarInput, type XarWriteOptions, type XarWriteResult } from '../../src/pkg/xar.js';
import { sha1DigestInfo, type XarSigner } from '../../src/pkg/xar-signature.js';

export const CREATION = new Date('2024-05-06T07:08:09Z');

/** Deterministic pseudo-random bytes (xorshift), so payload-like data does not compress to nothing. */
export function pseudoRandom(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i += 1) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

export interface Sample {
  dir: string;
  files: Record<string, Buffer>;
  inputs: XarInput[];
}

/** A product-archive-shaped input set: Distribution, Resources/, aiwatch.pkg/{Bom,PackageInfo,Payload,Scripts}. */
export function sampleInputs(dir: string, payloadBytes = 3 * 1024 * 1024 + 17): Sample {
  const files: Record<string, Buffer> = {
    Distribution: Buffer.from('<?xml version="1.0" encoding="utf-8"?>\n<installer-gui-script minSpecVersion="2"/>'),
    'aiwatch.pkg/Bom': Buffer.concat([Buffer.from('BOMStore'), Buffer.alloc(600)]),
    'aiwatch.pkg/PackageInfo': Buffer.from('<?xml version="1.0" encoding="utf-8"?>\n<pkg-info format-version="2"/>'),
    'aiwatch.pkg/Payload': pseudoRandom(payloadBytes, 7),
    'aiwatch.pkg/Scripts': pseudoRandom(4099, 9),
  };
  const payloadFile = path.join(dir, 'Payload.src');
  writeFileSync(payloadFile, files['aiwatch.pkg/Payload']!);
  const scripts = files['aiwatch.pkg/Scripts']!;
  const inputs: XarInput[] = [
    { path: 'aiwatch.pkg/Scripts', source: { open: () => (async function* () { yield scripts.subarray(0, 1000); yield scripts.subarray(1000); })() } },
    { path: 'aiwatch.pkg/Payload', source: { file: payloadFile } },
    { path: 'Distribution', source: { bytes: files.Distribution! }, encoding: 'zlib' },
    { path: 'aiwatch.pkg/PackageInfo', source: { bytes: files['aiwatch.pkg/PackageInfo']! }, encoding: 'zlib' },
    { path: 'aiwatch.pkg/Bom', source: { bytes: files['aiwatch.pkg/Bom']! }, encoding: 'zlib' },
    { path: 'Resources', directory: true },
  ];
  return { dir, files, inputs };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `xar-test-${prefix}-`));
}

/** writeXar into `file` through the project's atomic writer. */
export async function writeXarFile(file: string, inputs: XarInput[], opts: XarWriteOptions = { creationTime: CREATION }): Promise<XarWriteResult> {
  let result: XarWriteResult | undefined;
  await writeStreamAtomic(file, async (out) => {
    result = await writeXar(out, inputs, opts);
  });
  return result!;
}

export function sha1(b: Uint8Array): string {
  return createHash('sha1').update(b).digest('hex');
}

/** Independent slicing of a xar file (no reader code): header fields, compressed TOC, stored heap bytes. */
export function rawXar(file: string): { bytes: Buffer; tocCompressed: Buffer; heapStart: number; alg: number; headerSize: number } {
  const bytes = readFileSync(file);
  const tocLen = Number(bytes.readBigUInt64BE(8));
  return { bytes, tocCompressed: bytes.subarray(28, 28 + tocLen), heapStart: 28 + tocLen, alg: bytes.readUInt32BE(24), headerSize: bytes.readUInt16BE(4) };
}

export interface TestKey {
  dir: string;
  keyPem: string;
  certPem: string;
  pubPem: string;
  certDer: Buffer;
}

/** A throwaway self-signed RSA-2048 certificate made with openssl. */
export function makeTestKey(): TestKey {
  const dir = tempDir('key');
  const keyPem = path.join(dir, 'key.pem');
  const certPem = path.join(dir, 'cert.pem');
  const pubPem = path.join(dir, 'pub.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPem, '-out', certPem, '-subj', '/CN=xar test signer', '-days', '2'], { stdio: 'pipe' });
  execFileSync('openssl', ['pkey', '-in', keyPem, '-pubout', '-out', pubPem], { stdio: 'pipe' });
  const certDer = execFileSync('openssl', ['x509', '-in', certPem, '-outform', 'DER']);
  return { dir, keyPem, certPem, pubPem, certDer };
}

/** A signer over the test key. `cmsReserve` may be set too small on purpose to exercise the re-layout. */
export function testSigner(key: TestKey, cmsReserve = 4096, calls: { cms: number } = { cms: 0 }): XarSigner {
  const pk = createPrivateKey(readFileSync(key.keyPem));
  return {
    certificates: [key.certDer],
    rsaSignatureSize: 256,
    cmsReserve,
    async signRsa(checksum) {
      return privateEncrypt({ key: pk, padding: constants.RSA_PKCS1_PADDING }, sha1DigestInfo(checksum));
    },
    async signCms(checksum) {
      calls.cms += 1;
      const input = path.join(key.dir, `checksum-${calls.cms}.bin`);
      writeFileSync(input, checksum);
      return execFileSync('openssl', ['cms', '-sign', '-binary', '-in', input, '-signer', key.certPem, '-inkey', key.keyPem, '-outform', 'DER', '-md', 'sha256']);
    },
  };
}

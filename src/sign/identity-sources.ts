/**
 * Where a signing identity comes from: a PKCS#12 file, or PEM files (key, certificate, optional chain). This module
 * only reads and decodes; `identity.ts` checks what was read. Files are read through `io/fs` so that a missing or
 * unreadable input is one {@link InputFileError} naming the flag.
 *
 * PEM keys may be PKCS#8, PKCS#1 ("RSA PRIVATE KEY") or SEC1 ("EC PRIVATE KEY"), encrypted or not; an encrypted key
 * is opened with the same password as a .p12. Certificates may be PEM (several in one file) or a single DER.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { InputFileError, UsageError } from '../errors.js';
import { readInputFile } from '../io/fs.js';
import { Secret } from '../secret.js';
import { certificatesFromPem } from './certificate.js';
import { decodePkcs12 } from './pkcs12.js';

/** Raw identity material: what a .p12 or the PEM files held, before any check. */
export interface IdentityMaterial {
  /** Names the input in messages: the .p12 path, or the --key/--cert paths. */
  subject: string;
  keys: KeyObject[];
  /** The certificate that must match the key (PEM `--cert`); undefined: pick the one that matches (.p12). */
  leaf?: Uint8Array;
  /** Every other certificate provided (chain candidates). */
  certificates: Uint8Array[];
}

export type IdentitySource =
  | {
      kind: 'p12';
      /** Path of the .p12 / .pfx file (`--p12`). */
      file: string;
      /** Its password; undefined means the empty password. */
      password?: Secret;
    }
  | {
      kind: 'pem';
      /** Private key, PEM (`--key`). */
      keyFile: string;
      /** Signing certificate, PEM or DER (`--cert`); further PEM certificates in it count as chain. */
      certFile: string;
      /** Intermediate/root certificates, PEM (`--chain`). */
      chainFile?: string;
      /** Password of an encrypted key. */
      password?: Secret;
    };

function isPem(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 4096)).toString('latin1').includes('-----BEGIN ');
}

function readCertificates(bytes: Buffer, file: string, flag: string): Uint8Array[] {
  if (!isPem(bytes)) return [new Uint8Array(bytes)];
  let certs;
  try {
    certs = certificatesFromPem(bytes.toString('utf8'));
  } catch (e) {
    throw new InputFileError(file, `${flag}: a PEM certificate in it is not valid (${(e as Error).message})`, { cause: e });
  }
  if (certs.length === 0) throw new InputFileError(file, `${flag}: no "BEGIN CERTIFICATE" block found; expected PEM or DER certificates`);
  return certs.map((c) => c.der);
}

function isEncryptedPem(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 4096)).toString('latin1');
  return head.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || head.includes('Proc-Type: 4,ENCRYPTED');
}

function readKey(bytes: Buffer, file: string, password: Secret | undefined): KeyObject {
  const encrypted = isEncryptedPem(bytes);
  if (encrypted && (!password || password.reveal() === '')) {
    throw new UsageError(`${file}: --key is encrypted, and no password was given${password ? ` (${password.label})` : ''}; give its password with --p12-password-file or AIWATCH_P12_PASSWORD`);
  }
  try {
    const pem = isPem(bytes);
    return createPrivateKey({ key: bytes, format: pem ? 'pem' : 'der', ...(pem ? {} : { type: 'pkcs8' as const }), passphrase: encrypted ? password?.reveal() : undefined });
  } catch (e) {
    if (encrypted && password) {
      throw new UsageError(`${file}: wrong password for the encrypted --key (from ${password.label}: ${password.masked()})`);
    }
    throw new InputFileError(file, `--key: not a private key in PEM (PKCS#8, PKCS#1 or SEC1) or PKCS#8 DER form (${(e as Error).message})`, { cause: e });
  }
}

async function fromP12(file: string, password: Secret | undefined): Promise<IdentityMaterial> {
  const bytes = await readInputFile(file, '--p12');
  const contents = decodePkcs12(bytes, password ?? new Secret('', '--p12-password'), file);
  return { subject: file, keys: contents.keys, certificates: contents.certificates };
}

async function fromPem(src: Extract<IdentitySource, { kind: 'pem' }>): Promise<IdentityMaterial> {
  const key = readKey(await readInputFile(src.keyFile, '--key'), src.keyFile, src.password);
  const [leaf, ...rest] = readCertificates(await readInputFile(src.certFile, '--cert'), src.certFile, '--cert');
  const chain = src.chainFile ? readCertificates(await readInputFile(src.chainFile, '--chain'), src.chainFile, '--chain') : [];
  return { subject: `${src.keyFile} + ${src.certFile}`, keys: [key], leaf, certificates: [...rest, ...chain] };
}

/** Read and decode an identity's key(s) and certificates, unchecked. */
export async function loadIdentityMaterial(src: IdentitySource): Promise<IdentityMaterial> {
  return src.kind === 'p12' ? fromP12(src.file, src.password) : fromPem(src);
}

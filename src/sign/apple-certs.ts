/**
 * Apple's public CA certificates shipped in `certs/apple/` (see its README): loaded once, each checked against the
 * SHA-256 fingerprint pinned here, so a swapped or corrupted file is refused instead of silently trusted.
 *
 * Used to complete a Developer ID Installer chain (leaf → Developer ID CA G1 or G2 → Apple Root CA), as productsign
 * embeds it, and to tell whether a chain ends at Apple. Not a trust store for anything else.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PACKAGE_ROOT } from '../config/paths.js';
import { InputFileError } from '../errors.js';
import { type Certificate, fingerprint256, parseCertificate } from './certificate.js';

export const APPLE_CERTS_DIR = path.join(PACKAGE_ROOT, 'certs', 'apple');

const PINNED = {
  appleRoot: {
    file: 'AppleIncRootCertificate.cer',
    sha256: 'B0:B1:73:0E:CB:C7:FF:45:05:14:2C:49:F1:29:5E:6E:DA:6B:CA:ED:7E:2C:68:C5:BE:91:B5:A1:10:01:F0:24',
  },
  developerIdG1: {
    file: 'DeveloperIDCA.cer',
    sha256: '7A:FC:9D:01:A6:2F:03:A2:DE:96:37:93:6D:4A:FE:68:09:0D:2D:E1:8D:03:F2:9C:88:CF:B0:B1:BA:63:58:7F',
  },
  developerIdG2: {
    file: 'DeveloperIDG2CA.cer',
    sha256: 'F1:6C:D3:C5:4C:7F:83:CE:A4:BF:1A:3E:6A:08:19:C8:AA:A8:E4:A1:52:8F:D1:44:71:5F:35:06:43:D2:DF:3A',
  },
  timestampCa: {
    file: 'AppleTimestampCA.cer',
    sha256: '66:28:5E:2E:37:4D:00:A8:BA:3D:8D:3D:04:39:3A:48:BD:16:55:4B:28:4B:C8:8D:AB:EC:85:B4:79:AD:CD:6B',
  },
  appleRootG3: {
    file: 'AppleRootCA-G3.cer',
    sha256: '63:34:3A:BF:B8:9A:6A:03:EB:B5:7E:9B:3F:5F:A7:BE:7C:4F:5C:75:6F:30:17:B3:A8:C4:88:C3:65:3E:91:79',
  },
} as const;

export type AppleCertName = keyof typeof PINNED;
export type AppleCertificates = Record<AppleCertName, Certificate>;

let loaded: Promise<AppleCertificates> | undefined;

async function loadOne(dir: string, name: AppleCertName): Promise<Certificate> {
  const full = path.join(dir, PINNED[name].file);
  let der: Buffer;
  try {
    der = await readFile(full);
  } catch (e) {
    throw new InputFileError(full, `Apple CA certificate missing from the installation (${(e as Error).message})`, { cause: e });
  }
  return checkPinned(name, full, der);
}

function checkPinned(name: AppleCertName, full: string, der: Uint8Array): Certificate {
  const { sha256 } = PINNED[name];
  const got = fingerprint256(der);
  if (got !== sha256) throw new InputFileError(full, `Apple CA certificate has SHA-256 ${got}, expected ${sha256}`);
  return parseCertificate(der);
}

/** Apple's CA certificates from `dir` (default: the package's `certs/apple/`), cached after the first load. */
export function loadAppleCertificates(dir: string = APPLE_CERTS_DIR): Promise<AppleCertificates> {
  if (dir !== APPLE_CERTS_DIR) return loadAll(dir);
  loaded ??= loadAll(dir).catch((e: unknown) => {
    loaded = undefined;
    throw e;
  });
  return loaded;
}

let loadedSync: AppleCertificates | undefined;

/**
 * The same certificates read synchronously (cached), for checks that run inside synchronous readers (the release
 * check of a Mach-O binary). A missing or swapped file throws the same InputFileError.
 */
export function loadAppleCertificatesSync(): AppleCertificates {
  if (loadedSync) return loadedSync;
  const names = Object.keys(PINNED) as AppleCertName[];
  const certs = names.map((n) => {
    const full = path.join(APPLE_CERTS_DIR, PINNED[n].file);
    let der: Buffer;
    try {
      der = readFileSync(full);
    } catch (e) {
      throw new InputFileError(full, `Apple CA certificate missing from the installation (${(e as Error).message})`, { cause: e });
    }
    return checkPinned(n, full, der);
  });
  loadedSync = Object.fromEntries(names.map((n, i) => [n, certs[i]])) as AppleCertificates;
  return loadedSync;
}

async function loadAll(dir: string): Promise<AppleCertificates> {
  const names = Object.keys(PINNED) as AppleCertName[];
  const certs = await Promise.all(names.map((n) => loadOne(dir, n)));
  return Object.fromEntries(names.map((n, i) => [n, certs[i]])) as AppleCertificates;
}

/** The Developer ID intermediates, G2 first (current), then G1 (expires 2027-02-01), then Apple Root CA. */
export function developerIdPool(apple: AppleCertificates): Certificate[] {
  return [apple.developerIdG2, apple.developerIdG1, apple.appleRoot];
}

/** Which Developer ID intermediate a chain goes through, if any. */
export function developerIdGeneration(chain: readonly Certificate[]): 'G1' | 'G2' | undefined {
  const fps = new Set(chain.map((c) => fingerprint256(c.der)));
  if (fps.has(PINNED.developerIdG2.sha256)) return 'G2';
  if (fps.has(PINNED.developerIdG1.sha256)) return 'G1';
  return undefined;
}

/** Whether `c` is Apple Root CA (the anchor of Developer ID chains). */
export function isAppleRoot(c: Certificate): boolean {
  return fingerprint256(c.der) === PINNED.appleRoot.sha256;
}

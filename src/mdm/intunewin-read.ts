/**
 * Reading back a `.intunewin` (the layout in intunewin.ts): the two outer entries, Detection.xml's values, and the
 * checks an Intune upload depends on — HMAC over IV || ciphertext, IV and MAC as recorded, AES-256-CBC decryption
 * with the recorded key, size and SHA-256 of the decrypted inner zip. Every problem is reported, each naming the
 * file. For `verify`/`inspect` and for our own tests; it does not open the inner zip (callers can, with its bytes).
 * Not covered: packages with an MsiInfo section are read but the MSI values are not checked.
 */
import { createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { convert } from 'xmlbuilder2';
import { readZip } from '../pkg/zip.js';
import { CONTENT_ENTRY, DETECTION_ENTRY } from './intunewin.js';

export interface IntuneWinDetection {
  name: string;
  setupFile: string;
  fileName: string;
  unencryptedContentSize: string;
  encryptionKey: string;
  macKey: string;
  initializationVector: string;
  mac: string;
  profileIdentifier: string;
  fileDigest: string;
  fileDigestAlgorithm: string;
}

export interface IntuneWinContents {
  detection?: IntuneWinDetection;
  /** The decrypted inner zip, when decryption worked. */
  innerZip?: Buffer;
  problems: string[];
}

type XmlObject = Record<string, unknown>;

function text(o: XmlObject | undefined, key: string): string {
  const v = o?.[key];
  return typeof v === 'string' ? v : '';
}

function parseDetection(xml: string): IntuneWinDetection {
  const doc = convert(xml, { format: 'object' }) as XmlObject;
  const app = doc.ApplicationInfo as XmlObject | undefined;
  const enc = app?.EncryptionInfo as XmlObject | undefined;
  return {
    name: text(app, 'Name'),
    setupFile: text(app, 'SetupFile'),
    fileName: text(app, 'FileName'),
    unencryptedContentSize: text(app, 'UnencryptedContentSize'),
    encryptionKey: text(enc, 'EncryptionKey'),
    macKey: text(enc, 'MacKey'),
    initializationVector: text(enc, 'InitializationVector'),
    mac: text(enc, 'Mac'),
    profileIdentifier: text(enc, 'ProfileIdentifier'),
    fileDigest: text(enc, 'FileDigest'),
    fileDigestAlgorithm: text(enc, 'FileDigestAlgorithm'),
  };
}

function bytesOf(b64: string, length: number, what: string, problems: string[]): Buffer | undefined {
  const b = Buffer.from(b64, 'base64');
  if (b.length !== length || b.toString('base64') !== b64) {
    // The value is key material of the package: say how long it is, never what it is.
    problems.push(`Detection.xml: ${what} must be ${length} bytes in base64, got ${b.length} bytes (value not shown)`);
    return undefined;
  }
  return b;
}

function checkContent(blob: Buffer, d: IntuneWinDetection, problems: string[]): Buffer | undefined {
  const key = bytesOf(d.encryptionKey, 32, 'EncryptionKey', problems);
  const macKey = bytesOf(d.macKey, 32, 'MacKey', problems);
  const iv = bytesOf(d.initializationVector, 16, 'InitializationVector', problems);
  const mac = bytesOf(d.mac, 32, 'Mac', problems);
  if (d.profileIdentifier !== 'ProfileVersion1') problems.push(`Detection.xml: ProfileIdentifier must be ProfileVersion1, got ${JSON.stringify(d.profileIdentifier)}`);
  if (d.fileDigestAlgorithm !== 'SHA256') problems.push(`Detection.xml: FileDigestAlgorithm must be SHA256, got ${JSON.stringify(d.fileDigestAlgorithm)}`);
  if (blob.length < 64 || (blob.length - 48) % 16 !== 0) {
    problems.push(`${CONTENT_ENTRY}: ${blob.length} bytes is not HMAC (32) + IV (16) + whole AES blocks`);
    return undefined;
  }
  if (!key || !macKey || !iv || !mac) return undefined;
  const computed = createHmac('sha256', macKey).update(blob.subarray(32)).digest();
  if (!timingSafeEqual(computed, blob.subarray(0, 32))) problems.push(`${CONTENT_ENTRY}: HMAC-SHA256 over IV and ciphertext does not match its first 32 bytes`);
  if (!mac.equals(blob.subarray(0, 32))) problems.push(`${CONTENT_ENTRY}: its HMAC differs from Detection.xml's Mac`);
  if (!iv.equals(blob.subarray(32, 48))) problems.push(`${CONTENT_ENTRY}: its IV differs from Detection.xml's InitializationVector`);
  let inner: Buffer;
  try {
    const d2 = createDecipheriv('aes-256-cbc', key, blob.subarray(32, 48));
    inner = Buffer.concat([d2.update(blob.subarray(48)), d2.final()]);
  } catch (e) {
    problems.push(`${CONTENT_ENTRY}: does not decrypt with Detection.xml's EncryptionKey (${(e as Error).message})`);
    return undefined;
  }
  if (String(inner.length) !== d.unencryptedContentSize) problems.push(`Detection.xml: UnencryptedContentSize is ${d.unencryptedContentSize}, the decrypted content is ${inner.length} bytes`);
  if (createHash('sha256').update(inner).digest('base64') !== d.fileDigest) problems.push('Detection.xml: FileDigest is not the SHA-256 of the decrypted content');
  return inner;
}

/** Read and check a .intunewin file. Problems are listed; only an unreadable zip throws. */
export async function readIntuneWin(file: string): Promise<IntuneWinContents> {
  const entries = await readZip(file, (n) => n === CONTENT_ENTRY || n === DETECTION_ENTRY);
  const problems: string[] = [];
  const names = entries.map((e) => e.name).sort();
  if (names.join('\n') !== [CONTENT_ENTRY, DETECTION_ENTRY].join('\n')) {
    problems.push(`expected exactly ${CONTENT_ENTRY} and ${DETECTION_ENTRY}, found ${JSON.stringify(names)}`);
  }
  for (const e of entries) if (e.compressedSize !== e.size) problems.push(`${e.name}: must be stored, not compressed`);
  const xml = entries.find((e) => e.name === DETECTION_ENTRY)?.data;
  const blob = entries.find((e) => e.name === CONTENT_ENTRY)?.data;
  if (!xml || !blob) return { problems: problems.map((p) => `${file}: ${p}`) };
  let detection: IntuneWinDetection | undefined;
  try {
    detection = parseDetection(xml.toString('utf8'));
  } catch (e) {
    problems.push(`Detection.xml: not well-formed XML (${(e as Error).message})`);
  }
  const innerZip = detection ? checkContent(blob, detection, problems) : undefined;
  return { detection, innerZip, problems: problems.map((p) => `${file}: ${p}`) };
}

/**
 * Reading back a `.intunewin` (the layout in intunewin.ts): the two outer entries, Detection.xml's values, and the
 * checks an Intune upload depends on — HMAC over IV || ciphertext, IV and MAC as recorded, AES-256-CBC decryption
 * with the recorded key, size and SHA-256 of the decrypted inner zip. Every problem is reported, each naming the
 * file. For `verify`/`inspect` and for our own tests; it does not open the inner zip (callers can, from `inner`:
 * the decrypted bytes in memory as a named source, or the file they were spilled to).
 * Not covered: packages with an MsiInfo section are read but the MSI values are not checked.
 *
 * Bounded (src/formats/limits.ts): Detection.xml is read whole only up to 64 KiB and parsed by the strict reader of
 * src/formats/xml-tree.ts (its depth and node limits); the encrypted content is streamed once — HMAC, decryption and
 * digest on the way, the decrypted inner zip kept in memory when small (≤ 16 MiB: our packages hold a few scripts)
 * and otherwise written to the caller's file (0600) — so memory does not grow with the package, whose size its
 * declared entry sizes already bound (`intunewin.content-bytes`). That spill file is the one temporary file left on
 * this path: the content is AES-CBC encrypted, so the inner zip (read by random access: its directory is at the
 * end) cannot be read in place as a window of the outer zip; it must be decrypted somewhere first.
 */
import { createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createStagingStream } from '../io/fs.js';
import { byteText, LIMITS } from '../formats/limits.js';
import { writeChunk } from '../formats/byte-stream.js';
import { childText, parseXml, XmlLimitError, type XmlElement } from '../formats/xml-tree.js';
import { readZip, type ZipReadEntry } from '../formats/zip.js';
import { bufferSource, type NamedSource } from '../formats/source.js';
import { CONTENT_ENTRY, DETECTION_ENTRY } from '../intune/intunewin.js';

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
  /** Detection.xml as read (when it was at most 64 KiB), for stricter checks by the caller. */
  detectionXml?: string;
  /** The decrypted inner zip, when decryption worked and no `innerZipFile` was given. */
  innerZip?: Buffer;
  /** The file the decrypted inner zip was written to, when decryption worked and it went to a file. */
  innerZipFile?: string;
  /** The decrypted inner zip to read (readZip takes either): in memory, named `file:IntunePackage.intunewin`, or its file. */
  inner?: string | NamedSource;
  problems: string[];
}

/** Largest decrypted inner zip kept in memory when the caller offers a spill file (see header). */
const INNER_IN_MEMORY_BYTES = 16 << 20;

const HEAD = 48;

function parseDetection(xml: string): IntuneWinDetection {
  const root = parseXml(xml);
  const app: XmlElement | undefined = root.name === 'ApplicationInfo' ? root : undefined;
  const enc = app?.children.find((c): c is XmlElement => typeof c !== 'string' && c.name === 'EncryptionInfo');
  const text = (el: XmlElement | undefined, key: string): string => (el ? (childText(el, key) ?? '') : '');
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

/** The content's keys and shape from Detection.xml and its declared size; undefined (problems listed) when it cannot be checked. */
function contentKeys(size: number, d: IntuneWinDetection, problems: string[]): { key: Buffer; macKey: Buffer; iv: Buffer; mac: Buffer } | undefined {
  const key = bytesOf(d.encryptionKey, 32, 'EncryptionKey', problems);
  const macKey = bytesOf(d.macKey, 32, 'MacKey', problems);
  const iv = bytesOf(d.initializationVector, 16, 'InitializationVector', problems);
  const mac = bytesOf(d.mac, 32, 'Mac', problems);
  if (d.profileIdentifier !== 'ProfileVersion1') problems.push(`Detection.xml: ProfileIdentifier must be ProfileVersion1, got ${JSON.stringify(d.profileIdentifier)}`);
  if (d.fileDigestAlgorithm !== 'SHA256') problems.push(`Detection.xml: FileDigestAlgorithm must be SHA256, got ${JSON.stringify(d.fileDigestAlgorithm)}`);
  if (size < 64 || (size - HEAD) % 16 !== 0) {
    problems.push(`${CONTENT_ENTRY}: ${size} bytes is not HMAC (32) + IV (16) + whole AES blocks`);
    return undefined;
  }
  if (size > LIMITS['intunewin.content-bytes']) {
    problems.push(`${CONTENT_ENTRY}: ${byteText(size)}: over the limit of ${byteText(LIMITS['intunewin.content-bytes'])} (not read)`);
    return undefined;
  }
  return key && macKey && iv && mac ? { key, macKey, iv, mac } : undefined;
}

/** Where the decrypted bytes go: a file (0600) or memory. */
interface Output {
  write(chunk: Buffer): Promise<void>;
  end(): Promise<void>;
}

function output(file: string | undefined, parts: Buffer[]): Output {
  if (!file) return { write: async (c) => void parts.push(c), end: async () => undefined };
  const out = createStagingStream(file, 0o600);
  return {
    write: (c) => writeChunk(out, c),
    end: () => new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve()))),
  };
}

/** Stream the content entry once: HMAC over IV || ciphertext, AES-256-CBC decryption into `out`, size and digest. */
async function checkContent(file: string, size: number, d: IntuneWinDetection, problems: string[], out: Output): Promise<boolean> {
  const keys = contentKeys(size, d, problems);
  if (!keys) return false;
  const head: Buffer[] = [];
  let headBytes = 0;
  const hmac = createHmac('sha256', keys.macKey);
  const decipher = createDecipheriv('aes-256-cbc', keys.key, keys.iv);
  const digest = createHash('sha256');
  let plain = 0;
  const emit = async (b: Buffer): Promise<void> => {
    if (b.length === 0) return;
    plain += b.length;
    digest.update(b);
    await out.write(b);
  };
  const body = async (chunk: Buffer): Promise<void> => {
    hmac.update(chunk);
    await emit(decipher.update(chunk));
  };
  await readZip(file, {
    take: (e) =>
      e.name !== CONTENT_ENTRY
        ? 'skip'
        : {
            sink: async (chunk) => {
              if (headBytes < HEAD) {
                const take = Math.min(HEAD - headBytes, chunk.length);
                head.push(chunk.subarray(0, take));
                headBytes += take;
                if (headBytes === HEAD) hmac.update(Buffer.concat(head).subarray(32, HEAD));
                chunk = chunk.subarray(take);
              }
              if (chunk.length > 0) await body(chunk);
            },
          },
  });
  const first = Buffer.concat(head);
  if (!timingSafeEqual(hmac.digest(), first.subarray(0, 32))) problems.push(`${CONTENT_ENTRY}: HMAC-SHA256 over IV and ciphertext does not match its first 32 bytes`);
  if (!keys.mac.equals(first.subarray(0, 32))) problems.push(`${CONTENT_ENTRY}: its HMAC differs from Detection.xml's Mac`);
  if (!keys.iv.equals(first.subarray(32, HEAD))) problems.push(`${CONTENT_ENTRY}: its IV differs from Detection.xml's InitializationVector`);
  try {
    await emit(decipher.final());
  } catch (e) {
    problems.push(`${CONTENT_ENTRY}: does not decrypt with Detection.xml's EncryptionKey (${(e as Error).message})`);
    return false;
  } finally {
    await out.end();
  }
  if (String(plain) !== d.unencryptedContentSize) problems.push(`Detection.xml: UnencryptedContentSize is ${d.unencryptedContentSize}, the decrypted content is ${plain} bytes`);
  if (digest.digest('base64') !== d.fileDigest) problems.push('Detection.xml: FileDigest is not the SHA-256 of the decrypted content');
  return true;
}

/** Detection.xml's text, or why it is not read (too large). */
function detectionText(entry: ZipReadEntry | undefined, problems: string[]): string | undefined {
  if (!entry) return undefined;
  if (!entry.data) {
    problems.push(`Detection.xml: ${byteText(entry.size)}: over the limit of ${byteText(LIMITS['intunewin.detection-bytes'])} (not read)`);
    return undefined;
  }
  return entry.data.toString('utf8');
}

/** The spill file: a path, or one made on demand (a lazily created private folder: src/io/fs.ts withLazyTempDir). */
const spillPath = async (spill: string | (() => Promise<string>)): Promise<string> => (typeof spill === 'string' ? spill : spill());

/**
 * Read and check a .intunewin file. The decrypted inner zip is returned in memory, or with `innerZipFile` written
 * there (0600); with `{ spill }` it is kept in memory up to 16 MiB and written to `spill` (a path, or a function
 * giving one, called only then) only when larger (see the
 * header). Problems are listed; only an unreadable zip (or a limit of the zip reader: an InputLimitError) throws.
 */
export async function readIntuneWin(file: string, innerZipFile?: string | { spill: string | (() => Promise<string>) }): Promise<IntuneWinContents> {
  const detectionMax = LIMITS['intunewin.detection-bytes'];
  const entries = await readZip(file, { take: (e) => (e.name === DETECTION_ENTRY && e.size <= detectionMax ? 'memory' : 'skip') });
  const problems: string[] = [];
  const names = entries.map((e) => e.name).sort();
  if (names.join('\n') !== [CONTENT_ENTRY, DETECTION_ENTRY].join('\n')) {
    problems.push(`expected exactly ${CONTENT_ENTRY} and ${DETECTION_ENTRY}, found ${JSON.stringify(names.slice(0, 20))}${names.length > 20 ? ` and ${names.length - 20} more` : ''}`);
  }
  for (const e of entries) if (e.compressedSize !== e.size) problems.push(`${e.name}: must be stored, not compressed`);
  const content = entries.find((e) => e.name === CONTENT_ENTRY);
  const xml = detectionText(entries.find((e) => e.name === DETECTION_ENTRY), problems);
  const named = (): string[] => problems.map((p) => `${file}: ${p}`);
  if (xml === undefined || !content) return { problems: named() };
  let detection: IntuneWinDetection | undefined;
  try {
    detection = parseDetection(xml);
  } catch (e) {
    const why = e instanceof XmlLimitError ? `not read: ${e.message}` : `not well-formed XML (${(e as Error).message})`;
    problems.push(`Detection.xml: ${why}`);
  }
  const out: IntuneWinContents = { detectionXml: xml, problems: [] };
  if (detection) {
    out.detection = detection;
    const parts: Buffer[] = [];
    const target = typeof innerZipFile === 'object' ? (content.size - HEAD > INNER_IN_MEMORY_BYTES ? await spillPath(innerZipFile.spill) : undefined) : innerZipFile;
    if (await checkContent(file, content.size, detection, problems, output(target, parts))) {
      if (target) out.innerZipFile = out.inner = target;
      else {
        out.innerZip = Buffer.concat(parts);
        out.inner = { name: `${file}:IntunePackage.intunewin`, source: bufferSource(out.innerZip) };
      }
    }
  }
  out.problems = named();
  return out;
}

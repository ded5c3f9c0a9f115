/**
 * The `.intunewin` Win32 app package that Intune's portal takes (reference launchd-intune-ops.md §5, as written by
 * Microsoft's IntuneWinAppUtil and svrooij/ContentPrep):
 *
 *   outer zip, stored entries:  IntuneWinPackage/Contents/IntunePackage.intunewin   (the encrypted inner zip)
 *                               IntuneWinPackage/Metadata/Detection.xml             (keys, sizes, digests)
 *   IntunePackage.intunewin  =  HMAC-SHA256(macKey, IV || ciphertext) (32) || IV (16) || AES-256-CBC-PKCS7(inner zip)
 *   inner zip                =  the source files, deflated, names relative to the source folder
 *   FileDigest               =  SHA-256 of the unencrypted inner zip; UnencryptedContentSize = its length
 *
 * The keys and IV are random (this is encryption) but injectable, so tests can pin them; everything else is
 * deterministic: names sorted byte-wise, one fixed timestamp written as a DOS date with the UTC fields
 * (`dosDateFor` of the release zip: yazl would use local time, making the bytes depend on the time zone). The
 * release zip's writer is not reused as such because it always deflates; this package's outer entries are stored. Detection.xml goes through xmlbuilder2, without an
 * XML declaration, like the Microsoft tool. Not covered: MSI setup files (no <MsiInfo>), ZIP64 (> 4 GiB), folders.
 */
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { lazyRequire } from '../formats/lazy.js';
import yazl from 'yazl';
import { dosDateFor } from '../formats/zip.js';

const xmlbuilder2 = lazyRequire<typeof import('xmlbuilder2')>('xmlbuilder2');

export const CONTENT_ENTRY = 'IntuneWinPackage/Contents/IntunePackage.intunewin';
export const DETECTION_ENTRY = 'IntuneWinPackage/Metadata/Detection.xml';
const TOOL_VERSION = '1.8.6.0';
/** The DOS epoch: the default entry time when no SOURCE_DATE_EPOCH is given. */
export const DOS_EPOCH = new Date(Date.UTC(1980, 0, 1, 0, 0, 0));

export interface IntuneWinKeys {
  /** AES-256 key, 32 bytes. */
  encryptionKey: Uint8Array;
  /** HMAC-SHA256 key, 32 bytes. */
  macKey: Uint8Array;
  /** AES-CBC IV, 16 bytes. */
  iv: Uint8Array;
}

export function randomIntuneWinKeys(): IntuneWinKeys {
  return { encryptionKey: randomBytes(32), macKey: randomBytes(32), iv: randomBytes(16) };
}

export interface IntuneWinSource {
  /** File name in the source folder (no folders). */
  name: string;
  data: Uint8Array;
}

export interface IntuneWinInput {
  files: IntuneWinSource[];
  /** The file Intune names as the setup file; must be one of `files`. */
  setupFile: string;
  /** Time stamp of every zip entry. Default {@link DOS_EPOCH}. */
  mtime?: Date;
  /** Default: fresh random keys. */
  keys?: IntuneWinKeys;
}

export interface IntuneWinPackage {
  /** `<setup file without extension>.intunewin`. */
  fileName: string;
  /** The outer zip: what is uploaded in the portal. */
  bytes: Buffer;
  detectionXml: string;
  innerZipSize: number;
  encryptedSize: number;
}

/** A zip of `entries` in the given order; deflated or stored. */
export async function zipEntries(entries: ReadonlyArray<{ name: string; data: Uint8Array }>, opts: { compress: boolean; mtime: Date }): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const mtime = dosDateFor(Math.floor(opts.mtime.getTime() / 1000));
  for (const e of entries) {
    zip.addBuffer(Buffer.from(e.data), e.name, { mtime, mode: 0o100644, compress: opts.compress, forceDosTimestamp: true });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** HMAC || IV || AES-256-CBC(inner), and the HMAC alone. */
export function encryptContent(inner: Uint8Array, keys: IntuneWinKeys): { encrypted: Buffer; mac: Buffer } {
  const { encryptionKey, macKey, iv } = keys;
  if (encryptionKey.length !== 32 || macKey.length !== 32 || iv.length !== 16) {
    throw new Error('intunewin keys: expected a 32-byte encryption key, a 32-byte MAC key and a 16-byte IV');
  }
  const cipher = createCipheriv('aes-256-cbc', encryptionKey, iv);
  const ciphertext = Buffer.concat([cipher.update(inner), cipher.final()]);
  const mac = createHmac('sha256', macKey).update(iv).update(ciphertext).digest();
  return { encrypted: Buffer.concat([mac, iv, ciphertext]), mac };
}

export interface DetectionInfo {
  name: string;
  setupFile: string;
  unencryptedContentSize: number;
  keys: IntuneWinKeys;
  mac: Uint8Array;
  fileDigest: Uint8Array;
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

export function detectionXml(d: DetectionInfo): string {
  const root = xmlbuilder2().create().ele('ApplicationInfo', {
    'xmlns:xsd': 'http://www.w3.org/2001/XMLSchema',
    'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
    ToolVersion: TOOL_VERSION,
  });
  root.ele('Name').txt(d.name);
  root.ele('UnencryptedContentSize').txt(String(d.unencryptedContentSize));
  root.ele('FileName').txt('IntunePackage.intunewin');
  root.ele('SetupFile').txt(d.setupFile);
  const enc = root.ele('EncryptionInfo');
  enc.ele('EncryptionKey').txt(b64(d.keys.encryptionKey));
  enc.ele('MacKey').txt(b64(d.keys.macKey));
  enc.ele('InitializationVector').txt(b64(d.keys.iv));
  enc.ele('Mac').txt(b64(d.mac));
  enc.ele('ProfileIdentifier').txt('ProfileVersion1');
  enc.ele('FileDigest').txt(b64(d.fileDigest));
  enc.ele('FileDigestAlgorithm').txt('SHA256');
  return `${root.end({ headless: true, prettyPrint: true, indent: '  ' })}\n`;
}

function checkSources(input: IntuneWinInput): void {
  const names = input.files.map((f) => f.name);
  for (const n of names) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(n)) throw new Error(`intunewin: source file name ${JSON.stringify(n)} must be a plain ASCII file name`);
  }
  if (new Set(names).size !== names.length) throw new Error('intunewin: two source files have the same name');
  if (!names.includes(input.setupFile)) throw new Error(`intunewin: setup file ${input.setupFile} is not among the source files`);
}

/** Build the package; pure apart from drawing keys when none are given. */
export async function buildIntuneWin(input: IntuneWinInput): Promise<IntuneWinPackage> {
  checkSources(input);
  const mtime = input.mtime ?? DOS_EPOCH;
  const keys = input.keys ?? randomIntuneWinKeys();
  const sorted = [...input.files].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  const inner = await zipEntries(sorted, { compress: true, mtime });
  const { encrypted, mac } = encryptContent(inner, keys);
  const xml = detectionXml({
    name: input.setupFile,
    setupFile: input.setupFile,
    unencryptedContentSize: inner.length,
    keys,
    mac,
    fileDigest: createHash('sha256').update(inner).digest(),
  });
  const bytes = await zipEntries(
    [
      { name: CONTENT_ENTRY, data: encrypted },
      { name: DETECTION_ENTRY, data: Buffer.from(xml, 'utf8') },
    ],
    { compress: false, mtime },
  );
  return { fileName: `${input.setupFile.replace(/\.[^.]*$/, '')}.intunewin`, bytes, detectionXml: xml, innerZipSize: inner.length, encryptedSize: encrypted.length };
}

/**
 * The one file-kind detection table `verify` and `inspect` share: each kind of file the tool knows, with a label
 * and a cheap `detect` that looks at a file's first bytes (up to {@link HEAD_BYTES}) and, for a few kinds, its
 * name. The table is in precedence order: a file is of the first kind, among those a command handles, whose
 * `detect` accepts it. `verify` maps kinds to its checks (src/verify/registry.ts), `inspect` to its describers
 * (src/inspect/index.ts); some kinds only one of them handles (`macho`, `zip` and `profile` for inspect; the
 * plist and JSON kinds for verify).
 */
import { open } from 'node:fs/promises';
import { HOST_KEY, SECRET_KEY_NAMES } from '../config/tenant-keys.js';
import { isFatMagic, thinMagic } from '../macho/macho.js';
import { profileEncoding } from '../sign/profile-sign.js';

/** How many leading bytes `detect` sees. */
export const HEAD_BYTES = 64 * 1024;

/** The first {@link HEAD_BYTES} bytes of a file (fewer when it is shorter), what `detect` is given. */
export async function readHead(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** The head as text, without a byte-order mark and leading white space. */
export function headText(head: Uint8Array): string {
  return Buffer.from(head).toString('utf8').replace(/^\uFEFF/, '').trimStart();
}

export function startsWithBytes(head: Uint8Array, magic: string | number[]): boolean {
  const m = typeof magic === 'string' ? Buffer.from(magic, 'latin1') : Buffer.from(magic);
  return head.length >= m.length && Buffer.from(head.subarray(0, m.length)).equals(m);
}

const XML_PLIST = /^(?:<\?xml[^>]*\?>\s*)?(?:<!--[\s\S]*?-->\s*)*(?:<!DOCTYPE\s+plist\b|<plist\b)/;
const PAYLOAD_KEY = /<key>\s*Payload(?:Content|Type|Identifier|UUID|Version)\s*<\/key>/;
const LAUNCHD_KEY = /<key>\s*(?:Label|ProgramArguments|Program)\s*<\/key>/;
/** A JSON member naming the Host or a secret key (src/config/tenant-keys.ts): the mark of Jamf tenant values. */
const JAMF_VALUES_KEY = new RegExp(`"(?:${[HOST_KEY, ...SECRET_KEY_NAMES].join('|')})"\\s*:`);
/** DER of the pkcs7-signedData OID 1.2.840.113549.1.7.2. */
const SIGNED_DATA_OID = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]);

/**
 * Named `.intunewin` (whatever it holds: a damaged one is then reported as such), or a zip whose first entry is
 * under IntuneWinPackage/ (the name starts at byte 30 of the first local header).
 */
export function looksLikeIntuneWin(head: Uint8Array, file: string): boolean {
  if (file.toLowerCase().endsWith('.intunewin')) return true;
  return startsWithBytes(head, 'PK\x03\x04') && Buffer.from(head.subarray(30, 47)).toString('latin1') === 'IntuneWinPackage/';
}

function xmlPlistWith(key: RegExp): (head: Uint8Array) => boolean {
  return (head) => {
    const t = headText(head);
    return XML_PLIST.test(t) && key.test(t);
  };
}

function jsonWith(test: (text: string) => boolean): (head: Uint8Array) => boolean {
  return (head) => {
    const t = headText(head);
    return t.startsWith('{') && test(t);
  };
}

export interface KindRule {
  kind: string;
  /** What it is, in words, e.g. `configuration profile`. */
  label: string;
  /** Does this file look like this kind? `head` holds up to HEAD_BYTES leading bytes. Must not throw. */
  detect: (head: Uint8Array, file: string) => boolean;
}

/** Every kind, in precedence order (the first that accepts a file wins). */
export const FILE_KINDS = [
  { kind: 'powershell-script', label: 'PowerShell script (.ps1)', detect: (_head, file) => /\.ps1$/i.test(file) },
  { kind: 'pkg', label: 'flat package (.pkg)', detect: (head) => startsWithBytes(head, 'xar!') },
  { kind: 'intunewin', label: 'Win32 app package (.intunewin)', detect: looksLikeIntuneWin },
  { kind: 'release-zip', label: 'release zip', detect: (head, file) => startsWithBytes(head, 'PK\x03\x04') && file.toLowerCase().endsWith('.zip') },
  { kind: 'zip', label: 'zip archive', detect: (head) => startsWithBytes(head, 'PK\x03\x04') },
  { kind: 'macho', label: 'Mach-O binary', detect: (head) => thinMagic(head) !== undefined || isFatMagic(head) },
  { kind: 'signed-profile', label: 'CMS-signed configuration profile', detect: (head) => head[0] === 0x30 && Buffer.from(head.subarray(0, 64)).includes(SIGNED_DATA_OID) },
  { kind: 'mobileconfig', label: 'configuration profile', detect: xmlPlistWith(PAYLOAD_KEY) },
  { kind: 'launchd-plist', label: 'launchd job plist', detect: xmlPlistWith(LAUNCHD_KEY) },
  { kind: 'intune-preference-file', label: 'Intune preference file (bare key/value pairs)', detect: (head) => headText(head).startsWith('<key>') },
  { kind: 'jamf-schema', label: 'Jamf custom schema', detect: jsonWith((t) => /"properties"\s*:\s*\{/.test(t) && /"(?:title|type)"\s*:/.test(t)) },
  // Only JSON that names the Host or a secret key: other JSON (manifest.json, …) belongs to other kinds or none.
  { kind: 'jamf-values', label: 'Jamf tenant values (JSON)', detect: jsonWith((t) => JAMF_VALUES_KEY.test(t)) },
  { kind: 'plist', label: 'XML property list', detect: (head) => XML_PLIST.test(headText(head)) },
  { kind: 'profile', label: 'configuration profile (XML or CMS)', detect: (head) => ['xml', 'cms'].includes(profileEncoding(head)) },
] as const satisfies readonly KindRule[];

export type FileKind = (typeof FILE_KINDS)[number]['kind'];

/** The rules of these kinds, in table order. */
export function kindRules<K extends FileKind>(kinds: readonly K[]): Array<KindRule & { kind: K }> {
  return FILE_KINDS.filter((r): r is (typeof FILE_KINDS)[number] & { kind: K } => (kinds as readonly string[]).includes(r.kind));
}

/** The first of these kinds (in table order) whose `detect` accepts the file, or undefined. */
export function detectKind<K extends FileKind>(head: Uint8Array, file: string, kinds: readonly K[]): K | undefined {
  return kindRules(kinds).find((r) => {
    try {
      return r.detect(head, file);
    } catch {
      return false;
    }
  })?.kind;
}

/**
 * The limits of every reader of untrusted files — what `verify` and `inspect` accept from a pkg, zip, profile, CMS
 * blob, Mach-O, .intunewin or .ps1 anyone can hand an admin. Each reader checks its counts, sizes and depths against
 * these before it allocates or walks anything, and walks structures iteratively (no recursion on input structure).
 *
 * A limit hit is an {@link InputLimitError}: an InputFileError (exit 3 in `inspect`) naming the file or member, the
 * value found and the limit, which `verify` reports as a problem (exit 1). Never an internal error, never a raw
 * JavaScript message.
 *
 * Why these numbers: each is far above what a real package or profile holds (ours hold a dozen members, ten payload
 * paths, a profile twelve levels deep), and low enough that the worst input within every limit at once still fits
 * the 256 MiB heap `test/hostile` runs the CLI with. Sizes that depend on the input are tied to the input's own size
 * (a compressed member's ratio, what the Bom declares). Changing one: say why in docs/decisions.md.
 */
import { stat } from 'node:fs/promises';
import { InputFileError } from '../errors.js';
import { checkInputFile, readInputFile } from '../io/fs.js';

/** A limit of {@link LIMITS} was hit: the input is hostile, damaged, or far outside what this tool reads. */
export class InputLimitError extends InputFileError {
  constructor(
    file: string,
    /** Which limit, e.g. `xml.depth` (a key of {@link LIMITS}). */
    readonly limit: keyof typeof LIMITS,
    message: string,
  ) {
    super(file, message);
  }
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export const LIMITS = {
  // XML (xml-tree.ts: xar TOC, PackageInfo, Distribution, plists, Detection.xml).
  /** Element nesting. Apple's documents nest < 20 deep; bounds every tree walker's recursion below it. */
  'xml.depth': 256,
  /** Elements + text nodes of one document (~200 bytes each in memory): a product archive's TOC holds < 100. */
  'xml.nodes': 200_000,

  // xar (xar-reader.ts, xar-toc.ts).
  /** The TOC, compressed and inflated: a flat package's TOC is a few KiB (one <file> per member). */
  'xar.toc-bytes': 8 * MiB,
  /** `<file>` entries of the TOC. */
  'xar.entries': 10_000,
  /** Directory nesting of the TOC (a pkg nests two levels: component/member). */
  'xar.depth': 64,
  /** A member read whole into memory (PackageInfo, Distribution; the Bom has its own). */
  'xar.member-bytes': 16 * MiB,

  // Bom (bom-reader.ts).
  /** A Bom, read whole: ~100 bytes per path, so 32 MiB is ~300,000 paths. */
  'bom.bytes': 32 * MiB,
  /** Paths listed (a release pkg lists ~10; Apple's largest app packages tens of thousands). */
  'bom.paths': 100_000,
  /**
   * Uses of one block by the reader (tree node, key, PathInfo1/2), and of one block's bytes by two ids: once. An
   * alias or a cycle would let a 500 KiB Bom list one 65,535-entry leaf hundreds of times.
   */
  'bom.block-uses': 1,
  /** Levels of the Paths B+tree: 256 pairs a node, 4 levels already address 4 billion paths. */
  'bom.tree-depth': 32,
  /** Bytes of a path (`./a/b`): macOS's PATH_MAX; a longer one cannot be installed. */
  'path.bytes': 1024,

  // cpio Payload / Scripts (pkg/cpio.ts, read/pkg-read.ts).
  /** cpio entries of one archive (as many as the Bom may list). */
  'cpio.entries': 100_000,
  /** Inflated bytes per compressed byte: real payloads inflate 2–5×; gzip's ceiling is ~1032×. */
  'cpio.ratio': 256,
  /** What any member may inflate to whatever its size (the floor below which the ratio is not applied). */
  'cpio.ratio-floor': 64 * MiB,
  /** Inflated bytes of one archive, whatever it declares: the Bom's sizes are u32 per file. */
  'cpio.bytes': 8 * GiB,
  /** Margin over what the Bom / PackageInfo declare (headers, padding, a slightly wrong count). */
  'cpio.declared-margin': 1 * MiB,
  /** Bytes of member data held in memory at once (scripts, launchd plists, small programs); larger programs spill to a private temporary file. */
  'cpio.kept-bytes': 32 * MiB,

  // Mach-O (macho.ts, read by range or streamed: macho-file-scan.ts).
  /** Slices of a universal binary: Java class files share its magic with 45+ where the count is; file(1) stops at 30 too. */
  'macho.fat-arches': 30,
  /** sizeofcmds: real binaries have a few KiB of load commands. */
  'macho.load-commands-bytes': 16 * MiB,
  /** A code signature (LC_CODE_SIGNATURE datasize), read whole: page hashes are 0.8% of the code. */
  'macho.signature-bytes': 256 * MiB,

  // zip (formats/zip.ts: release zip, .intunewin outer and inner zips).
  /** Entries of a zip: a release zip holds ~10, a .intunewin 2, its inner zip a handful of scripts. */
  'zip.entries': 10_000,
  /** Declared uncompressed size of one entry kept in memory (manifest, SHA256SUMS, profiles, scripts). */
  'zip.entry-bytes': 64 * MiB,
  /** Declared uncompressed size of all entries together (a release zip is the pkg plus a few small files). */
  'zip.total-bytes': 8 * GiB,
  /** Inflated bytes per compressed byte of a deflated entry (zip bombs); stored entries are 1×. */
  'zip.ratio': 256,

  // Property lists and profiles (profiles/plist-read.ts, the profile verifiers).
  /** A configuration profile or plist, read whole: real ones are < 1 MiB (fonts and certificates included). */
  'plist.bytes': 16 * MiB,

  // CMS / ASN.1 (sign/cms-read.ts).
  /** A CMS blob (signed profile, xar signature, Authenticode block): certificates + signature, < 64 KiB in practice. */
  'cms.bytes': 16 * MiB,
  /** ASN.1 nesting depth: certificates nest < 15; asn1js parses recursively. */
  'asn1.depth': 64,

  // Windows (mdm/intunewin-read.ts, verify/windows.ts, inspect/windows.ts).
  /** Detection.xml (a few hundred bytes; the keys are 44-character base64). */
  'intunewin.detection-bytes': 64 * KiB,
  /** The encrypted content: streamed (HMAC, decryption, digest) to a private temporary file, never held in memory. */
  'intunewin.content-bytes': 8 * GiB,
  /** A PowerShell script: Intune's platform-script limit (200 KB), checked before the file is read or parsed. */
  'ps1.bytes': 200 * KiB,
  /**
   * The PowerShell parser's WebAssembly memory (mdm/ps-parse.ts): a base (the module starts at 32 MiB, the grammar
   * in it) plus this many bytes per script byte, at most 'ps1.parser-bytes'. Our largest script (30 KB) and a real
   * 185 KB one stay within the 32 MiB the module starts with; 100,000 nested parentheses in 200 KB need ~250 MB.
   */
  'ps1.parser-base-bytes': 48 * MiB,
  'ps1.parser-bytes-per-byte': 128,
  'ps1.parser-bytes': 80 * MiB,
} as const;

export type LimitName = keyof typeof LIMITS;

/** `n` bytes in words: `12 MiB`, `3.5 GiB`, `512 bytes`. */
export function byteText(n: number): string {
  if (n >= GiB) return `${+(n / GiB).toFixed(1)} GiB`;
  if (n >= MiB) return `${+(n / MiB).toFixed(1)} MiB`;
  if (n >= 10 * KiB) return `${+(n / KiB).toFixed(1)} KiB`;
  return `${n} bytes`;
}

/** Throw an {@link InputLimitError}: `<subject>: <found>, over the limit of <limit> (<why>)`. */
export function overLimit(file: string, limit: LimitName, subject: string, found: string, limitText = String(LIMITS[limit])): never {
  throw new InputLimitError(file, limit, `${subject}: ${found}: over the limit of ${limitText} (a hostile or damaged file; not read further)`);
}

/** Read a whole input file of at most LIMITS[`limit`] bytes; a larger one is an InputLimitError, and is not read. */
export async function readInputFileWithin(file: string, what: string, limit: LimitName): Promise<Buffer> {
  await checkInputFile(file, what);
  const { size } = await stat(file);
  if (size > LIMITS[limit]) throw new InputLimitError(file, limit, `${what}: ${size} bytes: over the limit of ${byteText(LIMITS[limit])} for this kind of file (not read)`);
  return readInputFile(file, what);
}

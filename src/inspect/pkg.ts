/**
 * `inspect FILE.pkg`: what is inside a flat package, as data (`--json`) — the xar header, TOC entries with their
 * encodings, sizes and checksums, signatures (src/read/signature.ts), stapled tickets, the Distribution, and
 * per component the PackageInfo, the Bom listing, the Payload listing and statistics, the Scripts and the
 * identity of each Mach-O program in the payload. pkg-text.ts renders it as text.
 *
 * Deterministic for a given file: nothing here reads the clock; the file is named as the caller says.
 */
import type { NamedSource } from '../formats/source.js';
import { InputLimitError } from '../formats/limits.js';
import type { BomEntry } from '../pkg/bom-reader.js';
import { CHECKSUM_ALGORITHMS } from '../pkg/xar-header.js';
import type { CpioEntry } from '../pkg/cpio.js';
import type { DistributionInfo } from '../pkg/distribution.js';
import type { PackageInfo } from '../pkg/package-info.js';
import type { PayloadStats } from '../pkg/payload.js';
import type { XarArchive } from '../pkg/xar-reader.js';
import type { MachOIdentity } from '../macho/identity.js';
import { octalMode } from './format.js';
import { statsFromPayload } from '../read/payload-stats.js';
import { readPkg, type ArchiveStream, type ComponentContents, type PkgContents } from '../read/pkg-read.js';
import { analyzeXarSignature, type XarSignatureReport } from '../read/signature.js';

/** How many lines of each script the text shows without --scripts. */
export const SCRIPT_PREVIEW_LINES = 5;

export interface TocEntryReport {
  id: number;
  path: string;
  type: string;
  mode?: string;
  owner?: string;
  mtime?: string;
  encoding?: string;
  offset?: number;
  /** Bytes stored in the heap, and after decoding. */
  length?: number;
  size?: number;
  archivedChecksum?: string;
  extractedChecksum?: string;
}

export interface ListingEntry {
  path: string;
  kind: string;
  /** Full st_mode in octal, as lsbom prints it (`100755`). */
  mode: string;
  uid: number;
  gid: number;
  size: number;
  cksum?: number;
  linkTarget?: string;
}

export interface ArchiveReport {
  compression: ArchiveStream['compression'];
  memberBytes: number;
  cpioBytes: number;
  entries: ListingEntry[];
}

export interface ScriptReport {
  path: string;
  mode: string;
  size: number;
  /** The whole script with --scripts, else its first lines. */
  text: string;
  /** Lines not shown. */
  moreLines: number;
}

export interface ComponentReport {
  name: string;
  packageInfo?: PackageInfo;
  packageInfoProblems: string[];
  bom?: { numberOfPaths: number; arch: Array<{ cpuType: number; bytes: number }>; entries: ListingEntry[]; problems: string[] };
  payload?: ArchiveReport & { stats: PayloadStats };
  scripts?: Omit<ArchiveReport, 'entries'> & { files: ScriptReport[] };
  programs: Array<{ path: string; size: number; sha256: string; identity?: MachOIdentity; error?: string }>;
  launchdLabels: string[];
  errors: Record<string, string>;
}

export interface PkgReport {
  kind: 'pkg';
  file: string;
  size: number;
  flavor: PkgContents['flavor'];
  header: { magic: string; headerSize: number; version: number; tocLengthCompressed: number; tocLengthUncompressed: number; checksumAlgorithm: string };
  toc: {
    creationTime?: string;
    checksum?: { style: string; offset: number; size: number; stored: string; computed: string; matches: boolean };
    heapStart: number;
    heapEnd: number;
    trailing?: { offset: number; length: number };
    entries: TocEntryReport[];
    problems: string[];
  };
  signature: XarSignatureReport;
  staples: Array<{ offset: number; length: number; version: number; startsWithS8ch: boolean }>;
  distribution?: { info?: DistributionInfo; problems: string[]; error?: string };
  components: ComponentReport[];
}

export interface InspectPkgOptions {
  /** How the file is named in the output (default: its path). */
  name?: string;
  /** Show every script in full (default: the first {@link SCRIPT_PREVIEW_LINES} lines). */
  scripts?: boolean;
}

function tocEntries(a: XarArchive): TocEntryReport[] {
  return a.entries.map((e) => {
    const r: TocEntryReport = { id: e.id, path: e.path, type: e.type };
    if (e.mode !== undefined) r.mode = octalMode(e.mode);
    if (e.uid !== undefined || e.user !== undefined) r.owner = `${e.user ?? e.uid}:${e.group ?? e.gid ?? '?'}`;
    if (e.mtime !== undefined) r.mtime = e.mtime;
    const d = e.data;
    if (d) {
      Object.assign(r, { encoding: d.encoding, offset: d.offset, length: d.length, size: d.size });
      if (d.archivedChecksum) r.archivedChecksum = `${d.archivedChecksum.style}:${d.archivedChecksum.hex}`;
      if (d.extractedChecksum) r.extractedChecksum = `${d.extractedChecksum.style}:${d.extractedChecksum.hex}`;
    }
    return r;
  });
}

function listing(e: BomEntry | CpioEntry): ListingEntry {
  const out: ListingEntry = { path: e.path, kind: e.kind, mode: e.mode.toString(8), uid: e.uid, gid: e.gid, size: e.size };
  if (e.kind === 'file' || e.kind === 'symlink') out.cksum = e.cksum;
  if (e.linkTarget !== undefined) out.linkTarget = e.linkTarget;
  return out;
}

function scriptReports(s: ArchiveStream, full: boolean): ScriptReport[] {
  return s.entries
    .filter((e) => e.kind === 'file')
    .map((e) => {
      const all = (e.data ?? Buffer.alloc(0)).toString('utf8');
      const lines = all.replace(/\n$/, '').split('\n');
      const shown = full ? lines : lines.slice(0, SCRIPT_PREVIEW_LINES);
      return { path: e.path, mode: octalMode(e.mode), size: e.size, text: shown.join('\n'), moreLines: lines.length - shown.length };
    });
}

function labelOf(plist: string): string | undefined {
  return /<key>\s*Label\s*<\/key>\s*<string>([^<]*)<\/string>/.exec(plist)?.[1];
}

function componentReport(c: ComponentContents, opts: InspectPkgOptions): ComponentReport {
  const r: ComponentReport = {
    name: c.name,
    packageInfoProblems: c.packageInfo?.problems.map((p) => p.message) ?? [],
    programs: c.programs.map((p) => ({ path: p.path, size: p.size, sha256: p.sha256, ...(p.identity ? { identity: p.identity } : {}), ...(p.error ? { error: p.error } : {}) })),
    launchdLabels: c.launchdPlists.map((p) => labelOf(p.text) ?? '(no Label)'),
    errors: { ...c.errors },
  };
  if (c.packageInfo?.info) r.packageInfo = c.packageInfo.info;
  if (c.bom) r.bom = { numberOfPaths: c.bom.info.numberOfPaths, arch: c.bom.info.arch, entries: c.bom.entries.map(listing), problems: c.bom.problems };
  if (c.payload) {
    const { entries, ...rest } = c.payload;
    r.payload = { ...rest, entries: entries.map(listing), stats: statsFromPayload(entries) };
  }
  if (c.scripts) {
    const { entries: _e, ...rest } = c.scripts;
    r.scripts = { ...rest, files: scriptReports(c.scripts, opts.scripts === true) };
  }
  return r;
}

/** Build the report from an already read package (verify reuses the reading). */
export async function pkgReport(p: PkgContents, opts: InspectPkgOptions = {}): Promise<PkgReport> {
  const a = p.archive;
  const h = a.header;
  const report: PkgReport = {
    kind: 'pkg',
    file: opts.name ?? p.file,
    size: a.fileSize,
    flavor: p.flavor,
    header: {
      magic: Buffer.from([h.magic >>> 24, (h.magic >>> 16) & 0xff, (h.magic >>> 8) & 0xff, h.magic & 0xff]).toString('latin1'),
      headerSize: h.headerSize,
      version: h.version,
      tocLengthCompressed: h.tocLengthCompressed,
      tocLengthUncompressed: h.tocLengthUncompressed,
      checksumAlgorithm: `${h.checksumAlgorithm} (${CHECKSUM_ALGORITHMS[h.checksumAlgorithm] ?? 'unknown'})`,
    },
    toc: { heapStart: a.heapStart, heapEnd: a.heapEnd, entries: tocEntries(a), problems: a.problems.map((x) => x.message) },
    signature: await analyzeXarSignature(a),
    staples: a.staples.map((s) => ({ ...s })),
    components: p.components.map((c) => componentReport(c, opts)),
  };
  if (a.creationTime !== undefined) report.toc.creationTime = a.creationTime;
  if (a.trailing) report.toc.trailing = { ...a.trailing };
  const ck = a.checksum;
  if (ck) report.toc.checksum = { style: ck.style, offset: ck.offset, size: ck.size, stored: ck.stored.toString('hex'), computed: ck.computed.toString('hex'), matches: ck.matches };
  if (p.distribution) {
    report.distribution = { problems: p.distribution.problems.map((x) => x.message) };
    if (p.distribution.info) report.distribution.info = p.distribution.info;
    if (p.distribution.error) report.distribution.error = p.distribution.error;
  }
  return report;
}

/**
 * Read and describe the package at `file`. A member that hit a limit of src/formats/limits.ts (a hostile or damaged
 * package) fails the whole description: an InputLimitError naming the file and member (exit 3).
 */
export async function inspectPkg(input: string | NamedSource, opts: InspectPkgOptions = {}): Promise<PkgReport> {
  const file = typeof input === 'string' ? input : input.name;
  const p = await readPkg(input);
  const hit = p.limitHit ?? p.components.find((c) => c.limitHit)?.limitHit;
  if (hit) throw new InputLimitError(file, hit.limit, `${hit.message.startsWith(`${file}:`) ? hit.message.slice(file.length + 1) : hit.message}`);
  return pkgReport(p, opts);
}

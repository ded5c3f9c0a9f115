/**
 * Reading a flat package the way `inspect` and `verify` need it: the xar, its flavour (product archive with a
 * Distribution, or a bare component package), and for each component its PackageInfo, Bom, Payload (every cpio
 * entry with its cksum; the bytes of launchd plists and executables kept), Scripts (with their bytes) and the
 * identity of each Mach-O program in the payload.
 *
 * Every member is read independently: one that is missing or unreadable is recorded as an error string on the
 * component and the others are still read, so `verify` can report everything at once. Only an input that is not a
 * xar at all throws (InputFileError). The Payload is streamed (xar heap → gunzip → cpio reader); memory holds only
 * the kept files. Payload compression: gzip (what pkgbuild writes) or none; pbzx (Apple's own OS packages) is
 * recognised and reported as not readable here.
 *
 * Bounded (src/formats/limits.ts): the Bom is read up to its byte limit; a Payload may inflate no further than what
 * the Bom declares (every entry's header, name and data; else PackageInfo's installKBytes and numberOfFiles) plus
 * a margin, and never beyond a ratio of its own compressed size or the absolute cap — a limit hit makes the member
 * unreadable with a message naming it. Which data is kept is decided from each cpio header (executables, launchd
 * plists): small ones in memory within a byte budget, larger programs scanned as they stream past
 * (src/macho/stream-scan.ts: hash, headers, signature, page hashes checked once the CodeDirectory arrives), so memory
 * does not grow with the payload. A program that scan cannot judge (universal, another page size, a format error)
 * is read again: the Payload a second time, the program streamed to a private temporary file and scanned there by
 * range (src/macho/file-scan.ts) — a gzip stream cannot be read by random access.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { InputFileError, type Problem } from '../errors.js';
import { createStagingStream, withTempDir } from '../io/fs.js';
import { readBom, type BomContents } from '../pkg/bom-reader.js';
import { readCpio, type CpioDataSink, type CpioEntry, type CpioEntryHead } from '../pkg/cpio.js';
import { parseDistribution, type DistributionInfo } from '../pkg/distribution.js';
import { byteText, InputLimitError, LIMITS } from '../formats/limits.js';
import type { NamedSource } from '../formats/source.js';
import { isMachOFormatError, type MachOFile } from '../macho/macho.js';
import { scanMachOFile } from '../macho/file-scan.js';
import { StreamedMachOScan, type StreamedScan } from '../macho/stream-scan.js';
import { parsePackageInfo, type PackageInfo } from '../pkg/package-info.js';
import { findXarEntry, openXar, readXarEntry, readXarEntryBytes, type XarArchive } from '../pkg/xar-reader.js';
import { writeChunk } from '../formats/byte-stream.js';
import { bounded, ByteCounter, counted, drainRest, errorText, gunzipSource, peek, type ByteBound } from './streams.js';
import { machoIdentity, tryParseMachO, type MachOIdentity } from '../macho/identity.js';

/** Member names of a component package. */
export const COMPONENT_MEMBERS = ['Bom', 'PackageInfo', 'Payload', 'Scripts'] as const;
const LAUNCHD_PLIST = /^\.\/Library\/Launch(?:Agents|Daemons)\/[^/]+\.plist$/;
const MACHO_MAGICS = new Set(['feedface', 'feedfacf', 'cefaedfe', 'cffaedfe', 'cafebabe', 'cafebabf']);

export interface ArchiveStream {
  /** How the member's decoded bytes are compressed: gzip (pkgbuild), none (raw cpio), pbzx (not readable here). */
  compression: 'gzip' | 'none' | 'pbzx' | 'unknown';
  /** Bytes of the member after xar decoding (what the heap holds for a stored member). */
  memberBytes: number;
  /** Bytes of the cpio archive after decompression (padding included). */
  cpioBytes: number;
  entries: CpioEntry[];
}

export interface PayloadProgram {
  /** Payload path, `./usr/local/…`. */
  path: string;
  size: number;
  sha256: string;
  macho?: MachOFile;
  identity?: MachOIdentity;
  /** Why it could not be read as Mach-O although it starts like one. */
  error?: string;
}

export interface ComponentContents {
  /** Directory name in a product archive (`aiwatch.pkg`), or `` for a component package at the root. */
  name: string;
  /** Member path prefix: `aiwatch.pkg/` or ``. */
  prefix: string;
  packageInfo?: { xml: string; info?: PackageInfo; problems: Problem[] };
  bom?: BomContents;
  payload?: ArchiveStream;
  scripts?: ArchiveStream;
  /** Mach-O programs found in the payload. */
  programs: PayloadProgram[];
  /** launchd plists in the payload (`./Library/Launch{Agents,Daemons}/*.plist`) with their text. */
  launchdPlists: Array<{ path: string; text: string }>;
  /** Member → why it could not be read (absent members are not listed here). */
  errors: Partial<Record<(typeof COMPONENT_MEMBERS)[number], string>>;
  /** The first member read that hit a limit of src/formats/limits.ts (also in `errors`): `inspect` refuses the package. */
  limitHit?: InputLimitError;
}

export interface PkgContents {
  file: string;
  archive: XarArchive;
  flavor: 'product' | 'component';
  distribution?: { xml: string; info?: DistributionInfo; problems: Problem[]; error?: string };
  components: ComponentContents[];
  /** The Distribution hit a limit of src/formats/limits.ts (also in `distribution.error`). */
  limitHit?: InputLimitError;
}

/** `file:member`, how members are named in problems. */
export function memberWhere(file: string, member: string): string {
  return `${file}:${member}`;
}

/** Names of the component directories: root directories holding any component member. */
function componentNames(a: XarArchive): string[] {
  const names = new Set<string>();
  for (const e of a.entries) {
    const parts = e.path.split('/');
    if (parts.length === 2 && (COMPONENT_MEMBERS as readonly string[]).includes(parts[1]!)) names.add(parts[0]!);
  }
  return [...names].sort();
}

async function readText(a: XarArchive, path: string): Promise<string> {
  return (await readXarEntryBytes(a, path)).toString('utf8');
}

/** Largest file kept in memory when its data is wanted; larger programs are streamed to a temporary file. */
const IN_MEMORY_FILE_BYTES = 1 << 20;

/** What to do with each cpio entry's data while a member is read. */
interface DataPolicy {
  /** Keep in memory (small wanted files, within the kept-bytes budget). */
  keep: (head: CpioEntryHead) => boolean;
  /** Stream to a sink instead (large programs), or undefined. */
  sinkFor?: (head: CpioEntryHead) => CpioDataSink | undefined;
}

/** Decompress a Payload/Scripts member and read its cpio entries within `bound`, treating data as `policy` says. */
async function readArchiveMember(a: XarArchive, path: string, policy: DataPolicy, bound: (memberBytes: number) => ByteBound): Promise<ArchiveStream> {
  const member = new ByteCounter();
  const { head, rest } = await peek(counted(readXarEntry(a, path), member), 6);
  const compression = head[0] === 0x1f && head[1] === 0x8b ? 'gzip' : head.toString('latin1', 0, 4) === 'pbzx' ? 'pbzx' : head.toString('latin1', 0, 5) === '07070' ? 'none' : 'unknown';
  if (compression === 'pbzx') throw new Error('is a pbzx (xz) archive, which this tool does not read (pkgbuild writes gzip)');
  if (compression === 'unknown') throw new Error(`is neither gzip nor cpio (it starts with ${head.toString('hex').replace(/(..)(?=.)/g, '$1 ')})`);
  const cpio = new ByteCounter();
  const stored = findXarEntry(a, path)?.data?.size ?? 0;
  const stream = bounded(counted(compression === 'gzip' ? gunzipSource(rest) : rest, cpio), bound(stored), memberWhere(a.file, path));
  const entries: CpioEntry[] = [];
  try {
    for await (const e of readCpio(stream, { what: memberWhere(a.file, path), keepData: (_p, h) => policy.keep(h), sinkFor: policy.sinkFor })) entries.push(e);
    await drainRest(stream);
  } finally {
    await stream.return(undefined); // closes the member's file stream if the cpio reader stopped early
  }
  return { compression, memberBytes: member.bytes, cpioBytes: cpio.bytes, entries };
}

/**
 * How far a member may inflate: what the Bom declares (the exact cpio size of its entries) or else PackageInfo
 * (installKBytes and numberOfFiles), plus a margin; never more than the ratio cap on its compressed size nor the
 * absolute cap. Each bound carries the reason it is the binding one, for the message.
 */
function inflateBound(c: ComponentContents, withDeclared: boolean): (memberBytes: number) => ByteBound {
  return (memberBytes) => {
    const ratio = Math.max(LIMITS['cpio.ratio-floor'], LIMITS['cpio.ratio'] * memberBytes);
    const bounds: ByteBound[] = [
      { max: LIMITS['cpio.bytes'], limit: 'cpio.bytes', why: `the ${byteText(LIMITS['cpio.bytes'])} any archive may hold` },
      { max: ratio, limit: 'cpio.ratio', why: `${LIMITS['cpio.ratio']} times its ${byteText(memberBytes)} (a decompression bomb)` },
    ];
    const declared = withDeclared ? declaredCpioBytes(c) : undefined;
    if (declared) bounds.push({ max: declared.bytes + LIMITS['cpio.declared-margin'], limit: 'cpio.declared-margin', why: `the ${byteText(declared.bytes)} ${declared.by} declares, plus a ${byteText(LIMITS['cpio.declared-margin'])} margin` });
    return bounds.reduce((a, b) => (b.max < a.max ? b : a));
  };
}

/** The cpio bytes the Bom's entries need (headers, names, data, trailer, padding), or PackageInfo's upper estimate. */
function declaredCpioBytes(c: ComponentContents): { bytes: number; by: string } | undefined {
  const HEADER = 76;
  const pad = (n: number): number => Math.ceil(n / 512) * 512;
  if (c.bom) {
    let n = HEADER + 11; // TRAILER!!! + NUL
    for (const e of c.bom.entries) n += HEADER + Buffer.byteLength(e.path) + 1 + (e.kind === 'dir' ? 0 : e.size);
    return { bytes: pad(n), by: 'the Bom' };
  }
  const p = c.packageInfo?.info?.payload;
  if (p) return { bytes: pad((p.installKBytes + 1) * 1024 + (p.numberOfFiles + 2) * (HEADER + LIMITS['path.bytes'] + 3)), by: "PackageInfo's <payload>" };
  return undefined;
}

function isProgramCandidate(mode: number, path: string): boolean {
  return (mode & 0o170000) === 0o100000 && ((mode & 0o111) !== 0 || LAUNCHD_PLIST.test(path));
}

/** A program streamed to a temporary file while the Payload is read. */
interface SpilledProgram {
  path: string;
  file: string;
  /** Ends (or is destroyed, if the Payload could not be read through) before the file is scanned. */
  out: { destroy: () => void };
  /** All its bytes were written and the stream ended. */
  ended: boolean;
  done: Promise<void>;
}

/** A large program scanned as it streams past (src/macho/stream-scan.ts), instead of spilled to a file. */
interface StreamedProgram {
  path: string;
  scan: StreamedMachOScan;
}

/**
 * The Payload's data policy: executables and launchd plists (by their cpio header) are wanted; small ones are kept
 * in memory within the kept-bytes budget; larger programs are scanned as they stream (listed in `streamed`), or —
 * for the paths in `spill`, those the streamed scan could not judge — written to files in `dir` (0600), listed in
 * `spilled`.
 */
function payloadPolicy(dir: string, spilled: SpilledProgram[], streamed: StreamedProgram[], spill?: ReadonlySet<string>): DataPolicy {
  let budget = LIMITS['cpio.kept-bytes'];
  const wanted = (h: CpioEntryHead): boolean => h.kind === 'file' && isProgramCandidate(h.mode, h.path);
  return {
    keep: (h) => {
      if (spill || !wanted(h)) return false;
      // A launchd plist is always kept (its text is checked); the cpio reader enforces the budget on it.
      if (!LAUNCHD_PLIST.test(h.path) && (h.size > IN_MEMORY_FILE_BYTES || h.size > budget)) return false;
      budget -= h.size;
      return true;
    },
    sinkFor: (h) => {
      if (!wanted(h) || LAUNCHD_PLIST.test(h.path) || (h.size <= IN_MEMORY_FILE_BYTES && h.size <= budget)) return undefined;
      if (!spill) {
        const scan = new StreamedMachOScan(h.path, h.size);
        streamed.push({ path: h.path, scan });
        return (chunk) => scan.update(chunk);
      }
      if (!spill.has(h.path)) return undefined;
      const file = path.join(dir, `program-${spilled.length + 1}`);
      const out = createStagingStream(file, 0o600);
      const closed = new Promise<void>((resolve, reject) => {
        out.once('close', resolve);
        out.once('error', reject);
      });
      let written = 0;
      const entry: SpilledProgram = { path: h.path, file, out, ended: false, done: closed };
      spilled.push(entry);
      return async (chunk) => {
        await writeChunk(out, chunk);
        written += chunk.length;
        if (written === h.size) {
          entry.ended = true;
          out.end();
        }
      };
    },
  };
}

function programsOf(file: string, member: string, entries: readonly CpioEntry[]): PayloadProgram[] {
  const out: PayloadProgram[] = [];
  for (const e of entries) {
    if (e.kind !== 'file' || !e.data || !MACHO_MAGICS.has(e.data.subarray(0, 4).toString('hex'))) continue;
    const p: PayloadProgram = { path: e.path, size: e.data.length, sha256: createHash('sha256').update(e.data).digest('hex') };
    const parsed = tryParseMachO(e.data, `${memberWhere(file, member)}:${e.path}`);
    if (parsed.file) Object.assign(p, { macho: parsed.file, identity: machoIdentity(parsed.file, e.data) });
    else p.error = parsed.error;
    out.push(p);
  }
  return out;
}

/** A spilled program scanned from its file (headers by range, one streamed pass for the hashes). */
async function spilledProgram(file: string, member: string, s: SpilledProgram): Promise<PayloadProgram | undefined> {
  await s.done;
  const name = `${memberWhere(file, member)}:${s.path}`;
  try {
    const scan = await scanMachOFile(s.file, name);
    if (!scan.parsed) return undefined;
    return { path: s.path, size: scan.size, sha256: scan.sha256, macho: scan.parsed, identity: machoIdentity(scan.parsed, { verdicts: scan.verdicts }) };
  } catch (e) {
    if (isMachOFormatError(e)) return { path: s.path, size: 0, sha256: '', error: e.detail };
    if (e instanceof InputFileError) return { path: s.path, size: 0, sha256: '', error: errorText(e) };
    throw e;
  }
}

/** A program scanned as it streamed: its name in messages is the one the file scan would give. */
function streamedProgram(file: string, member: string, s: StreamedProgram, scan: StreamedScan): PayloadProgram {
  const parsed = { ...scan.parsed, name: `${memberWhere(file, member)}:${s.path}` };
  return { path: s.path, size: scan.size, sha256: scan.sha256, macho: parsed, identity: machoIdentity(parsed, { verdicts: [scan.verdict] }) };
}

/**
 * The Payload: entries within the declared bound, programs (kept, or scanned as they stream), launchd plists. A
 * large program the streamed scan cannot judge (universal, another page hash, a format error) is read again: the
 * Payload a second time, that program spilled to a private file and scanned there.
 */
async function readPayload(a: XarArchive, c: ComponentContents): Promise<void> {
  const member = `${c.prefix}Payload`;
  const streamed: StreamedProgram[] = [];
  c.payload = await readArchiveMember(a, member, payloadPolicy('', [], streamed), inflateBound(c, true));
  const programs = programsOf(a.file, member, c.payload.entries);
  const again = new Set<string>();
  for (const s of streamed) {
    const scan = s.scan.finish();
    if (scan === undefined) again.add(s.path);
    else if (scan !== 'not Mach-O') programs.push(streamedProgram(a.file, member, s, scan));
  }
  if (again.size > 0) {
    await withTempDir('pkg-payload', async (dir) => {
      const spilled: SpilledProgram[] = [];
      try {
        await readArchiveMember(a, member, payloadPolicy(dir, spilled, [], again), inflateBound(c, true));
      } finally {
        for (const s of spilled) if (!s.ended) s.out.destroy();
        await Promise.allSettled(spilled.map((s) => s.done));
      }
      for (const s of spilled) {
        const p = await spilledProgram(a.file, member, s);
        if (p) programs.push(p);
      }
    });
  }
  const order = new Map(c.payload.entries.map((e, i) => [e.path, i]));
  c.programs = programs.sort((x, y) => (order.get(x.path) ?? 0) - (order.get(y.path) ?? 0));
  c.launchdPlists = c.payload.entries.filter((e) => e.data && LAUNCHD_PLIST.test(e.path)).map((e) => ({ path: e.path, text: e.data!.toString('utf8') }));
  for (const e of c.payload.entries) delete e.data;
}

/** Scripts: every file under 1 MiB kept (their text is shown and checked for `#!`), within the kept-bytes budget. */
function scriptsPolicy(): DataPolicy {
  let budget = LIMITS['cpio.kept-bytes'];
  return {
    keep: (h) => {
      if (h.kind !== 'file' || h.size > IN_MEMORY_FILE_BYTES || h.size > budget) return false;
      budget -= h.size;
      return true;
    },
  };
}

async function readComponent(a: XarArchive, name: string): Promise<ComponentContents> {
  const prefix = name === '' ? '' : `${name}/`;
  const c: ComponentContents = { name, prefix, programs: [], launchdPlists: [], errors: {} };
  const has = (m: string): boolean => findXarEntry(a, prefix + m)?.type === 'file';
  const attempt = async (m: (typeof COMPONENT_MEMBERS)[number], fn: () => Promise<void>): Promise<void> => {
    if (!has(m)) return;
    try {
      await fn();
    } catch (e) {
      c.errors[m] = errorText(e);
      if (e instanceof InputLimitError) c.limitHit ??= e;
    }
  };
  await attempt('PackageInfo', async () => {
    const xml = await readText(a, `${prefix}PackageInfo`);
    c.packageInfo = { xml, ...parsePackageInfo(xml, memberWhere(a.file, `${prefix}PackageInfo`)) };
  });
  await attempt('Bom', async () => {
    c.bom = readBom(await readXarEntryBytes(a, `${prefix}Bom`, LIMITS['bom.bytes'], 'bom.bytes'), memberWhere(a.file, `${prefix}Bom`));
  });
  await attempt('Payload', () => readPayload(a, c));
  await attempt('Scripts', async () => {
    c.scripts = await readArchiveMember(a, `${prefix}Scripts`, scriptsPolicy(), inflateBound(c, false));
  });
  return c;
}

/**
 * Read the package at `input`: a path, or a named random-access source (a pkg inside a release zip, read in place
 * and named `zip:entry`). Throws InputFileError only when it is missing or not a xar whose TOC can be read;
 * damaged members are recorded (see {@link ComponentContents.errors}) and TOC problems are in `archive.problems`.
 */
export async function readPkg(input: string | NamedSource): Promise<PkgContents> {
  return readPkgArchive(await openXar(input, { strict: false }));
}

/** {@link readPkg} of a xar already opened (non-strict), e.g. to check its checksums alongside (src/verify/pkg.ts). */
export async function readPkgArchive(archive: XarArchive): Promise<PkgContents> {
  const file = archive.file;
  const product = findXarEntry(archive, 'Distribution')?.type === 'file';
  const out: PkgContents = { file, archive, flavor: product ? 'product' : 'component', components: [] };
  if (product) {
    const where = memberWhere(file, 'Distribution');
    try {
      const xml = await readText(archive, 'Distribution');
      out.distribution = { xml, ...parseDistribution(xml, where) };
    } catch (e) {
      out.distribution = { xml: '', problems: [], error: errorText(e) };
      if (e instanceof InputLimitError) out.limitHit = e;
    }
    for (const name of componentNames(archive)) out.components.push(await readComponent(archive, name));
  } else {
    out.components.push(await readComponent(archive, ''));
  }
  return out;
}

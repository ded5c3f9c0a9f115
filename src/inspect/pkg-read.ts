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
 */
import { createHash } from 'node:crypto';
import { type Problem } from '../errors.js';
import { readBom, type BomContents } from '../pkg/bom-reader.js';
import { readCpio, type CpioEntry } from '../pkg/cpio.js';
import { parseDistribution, type DistributionInfo } from '../pkg/distribution.js';
import type { MachOFile } from '../pkg/macho.js';
import { parsePackageInfo, type PackageInfo } from '../pkg/package-info.js';
import { findXarEntry, openXar, readXarEntry, readXarEntryBytes, type XarArchive } from '../pkg/xar-reader.js';
import { ByteCounter, counted, drainRest, errorText, gunzipSource, peek } from './streams.js';
import { machoIdentity, tryParseMachO, type MachOIdentity } from './macho.js';

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
}

export interface PkgContents {
  file: string;
  archive: XarArchive;
  flavor: 'product' | 'component';
  distribution?: { xml: string; info?: DistributionInfo; problems: Problem[]; error?: string };
  components: ComponentContents[];
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

/** Decompress a Payload/Scripts member and read its cpio entries, keeping the data `keep` asks for. */
async function readArchiveMember(a: XarArchive, path: string, keep: (p: string) => boolean): Promise<ArchiveStream> {
  const member = new ByteCounter();
  const { head, rest } = await peek(counted(readXarEntry(a, path), member), 6);
  const compression = head[0] === 0x1f && head[1] === 0x8b ? 'gzip' : head.toString('latin1', 0, 4) === 'pbzx' ? 'pbzx' : head.toString('latin1', 0, 5) === '07070' ? 'none' : 'unknown';
  if (compression === 'pbzx') throw new Error('is a pbzx (xz) archive, which this tool does not read (pkgbuild writes gzip)');
  if (compression === 'unknown') throw new Error(`is neither gzip nor cpio (it starts with ${head.toString('hex').replace(/(..)(?=.)/g, '$1 ')})`);
  const cpio = new ByteCounter();
  const stream = counted(compression === 'gzip' ? gunzipSource(rest) : rest, cpio);
  const entries: CpioEntry[] = [];
  try {
    for await (const e of readCpio(stream, { what: memberWhere(a.file, path), keepData: keep })) entries.push(e);
    await drainRest(stream);
  } finally {
    await stream.return(undefined); // closes the member's file stream if the cpio reader stopped early
  }
  return { compression, memberBytes: member.bytes, cpioBytes: cpio.bytes, entries };
}

function isProgramCandidate(mode: number, path: string): boolean {
  return (mode & 0o170000) === 0o100000 && ((mode & 0o111) !== 0 || LAUNCHD_PLIST.test(path));
}

/** Which payload files to keep in memory: executables and launchd plists (per the Bom; everything without one). */
function keepPredicate(bom: BomContents | undefined): (p: string) => boolean {
  if (!bom) return () => true;
  const wanted = new Set(bom.entries.filter((e) => isProgramCandidate(e.mode, e.path)).map((e) => e.path));
  return (p) => wanted.has(p) || LAUNCHD_PLIST.test(p);
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
    }
  };
  await attempt('PackageInfo', async () => {
    const xml = await readText(a, `${prefix}PackageInfo`);
    c.packageInfo = { xml, ...parsePackageInfo(xml, memberWhere(a.file, `${prefix}PackageInfo`)) };
  });
  await attempt('Bom', async () => {
    c.bom = readBom(await readXarEntryBytes(a, `${prefix}Bom`, 256 << 20), memberWhere(a.file, `${prefix}Bom`));
  });
  await attempt('Payload', async () => {
    c.payload = await readArchiveMember(a, `${prefix}Payload`, keepPredicate(c.bom));
    c.programs = programsOf(a.file, `${prefix}Payload`, c.payload.entries);
    c.launchdPlists = c.payload.entries.filter((e) => e.data && LAUNCHD_PLIST.test(e.path)).map((e) => ({ path: e.path, text: e.data!.toString('utf8') }));
    for (const e of c.payload.entries) delete e.data;
  });
  await attempt('Scripts', async () => {
    c.scripts = await readArchiveMember(a, `${prefix}Scripts`, () => true);
  });
  return c;
}

/**
 * Read the package at `file`. Throws InputFileError only when it is missing or not a xar whose TOC can be read;
 * damaged members are recorded (see {@link ComponentContents.errors}) and TOC problems are in `archive.problems`.
 */
export async function readPkg(file: string): Promise<PkgContents> {
  const archive = await openXar(file, { strict: false });
  const product = findXarEntry(archive, 'Distribution')?.type === 'file';
  const out: PkgContents = { file, archive, flavor: product ? 'product' : 'component', components: [] };
  if (product) {
    const where = memberWhere(file, 'Distribution');
    try {
      const xml = await readText(archive, 'Distribution');
      out.distribution = { xml, ...parseDistribution(xml, where) };
    } catch (e) {
      out.distribution = { xml: '', problems: [], error: errorText(e) };
    }
    for (const name of componentNames(archive)) out.components.push(await readComponent(archive, name));
  } else {
    out.components.push(await readComponent(archive, ''));
  }
  return out;
}

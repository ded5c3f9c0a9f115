/**
 * The Bom's Mach-O records (pkgbuild's architecture 0x200F: per slice cputype, cpusubtype, size, cksum) checked
 * against the Payload's binary, and BomInfo's per-CPU-type rows against those records.
 *
 * Covers, for each Bom entry with slice records whose Payload file was read as Mach-O (src/read/pkg-read.ts
 * programs): the slice count, and per slice in file order the cputype, cpusubtype and size; the cksum of a thin
 * file's one slice (the whole file, so the cpio entry's cksum) and of each slice of a universal file whose bytes the
 * reader kept in memory (≤ 1 MiB). BomInfo: each CPU type's row equals the sum of its slice sizes, and the cpu-0
 * row equals the bytes of files and symlinks that are not Mach-O.
 * Does not cover: slice cksums of a universal file the reader spilled to disk (> 1 MiB; its Mach-O headers and code
 * signature are still checked); Boms without slice records (bomutils and older writers of ours write none, and
 * nobody has shown Installer needs them), which are not a problem.
 */
import type { Problem } from '../errors.js';
import { cksum } from '../formats/cksum.js';
import { archName } from '../macho/constants.js';
import type { BomEntry } from '../pkg/bom-reader.js';
import { memberWhere, type ComponentContents, type PayloadProgram } from '../read/pkg-read.js';

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

/** Differences between one file's slice records and its Mach-O structure (and bytes, when known). */
function sliceDifferences(b: BomEntry, prog: PayloadProgram, fileCksum: number | undefined, data: Buffer | undefined): string[] {
  const slices = b.slices ?? [];
  const macho = prog.macho!;
  if (slices.length !== macho.slices.length) return [`${slices.length} Mach-O slice records (Bom) vs ${macho.slices.length} slices (Payload)`];
  const out: string[] = [];
  slices.forEach((s, i) => {
    const m = macho.slices[i]!;
    const name = `slice ${i + 1} (${m.arch})`;
    if (s.cputype !== m.cputype || s.cpusubtype !== m.cpusubtype) {
      out.push(`${name}: cputype/cpusubtype ${hex(s.cputype)}/${hex(s.cpusubtype)} (${archName(s.cputype, s.cpusubtype)}, Bom) vs ${hex(m.cputype)}/${hex(m.cpusubtype)} (Payload)`);
    }
    if (s.size !== m.size) out.push(`${name}: size ${s.size} (Bom) vs ${m.size} (Payload)`);
    const actual = macho.kind === 'thin' ? fileCksum : data ? cksum(data.subarray(m.offset, m.offset + m.size)) : undefined;
    if (actual !== undefined && s.cksum !== actual) out.push(`${name}: cksum ${s.cksum} (Bom) vs ${actual} (Payload)`);
  });
  return out;
}

/** BomInfo's rows against the Bom's own entries and slice records (only for a Bom that has slice records). */
function bomInfoProblems(c: ComponentContents, where: string): Problem[] {
  const entries = c.bom!.entries;
  const machO = entries.filter((e) => e.kind === 'file' && e.slices);
  if (machO.length === 0) return [];
  const want = new Map<number, number>([[0, 0]]);
  for (const e of entries) if (e.kind === 'file' || e.kind === 'symlink') want.set(0, want.get(0)! + (e.slices ? 0 : e.size));
  for (const e of machO) for (const s of e.slices!) want.set(s.cputype, (want.get(s.cputype) ?? 0) + s.size);
  const got = new Map(c.bom!.info.arch.map((r) => [r.cpuType, r.bytes]));
  const out: Problem[] = [];
  for (const [cpu, bytes] of [...want].sort((a, b) => a[0] - b[0])) {
    const row = got.get(cpu);
    const what = cpu === 0 ? 'the non-Mach-O row (cpu 0)' : `the row of CPU type ${hex(cpu)}`;
    if (row !== bytes) out.push({ where, message: `BomInfo ${what} holds ${row ?? 'nothing'}${row === undefined ? '' : ' bytes'}, expected ${bytes} from the Bom's entries and slice records` });
  }
  for (const cpu of got.keys()) if (!want.has(cpu)) out.push({ where, message: `BomInfo has a row for CPU type ${hex(cpu)}, but no Mach-O slice of that type is recorded` });
  return out;
}

/** Bom slice records ↔ the Payload's Mach-O files, and BomInfo ↔ the records. */
export function bomSliceProblems(file: string, c: ComponentContents): Problem[] {
  if (!c.bom || !c.payload) return [];
  const where = memberWhere(file, `${c.prefix}Bom`);
  const payload = new Map(c.payload.entries.map((e) => [e.path, e]));
  const programs = new Map(c.programs.map((p) => [p.path, p]));
  const out: Problem[] = [];
  for (const b of c.bom.entries) {
    if (!b.slices) continue;
    const prog = programs.get(b.path);
    if (!prog?.macho) continue; // not read as Mach-O (or unreadable, which programProblems reports)
    const p = payload.get(b.path);
    const diff = sliceDifferences(b, prog, p?.cksum, p?.data);
    if (diff.length > 0) out.push({ where, message: `Bom and Payload disagree on ${b.path}: ${diff.join('; ')}` });
  }
  return [...out, ...bomInfoProblems(c, where)];
}

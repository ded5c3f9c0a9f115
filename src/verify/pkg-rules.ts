/**
 * The consistency rules of a flat package's members, over what src/read/pkg-read.ts read: Bom ↔ Payload
 * agreement path by path (type, mode, uid/gid, size, cksum, link target), payload ownership, PackageInfo's
 * `<payload numberOfFiles installKBytes>` recomputed from the payload (pkgbuild's count, src/pkg/payload.ts),
 * PackageInfo `<scripts>` ↔ the Scripts archive (present, executable, `#!`), the Distribution's pkg-refs ↔ the
 * components in the archive (ids, versions, installKBytes), and `hostArchitectures` ↔ the architectures of the
 * Mach-O programs in the payload.
 *
 * Each rule returns every problem it finds; none stops at the first. Members whose bytes are already known to be
 * damaged (a xar checksum problem) are skipped by the caller, so only the cause is reported.
 */
import type { Problem } from '../errors.js';
import type { BomEntry } from '../pkg/bom-reader.js';
import type { CpioEntry } from '../pkg/cpio.js';
import { MH_EXECUTE } from '../macho/constants.js';
import { memberWhere, type ComponentContents, type PkgContents } from '../read/pkg-read.js';
import { statsFromPayload } from '../read/payload-stats.js';

/** Members known to be damaged at the xar level (`path` inside the archive): their contents are not checked. */
export type DamagedMembers = ReadonlySet<string>;

const ADMIN_GID = 80;

function mode8(m: number): string {
  return m.toString(8);
}

/** Differences between the Bom's and the Payload's record of one path. */
function entryDifferences(b: BomEntry, p: CpioEntry): string[] {
  const out: string[] = [];
  if (b.kind !== p.kind) out.push(`type ${b.kind} (Bom) vs ${p.kind} (Payload)`);
  if (b.mode !== p.mode) out.push(`mode ${mode8(b.mode)} (Bom) vs ${mode8(p.mode)} (Payload)`);
  if (b.uid !== p.uid || b.gid !== p.gid) out.push(`owner ${b.uid}/${b.gid} (Bom) vs ${p.uid}/${p.gid} (Payload)`);
  if (p.kind === 'file' || p.kind === 'symlink') {
    if (b.size !== p.size) out.push(`size ${b.size} (Bom) vs ${p.size} (Payload)`);
    if (b.cksum !== p.cksum) out.push(`cksum ${b.cksum} (Bom) vs ${p.cksum} (Payload)`);
  }
  if (p.kind === 'symlink' && b.linkTarget !== p.linkTarget) out.push(`link target "${b.linkTarget}" (Bom) vs "${p.linkTarget}" (Payload)`);
  return out;
}

/** Bom ↔ Payload, path by path, plus the payload's ownership. */
export function bomPayloadProblems(file: string, c: ComponentContents): Problem[] {
  if (!c.bom || !c.payload) return [];
  const where = memberWhere(file, `${c.prefix}Bom`);
  const problems: Problem[] = c.bom.problems.map((message) => ({ where, message }));
  const payload = new Map<string, CpioEntry>();
  for (const e of c.payload.entries) {
    if (payload.has(e.path)) problems.push({ where: memberWhere(file, `${c.prefix}Payload`), message: `${e.path} appears twice in the Payload` });
    payload.set(e.path, e);
  }
  const bom = new Map(c.bom.entries.map((e) => [e.path, e]));
  for (const b of c.bom.entries) {
    const p = payload.get(b.path);
    if (!p) problems.push({ where, message: `${b.path} is in the Bom but not in the Payload` });
    else {
      const diff = entryDifferences(b, p);
      if (diff.length > 0) problems.push({ where, message: `Bom and Payload disagree on ${b.path}: ${diff.join('; ')}` });
    }
  }
  for (const p of c.payload.entries) if (!bom.has(p.path)) problems.push({ where, message: `${p.path} is in the Payload but not in the Bom` });
  return problems;
}

/** Payload entries must be root-owned (uid 0, gid 0 or 80): never the build user's ids. */
export function ownershipProblems(file: string, c: ComponentContents): Problem[] {
  const where = memberWhere(file, `${c.prefix}Payload`);
  return (c.payload?.entries ?? [])
    .filter((e) => e.uid !== 0 || (e.gid !== 0 && e.gid !== ADMIN_GID))
    .map((e) => ({ where, message: `${e.path} is owned by ${e.uid}/${e.gid}, expected root (0/0 or 0/80): a build user's ids leaked into the package` }));
}

/** PackageInfo's payload numbers, recomputed from the Payload. */
export function payloadCountProblems(file: string, c: ComponentContents): Problem[] {
  const info = c.packageInfo?.info;
  if (!info) return [];
  const where = memberWhere(file, `${c.prefix}PackageInfo`);
  if (!c.payload) {
    return info.payload && !c.errors.Payload ? [{ where, message: '<payload> is declared but the component has no Payload member' }] : [];
  }
  if (!info.payload) return [{ where, message: `has no <payload> element, but the Payload holds ${c.payload.entries.length} entries` }];
  const actual = statsFromPayload(c.payload.entries);
  const out: Problem[] = [];
  if (info.payload.numberOfFiles !== actual.numberOfFiles) {
    out.push({ where, message: `<payload> numberOfFiles is ${info.payload.numberOfFiles}, the Payload holds ${actual.numberOfFiles} entries besides "."` });
  }
  if (info.payload.installKBytes !== actual.installKBytes) {
    out.push({ where, message: `<payload> installKBytes is ${info.payload.installKBytes}, the Payload adds up to ${actual.installKBytes} (every entry but ".", directories at 32 bytes per link, floor of KiB)` });
  }
  return out;
}

/** PackageInfo `<scripts>` ↔ the Scripts archive. */
export function scriptsProblems(file: string, c: ComponentContents): Problem[] {
  const info = c.packageInfo?.info;
  const where = memberWhere(file, `${c.prefix}Scripts`);
  const listed = Object.entries(info?.scripts ?? {}) as Array<[string, string]>;
  if (!c.scripts) {
    if (c.errors.Scripts || listed.length === 0) return [];
    return [{ where: memberWhere(file, `${c.prefix}PackageInfo`), message: `<scripts> lists ${listed.map(([k]) => k).join(' and ')}, but the component has no Scripts member` }];
  }
  const out: Problem[] = [];
  const byPath = new Map(c.scripts.entries.map((e) => [e.path, e]));
  const norm = (p: string): string => (p.startsWith('./') ? p : `./${p}`);
  for (const [name, ref] of listed) {
    const e = byPath.get(norm(ref));
    if (!e) out.push({ where, message: `PackageInfo's <scripts><${name} file="${ref}"> names a file the Scripts archive does not hold` });
    else if (e.kind !== 'file') out.push({ where, message: `${e.path} (the ${name} script) is a ${e.kind}, not a file` });
    else {
      if ((e.mode & 0o111) === 0) out.push({ where, message: `${e.path} (the ${name} script) has mode ${(e.mode & 0o7777).toString(8).padStart(4, '0')}: Installer cannot run it (expected an executable mode such as 0755)` });
      if (e.data && !e.data.subarray(0, 2).equals(Buffer.from('#!'))) out.push({ where, message: `${e.path} (the ${name} script) does not start with "#!": Installer cannot execute it` });
    }
  }
  const listedPaths = new Set(listed.map(([, ref]) => norm(ref)));
  for (const name of ['preinstall', 'postinstall']) {
    if (byPath.has(`./${name}`) && !listedPaths.has(`./${name}`)) out.push({ where, message: `./${name} is in the Scripts archive but PackageInfo's <scripts> does not list it: Installer will not run it` });
  }
  return out;
}

/** The host architecture a Mach-O slice runs on natively. */
function hostArch(arch: string): string {
  if (arch === 'arm64' || arch === 'arm64e') return 'arm64';
  if (arch === 'x86_64' || arch === 'x86_64h') return 'x86_64';
  return arch;
}

function archProblems(file: string, host: readonly string[], c: ComponentContents): Problem[] {
  const out: Problem[] = [];
  for (const prog of c.programs) {
    const id = prog.identity;
    if (!id || !prog.macho?.slices.some((s) => s.fileType === MH_EXECUTE)) continue;
    const runs = [...new Set(id.arches.map(hostArch))];
    const cannotRun = host.filter((h) => !runs.includes(h));
    const unlisted = runs.filter((r) => !host.includes(r));
    if (cannotRun.length === 0 && unlisted.length === 0) continue;
    const why = [
      ...(cannotRun.length ? [`Installer would install it on ${cannotRun.join(' and ')} Macs, where it cannot run`] : []),
      ...(unlisted.length ? [`its ${unlisted.join(' and ')} code is not announced, so Installer refuses or asks for Rosetta on Macs it could run on`] : []),
    ];
    out.push({ where: memberWhere(file, 'Distribution'), message: `hostArchitectures "${host.join(',')}" does not match the payload binary ${c.prefix}Payload:${prog.path} (${id.arches.join(', ')}): ${why.join('; ')}` });
  }
  return out;
}

/** Distribution ↔ components: pkg-ref targets, unreferenced components, ids, versions, sizes, architectures. */
export function distributionProblems(p: PkgContents): Problem[] {
  const info = p.distribution?.info;
  if (!info) return [];
  const where = memberWhere(p.file, 'Distribution');
  const out: Problem[] = [];
  const byName = new Map(p.components.map((c) => [c.name, c]));
  const referenced = new Set<string>();
  for (const ref of info.pkgRefs) {
    if (ref.component === undefined) continue;
    const c = byName.get(ref.component);
    if (!c) {
      out.push({ where, message: `pkg-ref "${ref.id}" points to ${ref.href}, but the archive has no component ${ref.component} (it has: ${[...byName.keys()].join(', ') || 'none'})` });
      continue;
    }
    referenced.add(c.name);
    const pi = c.packageInfo?.info;
    if (!pi) continue;
    if (pi.identifier !== undefined && ref.id !== pi.identifier) out.push({ where, message: `pkg-ref id "${ref.id}" differs from ${c.name}'s PackageInfo identifier "${pi.identifier}"` });
    if (ref.version !== undefined && pi.version !== undefined && ref.version !== pi.version) out.push({ where, message: `pkg-ref "${ref.id}" version ${ref.version} differs from ${c.name}'s PackageInfo version ${pi.version}` });
    if (ref.installKBytes !== undefined && pi.payload && ref.installKBytes !== pi.payload.installKBytes) {
      out.push({ where, message: `pkg-ref "${ref.id}" installKBytes ${ref.installKBytes} differs from ${c.name}'s PackageInfo installKBytes ${pi.payload.installKBytes}` });
    }
  }
  for (const c of p.components) if (!referenced.has(c.name)) out.push({ where, message: `component ${c.name} is in the archive but no pkg-ref points to it: Installer ignores it` });
  const single = p.components.length === 1 ? p.components[0]!.packageInfo?.info : undefined;
  if (info.product?.version !== undefined && single?.version !== undefined && info.product.version !== single.version) {
    out.push({ where, message: `<product> version ${info.product.version} differs from the PackageInfo version ${single.version}` });
  }
  for (const c of p.components) if (referenced.has(c.name) && info.hostArchitectures.length > 0) out.push(...archProblems(p.file, info.hostArchitectures, c));
  return out;
}

/** Mach-O programs of the payload: readable, and their signatures still match their bytes. */
export function programProblems(file: string, c: ComponentContents): Problem[] {
  const out: Problem[] = [];
  for (const prog of c.programs) {
    const where = `${memberWhere(file, `${c.prefix}Payload`)}:${prog.path}`;
    if (prog.error) out.push({ where, message: `starts like a Mach-O file but cannot be read: ${prog.error}` });
    for (const s of prog.identity?.slices ?? []) {
      if (s.hashesMatch === false) out.push({ where, message: `${s.arch}: the code signature does not match the file (${s.mismatches?.join(', ')} hash differs): it was changed after signing` });
    }
  }
  return out;
}

/** Members a component of a product archive must have. */
export function memberProblems(file: string, c: ComponentContents, present: (path: string) => boolean): Problem[] {
  const out: Problem[] = [];
  for (const m of ['PackageInfo', 'Bom'] as const) {
    if (!present(`${c.prefix}${m}`)) out.push({ where: memberWhere(file, c.prefix || m), message: `the component has no ${m}` });
  }
  for (const [m, e] of Object.entries(c.errors)) out.push({ where: memberWhere(file, `${c.prefix}${m}`), message: `cannot be read: ${e}` });
  return out;
}

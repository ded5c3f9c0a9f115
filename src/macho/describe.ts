/**
 * Human text dump of a parsed Mach-O file for `aiwatch-deploy inspect`: per slice the header, the load commands,
 * and the code signature in the shape of `codesign -dvvv` lines (Identifier=, TeamIdentifier=, CodeDirectory v=…
 * flags=…, Hash type=, CDHash=, Authority=, designated => …).
 *
 * Covers: everything macho.ts reads. Does not cover: disassembly, symbol tables. Output is deterministic (no
 * dates other than the CMS signing time stored in the file).
 */
import { hex } from './bytes.js';
import type { Segment } from './loadcommands.js';
import type { CodeDirectoryInfo, CodeSignatureInfo } from './codesign.js';
import type { MachOFile, MachOSlice } from './model.js';

function prot(p: number): string {
  return `${p & 1 ? 'r' : '-'}${p & 2 ? 'w' : '-'}${p & 4 ? 'x' : '-'}`;
}

function segmentLines(s: Segment): string[] {
  const out = [
    `      ${s.name.padEnd(16)} vm ${hex(s.vmaddr)}-${hex(s.vmaddr + s.vmsize)}  file ${hex(s.fileoff)}+${hex(s.filesize)}  ${prot(s.initprot)}/${prot(s.maxprot)}`,
  ];
  for (const sec of s.sections) {
    out.push(`        section ${sec.name.padEnd(16)} addr ${hex(sec.addr)} size ${hex(sec.size)} offset ${hex(sec.offset)} align 2^${sec.align}`);
  }
  return out;
}

function headerLines(s: MachOSlice): string[] {
  const out = [
    `  ${s.arch}: Mach-O ${s.bits}-bit ${s.fileTypeDescription} (${s.fileTypeName}), ${s.littleEndian ? 'little' : 'big'}-endian, ${s.size} bytes at offset ${hex(s.offset)}${s.align !== undefined ? `, align 2^${s.align}` : ''}`,
    `    cputype ${hex(s.cputype)} cpusubtype ${hex(s.cpusubtype)}  flags ${hex(s.flags)} ${s.flagNames.join('|')}`,
  ];
  if (s.uuid) out.push(`    uuid ${s.uuid}`);
  if (s.buildVersion) out.push(`    platform ${s.buildVersion.platformName}, minos ${s.buildVersion.minos}, sdk ${s.buildVersion.sdk}`);
  if (s.entryPoint) out.push(`    entry ${s.entryPoint.kind === 'main' ? `LC_MAIN entryoff ${hex(s.entryPoint.entryoff)}` : 'LC_UNIXTHREAD'}`);
  if (s.dylinker) out.push(`    dylinker ${s.dylinker}`);
  for (const d of s.dylibs) out.push(`    dylib (${d.kind}) ${d.name} (compatibility ${d.compatibilityVersion}, current ${d.currentVersion})`);
  for (const r of s.rpaths) out.push(`    rpath ${r}`);
  return out;
}

function loadCommandLines(s: MachOSlice): string[] {
  const out = [`    load commands: ${s.ncmds} in ${s.sizeofcmds} bytes`];
  let seg = 0;
  for (const lc of s.loadCommands) {
    out.push(`    ${String(lc.index).padStart(4)} ${lc.name.padEnd(26)} ${String(lc.size).padStart(5)} bytes at ${hex(lc.offset)}`);
    if (lc.name === 'LC_SEGMENT_64' || lc.name === 'LC_SEGMENT') {
      const segment = s.segments[seg++];
      if (segment) out.push(...segmentLines(segment));
    }
  }
  return out;
}

function cdLines(cd: CodeDirectoryInfo): string[] {
  const flags = `${hex(cd.flags)}(${cd.flagNames.join(',') || 'none'})`;
  const out = [
    `      Identifier=${cd.identifier}`,
    `      TeamIdentifier=${cd.teamId ?? 'not set'}`,
    `      CodeDirectory v=${cd.version.toString(16)} size=${cd.length} flags=${flags} hashes=${cd.nCodeSlots}+${cd.nSpecialSlots} location=embedded`,
    `      Hash type=${cd.hashTypeName} size=${cd.hashSize}`,
    `      CDHash=${cd.cdhash ?? 'unknown'}`,
    `      Page size=${cd.pageSize || 'none'}  codeLimit=${hex(cd.codeLimit)}`,
  ];
  const rt = cd.runtimeVersion;
  if (rt !== undefined) out.push(`      Runtime Version=${rt >>> 16}.${(rt >>> 8) & 0xff}.${rt & 0xff}`);
  if (cd.execSeg) out.push(`      execSeg base=${hex(cd.execSeg.base)} limit=${hex(cd.execSeg.limit)} flags=${hex(cd.execSeg.flags)}`);
  return out;
}

function signatureLines(sig: CodeSignatureInfo | undefined): string[] {
  if (!sig) return ['    code signature: none (unsigned)'];
  const out = [`    code signature: ${sig.datasize} bytes at ${hex(sig.dataoff)}, super-blob ${sig.length} bytes, ${sig.adhoc ? 'ad-hoc' : 'signed with a certificate'}`];
  for (const b of sig.blobs) out.push(`      blob ${b.slotName} (${hex(b.magic)}, ${b.length} bytes at ${hex(b.offset)})`);
  if (sig.codeDirectory) out.push(...cdLines(sig.codeDirectory));
  for (const alt of sig.alternateCodeDirectories) out.push(`      alternate CodeDirectory: ${alt.hashTypeName}, CDHash=${alt.cdhash ?? 'unknown'}`);
  if (sig.cms) {
    out.push(`      CMS signature: ${sig.cms.size} bytes${sig.cms.size === 0 ? ' (empty placeholder)' : ''}`);
    const sum = sig.cms.summary;
    if (sum && !sum.parsed) out.push(`      CMS unreadable: ${sum.error}`);
    for (const c of sum?.certificates ?? []) out.push(`      Authority=${c.commonName ?? c.subject}`);
    if (sum?.signingTime) out.push(`      Signed Time=${sum.signingTime}`);
    if (sum?.messageDigest && sig.cms.digestMatches !== undefined) {
      out.push(`      CMS message digest (${sum.messageDigest.algorithm}) ${sig.cms.digestMatches ? 'matches' : 'DOES NOT match'} the CodeDirectory`);
    }
  } else {
    out.push('      CMS signature: none');
  }
  for (const r of sig.requirements ?? []) out.push(`      ${r.typeName} => ${r.text}`);
  if (sig.entitlements) out.push('      Entitlements (XML):', ...sig.entitlements.trimEnd().split('\n').map((l) => `        ${l}`));
  if (sig.derEntitlementsSize !== undefined) out.push(`      Entitlements (DER): ${sig.derEntitlementsSize} bytes`);
  return out;
}

/** The text `inspect` prints for a Mach-O file. */
export function describeMachO(file: MachOFile): string {
  const kind = file.kind === 'fat' ? `universal binary (${file.fatMagic}) with ${file.slices.length} architecture${file.slices.length === 1 ? '' : 's'}: ${file.slices.map((s) => s.arch).join(' ')}` : `Mach-O ${file.slices[0]?.arch ?? ''} thin binary`;
  const lines = [`${file.name}: ${kind}, ${file.size} bytes`];
  for (const s of file.slices) lines.push(...headerLines(s), ...loadCommandLines(s), ...signatureLines(s.codeSignature));
  return `${lines.join('\n')}\n`;
}

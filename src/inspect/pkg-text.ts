/**
 * Text rendering of a {@link PkgReport}, in the spirit of `pkgutil --expand` + `lsbom` + `pkgutil --check-signature`:
 * sections for the xar container, the TOC, the signature, stapled tickets, the Distribution and each component
 * (PackageInfo, Payload, Bom listing as lsbom prints it, Scripts, Mach-O programs). Stable for a given report.
 */
import { certificateLines, heading, indent, plural, rows, text } from './format.js';
import { formatIdentityLines } from './macho.js';
import type { ComponentReport, ListingEntry, PkgReport, TocEntryReport } from './pkg.js';
import type { XarSignatureReport } from '../read/signature.js';

function containerLines(r: PkgReport): string[] {
  const t = r.toc;
  const ck = t.checksum;
  const after = t.trailing ? `${t.trailing.length} unexplained bytes after it` : r.staples.length > 0 ? `then ${plural(r.staples.length, 'stapled ticket')}` : 'nothing after it';
  return [
    heading('xar'),
    ...rows([
      ['header', `magic "${r.header.magic}", ${r.header.headerSize} bytes, version ${r.header.version}, checksum algorithm ${r.header.checksumAlgorithm}`],
      ['TOC', `${r.header.tocLengthCompressed} bytes zlib, ${r.header.tocLengthUncompressed} bytes XML${t.creationTime ? `, created ${t.creationTime}` : ''}`],
      ['TOC checksum', ck ? `${ck.style} at heap ${ck.offset} (${ck.size} bytes) ${ck.stored}: ${ck.matches ? 'matches the TOC' : `DOES NOT MATCH (computed ${ck.computed})`}` : 'none'],
      ['heap', `bytes ${t.heapStart}–${t.heapEnd} of ${r.size}; ${after}`],
    ]),
    ...t.problems.map((p) => `  PROBLEM: ${p}`),
  ];
}

function tocEntryLines(e: TocEntryReport): string[] {
  const name = e.type === 'directory' ? `${e.path}/` : e.path;
  const meta = [e.type, e.mode, e.owner].filter(Boolean).join(' ');
  if (e.encoding === undefined) return [`${String(e.id).padStart(3)}  ${name}  (${meta})`];
  return [
    `${String(e.id).padStart(3)}  ${name}  (${meta})`,
    `       ${e.encoding}, heap offset ${e.offset}, stored ${e.length} bytes, extracted ${e.size} bytes`,
    `       archived ${e.archivedChecksum ?? 'none'}`,
    `       extracted ${e.extractedChecksum ?? 'none'}`,
  ];
}

function signatureLines(s: XarSignatureReport): string[] {
  const out = [heading('signature'), `  Status: ${s.status}`];
  if (!s.signed) return out;
  if (s.rsa) out.push(`  RSA <signature>: heap ${s.rsa.offset}, ${s.rsa.size} bytes; ${s.rsa.verifies ? 'verifies over the TOC checksum' : `DOES NOT VERIFY: ${s.rsa.reason}`}`);
  else out.push('  RSA <signature>: none');
  const c = s.cms;
  if (c) {
    out.push(`  CMS <x-signature>: heap ${c.offset}, ${c.size} bytes reserved, ${c.derLength} used; ${c.verifies ? 'verifies over the TOC checksum' : `DOES NOT VERIFY: ${c.reason}`}`);
    out.push(...rows([['digest', c.digestAlgorithm], ['signing time', c.signingTime], ['signer', c.signer?.commonName]], 4));
    const ts = c.timestamp;
    if (ts) out.push(`    Signed with a timestamp on ${ts.genTime} by "${ts.tsa ?? 'unknown TSA'}" (serial ${ts.serialNumber}, policy ${ts.policy}); ${ts.imprintMatches ? 'it stamps this signature' : 'IT DOES NOT STAMP THIS SIGNATURE'}${ts.tokenVerifies === false ? '; token signature DOES NOT VERIFY' : ''}`);
    else out.push('    no timestamp');
  } else out.push('  CMS <x-signature>: none (stapling needs it)');
  out.push(`  Developer ID Installer certificate: ${s.developerIdInstaller ? 'yes' : 'no'}; chain ends at Apple Root CA: ${s.chainsToApple ? 'yes' : 'no'}`);
  out.push('  Certificate Chain:');
  s.chain.forEach((cert, i) => out.push(...indent(certificateLines(cert, i + 1), 3)));
  out.push(...s.problems.map((p) => `  PROBLEM: ${p}`));
  return out;
}

function stapleLines(r: PkgReport): string[] {
  if (r.staples.length === 0) return [heading('stapled ticket'), '  none'];
  return [heading('stapled ticket'), ...r.staples.map((s, i) => `  #${i + 1}: ${s.length} bytes at offset ${s.offset}, trailer version ${s.version}, ${s.startsWithS8ch ? 'starts with "s8ch"' : 'does NOT start with "s8ch"'}`)];
}

function distributionLines(r: PkgReport): string[] {
  const d = r.distribution;
  if (!d) return [];
  const out = [heading('Distribution')];
  if (d.error) return [...out, `  unreadable: ${d.error}`];
  const i = d.info;
  if (i) {
    out.push(
      ...rows([
        ['title', i.title],
        ['product', i.product ? `${i.product.id ?? '?'} ${i.product.version ?? ''}`.trim() : undefined],
        ['minSpecVersion', i.minSpecVersion],
        ['hostArchitectures', i.hostArchitectures.join(',') || '(none)'],
        ['minimum macOS', i.minimumOSVersions.join(', ') || undefined],
        ['options', Object.entries(i.options).map(([k, v]) => `${k}=${v}`).join(' ') || undefined],
        ['choices', i.choices.map((c) => `${c.id}${c.visible === 'false' ? ' (hidden)' : ''}${c.pkgRefs.length ? ` → ${c.pkgRefs.join(', ')}` : ''}`).join('; ')],
      ]),
      ...i.pkgRefs.map((p) => `  pkg-ref ${p.id} ${p.version ?? ''} installKBytes ${p.installKBytes ?? '?'} onConclusion ${p.onConclusion ?? '?'} → ${p.href}`),
    );
  }
  return [...out, ...d.problems.map((p) => `  PROBLEM: ${p}`)];
}

function lsbomLines(entries: readonly ListingEntry[]): string[] {
  return entries.map((e) => [e.path, e.mode, `${e.uid}/${e.gid}`, ...(e.cksum !== undefined ? [String(e.size), String(e.cksum)] : []), ...(e.linkTarget !== undefined ? [e.linkTarget] : [])].join('\t'));
}

function packageInfoLines(c: ComponentReport): string[] {
  const p = c.packageInfo;
  if (!p) return [];
  return [
    '  PackageInfo',
    ...rows(
      [
        ['identifier', p.identifier],
        ['version', p.version],
        ['format-version', p.formatVersion],
        ['install-location', p.installLocation],
        ['auth', p.auth],
        ['generator-version', p.generatorVersion],
        ['postinstall-action', p.postinstallAction],
        ['relocatable', p.relocatable],
        ['overwrite-permissions', p.overwritePermissions],
        ['payload', p.payload ? `numberOfFiles ${p.payload.numberOfFiles}, installKBytes ${p.payload.installKBytes}` : 'none (payload-free)'],
        ['scripts', Object.entries(p.scripts).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'],
        ['bundles', p.bundleIds.join(', ') || undefined],
      ],
      4,
    ),
    ...c.packageInfoProblems.map((x) => `    PROBLEM: ${x}`),
  ];
}

function payloadLines(c: ComponentReport): string[] {
  const out: string[] = [];
  const p = c.payload;
  if (p) {
    out.push(`  Payload: ${p.compression} ${p.memberBytes} bytes → cpio ${p.cpioBytes} bytes, ${plural(p.entries.length, 'entry', 'entries')}; recomputed numberOfFiles ${p.stats.numberOfFiles}, installKBytes ${p.stats.installKBytes}`);
  }
  if (c.bom) {
    out.push(`  Bom (lsbom): ${plural(c.bom.entries.length, 'path')}, BomInfo numberOfPaths ${c.bom.numberOfPaths}`);
    out.push(...indent(lsbomLines(c.bom.entries), 4), ...c.bom.problems.map((x) => `    PROBLEM: ${x}`));
  } else if (p) {
    out.push('  Payload listing (lsbom format, from the cpio archive; no Bom):', ...indent(lsbomLines(p.entries), 4));
  }
  return out;
}

function scriptLines(c: ComponentReport): string[] {
  const s = c.scripts;
  if (!s) return [];
  const out = [`  Scripts: ${s.compression} ${s.memberBytes} bytes → cpio ${s.cpioBytes} bytes, ${plural(s.files.length, 'file')}`];
  for (const f of s.files) {
    out.push(`    ${f.path}  ${f.mode}  ${f.size} bytes`, ...indent(f.text.split('\n'), 6));
    if (f.moreLines > 0) out.push(`      … ${plural(f.moreLines, 'more line')} (--scripts shows them)`);
  }
  return out;
}

function programLines(c: ComponentReport): string[] {
  const out: string[] = [];
  for (const p of c.programs) {
    out.push(`  Mach-O ${p.path}: ${p.identity ? `${p.identity.kind === 'fat' ? 'universal' : 'thin'} ${p.identity.arches.join(', ')}` : 'unreadable'}, ${p.size} bytes, sha256 ${p.sha256}`);
    if (p.identity) out.push(...indent(formatIdentityLines(p.identity), 4));
    if (p.error) out.push(`    PROBLEM: ${p.error}`);
  }
  if (c.launchdLabels.length > 0) out.push(`  launchd labels: ${c.launchdLabels.join(', ')}`);
  return out;
}

function componentLines(c: ComponentReport): string[] {
  const out = [heading(c.name === '' ? 'component package' : `component ${c.name}`)];
  out.push(...packageInfoLines(c), ...payloadLines(c), ...scriptLines(c), ...programLines(c));
  for (const [m, e] of Object.entries(c.errors)) out.push(`  ${m}: UNREADABLE: ${e}`);
  return out;
}

/** The text `inspect` prints for a package. */
export function formatPkgReport(r: PkgReport): string {
  const flavor = r.flavor === 'product' ? 'product archive' : 'component package';
  return text([
    `${r.file}: flat package (${flavor}, xar), ${r.size} bytes, ${plural(r.components.length, 'component')}`,
    '',
    ...containerLines(r),
    '',
    heading(`TOC (${plural(r.toc.entries.length, 'entry', 'entries')})`),
    ...r.toc.entries.flatMap(tocEntryLines),
    '',
    ...signatureLines(r.signature),
    '',
    ...stapleLines(r),
    ...(r.distribution ? ['', ...distributionLines(r)] : []),
    ...r.components.flatMap((c) => ['', ...componentLines(c)]),
  ]);
}

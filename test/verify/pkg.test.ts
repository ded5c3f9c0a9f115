/**
 * `verify` of flat packages: the demo build passes (unsigned, signed with the DEMO key, stapled), and each planted
 * corruption — built programmatically from the demo pkg with the src/pkg writers — is reported with its own message,
 * and only it (a damaged member's bytes are not examined further, so there is no cascade). Exit codes through main().
 */
import { readFileSync, writeFileSync, appendFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Problem } from '../../src/errors.js';
import { encodeTicketTrailer } from '../../src/notary/trailer.js';
import { openXar } from '../../src/pkg/xar-reader.js';
import { verifyPkgFile } from '../../src/verify/pkg.js';
import { gunzipSync, gzipSync } from 'node:zlib';
import { writeCpio } from '../../src/pkg/cpio.js';
import { parseMachO } from '../../src/macho/macho.js';
import { planScripts, type PayloadEntry } from '../../src/pkg/payload.js';
import {
  BINARY, bomFor, buildDemoRelease, buildPkg, cli, COMP, demoArm64, flipByte, pkgMembers, repackPkg, signPkg, tempDir, type DemoRelease,
} from './release-fixture.js';

let demo: DemoRelease;
let dir: string;

beforeAll(async () => {
  demo = await buildDemoRelease();
  dir = tempDir('verify-pkg');
}, 60_000);

async function problemsOf(file: string): Promise<Problem[]> {
  return (await verifyPkgFile(file, { spec: demo.spec })).problems;
}

/** `where` relative to the file, for readable expectations. */
function short(file: string, problems: Problem[]): Array<[string, string]> {
  return problems.map((p) => [p.where.startsWith(file) ? p.where.slice(file.length) : p.where, p.message]);
}

const edit = (name: string, fn: (m: Map<string, Buffer>) => void): Promise<string> => repackPkg(demo.pkg, path.join(dir, name), fn);
const text = (m: Map<string, Buffer>, p: string): string => m.get(p)!.toString('utf8');

async function collectCpio(entries: PayloadEntry[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of writeCpio(entries)) parts.push(c);
  return Buffer.concat(parts);
}

describe('verify pkg: the demo build passes', () => {
  it('has no problem; notes say unsigned and not stapled; exit 0', async () => {
    const r = await verifyPkgFile(demo.pkg, { spec: demo.spec });
    expect(r.problems).toEqual([]);
    expect(r.notes).toEqual([
      'not signed: Installer and MDMs treat it as unsigned (sign it with a Developer ID Installer identity for distribution)',
      'no stapled notarization ticket',
    ]);
    const run = await cli(['verify', demo.pkg]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ok {6}.*\.pkg \(flat package \(\.pkg\)\)$/m);
  });

  it('a copy re-packed member by member with writeXar passes too (the corruption helpers change only what they say)', async () => {
    const copy = await edit('repacked.pkg', () => undefined);
    expect(await problemsOf(copy)).toEqual([]);
    expect(readFileSync(copy).equals(readFileSync(demo.pkg))).toBe(true);
  });

  it('the Bom re-derived from the Payload is byte-identical to the one the build wrote', async () => {
    const m = new Map((await pkgMembers(demo.pkg)).map((x) => [x.path, x.bytes]));
    expect((await bomFor(m.get(`${COMP}/Payload`)!)).equals(m.get(`${COMP}/Bom`)!)).toBe(true);
  });

  it('signed with the DEMO key (RSA + CMS, resignXar) it passes; the notes name the signer and the untrusted chain', async () => {
    const signed = await signPkg(demo.pkg, path.join(dir, 'signed.pkg'));
    const r = await verifyPkgFile(signed, { spec: demo.spec });
    expect(r.problems).toEqual([]);
    expect(r.notes).toContain('signature: signed by untrusted certificate (the chain does not end at Apple Root CA)');
    expect(r.notes).toContain('signed by "aiwatch-deploy DEMO signer (NOT Apple-issued, NOT a Developer ID)", no timestamp');
    expect(r.signature?.rsa?.verifies).toBe(true);
    expect(r.signature?.cms?.verifies).toBe(true);
    expect(r.signature?.cms?.signingTime).toBe('2025-01-01T00:00:00.000Z');
  });

  it('a stapled ticket is reported as a note, not a problem', async () => {
    const stapled = path.join(dir, 'stapled.pkg');
    copyFileSync(await signPkg(demo.pkg, path.join(dir, 'to-staple.pkg')), stapled);
    appendFileSync(stapled, encodeTicketTrailer(Buffer.concat([Buffer.from('s8ch'), Buffer.alloc(60, 7)])));
    const r = await verifyPkgFile(stapled, { spec: demo.spec });
    expect(r.problems).toEqual([]);
    expect(r.notes).toContain('stapled notarization ticket: yes');
  });
});

describe('verify pkg: planted corruptions, each caught with its own message', () => {
  it('a flipped Payload byte: the archived checksum, and nothing else', async () => {
    const a = await openXar(demo.pkg);
    const payload = a.entries.find((e) => e.path === `${COMP}/Payload`)!;
    const bad = flipByte(demo.pkg, a.heapStart + payload.data!.offset + 100, path.join(dir, 'payload-flip.pkg'));
    const problems = short(bad, await problemsOf(bad));
    expect(problems).toHaveLength(1);
    expect(problems[0]![0]).toBe(`:${COMP}/Payload`);
    expect(problems[0]![1]).toMatch(/^archived-checksum mismatch: TOC says 20f035c3[0-9a-f]{32}, the stored bytes hash to [0-9a-f]{40}$/);
    const run = await cli(['verify', '--json', bad]);
    expect(run.code).toBe(1);
    const json = JSON.parse(run.stdout) as { ok: boolean; files: Array<{ problems: Problem[] }> };
    expect(json.ok).toBe(false);
    expect(json.files[0]!.problems.map((p) => Object.keys(p).sort())).toEqual([['message', 'where']]);
  });

  it('a flipped byte in the compressed TOC: the TOC does not decompress', async () => {
    const bad = flipByte(demo.pkg, 28 + 300, path.join(dir, 'toc-flip.pkg'));
    const problems = short(bad, await problemsOf(bad));
    expect(problems).toEqual([['', expect.stringMatching(/^xar TOC does not decompress as zlib \(/)]]);
    expect((await cli(['verify', bad])).code).toBe(1);
  });

  it('a flipped byte of the stored TOC checksum: the checksum mismatch', async () => {
    const a = await openXar(demo.pkg);
    const bad = flipByte(demo.pkg, a.heapStart + 5, path.join(dir, 'cksum-flip.pkg'));
    const problems = short(bad, await problemsOf(bad));
    expect(problems).toEqual([[':TOC', expect.stringMatching(/^TOC checksum mismatch: stored [0-9a-f]{40}, computed 3e1debef[0-9a-f]{32} over the compressed TOC$/)]]);
  });

  it('a Bom entry whose mode differs from the Payload (pkg rebuilt with a tampered Bom via writeXar)', async () => {
    const m = new Map((await pkgMembers(demo.pkg)).map((x) => [x.path, x.bytes]));
    const bom = await bomFor(m.get(`${COMP}/Payload`)!, (entries) => {
      entries.find((e) => e.path === BINARY)!.mode = 0o700;
    });
    const bad = await edit('bom-mode.pkg', (mm) => mm.set(`${COMP}/Bom`, bom));
    expect(short(bad, await problemsOf(bad))).toEqual([[`:${COMP}/Bom`, `Bom and Payload disagree on ${BINARY}: mode 100700 (Bom) vs 100755 (Payload)`]]);
  });

  it('PackageInfo numberOfFiles and installKBytes that do not match the payload', async () => {
    const bad = await edit('count.pkg', (m) => m.set(`${COMP}/PackageInfo`, Buffer.from(text(m, `${COMP}/PackageInfo`).replace('numberOfFiles="12"', 'numberOfFiles="13"'))));
    expect(short(bad, await problemsOf(bad))).toEqual([[`:${COMP}/PackageInfo`, '<payload> numberOfFiles is 13, the Payload holds 12 entries besides "."']]);
    const kb = await edit('kbytes.pkg', (m) => m.set(`${COMP}/PackageInfo`, Buffer.from(text(m, `${COMP}/PackageInfo`).replace('installKBytes="21"', 'installKBytes="20"'))));
    expect(short(kb, await problemsOf(kb))).toEqual([
      [`:${COMP}/PackageInfo`, '<payload> installKBytes is 20, the Payload adds up to 21 (every entry but ".", directories at 32 bytes per link, floor of KiB)'],
      [':Distribution', 'pkg-ref "com.runlayer.aiwatch.pkg" installKBytes 21 differs from aiwatch.pkg\'s PackageInfo installKBytes 20'],
    ]);
  });

  it('a pkg-ref pointing at a component the archive does not hold', async () => {
    const bad = await edit('pkgref.pkg', (m) => m.set('Distribution', Buffer.from(text(m, 'Distribution').replace('>#aiwatch.pkg<', '>#missing.pkg<'))));
    expect(short(bad, await problemsOf(bad))).toEqual([
      [':Distribution', 'pkg-ref "com.runlayer.aiwatch.pkg" points to #missing.pkg, but the archive has no component missing.pkg (it has: aiwatch.pkg)'],
      [':Distribution', 'component aiwatch.pkg is in the archive but no pkg-ref points to it: Installer ignores it'],
    ]);
  });

  it('hostArchitectures that the payload binary does not match, either way', async () => {
    const wide = await edit('arch-wide.pkg', (m) => m.set('Distribution', Buffer.from(text(m, 'Distribution').replace('hostArchitectures="arm64"', 'hostArchitectures="arm64,x86_64"'))));
    expect(short(wide, await problemsOf(wide))).toEqual([
      [':Distribution', `hostArchitectures "arm64,x86_64" does not match the payload binary ${COMP}/Payload:${BINARY} (arm64): Installer would install it on x86_64 Macs, where it cannot run`],
    ]);
    const intel = await edit('arch-intel.pkg', (m) => m.set('Distribution', Buffer.from(text(m, 'Distribution').replace('hostArchitectures="arm64"', 'hostArchitectures="x86_64"'))));
    expect(short(intel, await problemsOf(intel)).map(([, msg]) => msg)).toEqual([
      'hostArchitectures "x86_64" lacks arm64: on Apple silicon Installer asks to install Rosetta',
      `hostArchitectures "x86_64" does not match the payload binary ${COMP}/Payload:${BINARY} (arm64): Installer would install it on x86_64 Macs, where it cannot run; its arm64 code is not announced, so Installer refuses or asks for Rosetta on Macs it could run on`,
    ]);
  });

  it('PackageInfo <scripts> and the Scripts archive: a listed script missing, an unlisted one present', async () => {
    const bad = await edit('scripts.pkg', (m) => m.set(`${COMP}/PackageInfo`, Buffer.from(text(m, `${COMP}/PackageInfo`).replace('<preinstall file="./preinstall" timeout="600"/>', '<preinstall file="./pre-install" timeout="600"/>'))));
    expect(short(bad, await problemsOf(bad))).toEqual([
      [`:${COMP}/Scripts`, 'PackageInfo\'s <scripts><preinstall file="./pre-install"> names a file the Scripts archive does not hold'],
      [`:${COMP}/Scripts`, './preinstall is in the Scripts archive but PackageInfo\'s <scripts> does not list it: Installer will not run it'],
    ]);
  });

  it('a payload binary changed after signing: its CodeDirectory page hash no longer matches', async () => {
    const tampered = Buffer.from(readFileSync(demoArm64));
    const text = parseMachO(tampered).slices[0]!.segments.find((s) => s.name === '__TEXT')!.sections.find((s) => s.name === '__text')!;
    tampered[text.offset] = tampered[text.offset]! ^ 0x01; // the first instruction, covered by a page hash
    const binFile = path.join(dir, 'tampered-aiwatch');
    writeFileSync(binFile, tampered);
    const bad = await buildPkg(path.join(dir, 'tampered-binary.pkg'), demo.spec, binFile);
    expect(short(bad, await problemsOf(bad))).toEqual([[`:${COMP}/Payload:${BINARY}`, expect.stringMatching(/^arm64: the code signature does not match the file \(.+ hash differs\): it was changed after signing$/)]]);
  });

  it('signatures that do not verify: a flipped byte in the RSA blob, then in the CMS signature value', async () => {
    const signed = await signPkg(demo.pkg, path.join(dir, 'signed-for-flip.pkg'));
    const a = await openXar(signed);
    const rsaBad = flipByte(signed, a.heapStart + a.signature!.offset + 10, path.join(dir, 'rsa-flip.pkg'));
    expect(short(rsaBad, await problemsOf(rsaBad))).toEqual([[':signature', expect.stringMatching(/^the RSA <signature> does not verify: it does not decode/)]]);
    const cms = readFileSync(signed).subarray(a.heapStart + a.xSignature!.offset, a.heapStart + a.xSignature!.offset + a.xSignature!.size);
    const sigStart = cms.indexOf(Buffer.from([0x04, 0x82, 0x01, 0x00])); // OCTET STRING of 256 bytes: the RSA signature value
    expect(sigStart).toBeGreaterThan(0);
    const cmsBad = flipByte(signed, a.heapStart + a.xSignature!.offset + sigStart + 20, path.join(dir, 'cms-flip.pkg'));
    expect(short(cmsBad, await problemsOf(cmsBad))).toEqual([[':signature', expect.stringMatching(/^the CMS <x-signature> does not verify: /)]]);
  });

  it('a component package (no Distribution, members at the root) is read and verified the same way', async () => {
    const flat = await edit('component.pkg', (m) => {
      m.delete('Distribution');
      for (const k of [...m.keys()]) {
        m.set(k.replace(`${COMP}/`, ''), m.get(k)!);
        m.delete(k);
      }
    });
    expect(await problemsOf(flat)).toEqual([]);
    const r = await cli(['inspect', flat]);
    expect(r.stdout).toContain('flat package (component package, xar)');
    expect(r.stdout).toContain('== component package\n  PackageInfo\n    identifier             com.runlayer.aiwatch.pkg');
  });

  it('a script that is not executable, and a payload entry owned by the build user', async () => {
    const scripts = gzipSync(await collectCpio(await planScripts([
      { name: 'postinstall', source: { bytes: Buffer.from('#!/bin/sh\nexit 0\n') } },
      { name: 'preinstall', source: { bytes: Buffer.from('#!/bin/sh\nexit 0\n') }, mode: 0o644 },
    ], { mtime: 1700000000 })));
    const bad = await edit('script-mode.pkg', (m) => m.set(`${COMP}/Scripts`, scripts));
    expect(short(bad, await problemsOf(bad))).toEqual([[`:${COMP}/Scripts`, './preinstall (the preinstall script) has mode 0644: Installer cannot run it (expected an executable mode such as 0755)']]);
    const leaked = await edit('uid.pkg', (m) => {
      const cpio = gunzipSync(m.get(`${COMP}/Payload`)!);
      const at = cpio.indexOf(Buffer.from(`${BINARY}\0`)) - 76;
      expect(cpio.toString('latin1', at, at + 6)).toBe('070707');
      cpio.write('000765', at + 24, 'latin1'); // c_uid: the build user's 501
      m.set(`${COMP}/Payload`, gzipSync(cpio));
    });
    expect(short(leaked, await problemsOf(leaked))).toEqual([
      [`:${COMP}/Bom`, `Bom and Payload disagree on ${BINARY}: owner 0/0 (Bom) vs 501/0 (Payload)`],
      [`:${COMP}/Payload`, `${BINARY} is owned by 501/0, expected root (0/0 or 0/80): a build user's ids leaked into the package`],
    ]);
  });

  it('a file that is not a xar at all is one problem; a missing file is exit 3', async () => {
    const notXar = path.join(dir, 'not-xar.pkg');
    writeFileSync(notXar, Buffer.concat([Buffer.from('xar!'), Buffer.alloc(10)]));
    expect(short(notXar, await problemsOf(notXar))).toEqual([['', 'not a xar archive: 14 bytes, shorter than the 28-byte header']]);
    const run = await cli(['verify', path.join(dir, 'nope.pkg')]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/nope\.pkg: verify: no such file/);
  });
});

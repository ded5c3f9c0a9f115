/**
 * The .intunewin package, opened only with tools we did not write: unzip lists the outer zip (stored entries),
 * xmllint reads Detection.xml, openssl checks the HMAC, decrypts with the key and IV from Detection.xml and
 * digests the inner zip, and unzip lists and extracts the inner zip byte for byte.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIntuneWin, CONTENT_ENTRY, DETECTION_ENTRY, encryptContent, zipEntries, type IntuneWinKeys, type IntuneWinPackage } from '../../src/intune/intunewin.js';
import { readIntuneWin } from '../../src/read/intunewin-read.js';
import { readZip } from '../../src/formats/zip.js';
import { describeWithTools, run, tryRun } from '../helpers/tools.js';
import { GOLDEN } from './helpers.js';

/** Hand-picked keys so that the package is reproducible and golden-testable. */
const KEYS: IntuneWinKeys = {
  encryptionKey: Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex'),
  macKey: Buffer.from('f0e0d0c0b0a090807060504030201000ffeeddccbbaa99887766554433221100', 'hex'),
  iv: Buffer.from('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf', 'hex'),
};
const MTIME = new Date(Date.UTC(2026, 0, 2, 3, 4, 6));

/** Fixed sources (not the rendered scripts, so that template edits do not move the golden Detection.xml). */
function sources() {
  const lines = Array.from({ length: 4000 }, (_, i) => `# line ${i}: padding that deflates well\r\n`).join('');
  return [
    { name: 'Uninstall-Aiwatch.ps1', data: Buffer.from("Write-Output 'uninstalled'\r\nexit 0\r\n", 'ascii') },
    { name: 'Install-AiwatchDetect.ps1', data: Buffer.from(`${lines}Write-Output 'installed'\r\nexit 0\r\n`, 'ascii') },
    { name: 'Detect-Aiwatch.ps1', data: Buffer.from("Write-Output 'OK'\r\nexit 0\r\n", 'ascii') },
  ];
}

describe('intunewin: pure properties', () => {
  it('the same input gives the same bytes, in any time zone', async () => {
    const saved = process.env.TZ;
    const out: Buffer[] = [];
    try {
      for (const tz of ['UTC', 'America/New_York', 'Asia/Kolkata', 'Pacific/Chatham']) {
        process.env.TZ = tz;
        out.push((await buildIntuneWin({ files: sources(), setupFile: 'Install-AiwatchDetect.ps1', keys: KEYS, mtime: MTIME })).bytes);
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
    for (const b of out.slice(1)) expect(b.equals(out[0]!)).toBe(true);
  });

  it('fresh random keys each time when none are given', async () => {
    const a = await buildIntuneWin({ files: sources(), setupFile: 'Install-AiwatchDetect.ps1' });
    const b = await buildIntuneWin({ files: sources(), setupFile: 'Install-AiwatchDetect.ps1' });
    const key = (p: IntuneWinPackage) => /<EncryptionKey>([^<]+)</.exec(p.detectionXml)![1];
    expect(key(a)).not.toBe(key(b));
    expect(a.innerZipSize).toBe(b.innerZipSize);
  });

  it('the encrypted blob is HMAC || IV || ciphertext, padded to the AES block', () => {
    const inner = Buffer.alloc(1000, 7);
    const { encrypted, mac } = encryptContent(inner, KEYS);
    expect(encrypted.subarray(0, 32).equals(mac)).toBe(true);
    expect(encrypted.subarray(32, 48).equals(Buffer.from(KEYS.iv))).toBe(true);
    expect(encrypted.length).toBe(48 + 1008);
    expect(() => encryptContent(inner, { ...KEYS, iv: Buffer.alloc(8) })).toThrow(/16-byte IV/);
  });

  it('refuses a setup file that is not in the package, and odd names', async () => {
    await expect(buildIntuneWin({ files: sources(), setupFile: 'setup.exe' })).rejects.toThrow(/setup file setup\.exe is not among the source files/);
    await expect(buildIntuneWin({ files: [{ name: '../x.ps1', data: Buffer.alloc(1) }], setupFile: '../x.ps1' })).rejects.toThrow(/plain ASCII file name/);
  });
});

describe('intunewin: our own reader (for verify/inspect)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-intunewin-read-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads back what the writer made, with no problem, and the inner zip it encrypted', async () => {
    const pkg = await buildIntuneWin({ files: sources(), setupFile: 'Install-AiwatchDetect.ps1', keys: KEYS, mtime: MTIME });
    const file = path.join(dir, pkg.fileName);
    writeFileSync(file, pkg.bytes);
    const r = await readIntuneWin(file);
    expect(r.problems).toEqual([]);
    expect(r.detection?.setupFile).toBe('Install-AiwatchDetect.ps1');
    expect(r.innerZip?.length).toBe(pkg.innerZipSize);
  });

  it('with a spill file offered, a small inner zip stays in memory (no file written) and reads as a named source', async () => {
    const pkg = await buildIntuneWin({ files: sources(), setupFile: 'Install-AiwatchDetect.ps1', keys: KEYS, mtime: MTIME });
    const file = path.join(dir, 'spill.intunewin');
    writeFileSync(file, pkg.bytes);
    const spill = path.join(dir, 'spill-inner.zip');
    const r = await readIntuneWin(file, { spill });
    expect(r.problems).toEqual([]);
    expect(r.innerZipFile).toBeUndefined();
    expect(existsSync(spill)).toBe(false);
    expect(r.innerZip?.length).toBe(pkg.innerZipSize);
    expect(typeof r.inner === 'object' && r.inner.name).toBe(`${file}:IntunePackage.intunewin`);
    const names = (await readZip(r.inner!)).map((e) => e.name).sort();
    expect(names).toEqual(['Detect-Aiwatch.ps1', 'Install-AiwatchDetect.ps1', 'Uninstall-Aiwatch.ps1']);
    const toFile = await readIntuneWin(file, spill);
    expect(toFile.inner).toBe(spill);
    expect(readFileSync(spill)).toEqual(r.innerZip);
  });

  it('a flipped ciphertext byte is reported (HMAC), and so is a Detection.xml that lies about the size', async () => {
    const pkg = await buildIntuneWin({ files: sources(), setupFile: 'Install-AiwatchDetect.ps1', keys: KEYS, mtime: MTIME });
    const blob = Buffer.from(pkg.bytes);
    // The content entry is stored, so its bytes sit in the outer zip as they are: flip one inside the ciphertext.
    const at = blob.indexOf(Buffer.from(KEYS.iv)) + 16 + 5;
    blob[at] = blob[at]! ^ 1;
    const tampered = path.join(dir, 'tampered.intunewin');
    writeFileSync(tampered, blob);
    // yauzl checks the entry CRC, so patch the CRC-32 too: otherwise the zip layer, not our check, would catch it.
    const fixed = await fixCrc(tampered);
    const r = await readIntuneWin(fixed);
    expect(r.problems.join('\n')).toMatch(/HMAC-SHA256 over IV and ciphertext does not match its first 32 bytes/);
    const xml = pkg.detectionXml.replace(/<UnencryptedContentSize>\d+</, '<UnencryptedContentSize>1<');
    const lying = await zipEntries([{ name: CONTENT_ENTRY, data: encryptContent(await innerOf(pkg), KEYS).encrypted }, { name: DETECTION_ENTRY, data: Buffer.from(xml) }], { compress: false, mtime: MTIME });
    writeFileSync(path.join(dir, 'lying.intunewin'), lying);
    expect((await readIntuneWin(path.join(dir, 'lying.intunewin'))).problems).toEqual([
      `${path.join(dir, 'lying.intunewin')}: Detection.xml: UnencryptedContentSize is 1, the decrypted content is ${pkg.innerZipSize} bytes`,
    ]);
  });
});

/** The inner zip of a package we built (through our reader). */
async function innerOf(pkg: IntuneWinPackage): Promise<Buffer> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'aiwatch-inner-')), 'p.intunewin');
  writeFileSync(file, pkg.bytes);
  return (await readIntuneWin(file)).innerZip!;
}

/** Rewrite the CRC-32 of the stored content entry (local and central headers) to match its bytes. */
async function fixCrc(file: string): Promise<string> {
  const b = readFileSync(file);
  const nameBytes = Buffer.from(CONTENT_ENTRY);
  const local = b.indexOf(Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04])]));
  const dataStart = local + 30 + b.readUInt16LE(local + 26) + b.readUInt16LE(local + 28);
  const size = b.readUInt32LE(local + 18);
  const crc = crc32(b.subarray(dataStart, dataStart + size));
  b.writeUInt32LE(crc, local + 14);
  const central = b.indexOf(Buffer.concat([Buffer.from([0x50, 0x4b, 0x01, 0x02])]));
  expect(b.subarray(central + 46, central + 46 + nameBytes.length).equals(nameBytes)).toBe(true);
  b.writeUInt32LE(crc, central + 16);
  const out = `${file}.crc.intunewin`;
  writeFileSync(out, b);
  return out;
}

describeWithTools(['openssl', 'unzip', 'xmllint'], 'intunewin: read back with unzip, xmllint and openssl', () => {
  let dir: string;
  let pkg: IntuneWinPackage;
  const f = (n: string) => path.join(dir, n);
  const xpath = (expr: string) => run('xmllint', ['--xpath', `string(${expr})`, f('Detection.xml')]).trim();
  const hex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-intunewin-'));
    pkg = await buildIntuneWin({ files: sources(), setupFile: 'Install-AiwatchDetect.ps1', keys: KEYS, mtime: MTIME });
    writeFileSync(f(pkg.fileName), pkg.bytes);
    writeFileSync(f('Detection.xml'), run('unzip', ['-p', f(pkg.fileName), DETECTION_ENTRY]));
    writeFileSync(f('content.bin'), execBinary('unzip', ['-p', f(pkg.fileName), CONTENT_ENTRY]));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('outer zip: exactly the two entries, both stored, and unzip -t finds no error', () => {
    expect(pkg.fileName).toBe('Install-AiwatchDetect.intunewin');
    const listing = run('unzip', ['-v', f(pkg.fileName)]);
    const rows = listing.split('\n').filter((l) => l.includes('IntuneWinPackage/'));
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => /\bStored\b/.test(r))).toBe(true);
    expect(rows[0]).toContain(CONTENT_ENTRY);
    expect(rows[1]).toContain(DETECTION_ENTRY);
    expect(rows[0]).toMatch(/2026-01-02 03:04/);
    expect(run('unzip', ['-t', f(pkg.fileName)])).toMatch(/No errors detected/);
    const sha256 = createHash('sha256').update(pkg.bytes).digest('hex');
    const dump = `${listing.split('\n').slice(1).join('\n')}sha256 ${sha256}  ${pkg.fileName}\n`;
    return expect(dump).toMatchFileSnapshot(path.join(GOLDEN, 'intunewin-listing.txt'));
  });

  it('Detection.xml: the values the Microsoft tool writes (golden), read with xmllint', async () => {
    await expect(readFileSync(f('Detection.xml'), 'utf8')).toMatchFileSnapshot(path.join(GOLDEN, 'Detection.xml'));
    expect(xpath('/ApplicationInfo/@ToolVersion')).toBe('1.8.6.0');
    expect(xpath('/ApplicationInfo/FileName')).toBe('IntunePackage.intunewin');
    expect(xpath('/ApplicationInfo/SetupFile')).toBe('Install-AiwatchDetect.ps1');
    expect(xpath('//ProfileIdentifier')).toBe('ProfileVersion1');
    expect(xpath('//FileDigestAlgorithm')).toBe('SHA256');
    expect(hex(xpath('//EncryptionKey'))).toBe(Buffer.from(KEYS.encryptionKey).toString('hex'));
    expect(readFileSync(f('Detection.xml'), 'utf8').startsWith('<ApplicationInfo ')).toBe(true);
  });

  it('openssl: the HMAC over IV || ciphertext matches the first 32 bytes and <Mac>', () => {
    const content = readFileSync(f('content.bin'));
    writeFileSync(f('after-mac.bin'), content.subarray(32));
    const hmac = execBinary('openssl', ['dgst', '-sha256', '-mac', 'HMAC', '-macopt', `hexkey:${hex(xpath('//MacKey'))}`, '-binary', f('after-mac.bin')]);
    expect(hmac.equals(content.subarray(0, 32))).toBe(true);
    expect(hmac.toString('base64')).toBe(xpath('//Mac'));
    expect(content.subarray(32, 48).toString('base64')).toBe(xpath('//InitializationVector'));
  });

  it('openssl enc -d with the key and IV from Detection.xml gives the inner zip; size and digest match', () => {
    const content = readFileSync(f('content.bin'));
    writeFileSync(f('ciphertext.bin'), content.subarray(48));
    run('openssl', ['enc', '-d', '-aes-256-cbc', '-K', hex(xpath('//EncryptionKey')), '-iv', hex(xpath('//InitializationVector')), '-in', f('ciphertext.bin'), '-out', f('inner.zip')]);
    const inner = readFileSync(f('inner.zip'));
    expect(String(inner.length)).toBe(xpath('/ApplicationInfo/UnencryptedContentSize'));
    const digest = execBinary('openssl', ['dgst', '-sha256', '-binary', f('inner.zip')]).toString('base64');
    expect(digest).toBe(xpath('//FileDigest'));
  });

  it('unzip -l lists the inner zip: every script, sorted; each extracts byte for byte', () => {
    const listing = run('unzip', ['-l', f('inner.zip')]);
    const names = listing.split('\n').map((l) => /\s(\S+\.ps1)$/.exec(l)?.[1]).filter(Boolean);
    const expected = sources().map((s) => s.name).sort();
    expect(names).toEqual(expected);
    expect(run('unzip', ['-t', f('inner.zip')])).toMatch(/No errors detected/);
    for (const s of sources()) expect(execBinary('unzip', ['-p', f('inner.zip'), s.name]).equals(s.data), s.name).toBe(true);
    expect(run('unzip', ['-v', f('inner.zip')]).split('\n').filter((l) => l.endsWith('.ps1')).every((l) => /\bDefl:/.test(l))).toBe(true);
  });

  it('a flipped ciphertext byte fails the HMAC check', () => {
    const content = Buffer.from(readFileSync(f('content.bin')));
    content[100] = content[100]! ^ 1;
    writeFileSync(f('tampered.bin'), content.subarray(32));
    const hmac = execBinary('openssl', ['dgst', '-sha256', '-mac', 'HMAC', '-macopt', `hexkey:${hex(xpath('//MacKey'))}`, '-binary', f('tampered.bin')]);
    expect(hmac.equals(content.subarray(0, 32))).toBe(false);
    expect(tryRun('unzip', ['-t', f('content.bin')]).status).not.toBe(0);
  });
});

function execBinary(tool: string, args: string[]): Buffer {
  return execFileSync(tool, args, { maxBuffer: 64 * 1024 * 1024 });
}

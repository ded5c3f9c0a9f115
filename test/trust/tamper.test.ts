/**
 * A signed release pkg, tampered with, must fail our `verify` (exit 1) — and the untampered one must pass, or the
 * test would prove nothing. Tampering is done here with zlib and byte edits, not with src/pkg:
 *   - one payload byte (the signatures still verify: they cover the TOC; the member's checksum catches it);
 *   - one byte of the compressed TOC (the TOC checksum no longer matches);
 *   - the TOC edited and re-sealed consistently (new checksum in the heap): only the signatures can catch that;
 *   - the leaf certificate in the TOC swapped for another one, re-sealed.
 * For the re-sealed cases openssl is asked too, and agrees that the signature no longer verifies.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { beforeAll, expect, it } from 'vitest';
import { getTestPki, type TestPki } from '../helpers/test-pki.js';
import { describeWithTools, tryRun } from '../helpers/tools.js';
import { cli, pkgSignatureParts, tempDir, unzipRelease } from './helpers.js';

let pki: TestPki;
let signed: Buffer;

beforeAll(async () => {
  pki = getTestPki();
  const out = tempDir('tamper-build');
  const r = await cli(['build', '--demo', '--sign', '--p12', pki.installer.p12, '--p12-password-file', pki.passwordFile, '--allow-untrusted', '--no-timestamp', '--out', out]);
  if (r.code !== 0) throw new Error(r.stderr);
  signed = readFileSync(path.join(unzipRelease(path.join(out, 'aiwatch-1.0.0-macos-arm64.zip')), 'aiwatch-1.0.0-macos-arm64.pkg'));
});

function tocLength(pkg: Buffer): number {
  return Number(pkg.readBigUInt64BE(8));
}

/** Rewrite the TOC with `edit`, fix the header lengths and store the new SHA-1 checksum at heap offset 0. */
function reseal(pkg: Buffer, edit: (xml: string) => string): Buffer {
  const n = tocLength(pkg);
  const xml = edit(inflateSync(pkg.subarray(28, 28 + n)).toString('utf8'));
  const ztoc = deflateSync(Buffer.from(xml, 'utf8'));
  const header = Buffer.from(pkg.subarray(0, 28));
  header.writeBigUInt64BE(BigInt(ztoc.length), 8);
  header.writeBigUInt64BE(BigInt(Buffer.byteLength(xml, 'utf8')), 16);
  const heap = Buffer.from(pkg.subarray(28 + n));
  createHash('sha1').update(ztoc).digest().copy(heap, 0);
  return Buffer.concat([header, ztoc, heap]);
}

function flip(pkg: Buffer, at: number): Buffer {
  const b = Buffer.from(pkg);
  b[at] = b[at]! ^ 0xff;
  return b;
}

async function verify(bytes: Buffer, name: string): Promise<{ code: number; text: string }> {
  const f = path.join(tempDir('tamper'), name);
  writeFileSync(f, bytes);
  const r = await cli(['verify', f]);
  return { code: r.code, text: r.stdout + r.stderr };
}

function opensslRsa(bytes: Buffer): string {
  const parts = pkgSignatureParts(bytes);
  const dir = tempDir('tamper-ossl');
  writeFileSync(path.join(dir, 'c'), parts.checksum);
  writeFileSync(path.join(dir, 's'), parts.rsa);
  const r = tryRun('openssl', ['pkeyutl', '-verify', '-certin', '-inkey', pki.installer.cert, '-pkeyopt', 'digest:sha1', '-in', path.join(dir, 'c'), '-sigfile', path.join(dir, 's')]);
  return r.stdout + r.stderr;
}

describeWithTools(['openssl', 'unzip'], 'tampered signed pkg', () => {
  it('the untampered signed pkg passes verify (the baseline)', async () => {
    const v = await verify(signed, 'ok.pkg');
    expect(v.text).toContain('1 ok, 0 with problems');
    expect(v.code).toBe(0);
    expect(opensslRsa(signed)).toMatch(/Signature Verified Successfully/);
  });

  it('one payload byte changed → exit 1: the Payload checksum', async () => {
    const xml = pkgSignatureParts(signed).tocXml;
    const payload = /<name>Payload<\/name>[\s\S]*?<offset>(\d+)<\/offset>/.exec(xml);
    const v = await verify(flip(signed, 28 + tocLength(signed) + Number(payload![1]) + 100), 'payload.pkg');
    expect(v.code).toBe(1);
    expect(v.text).toMatch(/aiwatch\.pkg\/Payload.*checksum/);
  });

  it('one byte of the compressed TOC changed → exit 1: the TOC checksum', async () => {
    const v = await verify(flip(signed, 28 + tocLength(signed) - 8), 'toc.pkg');
    expect(v.code).toBe(1);
    expect(v.text).toMatch(/TOC/);
  });

  it('the TOC edited and re-sealed (consistent checksum) → exit 1: both signatures no longer verify (openssl agrees)', async () => {
    const edited = reseal(signed, (xml) => xml.replace('<mode>0644</mode>', '<mode>4755</mode>'));
    expect(opensslRsa(edited)).not.toMatch(/Signature Verified Successfully/);
    const v = await verify(edited, 'resealed.pkg');
    expect(v.code).toBe(1);
    expect(v.text).toContain('the RSA <signature> does not verify');
    expect(v.text).toContain('the CMS <x-signature> does not verify');
  });

  it('the leaf certificate swapped for another in the TOC, re-sealed → exit 1', async () => {
    const mine = pki.installer.certDer.toString('base64');
    const other = pki.codeSigning.certDer.toString('base64');
    const swapped = reseal(signed, (xml) => {
      const flat = xml.replace(/<X509Certificate>([^<]+)<\/X509Certificate>/g, (m, b64: string) => (b64.replace(/\s+/g, '') === mine ? `<X509Certificate>${other}</X509Certificate>` : m));
      expect(flat).not.toBe(xml);
      return flat;
    });
    const v = await verify(swapped, 'swapped.pkg');
    expect(v.code).toBe(1);
    expect(v.text).toContain('the RSA <signature> does not verify');
    expect(v.text).toMatch(/the CMS signer "Developer ID Installer: Test Org \(TEST123456\)" is not the KeyInfo leaf "Test Code Signing"/);
  });
});

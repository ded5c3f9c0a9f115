import { createPublicKey, verify } from 'node:crypto';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeStreamAtomic } from '../../src/io/fs.js';
import { resignXar } from '../../src/pkg/xar.js';
import { encodeStapleTrailer } from '../../src/pkg/xar-header.js';
import { findXarEntry, openXar, readSignatureBlobs } from '../../src/pkg/xar-reader.js';
import { derLength, trimDer, type XarSigner } from '../../src/pkg/xar-signature.js';
import { verifyXar } from '../../src/pkg/xar-verify.js';
import { describeWithTools, run, tryRun } from '../helpers/tools.js';
import { makeTestKey, rawXar, sampleInputs, sha1, tempDir, testSigner, writeXarFile, type Sample, type TestKey } from './xar-helpers.js';

let dir: string;
let key: TestKey;
let sample: Sample;
let unsigned: string;

async function resignTo(file: string, input: string, signer?: XarSigner): Promise<void> {
  await writeStreamAtomic(file, async (out) => {
    await resignXar(input, out, signer);
  });
}

/** The member bytes region [dataStart, end) of an archive, as stored. */
async function dataBytes(file: string): Promise<Buffer> {
  const a = await openXar(file);
  const first = Math.min(...a.entries.flatMap((e) => (e.data ? [e.data.offset] : [])));
  return readFileSync(file).subarray(a.heapStart + first, a.heapEnd);
}

describeWithTools(['openssl'], 'xar signing layout (throwaway key)', () => {
  beforeAll(async () => {
    dir = tempDir('sign');
    key = makeTestKey();
    sample = sampleInputs(dir, 200_000);
    unsigned = path.join(dir, 'unsigned.pkg');
    await writeXarFile(unsigned, sample.inputs);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(key.dir, { recursive: true, force: true });
  });

  it('puts <signature style="RSA"> at 20/256 and <x-signature style="CMS"> at 276/reserve, files after them', async () => {
    const file = path.join(dir, 'signed.pkg');
    const r = await writeXarFile(file, sample.inputs, { creationTime: new Date(0), signer: testSigner(key, 4096) });
    const a = await openXar(file);
    expect(a.signature).toMatchObject({ style: 'RSA', offset: 20, size: 256 });
    expect(a.xSignature).toMatchObject({ style: 'CMS', offset: 276, size: 4096 });
    expect(a.signature!.certificates.map((c) => Buffer.from(c).equals(key.certDer))).toEqual([true]);
    expect(a.xSignature!.certificates.map((c) => Buffer.from(c).equals(key.certDer))).toEqual([true]);
    expect(r.dataStart).toBe(20 + 256 + 4096);
    expect(Math.min(...a.entries.flatMap((e) => (e.data ? [e.data.offset] : [])))).toBe(4372);
    // certificate text: base64 wrapped at 72 columns like Apple's TOC
    const certText = /<X509Certificate>([^<]+)<\/X509Certificate>/.exec(a.tocXml)![1]!;
    expect(certText.split('\n').slice(0, -1).every((l) => l.length === 72)).toBe(true);
    // TOC element order as productsign writes it
    const order = [...a.tocXml.matchAll(/^ {2}<([a-z-]+)/gm)].map((m) => m[1]);
    expect(order.slice(0, 4)).toEqual(['checksum', 'creation-time', 'signature', 'x-signature']);
    expect(await verifyXar(file)).toEqual([]);
  });

  it('the RSA blob verifies with openssl pkeyutl over the checksum, and with node as RSA-SHA1 over the compressed TOC', async () => {
    const file = path.join(dir, 'signed-rsa.pkg');
    await writeXarFile(file, sample.inputs, { creationTime: new Date(0), signer: testSigner(key) });
    const x = rawXar(file);
    const checksum = x.bytes.subarray(x.heapStart, x.heapStart + 20);
    expect(checksum.toString('hex')).toBe(sha1(x.tocCompressed));
    const rsa = x.bytes.subarray(x.heapStart + 20, x.heapStart + 276);
    const a = await openXar(file);
    expect((await readSignatureBlobs(a)).rsa!.equals(rsa)).toBe(true);
    writeFileSync(path.join(dir, 'checksum.bin'), checksum);
    writeFileSync(path.join(dir, 'rsa.bin'), rsa);
    const out = run('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', key.pubPem, '-pkeyopt', 'digest:sha1', '-in', path.join(dir, 'checksum.bin'), '-sigfile', path.join(dir, 'rsa.bin')]);
    expect(out).toMatch(/Signature Verified Successfully/);
    expect(verify('sha1', x.tocCompressed, createPublicKey(readFileSync(key.pubPem)), rsa)).toBe(true);
    // and a wrong checksum does not verify
    writeFileSync(path.join(dir, 'wrong.bin'), Buffer.alloc(20, 1));
    expect(tryRun('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', key.pubPem, '-pkeyopt', 'digest:sha1', '-in', path.join(dir, 'wrong.bin'), '-sigfile', path.join(dir, 'rsa.bin')]).status).not.toBe(0);
  });

  it('the CMS blob is zero-padded to its reserve and verifies with openssl cms against the checksum', async () => {
    const file = path.join(dir, 'signed-cms.pkg');
    await writeXarFile(file, sample.inputs, { creationTime: new Date(0), signer: testSigner(key, 8192) });
    const a = await openXar(file);
    const { cms } = await readSignatureBlobs(a);
    expect(cms!.length).toBe(8192);
    const n = derLength(cms!)!;
    expect(cms!.subarray(n).every((b) => b === 0)).toBe(true);
    writeFileSync(path.join(dir, 'cms.der'), trimDer(cms!));
    writeFileSync(path.join(dir, 'checksum2.bin'), a.checksum!.stored);
    const r = tryRun('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(dir, 'cms.der'), '-content', path.join(dir, 'checksum2.bin'), '-noverify', '-out', '/dev/null']);
    expect(r.stderr).toMatch(/Verification successful/);
  });

  it('grows the CMS reserve and redoes the layout when the blob does not fit', async () => {
    const file = path.join(dir, 'grown.pkg');
    const calls = { cms: 0 };
    const r = await writeXarFile(file, sample.inputs, { creationTime: new Date(0), signer: testSigner(key, 64, calls) });
    expect(calls.cms).toBe(2);
    expect(r.cms!.reserve).toBe(Math.ceil((r.cms!.length + 1024) / 1024) * 1024);
    const a = await openXar(file);
    expect(a.xSignature!.size).toBe(r.cms!.reserve);
    expect(await verifyXar(file)).toEqual([]);
  });

  it('refuses a signer without certificates or with a nonsensical size', async () => {
    const s = testSigner(key);
    await expect(writeXarFile(path.join(dir, 'x.pkg'), sample.inputs, { signer: { ...s, certificates: [] } })).rejects.toThrow(/no certificates/);
    await expect(writeXarFile(path.join(dir, 'x.pkg'), sample.inputs, { signer: { ...s, cmsReserve: -1 } })).rejects.toThrow(/cmsReserve -1/);
  });

  it('resign: unsigned → signed → re-signed → unsigned round trip; member bytes copied unchanged; unsigned bytes restored exactly', async () => {
    const signed = path.join(dir, 'resigned.pkg');
    await resignTo(signed, unsigned, testSigner(key, 4096));
    const a = await openXar(signed);
    expect(a.xSignature).toMatchObject({ offset: 276, size: 4096 });
    expect(await verifyXar(signed)).toEqual([]);
    expect((await dataBytes(signed)).equals(await dataBytes(unsigned))).toBe(true);
    expect(findXarEntry(a, 'aiwatch.pkg/Payload')!.data!.offset).toBe(findXarEntry(await openXar(unsigned), 'aiwatch.pkg/Payload')!.data!.offset + 4352);

    // stapled, then re-signed with a bigger reserve: staple dropped (it belongs to the old TOC checksum)
    const ticket = Buffer.concat([Buffer.from('s8ch'), Buffer.alloc(12)]);
    appendFileSync(signed, Buffer.concat([encodeStapleTrailer(1, 0), ticket, encodeStapleTrailer(2, ticket.length)]));
    expect((await openXar(signed)).staples).toHaveLength(1);
    const again = path.join(dir, 'resigned-again.pkg');
    await resignTo(again, signed, testSigner(key, 12288));
    const b = await openXar(again);
    expect(b.xSignature!.size).toBe(12288);
    expect(b.staples).toEqual([]);
    expect(await verifyXar(again)).toEqual([]);

    const back = path.join(dir, 'unsigned-again.pkg');
    await resignTo(back, again);
    expect(readFileSync(back).equals(readFileSync(unsigned))).toBe(true);
  });
});

describeWithTools(['openssl', 'bsdtar', '7z'], 'signed xar interop', () => {
  it('re-signs a xar written by bsdtar: its own TOC metadata kept, members still extract', async () => {
    const d = tempDir('resign-foreign');
    const k = makeTestKey();
    const src = path.resolve(import.meta.dirname, '../fixtures/xar/bsdtar-small.xar');
    const out = path.join(d, 'signed.xar');
    await resignTo(out, src, testSigner(k));
    const a = await openXar(out);
    expect(a.tocXml).toContain('<inode>'); // bsdtar's metadata survives the TOC edit
    expect(a.signature).toMatchObject({ offset: 20, size: 256 });
    expect(await verifyXar(out)).toEqual([]); // libarchive's 20 stray trailing bytes are not carried over
    run('bsdtar', ['-xf', out, '-C', d]);
    expect(readFileSync(path.join(d, 'hello.txt'), 'utf8')).toBe('hello from bsdtar\n');
    expect(readFileSync(path.join(d, 'dir/numbers.txt'), 'utf8').split('\n')).toHaveLength(2001);
    rmSync(d, { recursive: true, force: true });
    rmSync(k.dir, { recursive: true, force: true });
  });

  it('bsdtar and 7z still list and extract a signed archive, bytes equal', async () => {
    const d = tempDir('signed-interop');
    const k = makeTestKey();
    const s = sampleInputs(d, 100_000);
    const file = path.join(d, 'signed.pkg');
    await writeXarFile(file, s.inputs, { creationTime: new Date(0), signer: testSigner(k) });
    expect(run('bsdtar', ['-tf', file]).trim().split('\n')).toHaveLength(7);
    const bx = path.join(d, 'bx');
    const zx = path.join(d, 'zx');
    run('mkdir', ['-p', bx]);
    run('bsdtar', ['-xf', file, '-C', bx]);
    run('7z', ['x', '-txar', file, `-o${zx}`, '-y']);
    for (const [p, bytes] of Object.entries(s.files)) {
      expect(sha1(readFileSync(path.join(bx, p))), `bsdtar ${p}`).toBe(sha1(bytes));
      expect(sha1(readFileSync(path.join(zx, p))), `7z ${p}`).toBe(sha1(bytes));
    }
    rmSync(d, { recursive: true, force: true });
    rmSync(k.dir, { recursive: true, force: true });
  });
});

/**
 * `aiwatch-deploy sign-pkg` through main(argv, io). The builtin signer on the release pkg of a demo build, read back
 * by openssl (both signatures over a TOC checksum computed here) and bsdtar (members unchanged); in place; replacing a
 * signature; dropping a stapled ticket; refusals with their exit codes. `--signer apple` runs a stub `productsign`
 * on PATH that records its argv (what we would run on a Mac), and a real productsign on macOS only.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeTicketTrailer, readStapledTicket } from '../../src/notary/trailer.js';
import { readSignedData } from '../../src/sign/cms-read.js';
import { fakeTicket } from '../helpers/servers/ticket.js';
import { startTestTsa } from '../helpers/servers/tsa.js';
import { getTestPki, type TestPki } from '../helpers/test-pki.js';
import { describeWithTools, run, tryRun } from '../helpers/tools.js';
import { cli, expectOpensslVerifies, filesIn, pkgSignatureParts, stubTool, tempDir, unzipRelease, withPath } from './helpers.js';

const PKG = 'aiwatch-1.0.0-macos-arm64.pkg';
const sha256 = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

let pki: TestPki;
/** An unsigned release pkg (from `build --demo`). */
let unsigned: string;

beforeAll(async () => {
  pki = getTestPki();
  const out = tempDir('signpkg-build');
  const r = await cli(['build', '--demo', '--out', out]);
  if (r.code !== 0) throw new Error(r.stderr);
  unsigned = path.join(unzipRelease(path.join(out, 'aiwatch-1.0.0-macos-arm64.zip')), PKG);
});

function copyOfUnsigned(): string {
  const f = path.join(tempDir('signpkg-in'), PKG);
  copyFileSync(unsigned, f);
  return f;
}

const p12Args = (): string[] => ['--p12', pki.installer.p12, '--p12-password-file', pki.passwordFile, '--allow-untrusted'];

describeWithTools(['openssl', 'bsdtar', 'unzip'], 'sign-pkg (builtin signer)', () => {
  it('signs a copy: openssl verifies both signatures, bsdtar reads the same members, the input is untouched', async () => {
    const tsa = await startTestTsa({ certFile: pki.tsa.cert, keyFile: pki.tsa.key, clock: () => new Date() });
    const input = copyOfUnsigned();
    const before = sha256(input);
    const out = path.join(tempDir('signpkg-out'), 'signed.pkg');
    const r = await cli(['sign-pkg', input, '--out', out, ...p12Args(), '--timestamp-url', tsa.url]);
    expect(r.code).toBe(0);
    const parts = expectOpensslVerifies(out, pki);
    expect(r.stdout).toBe(`signed: ${path.relative(process.cwd(), out)} by "Developer ID Installer: Test Org (TEST123456)" (TOC checksum sha1 ${parts.checksum.toString('hex')})\n`);
    expect(r.stderr).toMatch(/^WARNING: "Developer ID Installer: Test Org \(TEST123456\)" is not issued by Apple's Developer ID Certification Authority/);
    expect(sha256(input)).toBe(before);
    expect(run('bsdtar', ['-tf', out])).toBe(run('bsdtar', ['-tf', input]));
    for (const m of ['aiwatch.pkg/Payload', 'aiwatch.pkg/Bom', 'Distribution']) {
      expect(createHash('sha256').update(run('bsdtar', ['-xOf', out, m])).digest('hex')).toBe(createHash('sha256').update(run('bsdtar', ['-xOf', input, m])).digest('hex'));
    }
    expect(readSignedData(parts.cms).timestampToken).toBeDefined();
    expect(tsa.requests).toHaveLength(1);
  });

  it('OUT = IN: signed in place, atomically (mode kept, no temporary file left); --json reports it', async () => {
    const input = copyOfUnsigned();
    chmodSync(input, 0o640);
    const r = await cli(['sign-pkg', input, '--out', input, ...p12Args(), '--no-timestamp', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ ok: true, input, out: input, signer: 'Developer ID Installer: Test Org (TEST123456)', replacedSignature: false, droppedTicket: false });
    expect(r.stderr).toBe('');
    expectOpensslVerifies(input, pki);
    expect(statSync(input).mode & 0o777).toBe(0o640);
    expect(filesIn(path.dirname(input))).toEqual([PKG]);
  });

  it('re-signing with a PEM identity replaces the signature (noted); --no-timestamp asks no TSA', async () => {
    const input = copyOfUnsigned();
    expect((await cli(['sign-pkg', input, '--out', input, ...p12Args(), '--no-timestamp'])).code).toBe(0);
    const out = path.join(tempDir('signpkg-re'), 're.pkg');
    const r = await cli(['sign-pkg', input, '--out', out, '--key', pki.installer.key, '--cert', pki.installer.cert, '--chain', pki.chain, '--allow-untrusted', '--no-timestamp']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('note: ');
    expect(r.stderr).toContain('was signed already; its signature was replaced');
    const parts = expectOpensslVerifies(out, pki);
    expect(readSignedData(parts.cms).timestampToken).toBeUndefined();
  });

  it('a stapled ticket on the input is dropped (it names the old TOC checksum), and said so', async () => {
    const input = copyOfUnsigned();
    expect((await cli(['sign-pkg', input, '--out', input, ...p12Args(), '--no-timestamp'])).code).toBe(0);
    appendFileSync(input, encodeTicketTrailer(fakeTicket('old')));
    expect(await readStapledTicket(input)).toBeDefined();
    const out = path.join(tempDir('signpkg-st'), 'out.pkg');
    const r = await cli(['sign-pkg', input, '--out', out, ...p12Args(), '--no-timestamp']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('carried a stapled ticket; it was dropped (it names the old TOC checksum): notarize and staple again');
    expect(await readStapledTicket(out)).toBeUndefined();
    expectOpensslVerifies(out, pki);
  });
});

describe('sign-pkg refusals', () => {
  it('no Developer ID Installer EKU → exit 3 and no output; --allow-untrusted signs with a warning', async () => {
    const input = copyOfUnsigned();
    const out = path.join(tempDir('signpkg-eku'), 'out.pkg');
    const args = ['sign-pkg', input, '--out', out, '--p12', pki.codeSigning.p12, '--p12-password-file', pki.passwordFile, '--no-timestamp'];
    const r = await cli(args);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('"Test Code Signing" is not a Developer ID Installer certificate');
    expect(existsSync(out)).toBe(false);
    const forced = await cli([...args, '--allow-untrusted']);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/^WARNING: "Test Code Signing" is not a Developer ID Installer certificate/);
  });

  it('wrong password → exit 2; not a pkg → exit 3; no identity → exit 2', async () => {
    const dir = tempDir('signpkg-bad');
    writeFileSync(path.join(dir, 'pw'), 'nope');
    const input = copyOfUnsigned();
    const wrong = await cli(['sign-pkg', input, '--out', path.join(dir, 'o.pkg'), '--p12', pki.installer.p12, '--p12-password-file', path.join(dir, 'pw'), '--allow-untrusted']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('wrong password for this PKCS#12 file');
    writeFileSync(path.join(dir, 'text.pkg'), 'hello');
    const notPkg = await cli(['sign-pkg', path.join(dir, 'text.pkg'), '--out', path.join(dir, 'o.pkg'), ...p12Args()]);
    expect(notPkg.code).toBe(3);
    expect(notPkg.stderr).toContain('not a xar archive');
    const none = await cli(['sign-pkg', input, '--out', path.join(dir, 'o.pkg')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('a signing identity is required');
    expect(filesIn(dir)).toEqual(['pw', 'text.pkg']);
  });
});

describe('sign-pkg --signer apple (stub productsign on PATH)', () => {
  /** A pkg signed by us, which the stub hands back as "productsign's" output. */
  async function signedFixture(): Promise<string> {
    const f = copyOfUnsigned();
    expect((await cli(['sign-pkg', f, '--out', f, ...p12Args(), '--no-timestamp'])).code).toBe(0);
    return f;
  }

  it('runs productsign --sign NAME --keychain K --timestamp IN TMP, then moves the checked result onto OUT', async () => {
    const fixture = await signedFixture();
    const stub = stubTool('productsign', `for a; do out="$a"; done\ncp '${fixture}' "$out"`);
    const input = copyOfUnsigned();
    const out = path.join(tempDir('signpkg-apple'), 'apple.pkg');
    const r = await withPath([stub.dir], () => cli(['sign-pkg', input, '--out', out, '--signer', 'apple', '--identity', 'Developer ID Installer: Test Org (TEST123456)', '--keychain', 'ci.keychain-db'], { cwd: '/work' }));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const calls = stub.calls();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.slice(0, 6)).toEqual(['--sign', 'Developer ID Installer: Test Org (TEST123456)', '--keychain', '/work/ci.keychain-db', '--timestamp', input]);
    expect(calls[0]![6]).toMatch(/\/aiwatch-deploy-productsign-[^/]+\/apple\.pkg$/);
    expect(calls[0]).toHaveLength(7);
    expect(existsSync(calls[0]![6]!)).toBe(false);
    expect(sha256(out)).toBe(sha256(fixture));
    expect(r.stdout).toContain('by "Developer ID Installer: Test Org (TEST123456)"');
  });

  it('--no-timestamp → --timestamp=none; an unsigned "result" is refused (exit 3) and OUT is not written', async () => {
    const stub = stubTool('productsign', `for a; do out="$a"; done\ncp '${unsigned}' "$out"`);
    const out = path.join(tempDir('signpkg-apple2'), 'x.pkg');
    const r = await withPath([stub.dir], () => cli(['sign-pkg', unsigned, '--out', out, '--signer', 'apple', '--identity', 'X', '--no-timestamp']));
    expect(stub.calls()[0]).toEqual(['--sign', 'X', '--timestamp=none', unsigned, expect.stringMatching(/x\.pkg$/)]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('productsign output: the signed output lacks the RSA <signature>');
    expect(existsSync(out)).toBe(false);
  });

  it('refuses .p12 flags, another time-stamp server and a missing --identity (exit 2); no productsign → exit 4', async () => {
    const out = path.join(tempDir('signpkg-apple3'), 'x.pkg');
    const r = await cli(['sign-pkg', unsigned, '--out', out, '--signer', 'apple', ...p12Args(), '--timestamp-url', 'http://127.0.0.1:9/ts']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--signer apple needs --identity');
    expect(r.stderr).toContain('--p12/--key/--cert are for the builtin signer');
    expect(r.stderr).toContain("--timestamp-url: productsign always uses Apple's time-stamp server");
    const missing = await withPath([], () => cli(['sign-pkg', unsigned, '--out', out, '--signer', 'apple', '--identity', 'X']));
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('productsign: not found: it ships with macOS only; on other systems use the default --signer builtin with --p12');
  });
});

describe.runIf(process.platform === 'darwin')("Apple's pkgutil reads our signature (macOS)", () => {
  it('pkgutil --check-signature names our signer and its chain; pkgutil --payload-files lists the payload', async () => {
    const out = path.join(tempDir('signpkg-pkgutil'), 'ours.pkg');
    expect((await cli(['sign-pkg', unsigned, '--out', out, ...p12Args(), '--no-timestamp'])).code).toBe(0);
    const r = tryRun('pkgutil', ['--check-signature', out]);
    expect(r.stdout).toContain('Developer ID Installer: Test Org (TEST123456)');
    expect(r.stdout).toContain('Test Developer ID Certification Authority');
    expect(r.stdout).toMatch(/Status: signed by (an )?untrusted certificate/i);
    expect(run('pkgutil', ['--payload-files', out])).toContain('./usr/local/lib/runlayer/aiwatch/aiwatch');
  });
});

// Parity with Apple's tool: needs macOS and a Developer ID Installer identity in a keychain (AIWATCH_TEST_INSTALLER_IDENTITY).
describe.runIf(process.platform === 'darwin' && Boolean(process.env.AIWATCH_TEST_INSTALLER_IDENTITY))('sign-pkg parity with productsign (macOS)', () => {
  it('productsign and the builtin signer produce the same TOC signature layout; pkgutil accepts both', async () => {
    const identity = process.env.AIWATCH_TEST_INSTALLER_IDENTITY!;
    const dir = tempDir('signpkg-parity');
    const apple = path.join(dir, 'apple.pkg');
    expect((await cli(['sign-pkg', unsigned, '--out', apple, '--signer', 'apple', '--identity', identity])).code).toBe(0);
    const a = pkgSignatureParts(readFileSync(apple));
    for (const tag of ['<signature style="RSA">', '<x-signature style="CMS">', '<checksum style="sha1">']) expect(a.tocXml).toContain(tag);
    expect(run('pkgutil', ['--check-signature', apple])).toMatch(/Status: signed by a developer certificate issued by Apple/);
    const ours = path.join(dir, 'ours.pkg');
    const p12 = process.env.AIWATCH_TEST_INSTALLER_P12;
    if (p12) {
      expect((await cli(['sign-pkg', unsigned, '--out', ours, '--p12', p12], { env: process.env })).code).toBe(0);
      expect(run('pkgutil', ['--check-signature', ours])).toMatch(/Status: signed by a developer certificate issued by Apple/);
    }
  });
});

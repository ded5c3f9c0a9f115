/**
 * `build --demo --sign --notarize --staple` end to end through main(argv, io), against a local TSA, notary, S3 and
 * ticket server, with the throwaway test PKI. The zip's pkg is then read by tools nobody here wrote: bsdtar and 7z
 * list it, openssl verifies the classic RSA signature (pkeyutl) and the CMS blob (cms -verify) over a TOC checksum
 * computed here, and openssl ts checks the RFC 3161 token against the signature value; the notary received exactly the shipped pkg minus the ticket; the ticket is stapled; the manifest
 * says signed/notarized/stapled; and our own `verify` accepts the zip and the pkg.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readStapledTicket } from '../../src/notary/trailer.js';
import { signatureValue } from '../../src/sign/cms.js';
import { readSignedData } from '../../src/sign/cms-read.js';
import { fakeTicket } from '../helpers/servers/ticket.js';
import { describeWithTools, run, tryRun } from '../helpers/tools.js';
import { cli, expectOpensslVerifies, filesIn, printed, recordNameOf, startTrustServers, tempDir, unzipRelease } from './helpers.js';

const PKG = 'aiwatch-1.0.0-macos-arm64.pkg';
const ZIP = 'aiwatch-1.0.0-macos-arm64.zip';
/** The release built by the first test, examined further by the next. */
let built: { zip: string; pkg: string } | undefined;

describeWithTools(['openssl', 'bsdtar', '7z', 'unzip'], 'build --sign --notarize --staple (local servers)', () => {
  it('exit 0; the pkg is signed (openssl), listed (bsdtar, 7z), notarized as shipped and stapled', async () => {
    const s = await startTrustServers();
    const out = tempDir('trust-e2e-out');
    const r = await cli(['build', '--demo', '--sign', ...s.signArgs, '--notarize', ...s.notaryArgs, '--staple', ...s.stapleArgs, '--out', out]);
    expect(r.stderr).not.toMatch(/aiwatch-deploy:/);
    expect(r.code).toBe(0);
    expect(filesIn(out)).toEqual([ZIP]);
    // progress, in order, on stderr; the result on stdout
    const steps = ['WARNING: "Developer ID Installer: Test Org (TEST123456)" is not issued by Apple', 'write signed product archive (xar)…', 'notarize pkg…', 'notary: submission', 'notary: uploaded', ': Accepted', 'staple pkg…', 'staple: looking up ticket 2/1/', ': stapled a 700-byte ticket', 'write zip…'];
    let at = 0;
    for (const step of steps) {
      const i = r.stderr.indexOf(step, at);
      expect(i, `stderr has "${step}" after offset ${at}`).toBeGreaterThanOrEqual(0);
      at = i + step.length;
    }
    expect(r.stdout).toContain('pkg: signed, notarized, stapled');

    const dir = unzipRelease(path.join(out, ZIP));
    const pkg = path.join(dir, PKG);
    const bytes = readFileSync(pkg);
    const listing = run('bsdtar', ['-tf', pkg]).split('\n');
    expect(listing).toEqual(expect.arrayContaining(['Distribution', 'aiwatch.pkg/Payload', 'aiwatch.pkg/Bom', 'aiwatch.pkg/PackageInfo']));
    const seven = tryRun('7z', ['l', pkg]);
    expect(seven.stdout).toMatch(/aiwatch\.pkg[/\\]Payload/);
    expect(seven.stdout).toMatch(/Distribution/);

    const parts = expectOpensslVerifies(pkg, s.pki);
    expect(parts.tocXml).toContain('<signature style="RSA">');
    expect(parts.tocXml).toContain('<x-signature style="CMS">');
    expect(s.tsa.requests).toHaveLength(1);
    // the RFC 3161 token in the CMS blob time-stamps this very signature value (openssl ts recomputes the imprint)
    const cms = readSignedData(parts.cms);
    const scratch = tempDir('trust-e2e-ts');
    writeFileSync(path.join(scratch, 'token.der'), cms.timestampToken!);
    writeFileSync(path.join(scratch, 'sig.bin'), signatureValue(cms.signedData));
    const ts = tryRun('openssl', ['ts', '-verify', '-token_in', '-in', path.join(scratch, 'token.der'), '-data', path.join(scratch, 'sig.bin'), '-CAfile', s.pki.root]);
    expect(ts.stdout + ts.stderr).toMatch(/Verification: OK/);

    // the ticket: what the lookup served for this TOC, stapled at the end
    const record = recordNameOf(bytes);
    expect(s.tickets.asked).toEqual([record]);
    const stapled = await readStapledTicket(pkg);
    expect(stapled?.ticket).toEqual(fakeTicket([...s.s3.objects.keys()][0]!));
    // what Apple was sent is the shipped pkg minus the stapled trailer, byte for byte
    const uploaded = [...s.s3.objects.values()];
    expect(uploaded).toHaveLength(1);
    expect(uploaded[0]!.bytes.equals(bytes.subarray(0, stapled!.xarLength))).toBe(true);
    expect(s.notary.submissions.size).toBe(1);
    expect([...s.notary.submissions.values()][0]!.sha256).toBe(createHash('sha256').update(bytes.subarray(0, stapled!.xarLength)).digest('hex'));

    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { pkg: unknown };
    expect(manifest.pkg).toEqual({ signed: true, notarized: true, stapled: true });
    expect(readFileSync(path.join(dir, 'README.txt'), 'utf8')).toContain('signed, notarized, stapled');
    expect(run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir })).toContain(`${PKG}: OK`);

    built = { zip: path.join(out, ZIP), pkg };
    expect(printed(r)).not.toContain(s.key.pemBody.slice(0, 40));
    expect(printed(r)).not.toContain(s.s3.credentials.secretAccessKey);
  });

  it('our verify accepts that zip and its signed, timestamped, stapled pkg', async () => {
    expect(built, 'the build above ran').toBeDefined();
    const v = await cli(['verify', built!.zip, built!.pkg]);
    expect(v.stdout).toContain('2 ok, 0 with problems');
    expect(v.stdout).toContain('stapled notarization ticket: yes');
    expect(v.code).toBe(0);
  });

  it('--sign-profiles: the PPPC and login-items profiles are CMS-signed (openssl returns the unsigned bytes); unsigned stays the default', async () => {
    const s = await startTrustServers();
    const [signedOut, plainOut] = [tempDir('trust-sp'), tempDir('trust-plain')];
    expect((await cli(['build', '--demo', '--sign-profiles', ...s.signArgs, '--out', signedOut])).code).toBe(0);
    expect((await cli(['build', '--demo', '--out', plainOut])).code).toBe(0);
    const [signed, plain] = [unzipRelease(path.join(signedOut, ZIP)), unzipRelease(path.join(plainOut, ZIP))];
    for (const name of ['com.runlayer.aiwatch.pppc.mobileconfig', 'com.runlayer.aiwatch.loginitems.mobileconfig']) {
      const unsigned = readFileSync(path.join(plain, name));
      expect(unsigned.subarray(0, 5).toString()).toBe('<?xml');
      const inner = path.join(signed, `${name}.inner`);
      const v = tryRun('openssl', ['cms', '-verify', '-inform', 'DER', '-in', path.join(signed, name), '-CAfile', s.pki.root, '-purpose', 'any', '-ignore_critical', '-binary', '-out', inner]);
      expect(v.stderr).toMatch(/Verification successful/);
      expect(readFileSync(inner).equals(unsigned)).toBe(true);
    }
    // the Jamf schema is JSON and stays as it is; the pkg is not signed without --sign
    expect(readFileSync(path.join(signed, 'com.runlayer.aiwatch.jamf.schema.json')).equals(readFileSync(path.join(plain, 'com.runlayer.aiwatch.jamf.schema.json')))).toBe(true);
    expect(JSON.parse(readFileSync(path.join(signed, 'manifest.json'), 'utf8')).pkg).toEqual({ signed: false, notarized: false, stapled: false });
    expect(s.tsa.requests).toHaveLength(0);
    const v = await cli(['verify', path.join(signedOut, ZIP)]);
    expect(v.code).toBe(0);
  });

  it('--staple without --notarize staples a pkg Apple already notarized: a rebuild has the same TOC, so the same ticket', async () => {
    const s = await startTrustServers();
    const [first, second] = [tempDir('trust-n1'), tempDir('trust-n2')];
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    expect((await cli(['build', '--demo', '--sign', ...s.signArgs, '--notarize', ...s.notaryArgs, '--out', first], { env })).code).toBe(0);
    const r = await cli(['build', '--demo', '--sign', ...s.signArgs, '--staple', ...s.stapleArgs, '--out', second], { env });
    expect(r.code).toBe(0);
    const a = readFileSync(path.join(unzipRelease(path.join(first, ZIP)), PKG));
    const dir = unzipRelease(path.join(second, ZIP));
    const b = readFileSync(path.join(dir, PKG));
    expect(recordNameOf(b)).toBe(recordNameOf(a));
    expect(await readStapledTicket(path.join(dir, PKG))).toBeDefined();
    expect(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')).pkg).toEqual({ signed: true, notarized: true, stapled: true });
    expect(JSON.parse(readFileSync(path.join(unzipRelease(path.join(first, ZIP)), 'manifest.json'), 'utf8')).pkg).toEqual({ signed: true, notarized: true, stapled: false });
    expect(s.notary.submissions.size).toBe(1);
  });
});

describe('build --help', () => {
  it('lists the trust options in their own groups', async () => {
    const r = await cli(['build', '--help']);
    expect(r.code).toBe(0);
    for (const group of ['Signing the pkg and profiles:', 'Signing the agent binary:', 'Notarization and stapling:']) expect(r.stdout).toContain(group);
    for (const flag of ['--sign ', '--sign-profiles', '--sign-binary', '--notarize', '--staple', '--p12-password-file', '--binary-p12', '--ticket-url']) expect(r.stdout).toContain(flag);
    expect(r.stdout).not.toContain('--p12-password ');
  });
});

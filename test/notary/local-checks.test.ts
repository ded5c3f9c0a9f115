/**
 * What `notarize` and `staple` refuse before anything leaves the machine: a notary, S3 or ticket URL that is not
 * https (plain http only for a loopback test server) is a usage error (exit 2); a file that is not a signed flat
 * package is an input error (exit 3). Each case proves that no request was sent: the local servers saw nothing,
 * and global fetch was never called.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { UsageError } from '../../src/errors.js';
import { loadApiKey } from '../../src/notary/jwt.js';
import { notarize } from '../../src/notary/notarize.js';
import { staplePkg } from '../../src/notary/staple.js';
import { serviceUrlProblem } from '../../src/notary/url.js';
import { makeApiKey } from '../helpers/servers/keys.js';
import { startNotaryServer } from '../helpers/servers/notary.js';
import { startS3Server } from '../helpers/servers/s3.js';
import { startTicketServer } from '../helpers/servers/ticket.js';
import { describeWithTools } from '../helpers/tools.js';
import { flipByte } from '../verify/release-fixture.js';
import { signedPkg, unsignedPkg } from './pkgs.js';

const dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-notary-local-'));

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env, cwd: dir, signal: new AbortController().signal });
  return { code, stdout, stderr };
}

async function servers() {
  const k = makeApiKey(dir);
  const s3 = await startS3Server();
  const notary = await startNotaryServer({ publicKey: k.publicKey, keyId: k.keyId, issuerId: k.issuerId, s3 });
  const env = { AIWATCH_NOTARY_KEY_FILE: k.file, AIWATCH_NOTARY_KEY_ID: k.keyId, AIWATCH_NOTARY_ISSUER: k.issuerId };
  return { k, s3, notary, env, urls: ['--notary-url', `${notary.url}/notary/v2`, '--s3-url', s3.url] };
}

/** Spy on global fetch (the notary, ticket and timestamp clients use it) for the current test. */
function fetchSpy() {
  return vi.spyOn(globalThis, 'fetch');
}
afterEach(() => vi.restoreAllMocks());

describe('service URLs: https, or http on a loopback host only', () => {
  it.each([
    ['https://appstoreconnect.apple.com/notary/v2', undefined],
    ['http://127.0.0.1:8080/notary/v2', undefined],
    ['http://localhost:1/x', undefined],
    ['http://[::1]:1/x', undefined],
    ['http://notary.example.com/notary/v2', '--notary-url: expected an https:// URL (the App Store Connect token would travel in clear), got "http://notary.example.com/notary/v2"; plain http is accepted only for a loopback test server (127.0.0.1, ::1, localhost)'],
    ['http://127.0.0.1.example.com/x', '--notary-url: expected an https:// URL (the App Store Connect token would travel in clear), got "http://127.0.0.1.example.com/x"; plain http is accepted only for a loopback test server (127.0.0.1, ::1, localhost)'],
    ['ftp://127.0.0.1/x', '--notary-url: expected an https:// URL (the App Store Connect token would travel in clear), got "ftp://127.0.0.1/x"; plain http is accepted only for a loopback test server (127.0.0.1, ::1, localhost)'],
    ['not a url', '--notary-url: expected an https:// URL, got "not a url"'],
  ])('%s', (url, problem) => {
    expect(serviceUrlProblem('--notary-url', url)).toBe(problem);
  });

  it('credentials in a refused URL are not printed', () => {
    expect(serviceUrlProblem('--s3-url', 'http://AKIA:hunter2@s3.example.com/b')).not.toMatch(/AKIA|hunter2/);
  });
});

describeWithTools(['bsdtar'], 'notarize: refused before any request', () => {
  it('--notary-url http://… (not loopback) → exit 2, nothing sent', async () => {
    const s = await servers();
    const pkg = await signedPkg(path.join(dir, 'a.pkg'));
    const spy = fetchSpy();
    const r = await cli(['notarize', pkg, '--notary-url', 'http://notary.example.com/notary/v2', '--s3-url', s.s3.url], s.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--notary-url: expected an https:// URL (the App Store Connect token would travel in clear), got "http://notary.example.com/notary/v2"');
    expect(spy).not.toHaveBeenCalled();
    expect(s.notary.submissions.size).toBe(0);
  });

  it('--s3-url http://… (not loopback) and --notary-url ftp://… → exit 2, both named at once', async () => {
    const pkg = await signedPkg(path.join(dir, 'b.pkg'));
    const spy = fetchSpy();
    const r = await cli(['notarize', pkg, '--notary-url', 'ftp://x/y', '--s3-url', 'http://s3.example.com'], { AIWATCH_NOTARY_KEY_ID: 'X' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--notary-url: expected an https:// URL');
    expect(r.stderr).toContain("--s3-url: expected an https:// URL (the package and Apple's temporary upload credentials would travel in clear)");
    expect(spy).not.toHaveBeenCalled();
  });

  it('an unsigned xar → exit 3 "is not signed", nothing sent', async () => {
    const s = await servers();
    const pkg = unsignedPkg(path.join(dir, 'unsigned.pkg'));
    const spy = fetchSpy();
    const r = await cli(['notarize', pkg, ...s.urls], s.env);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${pkg}: package: is not signed; Apple notarizes only packages signed with a Developer ID Installer identity`);
    expect(spy).not.toHaveBeenCalled();
    expect(s.notary.submissions.size).toBe(0);
    expect(s.s3.objects.size).toBe(0);
  });

  it('a file that is not a package at all, and an empty one → exit 3, nothing sent', async () => {
    const s = await servers();
    const spy = fetchSpy();
    for (const [name, bytes] of [['readme.pkg', Buffer.from('hello, I am not a xar archive\n'.repeat(10))], ['empty.pkg', Buffer.alloc(0)]] as const) {
      const f = path.join(dir, name);
      writeFileSync(f, bytes);
      const r = await cli(['notarize', f, ...s.urls], s.env);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toMatch(new RegExp(`${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: package: .+; expected a signed flat package \\(\\.pkg\\), nothing was uploaded`));
    }
    expect(spy).not.toHaveBeenCalled();
    expect(s.notary.submissions.size).toBe(0);
  });

  it('a signed package whose signature no longer verifies → exit 3, nothing sent', async () => {
    const s = await servers();
    const pkg = await signedPkg(path.join(dir, 'c.pkg'));
    const bytes = readFileSync(pkg);
    // Flip a byte in the middle of the RSA signature (its heap offset read from the TOC, independently of src/pkg).
    const tocLength = Number(bytes.readBigUInt64BE(8));
    const toc = inflateSync(bytes.subarray(28, 28 + tocLength)).toString('utf8');
    const at = /<signature style="RSA">\s*<offset>(\d+)<\/offset>/.exec(toc)!;
    const bad = flipByte(pkg, 28 + tocLength + Number(at[1]) + 100, path.join(dir, 'c-bad.pkg'));
    const spy = fetchSpy();
    const r = await cli(['notarize', bad, ...s.urls], s.env);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${bad}: package: its signature does not verify (`);
    expect(spy).not.toHaveBeenCalled();
    expect(s.notary.submissions.size).toBe(0);
  });

  it('a package signed by a certificate that is not Apple\'s: uploaded, with a warning that the notary will refuse it', async () => {
    const s = await servers();
    const pkg = await signedPkg(path.join(dir, 'd.pkg'));
    const r = await cli(['notarize', pkg, '--json', ...s.urls], s.env);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { warnings: string[]; sha256: string };
    expect(j.warnings).toEqual([`${pkg}: the package is signed by untrusted certificate (the chain does not end at Apple Root CA): Apple's notary accepts only Developer ID Installer signatures and will answer Invalid`]);
    expect(j.sha256).toBe(createHash('sha256').update(readFileSync(pkg)).digest('hex'));
    expect(s.notary.submissions.size).toBe(1);
  });

  it('the library refuses the same way (UsageError before any request)', async () => {
    const k = makeApiKey(dir);
    const spy = vi.fn(fetch);
    const apiKey = await loadApiKey({ file: k.file, keyId: k.keyId, issuerId: k.issuerId });
    await expect(notarize({ pkg: path.join(dir, 'a.pkg'), apiKey, notaryUrl: 'http://notary.example.com', fetch: spy })).rejects.toBeInstanceOf(UsageError);
    expect(spy).not.toHaveBeenCalled();
  });

  it('build --notarize --notary-url http://… → exit 2 before anything is built', async () => {
    const s = await servers();
    const out = path.join(dir, 'build-out');
    const spy = fetchSpy();
    const r = await cli(['build', '--demo', '--sign', '--p12', 'x.p12', '--notarize', '--notary-url', 'http://notary.example.com', '--staple', '--ticket-url', 'ftp://x', '--out', out], s.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--notary-url: expected an https:// URL');
    expect(r.stderr).toContain('--ticket-url: expected an https:// URL (the ticket lookup would travel in clear), got "ftp://x"');
    expect(r.stderr).not.toContain('check binary');
    expect(spy).not.toHaveBeenCalled();
  });
});

describeWithTools(['bsdtar'], 'staple: the ticket URL', () => {
  it('--ticket-url ftp://x → exit 2 at once (no retries), the package untouched', async () => {
    const pkg = await signedPkg(path.join(dir, 's.pkg'));
    const before = readFileSync(pkg);
    const spy = fetchSpy();
    const t0 = Date.now();
    const r = await cli(['staple', pkg, '--ticket-url', 'ftp://x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--ticket-url: expected an https:// URL (the ticket lookup would travel in clear), got "ftp://x"');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(spy).not.toHaveBeenCalled();
    expect(readFileSync(pkg).equals(before)).toBe(true);
  });

  it('--ticket-url http://tickets.example.com → exit 2; a loopback http server is used', async () => {
    const pkg = await signedPkg(path.join(dir, 't.pkg'));
    const spy = fetchSpy();
    expect((await cli(['staple', pkg, '--ticket-url', 'http://tickets.example.com/lookup'])).code).toBe(2);
    expect(spy).not.toHaveBeenCalled();
    await expect(staplePkg({ pkg, ticketUrl: 'http://tickets.example.com/lookup' })).rejects.toBeInstanceOf(UsageError);
    const ts = await startTicketServer();
    const r = await cli(['staple', pkg, '--ticket-url', ts.lookupUrl]);
    expect(r.code).toBe(6); // the local ticket server has no ticket for it: a remote refusal, so the request was made
    expect(spy).toHaveBeenCalled();
  });
});

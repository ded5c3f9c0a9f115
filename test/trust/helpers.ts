/**
 * Shared set-up for the trust-chain tests: the throwaway PKI, a local TSA, the notary + S3 + ticket servers, the
 * command-line flags that point `build` at them, stub tools on PATH that record their argv, and readers of a
 * signed pkg that do not use our xar reader (header fields, zlib, regular expressions over the TOC XML).
 *
 * The ticket server publishes a ticket for every package that reaches the S3 server, keyed the way Apple keys it:
 * `2/1/<sha1 of the compressed TOC>` — computed here from the uploaded bytes, independently of src/notary/ticket.ts.
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { expect } from 'vitest';
import { cli, tempDir, type CliRun } from '../cli/cli-helpers.js';
import { makeApiKey, type TestApiKey } from '../helpers/servers/keys.js';
import { startNotaryServer, type NotaryServer, type NotaryServerOptions } from '../helpers/servers/notary.js';
import { startS3Server, type S3Server } from '../helpers/servers/s3.js';
import { fakeTicket, startTicketServer, type TicketServer } from '../helpers/servers/ticket.js';
import { startTestTsa, type TestTsa } from '../helpers/servers/tsa.js';
import { getTestPki, type TestPki } from '../helpers/test-pki.js';
import { run, tryRun } from '../helpers/tools.js';

export { cli, tempDir, type CliRun };

export interface TrustServers {
  pki: TestPki;
  tsa: TestTsa;
  key: TestApiKey;
  s3: S3Server;
  notary: NotaryServer;
  tickets: TicketServer;
  /** `--timestamp-url` … for a signed build with the installer .p12 (untrusted test PKI). */
  signArgs: string[];
  /** `--api-key` … `--s3-url` for --notarize. */
  notaryArgs: string[];
  /** `--ticket-url` for --staple. */
  stapleArgs: string[];
}

/** The ticket record name of a xar, from its bytes: SHA-1 of the compressed TOC (header: u64 BE at offset 8). */
export function recordNameOf(pkg: Buffer): string {
  const tocLength = Number(pkg.readBigUInt64BE(8));
  return `2/1/${createHash('sha1').update(pkg.subarray(28, 28 + tocLength)).digest('hex')}`;
}

/** Start every server a signed, notarized, stapled build talks to (each stops when the test ends). */
export async function startTrustServers(opts: Partial<Pick<NotaryServerOptions, 'outcome' | 'issues'>> & { publish?: boolean } = {}): Promise<TrustServers> {
  const pki = getTestPki();
  const tsa = await startTestTsa({ certFile: pki.tsa.cert, keyFile: pki.tsa.key, clock: () => new Date() });
  const key = makeApiKey(tempDir('trust-key'));
  const s3 = await startS3Server();
  const notary = await startNotaryServer({ publicKey: key.publicKey, keyId: key.keyId, issuerId: key.issuerId, s3, outcome: opts.outcome ?? 'Accepted', issues: opts.issues });
  const tickets = await startTicketServer();
  if (opts.publish !== false && (opts.outcome ?? 'Accepted') === 'Accepted') {
    // Apple publishes a ticket for an accepted upload: mirror every S3 upload into the ticket database.
    const set = s3.objects.set.bind(s3.objects);
    s3.objects.set = (k, v) => {
      tickets.tickets.set(recordNameOf(v.bytes), fakeTicket(k));
      return set(k, v);
    };
  }
  return {
    pki, tsa, key, s3, notary, tickets,
    signArgs: ['--p12', pki.installer.p12, '--p12-password-file', pki.passwordFile, '--allow-untrusted', '--timestamp-url', tsa.url],
    notaryArgs: ['--api-key', key.file, '--api-key-id', key.keyId, '--api-issuer', key.issuerId, '--notary-url', `${notary.url}/notary/v2`, '--s3-url', s3.url],
    stapleArgs: ['--ticket-url', tickets.lookupUrl],
  };
}

export function filesIn(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** Unzip a release zip with Info-ZIP's unzip into a fresh folder; returns the folder. */
export function unzipRelease(zip: string): string {
  const dir = tempDir('trust-unzip');
  run('unzip', ['-q', zip, '-d', dir]);
  return dir;
}

export interface PkgSignatureParts {
  /** SHA-1 of the compressed TOC, computed here. */
  checksum: Buffer;
  rsa: Buffer;
  /** The CMS blob without the zero padding of its reserved slot. */
  cms: Buffer;
  tocXml: string;
}

function derLength(b: Buffer): number {
  if (b[0] !== 0x30) throw new Error('CMS blob does not start with a SEQUENCE');
  const l = b[1]!;
  if (l < 0x80) return 2 + l;
  const n = l & 0x7f;
  return 2 + n + b.subarray(2, 2 + n).reduce((acc, x) => acc * 256 + x, 0);
}

/** The checksum and signature blobs of a signed xar, read without src/pkg (header, zlib, regexes over the TOC). */
export function pkgSignatureParts(pkg: Buffer): PkgSignatureParts {
  const tocLength = Number(pkg.readBigUInt64BE(8));
  const ztoc = pkg.subarray(28, 28 + tocLength);
  const tocXml = inflateSync(ztoc).toString('utf8');
  const heap = 28 + tocLength;
  const region = (tag: string): Buffer => {
    const m = new RegExp(`<${tag} style="[A-Z]+">\\s*<offset>(\\d+)</offset>\\s*<size>(\\d+)</size>`).exec(tocXml);
    if (!m) throw new Error(`no <${tag}> in the TOC`);
    return pkg.subarray(heap + Number(m[1]), heap + Number(m[1]) + Number(m[2]));
  };
  const cmsSlot = region('x-signature');
  return { checksum: createHash('sha1').update(ztoc).digest(), rsa: Buffer.from(region('signature')), cms: Buffer.from(cmsSlot.subarray(0, derLength(cmsSlot))), tocXml };
}

/** openssl checks both signatures of `pkg` over the TOC checksum (RSA with the leaf, CMS against the test root). */
export function expectOpensslVerifies(pkg: string, pki: TestPki): PkgSignatureParts {
  const parts = pkgSignatureParts(readFileSync(pkg));
  const dir = tempDir('trust-openssl');
  const f = (n: string, b: Buffer): string => {
    writeFileSync(path.join(dir, n), b);
    return path.join(dir, n);
  };
  const checksum = f('checksum.bin', parts.checksum);
  const rsa = run('openssl', ['pkeyutl', '-verify', '-certin', '-inkey', pki.installer.cert, '-pkeyopt', 'digest:sha1', '-in', checksum, '-sigfile', f('rsa.sig', parts.rsa)]);
  expect(rsa).toMatch(/Signature Verified Successfully/);
  const cms = tryRun('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', f('cms.der', parts.cms), '-content', checksum,
    '-CAfile', pki.root, '-purpose', 'any', '-ignore_critical', '-out', path.join(dir, 'out.bin')]);
  expect(cms.stderr).toMatch(/Verification successful/);
  return parts;
}

/**
 * A stub of `tool` in a fresh folder: a POSIX sh script that appends its argv (one argument per line, then a
 * `--end--` line) to `<dir>/<tool>.argv` and then runs `body` (which sees the arguments as "$@").
 */
export function stubTool(tool: string, body: string, dir = tempDir('trust-stub')): { dir: string; argvFile: string; calls: () => string[][] } {
  mkdirSync(dir, { recursive: true });
  const argvFile = path.join(dir, `${tool}.argv`);
  const script = `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a" >> '${argvFile}'; done\necho --end-- >> '${argvFile}'\n${body}\n`;
  writeFileSync(path.join(dir, tool), script);
  chmodSync(path.join(dir, tool), 0o755);
  const calls = (): string[][] => {
    let text: string;
    try {
      text = readFileSync(argvFile, 'utf8');
    } catch {
      return [];
    }
    return text.split('--end--\n').filter((c) => c !== '').map((c) => c.replace(/\n$/, '').split('\n'));
  };
  return { dir, argvFile, calls };
}

/** Run `fn` with PATH set to `dirs` + a minimal system PATH (no stubs leak into other tests). */
export async function withPath<T>(dirs: string[], fn: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = [...dirs, '/usr/local/bin', '/usr/bin', '/bin'].join(':');
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
  }
}

/** Everything printed by `r`, for secret checks. */
export function printed(r: CliRun): string {
  return `${r.stdout}\n${r.stderr}`;
}

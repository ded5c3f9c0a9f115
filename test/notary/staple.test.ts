/**
 * Stapling against a local CloudKit-like ticket server, on xar archives written by libarchive (bsdtar), which also
 * serves as the independent reader: it verifies the TOC checksum we key the ticket on, and must still list the
 * stapled file.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { InputFileError, RemoteRejection } from '../../src/errors.js';
import { staplePkg } from '../../src/notary/staple.js';
import { ticketRecordName } from '../../src/notary/ticket.js';
import { encodeTicketTrailer, readStapledTicket } from '../../src/notary/trailer.js';
import { openXar } from '../../src/pkg/xar-reader.js';
import { fakeTicket, startTicketServer } from '../helpers/servers/ticket.js';
import { describeWithTools, run, tryRun } from '../helpers/tools.js';

let n = 0;
function freshDir(): string {
  n += 1;
  return mkdtempSync(path.join(tmpdir(), `aiwatch-staple-${n}-`));
}

/** A small xar written by bsdtar (libarchive), like a .pkg as far as stapling is concerned. */
function makeXar(dir: string, name = 'aiwatch.pkg', alg = 'sha1'): string {
  const src = path.join(dir, 'src');
  run('mkdir', ['-p', path.join(src, 'Resources')]);
  writeFileSync(path.join(src, 'Distribution'), '<installer-gui-script minSpecVersion="2"/>\n');
  writeFileSync(path.join(src, 'Resources', 'en.txt'), 'hello\n'.repeat(100));
  const out = path.join(dir, name);
  run('bsdtar', ['--format', 'xar', '--options', `xar:toc-checksum=${alg}`, '-cf', out, '-C', src, 'Distribution', 'Resources']);
  return out;
}

/** Parse the trailer by hand (independently of src/notary/trailer.ts). */
function parseTail(bytes: Buffer): { ticket: Buffer; terminator: string; ticketTrailer: string; xarLength: number } {
  const last = bytes.subarray(bytes.length - 16);
  const len = last.readUInt32LE(8);
  const start = bytes.length - 16 - len;
  return {
    ticket: bytes.subarray(start, start + len),
    terminator: bytes.subarray(start - 16, start).toString('hex'),
    ticketTrailer: last.toString('hex'),
    xarLength: start - 16,
  };
}

const recordOf = async (pkg: string): Promise<string> => ticketRecordName(await openXar(pkg));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const noSleep = async (): Promise<void> => undefined;

describe('ticket trailer', () => {
  it('is [t8lr v1 type1 len0][ticket][t8lr v1 type2 len] little-endian', () => {
    const t = fakeTicket('x', 0x1234);
    const enc = encodeTicketTrailer(t);
    expect(enc.subarray(0, 16).toString('hex')).toBe('74386c72010001000000000000000000');
    expect(enc.subarray(-16).toString('hex')).toBe('74386c72010002003412000000000000');
    expect(enc.subarray(16, -16).equals(t)).toBe(true);
  });
});

describe('record name of a sha256-TOC xar (libarchive cannot write one; built by hand)', () => {
  it('TOC checksum style sha256 → digest type 2, named by the first 20 bytes', async () => {
    const dir = freshDir();
    const xml = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<xar><toc><checksum style="sha256"><offset>0</offset><size>32</size></checksum></toc></xar>\n');
    const toc = deflateSync(xml);
    const header = Buffer.alloc(28);
    header.write('xar!', 0, 'latin1');
    header.writeUInt16BE(28, 4);
    header.writeUInt16BE(1, 6);
    header.writeBigUInt64BE(BigInt(toc.length), 8);
    header.writeBigUInt64BE(BigInt(xml.length), 16);
    header.writeUInt32BE(3, 24);
    const digest = createHash('sha256').update(toc).digest();
    const f = path.join(dir, 's.pkg');
    writeFileSync(f, Buffer.concat([header, toc, digest]));
    expect(await recordOf(f)).toBe(`2/2/${digest.subarray(0, 20).toString('hex')}`);
  });
});

describeWithTools(['bsdtar'], 'staple (bsdtar-made xar, local ticket server)', () => {
  it('the record name is 2/1/<SHA-1 of the compressed TOC>, the checksum libarchive verifies', async () => {
    const dir = freshDir();
    const pkg = makeXar(dir);
    const bytes = readFileSync(pkg);
    const tocLen = Number(bytes.readBigUInt64BE(8));
    const expected = createHash('sha1').update(bytes.subarray(28, 28 + tocLen)).digest('hex');
    expect(await recordOf(pkg)).toBe(`2/1/${expected}`);
    // Flip one byte of the stored checksum: libarchive and we both refuse the file.
    bytes.writeUInt8(bytes.readUInt8(28 + tocLen) ^ 0xff, 28 + tocLen);
    writeFileSync(pkg, bytes);
    expect(tryRun('bsdtar', ['-tf', pkg]).status).not.toBe(0);
    const ts = await startTicketServer();
    const e = (await staplePkg({ pkg, ticketUrl: ts.lookupUrl }).catch((x: unknown) => x)) as Error;
    expect(e).toBeInstanceOf(InputFileError);
    expect(e.message).toContain('TOC checksum mismatch');
    expect(ts.asked).toEqual([]);
  });

  it('round trip to --out: input untouched, output = xar + trailer, still listed and extracted by bsdtar', async () => {
    const dir = freshDir();
    const pkg = makeXar(dir);
    const before = readFileSync(pkg);
    const ts = await startTicketServer();
    const record = await recordOf(pkg);
    const ticket = fakeTicket(record);
    ts.tickets.set(record, ticket);
    const out = path.join(dir, 'stapled', 'aiwatch.pkg');
    const r = await staplePkg({ pkg, out, ticketUrl: ts.lookupUrl });
    expect(r).toEqual({ pkg, out, recordName: record, ticketBytes: ticket.length, replaced: false });
    expect(ts.asked).toEqual([record]);
    expect(sha(readFileSync(pkg))).toBe(sha(before));
    const after = readFileSync(out);
    expect(after.length).toBe(before.length + 32 + ticket.length);
    expect(after.subarray(0, before.length).equals(before)).toBe(true);
    const tail = parseTail(after);
    expect(tail).toEqual({
      ticket,
      terminator: '74386c72010001000000000000000000',
      ticketTrailer: `74386c7201000200${Buffer.from(Uint32Array.of(ticket.length).buffer).toString('hex')}00000000`,
      xarLength: before.length,
    });
    expect(await readStapledTicket(out)).toEqual({ ticket, xarLength: before.length, count: 1 });
    expect(await readStapledTicket(pkg)).toBeUndefined();
    expect(run('bsdtar', ['-tf', out]).split('\n').filter(Boolean).sort()).toEqual(run('bsdtar', ['-tf', pkg]).split('\n').filter(Boolean).sort());
    expect(run('bsdtar', ['-xOf', out, 'Resources/en.txt'])).toBe('hello\n'.repeat(100));
  });

  it('in place: replaced by rename, no temporary file left; stapling twice is refused (exit 3); --replace swaps the ticket', async () => {
    const dir = freshDir();
    const pkg = makeXar(dir);
    const original = readFileSync(pkg);
    const ts = await startTicketServer();
    const record = await recordOf(pkg);
    ts.tickets.set(record, fakeTicket('first', 500));
    await staplePkg({ pkg, ticketUrl: ts.lookupUrl });
    const once = readFileSync(pkg);
    expect(once.length).toBe(original.length + 532);
    expect(readdirSync(dir).sort()).toEqual(['aiwatch.pkg', 'src']);

    const e = await staplePkg({ pkg, ticketUrl: ts.lookupUrl }).catch((x: unknown) => x as InputFileError);
    expect(e).toBeInstanceOf(InputFileError);
    expect((e as InputFileError).exitCode).toBe(3);
    expect((e as Error).message).toMatch(/already carries a stapled notarization ticket \(500 bytes\); pass --replace/);
    expect(readFileSync(pkg).equals(once)).toBe(true);

    const second = fakeTicket('second', 640);
    ts.tickets.set(record, second);
    const r = await staplePkg({ pkg, ticketUrl: ts.lookupUrl, replace: true });
    expect(r.replaced).toBe(true);
    const twice = readFileSync(pkg);
    expect(twice.length).toBe(original.length + 32 + 640);
    expect(twice.subarray(0, original.length).equals(original)).toBe(true);
    expect(parseTail(twice).ticket.equals(second)).toBe(true);
    expect(run('bsdtar', ['-tf', pkg])).toContain('Distribution');
  });

  it('ticket not found → RemoteRejection (exit 6) with a clear message; nothing written', async () => {
    const dir = freshDir();
    const pkg = makeXar(dir);
    const before = sha(readFileSync(pkg));
    const ts = await startTicketServer();
    const e = (await staplePkg({ pkg, ticketUrl: ts.lookupUrl }).catch((x: unknown) => x)) as Error;
    expect(e).toBeInstanceOf(RemoteRejection);
    expect((e as RemoteRejection).exitCode).toBe(6);
    expect(e.message).toMatch(/^ticket lookup: Apple has no notarization ticket for this package \(record 2\/1\/[0-9a-f]{40}, NOT_FOUND: Record not found\)\. Notarize it first/);
    expect(sha(readFileSync(pkg))).toBe(before);
    expect(readdirSync(dir).sort()).toEqual(['aiwatch.pkg', 'src']);
  });

  it('a 500 from the ticket service is retried', async () => {
    const dir = freshDir();
    const pkg = makeXar(dir);
    const ts = await startTicketServer({ failFirst: 1 });
    const record = await recordOf(pkg);
    ts.tickets.set(record, fakeTicket('r'));
    const lines: string[] = [];
    await staplePkg({ pkg, ticketUrl: ts.lookupUrl, http: { sleep: noSleep, onRetry: (l) => lines.push(l) } });
    expect(ts.log.map((l) => l.status)).toEqual([500, 200]);
    expect(lines).toEqual([expect.stringMatching(/^ticket lookup \(http:\/\/127\.0\.0\.1:\d+\/database\/1\/com\.apple\.gk\.ticket-delivery\/production\/public\/records\/lookup\): HTTP 500; retrying in 1 s$/)]);
  });

  it('a non-xar, an md5-TOC xar and a TOC-less xar are refused (exit 3) before any lookup', async () => {
    const dir = freshDir();
    const ts = await startTicketServer();
    const txt = path.join(dir, 'readme.pkg');
    writeFileSync(txt, 'not a package at all, just text\n');
    await expect(staplePkg({ pkg: txt, ticketUrl: ts.lookupUrl })).rejects.toThrow(/not a xar archive/);
    await expect(staplePkg({ pkg: makeXar(dir, 'md5.pkg', 'md5'), ticketUrl: ts.lookupUrl })).rejects.toThrow(/checksum algorithm is 2 \(md5\)/);
    await expect(staplePkg({ pkg: makeXar(dir, 'none.pkg', 'none'), ticketUrl: ts.lookupUrl })).rejects.toThrow(/checksum algorithm is 0 \(none\)/);
    expect(ts.asked).toEqual([]);
  });

  it('bytes after the heap that are not a ticket (a damaged trailer) are kept and reported; the new ticket goes last', async () => {
    const dir = freshDir();
    const pkg = makeXar(dir);
    const ts = await startTicketServer();
    const ticket = fakeTicket('j');
    ts.tickets.set(await recordOf(pkg), ticket);
    const enc = encodeTicketTrailer(fakeTicket('old', 50));
    enc.writeUInt16LE(9, 6); // the terminator is no longer a terminator
    const damaged = Buffer.concat([readFileSync(pkg), enc]);
    writeFileSync(pkg, damaged);
    expect(await readStapledTicket(pkg)).toBeUndefined();
    const lines: string[] = [];
    await staplePkg({ pkg, ticketUrl: ts.lookupUrl, progress: (l) => lines.push(l) });
    expect(lines[0]).toMatch(/^staple: note: \d+ bytes after the xar heap \(offset \d+\) are not a ticket; kept as they are$/);
    expect(readFileSync(pkg).equals(Buffer.concat([damaged, encodeTicketTrailer(ticket)]))).toBe(true);
    expect((await readStapledTicket(pkg))?.ticket.equals(ticket)).toBe(true);
  });

  it('two tickets appended by another tool: the last one is read, --replace drops both', async () => {
    const dir = freshDir();
    const pkg = makeXar(dir);
    const original = readFileSync(pkg);
    const [a, b, c] = [fakeTicket('a', 100), fakeTicket('b', 120), fakeTicket('c', 140)];
    writeFileSync(pkg, Buffer.concat([original, encodeTicketTrailer(a), encodeTicketTrailer(b)]));
    expect(await readStapledTicket(pkg)).toEqual({ ticket: b, xarLength: original.length, count: 2 });
    const ts = await startTicketServer();
    ts.tickets.set(await recordOf(pkg), c);
    await staplePkg({ pkg, ticketUrl: ts.lookupUrl, replace: true });
    expect(readFileSync(pkg).equals(Buffer.concat([original, encodeTicketTrailer(c)]))).toBe(true);
  });

  it('CLI: staple --out --json, then a second staple is exit 3, and not-found is exit 6', async () => {
    const dir = freshDir();
    const pkg = makeXar(dir);
    const ts = await startTicketServer();
    const record = await recordOf(pkg);
    ts.tickets.set(record, fakeTicket('cli', 300));
    const cli = async (args: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd: dir, env: {}, signal: new AbortController().signal });
      return { code, stdout, stderr };
    };
    const a = await cli(['staple', 'aiwatch.pkg', '--out', 'out/aiwatch.pkg', '--ticket-url', ts.lookupUrl, '--json']);
    expect(a.code).toBe(0);
    expect(JSON.parse(a.stdout)).toEqual({ ok: true, pkg, out: path.join(dir, 'out/aiwatch.pkg'), recordName: record, ticketBytes: 300, replaced: false, warnings: [] });
    expect(a.stderr).toBe('');
    const b = await cli(['staple', 'out/aiwatch.pkg', '--ticket-url', ts.lookupUrl]);
    expect(b.code).toBe(3);
    expect(b.stderr).toMatch(/^aiwatch-deploy: .*out\/aiwatch\.pkg: package: already carries a stapled notarization ticket/);
    ts.tickets.clear();
    const c = await cli(['staple', 'aiwatch.pkg', '--ticket-url', ts.lookupUrl]);
    expect(c.code).toBe(6);
    expect(c.stderr).toContain('staple: looking up ticket 2/1/');
    expect(c.stderr).toContain('aiwatch-deploy: ticket lookup: Apple has no notarization ticket for this package');
    expect(c.stdout).toBe('');
  });
});

/**
 * `verify FILE.ps1` and `verify FILE.intunewin` on what `aiwatch-deploy intune` wrote: the generated files pass;
 * each planted corruption (text rules, syntax, signature block, a byte edited after signing, a foreign root,
 * Detection.xml edits re-packed by bsdtar, a damaged ciphertext, a bad inner zip, a tampered script inside a
 * well-formed package) is caught with its own message, exit 1, and no key is ever printed. Oracles: osslsigncode
 * verify (its calculated digest equals ours; it fails where we say the signature does), bsdtar (re-packs the
 * outer zip), unzip -t (the re-packed zip is sound, so the problem is the edit).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIntuneWin, CONTENT_ENTRY, DETECTION_ENTRY, detectionXml, encryptContent, zipEntries } from '../../src/intune/intunewin.js';
import type { CliRun } from '../cli/cli-helpers.js';
import { describeWithTools, run as runTool, tryRun } from '../helpers/tools.js';
import { addSigned, cleanup, expectNoKey, INTUNEWIN, makeWindowsFixture, planted, replaceAt, run, SCRIPTS, type WindowsFixture } from './windows-fixture.js';

interface Report {
  file: string;
  kind: string;
  problems: Array<{ where: string; message: string }>;
  notes: string[];
}

let f: WindowsFixture;
beforeAll(async () => {
  f = await makeWindowsFixture();
});
afterAll(() => cleanup(f));

async function verify(args: string[]): Promise<{ r: CliRun; reports: Report[] }> {
  const r = await run(f, ['verify', '--json', ...args]);
  expectNoKey(r);
  return { r, reports: (r.json().files as Report[]) ?? [] };
}

/** The problem messages of a single-file verify, which must exit 1. */
async function problemsOf(file: string, extra: string[] = []): Promise<string[]> {
  const { r, reports } = await verify([...extra, file]);
  expect(r.code, r.stdout).toBe(1);
  return reports[0]!.problems.map((p) => `${path.relative(f.dir, p.where)}: ${p.message}`);
}

const text = (b: Buffer): string => b.toString('latin1');
const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('verify: what aiwatch-deploy intune writes passes', () => {
  it('every unsigned script and the .intunewin: exit 0, "not signed" as a note, kinds detected', async () => {
    const files = [...SCRIPTS.map((s) => `plain/${s}`), `plain/${INTUNEWIN}`];
    const { r, reports } = await verify(files);
    expect(r.code, r.stdout).toBe(0);
    expect(reports.map((x) => x.kind)).toEqual([...SCRIPTS.map(() => 'powershell-script'), 'intunewin']);
    for (const x of reports.slice(0, 5)) expect(x.notes).toEqual([expect.stringMatching(/^not Authenticode-signed/)]);
    expect(reports[5]!.notes[0]).toBe(`setup file Install-AiwatchDetect.ps1; 5 file(s) in the package: ${SCRIPTS.join(', ')}`);
    const plainText = await run(f, ['verify', ...files]);
    expect(plainText.stdout).toContain('ok      plain/Detect-Aiwatch.ps1 (PowerShell script (.ps1))');
    expect(plainText.stdout).toContain('ok      plain/Install-AiwatchDetect.intunewin (Win32 app package (.intunewin))');
    expect(plainText.stdout).toContain('6 ok, 0 with problems');
  });

  it('--help names pkgs, release zips, .ps1, .intunewin and --ca-file', async () => {
    const r = await run(f, ['verify', '--help']);
    expect(r.code).toBe(0);
    for (const s of ['.pkg', 'release zip', '.ps1', '.intunewin', '--ca-file']) expect(r.stdout).toContain(s);
  });

  it('a missing --ca-file is an input-file error (exit 3) before anything is checked', async () => {
    const r = await run(f, ['verify', '--ca-file', 'nope.pem', `plain/${SCRIPTS[0]}`]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/nope\.pem: --ca-file: no such file/);
  });
});

describe('verify FILE.ps1: planted corruptions of an unsigned script', () => {
  const scan = 'plain/Invoke-AiwatchScan.ps1';
  const bom = (b: Buffer) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]);
  const cases: Array<[string, (b: Buffer) => Buffer, RegExp[]]> = [
    ['LF line ends', (b) => bytes(text(b).replace(/\r\n/g, '\n')), [/: line ends must all be CRLF$/]],
    ['a UTF-8 byte-order mark', bom, [/: must not start with a byte-order mark$/]],
    ['a non-ASCII letter in a comment', (b) => Buffer.from(text(b).replace('\r\n#', '\r\n# caf\u00e9'), 'utf8'), [/: line \d+ holds U\+00E9; generated PowerShell must be ASCII/]],
    ['a byte-order mark and a non-ASCII letter', (b) => bom(Buffer.from(text(b).replace('\r\n#', '\r\n# \u00fc'), 'utf8')), [/: must not start with a byte-order mark$/, /: line \d+ holds U\+00FC;/]],
    ['over 200 KB', (b) => Buffer.concat([b, Buffer.from('# padding\r\n'.repeat(20_000))]), [/: \d+ bytes is over Intune's 204800-byte script limit/]],
    ['UTF-16LE', (b) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text(b), 'utf16le')]), [/: is UTF-16LE; generated PowerShell must be ASCII/]],
    ['a try without catch', (b) => Buffer.concat([b, Buffer.from('try {\r\n    1\r\n}\r\n')]), [/: line \d+, column 1: try without catch or finally$/]],
  ];
  for (const [what, edit, expected] of cases) {
    it(`${what}: ${expected.length === 1 ? 'one problem' : 'each problem once'}`, async () => {
      const file = planted(f, scan, `bad/${what.replace(/\W+/g, '-')}/Invoke-AiwatchScan.ps1`, edit);
      expect(await problemsOf(file)).toEqual(expected.map((m) => expect.stringMatching(m)));
    });
  }

  it('a syntax error: an unclosed brace', async () => {
    const file = planted(f, scan, 'bad/brace/Invoke-AiwatchScan.ps1', (b) => bytes(text(b).replace('function Invoke-AiwatchMain {', 'function Invoke-AiwatchMain {{')));
    const problems = await problemsOf(file);
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) expect(p).toMatch(/: line \d+, column \d+: PowerShell syntax error/);
  });

  it('a syntax error on the line holding the key: reported by position, the key never quoted', async () => {
    const file = planted(f, scan, 'bad/key-line/Invoke-AiwatchScan.ps1', (b) => bytes(text(b).replace("$AiwatchOrgApiKey = '", '$AiwatchOrgApiKey = "')));
    const problems = await problemsOf(file);
    expect(problems.join('\n')).toMatch(/PowerShell syntax error/);
    expect(problems.join('\n')).not.toContain('rl_org');
  });

  it('a signature block of garbage, or one without its end line, or an end line alone', async () => {
    const block = '\r\n# SIG # Begin signature block\r\n# MIIB\r\n# SIG # End signature block\r\n';
    const garbage = planted(f, scan, 'bad/garbage/Invoke-AiwatchScan.ps1', (b) => Buffer.concat([b, Buffer.from(block)]));
    expect(await problemsOf(garbage)).toEqual([expect.stringMatching(/signature: the signature block does not hold an Authenticode PKCS#7 signature/)]);
    const open = planted(f, scan, 'bad/open/Invoke-AiwatchScan.ps1', (b) => Buffer.concat([b, Buffer.from('\r\n# SIG # Begin signature block\r\n# MIIB\r\n')]));
    expect(await problemsOf(open)).toEqual([expect.stringMatching(/signature: the signature block has no "# SIG # End signature block" line$/)]);
    const end = planted(f, scan, 'bad/end/Invoke-AiwatchScan.ps1', (b) => Buffer.concat([b, Buffer.from('# SIG # End signature block\r\n')]));
    expect(await problemsOf(end)).toEqual([expect.stringMatching(/signature: "# SIG # End signature block" without a begin line$/)]);
  });
});

/** Re-pack an .intunewin's two entries with bsdtar after `edit` changed Detection.xml (stored, like the original). */
function repack(from: string, to: string, edit: (xml: string) => string, entries = [CONTENT_ENTRY, DETECTION_ENTRY]): string {
  const work = path.join(f.dir, `${to}.d`);
  mkdirSync(work, { recursive: true });
  runTool('bsdtar', ['-xf', path.join(f.dir, from), '-C', work]);
  const xml = path.join(work, DETECTION_ENTRY);
  writeFileSync(xml, edit(readFileSync(xml, 'utf8')));
  runTool('bsdtar', ['--format', 'zip', '--options', 'zip:compression=store', '-cf', path.join(f.dir, to), '-C', work, ...entries]);
  expect(tryRun('unzip', ['-tq', path.join(f.dir, to)]).status).toBe(0);
  return to;
}

describeWithTools(['bsdtar', 'unzip'], 'verify FILE.intunewin: planted corruptions', () => {
  const pkg = `plain/${INTUNEWIN}`;
  const tag = (name: string, value: string) => (xml: string) => xml.replace(new RegExp(`<${name}>[^<]*</${name}>`), `<${name}>${value}</${name}>`);

  it('re-packed by bsdtar without an edit, it still passes (so each problem below is the edit)', async () => {
    const { r } = await verify([repack(pkg, 'repacked.intunewin', (x) => x)]);
    expect(r.code, r.stdout).toBe(0);
  });

  const edits: Array<[string, (xml: string) => string, RegExp]> = [
    ['a SetupFile the package does not hold', tag('SetupFile', 'Missing.ps1'), /^repacked-\d\.intunewin: setup file "Missing\.ps1" is not in the package \(it holds \["Detect-Aiwatch\.ps1",/],
    ['a wrong UnencryptedContentSize', (x) => x.replace(/<UnencryptedContentSize>(\d+)</, (_m, n: string) => `<UnencryptedContentSize>${Number(n) + 1}<`), /: Detection\.xml: UnencryptedContentSize is \d+, the decrypted content is \d+ bytes$/],
    ['a wrong FileDigest', tag('FileDigest', Buffer.alloc(32, 7).toString('base64')), /: Detection\.xml: FileDigest is not the SHA-256 of the decrypted content$/],
    ['a wrong Mac', tag('Mac', Buffer.alloc(32, 9).toString('base64')), /: IntuneWinPackage\/Contents\/IntunePackage\.intunewin: its HMAC differs from Detection\.xml's Mac$/],
    ['a wrong FileName', tag('FileName', 'Other.bin'), /Detection\.xml: FileName must be IntunePackage\.intunewin, got "Other\.bin"$/],
    ['an empty Name', tag('Name', ''), /Detection\.xml: Name is empty/],
    ['XML that is not well-formed (which xmlbuilder2 would read as all values empty)', (x) => x.replace('</Name>', ''), /^repacked-\d\.intunewin:Detection\.xml: not well-formed XML: <\/ApplicationInfo> closes <Name>/],
    ['an element missing', (x) => x.replace(/\s*<Mac>[^<]*<\/Mac>/, ''), /^repacked-\d\.intunewin:Detection\.xml: missing EncryptionInfo\/Mac$/],
  ];
  edits.forEach(([what, edit, message], i) => {
    it(`${what}: one problem`, async () => {
      const problems = await problemsOf(repack(pkg, `repacked-${i}.intunewin`, edit));
      expect(problems).toEqual([expect.stringMatching(message)]);
    });
  });

  it('an EncryptionKey of the wrong length: named, its value not printed', async () => {
    const key = /<EncryptionKey>([^<]+)</.exec(readFileSync(path.join(f.dir, pkg), 'latin1'))![1]!;
    const file = repack(pkg, 'shortkey.intunewin', tag('EncryptionKey', key.slice(0, 40)));
    const { r } = await verify([file]);
    expect(r.stdout).toMatch(/Detection\.xml: EncryptionKey must be 32 bytes in base64, got 30 bytes \(value not shown\)/);
    expect(r.stdout).not.toContain(key.slice(0, 12));
  });

  it('Detection.xml missing from the zip', async () => {
    expect(await problemsOf(repack(pkg, 'nodetection.intunewin', (x) => x, [CONTENT_ENTRY]))).toEqual([
      expect.stringMatching(/: expected exactly IntuneWinPackage\/Contents\/IntunePackage\.intunewin and IntuneWinPackage\/Metadata\/Detection\.xml, found \["IntuneWinPackage\/Contents\/IntunePackage\.intunewin"\]$/),
    ]);
  });

  it('a flipped ciphertext byte: the HMAC (yauzl does not check CRCs; unzip -t does, and agrees the file is damaged)', async () => {
    const file = planted(f, pkg, 'flipped.intunewin', (b) => {
      const dataStart = 30 + b.readUInt16LE(26) + b.readUInt16LE(28);
      const out = Buffer.from(b);
      const i = dataStart + 32 + 16 + 100;
      out.writeUInt8(out.readUInt8(i) ^ 0x01, i);
      return out;
    });
    expect(tryRun('unzip', ['-tq', path.join(f.dir, file)]).status).not.toBe(0);
    const problems = await problemsOf(file);
    expect(problems).toEqual([
      'flipped.intunewin: IntuneWinPackage/Contents/IntunePackage.intunewin: HMAC-SHA256 over IV and ciphertext does not match its first 32 bytes',
      'flipped.intunewin: Detection.xml: FileDigest is not the SHA-256 of the decrypted content',
    ]);
  });
});

describe('verify FILE.intunewin: well-formed packages with bad contents', () => {
  const scripts = () => SCRIPTS.map((name) => ({ name, data: readFileSync(path.join(f.dir, 'plain', name)) }));

  it('encrypted content that is not a zip (HMAC, size and digest all consistent)', async () => {
    const keys = { encryptionKey: Buffer.alloc(32, 1), macKey: Buffer.alloc(32, 2), iv: Buffer.alloc(16, 3) };
    const inner = Buffer.from('not a zip at all');
    const { encrypted, mac } = encryptContent(inner, keys);
    const xml = detectionXml({ name: 'x.ps1', setupFile: 'x.ps1', unencryptedContentSize: inner.length, keys, mac, fileDigest: createHash('sha256').update(inner).digest() });
    const outer = await zipEntries([{ name: CONTENT_ENTRY, data: encrypted }, { name: DETECTION_ENTRY, data: Buffer.from(xml) }], { compress: false, mtime: new Date(0) });
    writeFileSync(path.join(f.dir, 'notzip.intunewin'), outer);
    expect(await problemsOf('notzip.intunewin')).toEqual([expect.stringMatching(/^notzip\.intunewin:IntunePackage\.intunewin: the decrypted content is not a readable zip/)]);
  });

  it('a script inside breaking the text rules is named inside the package', async () => {
    const files = scripts().map((s) => (s.name === 'Detect-Aiwatch.ps1' ? { ...s, data: bytes(text(s.data).replace(/\r\n/g, '\n')) } : s));
    writeFileSync(path.join(f.dir, 'lf-inside.intunewin'), (await buildIntuneWin({ files, setupFile: 'Install-AiwatchDetect.ps1' })).bytes);
    expect(await problemsOf('lf-inside.intunewin')).toEqual(['lf-inside.intunewin:Detect-Aiwatch.ps1: line ends must all be CRLF']);
  });

  it('a file named .intunewin that is not a zip', async () => {
    writeFileSync(path.join(f.dir, 'text.intunewin'), 'hello\n');
    expect(await problemsOf('text.intunewin')).toEqual([expect.stringMatching(/^text\.intunewin: not a readable zip/)]);
  });
});

describeWithTools(['osslsigncode', 'openssl'], 'verify signed scripts (test CA from openssl; osslsigncode as the oracle)', () => {
  let s: Required<WindowsFixture>;
  beforeAll(async () => {
    s = await addSigned(f);
  }, 60_000);

  const ossl = (file: string, ca = s.pki.caCert) => tryRun('osslsigncode', ['verify', '-in', path.join(f.dir, file), '-CAfile', ca, '-ignore-cdp']);
  const calculated = (out: string) => /Calculated message digest\s*:\s*([0-9A-F]{64})/.exec(out)?.[1];

  it('signed scripts and package pass; the signer is a note; with --ca-file they chain (osslsigncode agrees)', async () => {
    const files = [...SCRIPTS.map((n) => `signed/${n}`), `signed/${INTUNEWIN}`];
    const plain = await verify(files);
    expect(plain.r.code, plain.r.stdout).toBe(0);
    for (const x of plain.reports.slice(0, 5)) expect(x.notes).toEqual(['Authenticode-signed by "CN=Test cs", no timestamp']);
    const anchored = await verify(['--ca-file', s.pki.caCert, ...files]);
    expect(anchored.r.code, anchored.r.stdout).toBe(0);
    expect(anchored.reports[0]!.notes).toEqual(['Authenticode-signed by "CN=Test cs", no timestamp; chains to --ca-file (osslsigncode verify)']);
    expect(anchored.reports[5]!.notes[1]).toBe(`${SCRIPTS.join(', ')}: Authenticode-signed by "CN=Test cs", no timestamp; chains to --ca-file (osslsigncode verify)`);
    for (const n of SCRIPTS) expect(ossl(`signed/${n}`).status, n).toBe(0);
  });

  it('--ca-file of an unrelated root: the chain fails (osslsigncode exits non-zero too); an unsigned script fails it as well', async () => {
    expect(ossl('signed/Detect-Aiwatch.ps1', s.otherCa).status).not.toBe(0);
    expect(await problemsOf('signed/Detect-Aiwatch.ps1', ['--ca-file', s.otherCa])).toEqual([
      'signed/Detect-Aiwatch.ps1: osslsigncode verify against --ca-file failed: Error: unable to get local issuer certificate; Signature verification: failed',
    ]);
    expect(await problemsOf('plain/Detect-Aiwatch.ps1', ['--ca-file', s.pki.caCert])).toEqual(['plain/Detect-Aiwatch.ps1: not signed, so it cannot chain to --ca-file']);
  });

  it('a one-byte edit after signing: our digest of the text is osslsigncode\'s calculated digest; with --ca-file both checks fail', async () => {
    const file = planted(f, 'signed/Detect-Aiwatch.ps1', 'tampered/Detect-Aiwatch.ps1', (b) => replaceAt(b, text(b).indexOf("'Stop'") + 1, 's'));
    const oracle = ossl(file);
    expect(oracle.status).not.toBe(0);
    expect(oracle.stdout + oracle.stderr).toMatch(/MISMATCH/);
    const problems = await problemsOf(file);
    expect(problems).toHaveLength(1);
    const m = /^tampered\/Detect-Aiwatch\.ps1:signature: the script was changed after signing: sha256 of its text \(UTF-16LE\) is ([0-9A-F]{64}), the signature holds ([0-9A-F]{64})$/.exec(problems[0]!);
    expect(m, problems[0]).not.toBeNull();
    expect(m![1]).toBe(calculated(oracle.stdout + oracle.stderr));
    expect(m![2]).toBe(/Current message digest\s*:\s*([0-9A-F]{64})/.exec(oracle.stdout + oracle.stderr)?.[1]);
    const anchored = await problemsOf(file, ['--ca-file', s.pki.caCert]);
    expect(anchored).toHaveLength(2);
    expect(anchored[1]).toMatch(/^tampered\/Detect-Aiwatch\.ps1: osslsigncode verify against --ca-file failed: .*MISMATCH/);
  });

  it('single-character edits spread over the signed text: each caught, and osslsigncode agrees each time', async () => {
    const original = readFileSync(path.join(f.dir, 'signed/Uninstall-Aiwatch.ps1'));
    const covered = text(original).indexOf('\r\n# SIG # Begin signature block');
    for (let k = 0; k < 6; k++) {
      const i = Math.floor(((k + 0.5) * covered) / 6);
      const c = text(original)[i] === 'x' ? 'y' : 'x';
      if (/[\r\n]/.test(text(original)[i]!)) continue;
      const file = planted(f, 'signed/Uninstall-Aiwatch.ps1', `edits/${k}/Uninstall-Aiwatch.ps1`, (b) => replaceAt(b, i, c));
      expect(ossl(file).status, `offset ${i}`).not.toBe(0);
      const { r, reports } = await verify([file]);
      expect(r.code, `offset ${i}`).toBe(1);
      expect(reports[0]!.problems.map((p) => p.message).join('\n')).toMatch(/the script was changed after signing/);
    }
  });

  it('a changed byte inside the signature value: the PKCS#7 signature does not verify (osslsigncode agrees)', async () => {
    const file = planted(f, 'signed/Detect-Aiwatch.ps1', 'sigvalue/Detect-Aiwatch.ps1', (b) => {
      const t = text(b);
      const lines = t.slice(0, t.lastIndexOf('# SIG # End signature block')).split('\r\n');
      const at = t.indexOf(lines[lines.length - 3]!) + 10;
      return replaceAt(b, at, t[at] === 'A' ? 'B' : 'A');
    });
    expect(ossl(file).status).not.toBe(0);
    expect(await problemsOf(file)).toEqual([expect.stringMatching(/^sigvalue\/Detect-Aiwatch\.ps1:signature: the PKCS#7 signature does not verify with the signer's certificate/)]);
  });

  it('code appended after the signature block: caught here, although osslsigncode accepts it', async () => {
    const code = 'Remove-Item C:\\ -Recurse\r\n';
    const file = planted(f, 'signed/Detect-Aiwatch.ps1', 'appended/Detect-Aiwatch.ps1', (b) => Buffer.concat([b, Buffer.from(code)]));
    expect(ossl(file).status).toBe(0);
    expect(await problemsOf(file)).toEqual([`appended/Detect-Aiwatch.ps1:signature: ${code.length} characters follow the signature block; they are not covered by the signature`]);
  });

  it("another script's signature block: the digest does not match", async () => {
    const detect = text(readFileSync(path.join(f.dir, 'signed/Detect-Aiwatch.ps1')));
    const block = detect.slice(detect.indexOf('\r\n# SIG # Begin signature block'));
    const file = planted(f, 'plain/Uninstall-Aiwatch.ps1', 'transplant/Uninstall-Aiwatch.ps1', (b) => Buffer.concat([b, bytes(block)]));
    expect(ossl(file).status).not.toBe(0);
    expect(await problemsOf(file)).toEqual([expect.stringMatching(/:signature: the script was changed after signing/)]);
  });

  it('signed with a TLS (serverAuth) certificate: the signer lacks Code Signing (osslsigncode fails against the CA too)', async () => {
    const out = path.join(f.dir, 'tls/Detect-Aiwatch.ps1');
    mkdirSync(path.dirname(out), { recursive: true });
    runTool('osslsigncode', ['sign', '-pkcs12', s.pki.pfxServerAuth, '-readpass', path.join(s.pki.dir, 'pw.txt'), '-h', 'sha256', '-in', path.join(f.dir, 'plain/Detect-Aiwatch.ps1'), '-out', out]);
    expect(ossl('tls/Detect-Aiwatch.ps1').status).not.toBe(0);
    expect(await problemsOf('tls/Detect-Aiwatch.ps1')).toEqual(['tls/Detect-Aiwatch.ps1:signature: signer "Test tls" lacks the Code Signing extended key usage (1.3.6.1.5.5.7.3.3); Windows refuses such a signature']);
  });

  it('a well-formed .intunewin carrying a signed script edited after signing: caught through the script signature', async () => {
    const files = SCRIPTS.map((name) => {
      const data = readFileSync(path.join(f.dir, 'signed', name));
      return { name, data: name === 'Install-AiwatchDetect.ps1' ? replaceAt(data, text(data).indexOf("'Stop'") + 1, 's') : data };
    });
    writeFileSync(path.join(f.dir, 'tampered-inside.intunewin'), (await buildIntuneWin({ files, setupFile: 'Install-AiwatchDetect.ps1' })).bytes);
    expect(await problemsOf('tampered-inside.intunewin')).toEqual([expect.stringMatching(/^tampered-inside\.intunewin:Install-AiwatchDetect\.ps1:signature: the script was changed after signing/)]);
    const anchored = await problemsOf('tampered-inside.intunewin', ['--ca-file', s.pki.caCert]);
    expect(anchored[1]).toMatch(/^tampered-inside\.intunewin:Install-AiwatchDetect\.ps1: osslsigncode verify against --ca-file failed: .*MISMATCH/);
  });
});

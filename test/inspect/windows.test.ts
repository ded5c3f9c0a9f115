/**
 * `inspect FILE.ps1` and `inspect FILE.intunewin` on what `aiwatch-deploy intune` wrote. Oracles: wc (size, line
 * count), openssl (the signer certificate's fingerprint and serial; decrypting the package with the key and IV from
 * Detection.xml), unzip (outer and decrypted inner listings). Never printed: the org key, the script text, the
 * package's EncryptionKey, MacKey and IV (in base64 or hex).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithTools, run as runTool } from '../helpers/tools.js';
import { addSigned, cleanup, expectNoKey, INTUNEWIN, makeWindowsFixture, planted, replaceAt, run, SCRIPTS, type WindowsFixture } from '../verify/windows-fixture.js';

let f: WindowsFixture;
beforeAll(async () => {
  f = await makeWindowsFixture();
});
afterAll(() => cleanup(f));

async function inspect(file: string, json = false): Promise<string> {
  const r = await run(f, ['inspect', ...(json ? ['--json'] : []), file]);
  expect(r.code, r.stderr).toBe(0);
  expectNoKey(r);
  return r.stdout;
}

const abs = (file: string) => path.join(f.dir, file);

describeWithTools(['wc'], 'inspect FILE.ps1', () => {
  it('size, encoding, CRLF line ends and line count (wc agrees), not signed; no script text', async () => {
    const file = 'plain/Invoke-AiwatchScan.ps1';
    const [lines, size] = runTool('wc', ['-lc', abs(file)]).trim().split(/\s+/).map(Number);
    expect(size).toBe(statSync(abs(file)).size);
    const out = await inspect(file);
    expect(out).toContain(`${file}: PowerShell script\n`);
    expect(out).toMatch(new RegExp(`\\n  size +${size} bytes\\n  encoding +ASCII\\n  line endings +CRLF only \\(${lines}\\)\\n  lines +${lines}\\n`));
    expect(out).toContain('== Authenticode signature\n  not signed\n');
    for (const line of readFileSync(abs(file), 'latin1').split('\r\n').filter((l) => l.length > 12)) expect(out).not.toContain(line);
    const j = JSON.parse(await inspect(file, true)) as { kind: string; size: number; lineEndings: unknown; signature: { signed: boolean } };
    expect(j).toMatchObject({ kind: 'ps1', size, lineEndings: { crlf: lines, lf: 0, cr: 0 }, signature: { signed: false } });
  });

  it('LF line ends and a BOM are shown as such', async () => {
    const file = planted(f, 'plain/Detect-Aiwatch.ps1', 'insp/lf/Detect-Aiwatch.ps1', (b) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(b.toString('latin1').replace(/\r\n/g, '\n'), 'latin1')]));
    const lines = Number(runTool('wc', ['-l', abs(file)]).trim().split(/\s+/)[0]);
    const out = await inspect(file);
    expect(out).toMatch(/\n {2}encoding +UTF-8 with BOM\n/);
    expect(out).toContain(`line endings  LF only (${lines}); Intune scripts need CRLF`);
  });
});

describeWithTools(['osslsigncode', 'openssl'], 'inspect FILE.ps1, signed', () => {
  let s: Required<WindowsFixture>;
  beforeAll(async () => {
    s = await addSigned(f);
  }, 60_000);

  it('signer subject, serial and SHA-256 as openssl reads them from the signing certificate; the text matches', async () => {
    const crt = path.join(s.pki.dir, 'cs.crt');
    const fingerprint = runTool('openssl', ['x509', '-in', crt, '-noout', '-fingerprint', '-sha256']).trim().split('=')[1]!;
    const serial = runTool('openssl', ['x509', '-in', crt, '-noout', '-serial']).trim().split('=')[1]!;
    const out = await inspect('signed/Detect-Aiwatch.ps1');
    expect(out).toContain('  signed by "CN=Test cs"; text matches the signature, signature verifies\n');
    expect(out).toMatch(/digest +sha256 over the first \d+ characters \(UTF-16LE\): matches the text/);
    expect(out).toContain(`SHA-256  ${fingerprint}`);
    expect(out).toContain(`Serial   ${serial}`);
    expect(out).toContain('Issuer   CN=aiwatch-deploy Test Root');
    expect(out).toContain('timestamp         none');
  });

  it('edited after signing: the digest no longer matches, shown as a PROBLEM (inspect still exits 0)', async () => {
    const file = planted(f, 'signed/Detect-Aiwatch.ps1', 'insp/tampered/Detect-Aiwatch.ps1', (b) => replaceAt(b, b.toString('latin1').indexOf("'Stop'") + 1, 's'));
    const out = await inspect(file);
    expect(out).toContain('  signed by "CN=Test cs"; 1 PROBLEM(S)\n');
    expect(out).toMatch(/: DOES NOT MATCH the text\n/);
    expect(out).toMatch(/\n {2}PROBLEM: the script was changed after signing/);
  });

  it('the scripts inside a signed .intunewin: one line each, signer named', async () => {
    const out = await inspect(`signed/${INTUNEWIN}`);
    for (const n of SCRIPTS) expect(out).toMatch(new RegExp(`\\n  ${n.replace('.', '\\.')}: \\d+ bytes, ASCII, line endings CRLF only \\(\\d+\\); signed by "CN=Test cs"; text matches the signature, signature verifies\\n`));
  });
});

/** The secret values of Detection.xml, read with unzip, in base64 and hex. */
function packageSecrets(file: string): { all: string[]; key: string; iv: string } {
  const xml = runTool('unzip', ['-p', abs(file), 'IntuneWinPackage/Metadata/Detection.xml']);
  const value = (tag: string) => new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(xml)![1]!;
  const b64 = ['EncryptionKey', 'MacKey', 'InitializationVector'].map(value);
  const hex = b64.map((v) => Buffer.from(v, 'base64').toString('hex'));
  return { all: [...b64, ...hex, ...hex.map((h) => h.toUpperCase())], key: hex[0]!, iv: hex[2]! };
}

describeWithTools(['unzip', 'openssl'], 'inspect FILE.intunewin', () => {
  const pkg = `plain/${INTUNEWIN}`;

  it('Detection.xml summary; keys, MAC key and IV only as present; outer and inner listings as unzip and openssl see them', async () => {
    const secrets = packageSecrets(pkg);
    const out = await inspect(pkg);
    const json = await inspect(pkg, true);
    for (const v of secrets.all) {
      expect(out).not.toContain(v);
      expect(json).not.toContain(v);
    }
    expect(out).toMatch(/: Win32 app package \(\.intunewin\); HMAC, IV, decryption, size and digest check out\n/);
    expect(out).toMatch(/\n {2}Name +Install-AiwatchDetect\.ps1\n {2}SetupFile +Install-AiwatchDetect\.ps1\n {2}FileName +IntunePackage\.intunewin\n/);
    expect(out).toMatch(/\n {2}EncryptionKey +present, 32 bytes \(not shown\)\n {2}MacKey +present, 32 bytes \(not shown\)\n {2}InitializationVector +present, 16 bytes \(not shown\)\n {2}Mac +present, 32 bytes \(not shown\)\n/);
    // Oracle: decrypt with openssl, list with unzip.
    const blob = execFileSync('unzip', ['-p', abs(pkg), 'IntuneWinPackage/Contents/IntunePackage.intunewin']);
    const inner = execFileSync('openssl', ['enc', '-d', '-aes-256-cbc', '-K', secrets.key, '-iv', secrets.iv], { input: blob.subarray(48) });
    expect(out).toMatch(new RegExp(`\\n  UnencryptedContentSize +${inner.length} bytes\\n`));
    writeFileSync(abs('inner.zip'), inner);
    const listed = runTool('unzip', ['-l', abs('inner.zip')]).split('\n').map((l) => /^\s*(\d+)\s+\S+\s+\S+\s+(\S+\.ps1)$/.exec(l)).filter((m) => m !== null);
    expect(listed.map((m) => m[2])).toEqual(SCRIPTS);
    for (const m of listed) expect(out).toMatch(new RegExp(`\\n  ${m[2]!.replace('.', '\\.')} +${m[1]} bytes \\(\\d+ in the zip\\)  2026-01-01T00:00:00\\.000Z\\n`));
    expect(out).toContain(`IntuneWinPackage/Contents/IntunePackage.intunewin  ${String(blob.length).padStart(8)} bytes (stored)`);
    const j = JSON.parse(json) as { kind: string; detection: { encryption: Record<string, unknown> } };
    expect(j.kind).toBe('intunewin');
    expect(j.detection.encryption).toEqual({ encryptionKey: { present: true, bytes: 32 }, macKey: { present: true, bytes: 32 }, initializationVector: { present: true, bytes: 16 }, mac: { present: true, bytes: 32 } });
  });

  it('a damaged package: its problems listed, no key printed (inspect exits 0)', async () => {
    const secrets = packageSecrets(pkg);
    const file = planted(f, pkg, 'insp/flipped.intunewin', (b) => {
      const i = 30 + b.readUInt16LE(26) + b.readUInt16LE(28) + 60;
      const out = Buffer.from(b);
      out.writeUInt8(out.readUInt8(i) ^ 1, i);
      return out;
    });
    const out = await inspect(file);
    expect(out).toMatch(/\(\.intunewin\); 2 PROBLEM\(S\)\n {2}PROBLEM: IntuneWinPackage\/Contents\/IntunePackage\.intunewin: HMAC-SHA256 over IV and ciphertext does not match its first 32 bytes\n {2}PROBLEM: Detection\.xml: FileDigest is not the SHA-256 of the decrypted content\n/);
    for (const v of secrets.all) expect(out).not.toContain(v);
  });
});

describe('inspect: files that only look like Windows artifacts', () => {
  it('a .intunewin that is not a zip: input-file error, exit 3', async () => {
    writeFileSync(abs('junk.intunewin'), 'not a zip');
    const r = await run(f, ['inspect', 'junk.intunewin']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/junk\.intunewin: inspect: not a readable \.intunewin zip/);
  });
});

/**
 * Authenticode signing of the Intune scripts with osslsigncode, checked by osslsigncode itself against a test CA
 * made here with openssl: every signed script verifies, a one-byte edit does not, the payload embedded in a wrapper
 * is the signed one, the PFX password never reaches argv (a PATH shim records the real calls), and a bad PFX is
 * refused before any tool runs.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { InputFileError, ToolError, UsageError } from '../../src/errors.js';
import { scriptTextProblems } from '../../src/intune/intune-checks.js';
import { buildIntuneScripts, type IntuneFile } from '../../src/intune/intune.js';
import { Secret } from '../../src/secret.js';
import { authenticodeSigner, checkSigningPfx } from '../../src/sign/authenticode.js';
import { describeWithTools, tryRun } from '../helpers/tools.js';
import { makePki, PASSWORD, type Pki } from './pki.js';
import { VARIANTS } from './helpers.js';
import { psSyntaxProblems } from './ps-parse.js';

const password = () => new Secret(PASSWORD, '--pfx-password-file');

function verify(pki: Pki, file: IntuneFile, text = file.text): { status: number; out: string } {
  const p = path.join(pki.dir, `verify-${file.name}`);
  writeFileSync(p, text, 'latin1');
  const r = tryRun('osslsigncode', ['verify', '-in', p, '-CAfile', pki.caCert]);
  return { status: r.status, out: r.stdout + r.stderr };
}

describeWithTools(['osslsigncode', 'openssl'], 'Authenticode signing (osslsigncode, test CA from openssl)', () => {
  let pki: Pki;
  let signed: IntuneFile[];
  beforeAll(async () => {
    pki = makePki();
    signed = await buildIntuneScripts(VARIANTS.full!(), authenticodeSigner({ pfxFile: pki.pfx, password: password(), caFile: pki.caCert, description: 'Runlayer aiwatch' }));
  }, 120_000);
  afterAll(() => rmSync(pki.dir, { recursive: true, force: true }));

  it('every script is signed, and osslsigncode verify passes against the test CA', () => {
    expect(signed).toHaveLength(7);
    for (const f of signed) {
      expect(f.text, f.name).toMatch(/\r\n# SIG # Begin signature block\r\n(# [A-Za-z0-9+/=]+\r\n)+# SIG # End signature block\r\n$/);
      const r = verify(pki, f);
      expect(r.status, `${f.name}\n${r.out}`).toBe(0);
      expect(r.out).toMatch(/Signature verification: ok/);
      expect(r.out).toMatch(/Succeeded/);
    }
  });

  it('signed scripts still obey the text rules and still parse', async () => {
    for (const f of signed) {
      expect(scriptTextProblems(f.name, f.text), f.name).toEqual([]);
      expect(await psSyntaxProblems(f.text), f.name).toEqual([]);
    }
  });

  it('a one-byte edit makes verification fail', () => {
    const f = signed.find((s) => s.name === 'Detect-Aiwatch.ps1')!;
    const i = f.text.indexOf("'Stop'");
    const tampered = `${f.text.slice(0, i + 1)}s${f.text.slice(i + 2)}`;
    expect(tampered.length).toBe(f.text.length);
    const r = verify(pki, f, tampered);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/MISMATCH/);
  });

  it('the scan script a wrapper installs is the signed one, and it verifies', () => {
    const install = signed.find((s) => s.name === 'Install-AiwatchDetect.ps1')!;
    const embedded = Buffer.from(/\$AiwatchScanScriptBase64 = '([^']+)'/.exec(install.text)![1]!.replace(/\s/g, ''), 'base64').toString('latin1');
    const scan = signed.find((s) => s.name === 'Invoke-AiwatchScan.ps1')!;
    expect(embedded).toBe(scan.text);
    expect(verify(pki, scan, embedded).status).toBe(0);
  });

  it('the password goes through osslsigncode\'s stdin (-readpass -), never a file or the command line', async () => {
    const real = execFileSync('sh', ['-c', 'command -v osslsigncode'], { encoding: 'utf8' }).trim();
    const shimDir = path.join(pki.dir, 'shim');
    const log = path.join(pki.dir, 'shim.log');
    execFileSync('mkdir', ['-p', shimDir]);
    writeFileSync(
      path.join(shimDir, 'osslsigncode'),
      `#!/bin/sh\nprintf '%s\\n' "ARGV $*" >> '${log}'\nprev=''\nfor a in "$@"; do\n  if [ "$prev" = -readpass ] && [ "$a" != - ]; then printf 'FILE %s\\n' "$a" >> '${log}'; fi\n  prev=$a\ndone\nexec '${real}' "$@"\n`,
    );
    chmodSync(path.join(shimDir, 'osslsigncode'), 0o755);
    const savedPath = process.env.PATH;
    process.env.PATH = `${shimDir}:${savedPath}`;
    try {
      const one = [VARIANTS.detect!].map((v) => v())[0]!;
      await buildIntuneScripts(one, authenticodeSigner({ pfxFile: pki.pfx, password: password(), caFile: pki.caCert }));
    } finally {
      process.env.PATH = savedPath;
    }
    const text = readFileSync(log, 'utf8');
    expect(text).toMatch(/^ARGV sign -pkcs12 \S+cs\.pfx -readpass - -h sha256 /m);
    expect(text).toMatch(/^ARGV verify -in /m);
    expect(text.match(/^ARGV sign /gm)).toHaveLength(5);
    expect(text).not.toMatch(/^FILE /m);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain('ss\'w');
  });

  it('without --sign-ca-file the PFX certificates are the trust anchors: a chain to a private root needs it', async () => {
    const one = VARIANTS.detect!();
    await expect(buildIntuneScripts(one, authenticodeSigner({ pfxFile: pki.pfx, password: password() }))).rejects.toThrow(
      /osslsigncode: verify failed for Invoke-AiwatchScan\.ps1 right after signing \(if the chain ends at a private root, give it with --sign-ca-file\)/,
    );
    const ok = await buildIntuneScripts(one, authenticodeSigner({ pfxFile: pki.pfxWithRoot, password: password() }));
    expect(ok.every((f) => f.text.includes('# SIG # Begin signature block'))).toBe(true);
  });

  it('a PFX without password signs without -readpass', async () => {
    const out = await buildIntuneScripts(VARIANTS.detect!(), authenticodeSigner({ pfxFile: pki.pfxNoPassword, caFile: pki.caCert }));
    expect(verify(pki, out[0]!).status).toBe(0);
  });

  it('refuses a bad PFX before running any tool, saying why', async () => {
    const wrong = checkSigningPfx({ pfxFile: pki.pfx, password: new Secret('nope', '--pfx-password-file') });
    await expect(wrong).rejects.toBeInstanceOf(UsageError);
    await expect(wrong).rejects.toThrow(/wrong password for this PKCS#12 file \(from --pfx-password-file: \*{8}\)/);
    await expect(checkSigningPfx({ pfxFile: pki.pfxServerAuth, password: password() })).rejects.toThrow(/lacks the Code Signing extended key usage \(1\.3\.6\.1\.5\.5\.7\.3\.3\); it has 1\.3\.6\.1\.5\.5\.7\.3\.1/);
    await expect(checkSigningPfx({ pfxFile: pki.pfxNoKey, password: password() })).rejects.toBeInstanceOf(InputFileError);
    await expect(checkSigningPfx({ pfxFile: pki.pfx, password: password(), now: new Date(Date.now() + 400 * 86400_000) })).rejects.toThrow(/certificate "Test cs" expired on/);
    await expect(checkSigningPfx({ pfxFile: path.join(pki.dir, 'missing.pfx') })).rejects.toThrow(/--sign-pfx: no such file/);
    const info = await checkSigningPfx({ pfxFile: pki.pfx, password: password() });
    expect(info.signer.commonName).toBe('Test cs');
  });

  it('refuses an osslsigncode too old to sign scripts (2.5, as in Debian 12 main)', async () => {
    const shimDir = path.join(pki.dir, 'old');
    execFileSync('mkdir', ['-p', shimDir]);
    writeFileSync(path.join(shimDir, 'osslsigncode'), "#!/bin/sh\necho 'osslsigncode 2.5, using:'\nexit 0\n");
    chmodSync(path.join(shimDir, 'osslsigncode'), 0o755);
    const savedPath = process.env.PATH;
    process.env.PATH = `${shimDir}:${savedPath}`;
    try {
      await expect(buildIntuneScripts(VARIANTS.detect!(), authenticodeSigner({ pfxFile: pki.pfx, password: password() }))).rejects.toThrow(
        /osslsigncode: version 2\.5 cannot sign PowerShell scripts; install 2\.9/,
      );
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it('a tool failure is a ToolError that does not echo the password', async () => {
    const err = await buildIntuneScripts(VARIANTS.detect!(), authenticodeSigner({ pfxFile: pki.pfx, password: password(), caFile: pki.pfxNoKey })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect(String((err as Error).message)).not.toContain(PASSWORD);
  });
});

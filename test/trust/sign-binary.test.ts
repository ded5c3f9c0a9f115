/**
 * Binary signing (`sign-binary`, `build --sign-binary`) through main(argv, io), with stub `rcodesign` and `codesign`
 * scripts on PATH that record their argv — proving what we would run, exactly — and hand back the demo binary
 * (already shaped like a Developer ID signature: identifier com.runlayer.aiwatch, team AF2M8HC7A2, runtime), which
 * our reader then checks. The stubs also record the password file rcodesign is given (mode and content). What the
 * real tools do with that argv is checked on macOS only (codesign), and not at all for rcodesign (not installed).
 */
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES_DIR } from '../../src/config/paths.js';
import { checkReleaseBinary } from '../../src/sign/binary-check.js';
import { codesignSign } from '../../src/tools/codesign.js';
import { getTestPki, TEST_P12_PASSWORD, type TestPki } from '../helpers/test-pki.js';
import { run } from '../helpers/tools.js';
import { cli, filesIn, printed, stubTool, tempDir, unzipRelease, withPath } from './helpers.js';

const DEMO = path.join(FIXTURES_DIR, 'demo', 'aiwatch-arm64');
const DEMO_X86 = path.join(FIXTURES_DIR, 'demo', 'aiwatch-x86_64');
const APPLE_TS = 'http://timestamp.apple.com/ts01';
const sha256 = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

let pki: TestPki;
beforeAll(() => {
  pki = getTestPki();
});

/** A stub rcodesign: records the password file's mode and content, copies INPUT to OUTPUT, then runs `extra`. */
function rcodesignStub(extra = ''): ReturnType<typeof stubTool> & { pwMode: () => string; pwContent: () => string } {
  const dir = tempDir('trust-rcodesign');
  const stub = stubTool('rcodesign', [
    'prev=""; for a; do if [ "$prev" = "--p12-password-file" ]; then pw="$a"; fi; prev="$a"; done',
    `stat -c '%a' "$pw" > '${dir}/pw.mode'; cat "$pw" > '${dir}/pw.content'`,
    'n=$#; eval "in=\\${$((n - 1))}"; eval "out=\\${$n}"',
    'cp "$in" "$out"',
    extra,
  ].join('\n'), dir);
  return { ...stub, pwMode: () => readFileSync(path.join(dir, 'pw.mode'), 'utf8').trim(), pwContent: () => readFileSync(path.join(dir, 'pw.content'), 'utf8') };
}

function copyOfDemo(name = 'aiwatch'): string {
  const f = path.join(tempDir('trust-bin'), name);
  copyFileSync(DEMO, f);
  chmodSync(f, 0o750);
  return f;
}

const p12 = (): string[] => ['--p12', pki.codeSigning.p12, '--p12-password-file', pki.passwordFile];

describe('sign-binary with rcodesign (stub on PATH)', () => {
  it('runs rcodesign sign with the .p12, a 0600 password file, runtime flag, identifier and Apple timestamp; reads the result back', async () => {
    const stub = rcodesignStub();
    const input = copyOfDemo();
    const out = path.join(tempDir('trust-bin-out'), 'signed');
    const r = await withPath([stub.dir], () => cli(['sign-binary', input, '--out', out, ...p12(), '--allow-untrusted']));
    expect(r.code).toBe(0);
    const [call, ...more] = stub.calls();
    expect(more).toEqual([]);
    const tmp = path.dirname(call![4]!);
    expect(call).toEqual([
      'sign', '--p12-file', pki.codeSigning.p12, '--p12-password-file', path.join(tmp, 'p12-password'), '--code-signature-flags', 'runtime',
      '--binary-identifier', 'com.runlayer.aiwatch', '--timestamp-url', APPLE_TS, input, path.join(tmp, 'aiwatch'),
    ]);
    expect(tmp).toMatch(/aiwatch-deploy-sign-binary-/);
    expect(stub.pwMode()).toBe('600');
    expect(stub.pwContent()).toBe(TEST_P12_PASSWORD);
    expect(existsSync(tmp)).toBe(false);
    expect(call!.join(' ')).not.toContain(TEST_P12_PASSWORD);
    expect(printed(r)).not.toContain(TEST_P12_PASSWORD);
    expect(r.stdout).toBe(`signed: ${path.relative(process.cwd(), out)} with rcodesign (arm64; identifier com.runlayer.aiwatch, team AF2M8HC7A2, hardened runtime on)\n`);
    expect(r.stderr).toMatch(/^WARNING: "Test Code Signing" is not a Developer ID Application certificate \(no 1\.2\.840\.113635\.100\.6\.1\.13 extension\); signing anyway/);
    expect(sha256(out)).toBe(sha256(DEMO));
    expect(statSync(out).mode & 0o777).toBe(0o750);
  });

  it('--timestamp-url and --no-timestamp reach rcodesign; in place by default', async () => {
    const stub = rcodesignStub();
    const input = copyOfDemo();
    expect((await withPath([stub.dir], () => cli(['sign-binary', input, ...p12(), '--allow-untrusted', '--timestamp-url', 'http://127.0.0.1:9/ts']))).code).toBe(0);
    expect((await withPath([stub.dir], () => cli(['sign-binary', input, ...p12(), '--allow-untrusted', '--no-timestamp']))).code).toBe(0);
    const calls = stub.calls();
    expect(calls.map((c) => c[c.indexOf('--timestamp-url') + 1])).toEqual(['http://127.0.0.1:9/ts', 'none']);
    expect(calls.map((c) => c[c.length - 2])).toEqual([input, input]);
    expect(filesIn(path.dirname(input))).toEqual(['aiwatch']);
    expect(statSync(input).mode & 0o777).toBe(0o750);
  });

  it('the result is read back: another identifier, or bytes changed after signing, are refused (exit 3) and nothing is written', async () => {
    const stub = rcodesignStub();
    const input = copyOfDemo();
    const out = path.join(tempDir('trust-bin-id'), 'x');
    const r = await withPath([stub.dir], () => cli(['sign-binary', input, '--out', out, ...p12(), '--allow-untrusted', '--identifier', 'com.example.other']));
    expect(r.code).toBe(3);
    expect(stub.calls()[0]).toContain('com.example.other');
    expect(r.stderr).toContain('rcodesign output: signing identifier is "com.runlayer.aiwatch", expected "com.example.other"');
    expect(existsSync(out)).toBe(false);
    const tamper = rcodesignStub(`printf 'X' | dd of="$out" bs=1 seek=100 conv=notrunc 2>/dev/null`);
    const t = await withPath([tamper.dir], () => cli(['sign-binary', input, '--out', out, ...p12(), '--allow-untrusted']));
    expect(t.code).toBe(3);
    expect(t.stderr).toContain('the code signature does not match the file');
    expect(existsSync(out)).toBe(false);
    expect(sha256(input)).toBe(sha256(DEMO));
  });

  it('refusals before rcodesign runs: not a Developer ID Application (3), cannot sign code (3), wrong password (2), not Mach-O (3), PEM (2)', async () => {
    const stub = rcodesignStub();
    const input = copyOfDemo();
    const go = (args: string[]) => withPath([stub.dir], () => cli(['sign-binary', input, ...args]));
    const notApp = await go(p12());
    expect(notApp.code).toBe(3);
    expect(notApp.stderr).toContain('"Test Code Signing" is not a Developer ID Application certificate (no 1.2.840.113635.100.6.1.13 extension); expected a "Developer ID Application: …" identity (pass --allow-untrusted');
    const installer = await go(['--p12', pki.installer.p12, '--p12-password-file', pki.passwordFile]);
    expect(installer.code).toBe(3);
    expect(installer.stderr).toContain('cannot sign code: its extended key usage lacks codeSigning (1.3.6.1.5.5.7.3.3)');
    const wrong = await withPath([stub.dir], () => cli(['sign-binary', input, '--p12', pki.codeSigning.p12, '--allow-untrusted'], { env: { AIWATCH_P12_PASSWORD: 'not it' } }));
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('wrong password for this PKCS#12 file (from AIWATCH_P12_PASSWORD: ********)');
    const notMacho = await withPath([stub.dir], () => cli(['sign-binary', pki.passwordFile, ...p12(), '--allow-untrusted']));
    expect(notMacho.code).toBe(3);
    expect(notMacho.stderr).toContain('binary: is not a Mach-O file');
    const pem = await go(['--key', pki.codeSigning.key, '--cert', pki.codeSigning.cert]);
    expect(pem.code).toBe(2);
    expect(pem.stderr).toContain('binary signing takes a .p12 (rcodesign) or a keychain identity (codesign)');
    expect(stub.calls()).toEqual([]);
  });

  it('no rcodesign on PATH → exit 4 naming both ways to sign', async () => {
    const r = await withPath([], () => cli(['sign-binary', copyOfDemo(), ...p12(), '--allow-untrusted']));
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('rcodesign: not found on PATH');
    expect(r.stderr).toMatch(/codesign on macOS \(--identity "Developer ID Application: …" from a keychain\) or with rcodesign on any OS \(--p12 FILE/);
  });
});

describe('sign-binary with codesign', () => {
  it.runIf(process.platform !== 'darwin')('--identity off macOS → exit 4 (codesign is macOS-only) naming rcodesign too', async () => {
    const r = await cli(['sign-binary', copyOfDemo(), '--identity', 'Developer ID Application: Runlayer (AF2M8HC7A2)']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/codesign: a keychain identity \(--identity\) needs Apple's codesign, which exists only on macOS .*rcodesign on any OS/);
  });

  it('--signer codesign (stub) runs codesign --sign NAME --force --options runtime --timestamp[=…] --identifier ID --keychain K on a private copy', async () => {
    const stub = stubTool('codesign', '');
    const input = copyOfDemo();
    const out = path.join(tempDir('trust-cs'), 'signed');
    // The stub leaves the DEMO signature in place: accepted only with --allow-untrusted (see the next test).
    const base = ['sign-binary', input, '--out', out, '--signer', 'codesign', '--identity', 'Developer ID Application: Runlayer (AF2M8HC7A2)', '--keychain', 'build.keychain', '--allow-untrusted'];
    for (const extra of [[], ['--timestamp-url', 'http://127.0.0.1:9/ts'], ['--no-timestamp']]) {
      const r = await withPath([stub.dir], () => cli([...base, ...extra], { cwd: '/work' }));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    const calls = stub.calls();
    const ts = ['--timestamp', '--timestamp=http://127.0.0.1:9/ts', '--timestamp=none'];
    calls.forEach((c, i) => {
      expect(c.slice(0, -1)).toEqual(['--sign', 'Developer ID Application: Runlayer (AF2M8HC7A2)', '--force', '--options', 'runtime', ts[i], '--identifier', 'com.runlayer.aiwatch', '--keychain', '/work/build.keychain']);
      expect(c[c.length - 1]).toMatch(/\/aiwatch-deploy-sign-binary-[^/]+\/aiwatch$/);
    });
    expect(sha256(out)).toBe(sha256(DEMO));
  });

  it('a tool that leaves a signature by anything but an Apple Developer ID is refused when read back (exit 3), nothing written', async () => {
    const stub = stubTool('codesign', '');
    const out = path.join(tempDir('trust-cs'), 'signed');
    const r = await withPath([stub.dir], () => cli(['sign-binary', copyOfDemo(), '--out', out, '--signer', 'codesign', '--identity', 'Developer ID Application: Runlayer (AF2M8HC7A2)']));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('codesign output: is signed by "aiwatch-deploy DEMO signer (NOT Apple-issued, NOT a Developer ID)", a certificate that does not chain to Apple Root CA');
    expect(existsSync(out)).toBe(false);
  });

  it('mismatched signer and identity → exit 2', async () => {
    const a = await cli(['sign-binary', copyOfDemo(), '--signer', 'rcodesign', '--identity', 'X']);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('--signer rcodesign signs with a .p12');
    const b = await cli(['sign-binary', copyOfDemo(), '--signer', 'codesign', ...p12()]);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('--signer codesign signs with a keychain identity');
  });
});

describe('build --sign-binary (stub rcodesign)', () => {
  it('signs each input binary before the release check; universal: both slices; password from the environment', async () => {
    const stub = rcodesignStub();
    const out = tempDir('trust-build-bin');
    const r = await withPath([stub.dir], () => cli(
      ['build', '--demo', '--arch', 'universal', '--sign-binary', '--binary-p12', pki.codeSigning.p12, '--allow-untrusted', '--out', out],
      { env: { AIWATCH_BINARY_P12_PASSWORD: TEST_P12_PASSWORD } },
    ));
    expect(r.stderr).not.toContain('aiwatch-deploy:');
    expect(r.code).toBe(0);
    const calls = stub.calls();
    expect(calls.map((c) => c[c.length - 2])).toEqual([DEMO, DEMO_X86]);
    expect(calls.map((c) => path.basename(c[c.length - 1]!))).toEqual(['aiwatch-arm64', 'aiwatch-x86_64']);
    expect(stub.pwContent()).toBe(TEST_P12_PASSWORD);
    expect(r.stderr).toContain('signed aiwatch-arm64 with rcodesign: identifier com.runlayer.aiwatch, team AF2M8HC7A2, hardened runtime on');
    const manifest = JSON.parse(readFileSync(path.join(unzipRelease(path.join(out, 'aiwatch-1.0.0-macos-universal.zip')), 'manifest.json'), 'utf8'));
    expect(manifest.binary).toMatchObject({ arches: ['x86_64', 'arm64'], identifier: 'com.runlayer.aiwatch', signature: 'signed', hardenedRuntime: true });
  });

  it('--sign-binary without an identity → exit 2; a failing rcodesign (no time-stamp server involved) → exit 4 and nothing in --out', async () => {
    const none = await cli(['build', '--demo', '--sign-binary', '--out', tempDir('trust-bb')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--sign-binary needs an identity');
    const failing = stubTool('rcodesign', 'echo "error: signing failed" >&2; exit 1');
    const out = tempDir('trust-bb2');
    const r = await withPath([failing.dir], () => cli(['build', '--demo', '--sign-binary', '--binary-p12', pki.codeSigning.p12, '--binary-p12-password-file', pki.passwordFile, '--allow-untrusted', '--no-timestamp', '--out', out]));
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('rcodesign: exited with 1');
    expect(r.stderr).toContain('error: signing failed');
    expect(filesIn(out)).toEqual([]);
  });
});

describe.runIf(process.platform === 'darwin')('codesign parity (macOS)', () => {
  it('the codesign argv we build is accepted by the real codesign and seals the identifier and the runtime flag', async () => {
    const file = copyOfDemo();
    await codesignSign({ file, identity: '-', identifier: 'com.runlayer.aiwatch', timestampUrl: null });
    const shown = run('codesign', ['--display', '--verbose=4', file]) + run('sh', ['-c', 'codesign --display --verbose=4 "$1" 2>&1', 'sh', file]);
    expect(shown).toContain('Identifier=com.runlayer.aiwatch');
    expect(shown).toMatch(/flags=0x1\d{4}\(.*runtime\)/);
    const id = await checkReleaseBinary(file, { arch: 'arm64', identifier: 'com.runlayer.aiwatch', teamId: 'AF2M8HC7A2', allowUnsigned: true });
    expect(id.signature).toBe('adhoc');
    expect(id.hardenedRuntime).toBe(true);
  });
});

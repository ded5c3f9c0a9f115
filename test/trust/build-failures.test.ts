/**
 * How a signed / notarized / stapled build fails, through main(argv, io): the exit code of each failure, the message,
 * that nothing at all reaches --out, and that problems found before the build stop it before any work.
 *
 * Exit codes pinned here: notary Invalid → 6; notary never decides (--timeout) → 5; TSA unreachable → 5; TSA says no
 * → 6; wrong .p12 password → 2 (a UsageError from src/sign/pkcs12.ts: the password is an input value, not a file
 * problem); a certificate without the Developer ID Installer EKU → 3 (InputFileError from src/sign/identity.ts);
 * inconsistent flags → 2; --staple with no published ticket → 6. A notary answering 500 forever → 5 is in
 * notary-outage.test.ts (it waits through the real back-off).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startLocalServer } from '../helpers/servers/listen.js';
import { cli, filesIn, printed, startTrustServers, tempDir } from './helpers.js';

const ISSUES = [{ severity: 'error', path: 'aiwatch-1.0.0-macos-arm64.pkg/aiwatch.pkg/Payload/usr/local/lib/runlayer/aiwatch/aiwatch', message: 'The signature of the binary is invalid.', architecture: 'arm64' }];

/** A port nothing listens on: a server started and stopped at once. */
async function deadUrl(): Promise<string> {
  const s = await startLocalServer(() => undefined, { autoStop: false });
  await s.close();
  return s.url;
}

describe('build trust-chain failures', () => {
  it('notary says Invalid → exit 6, the issues on stderr, no staple attempted, nothing in --out', async () => {
    const s = await startTrustServers({ outcome: 'Invalid', issues: ISSUES });
    const out = path.join(tempDir('trust-inv'), 'out');
    const r = await cli(['build', '--demo', '--sign', ...s.signArgs, '--notarize', ...s.notaryArgs, '--staple', ...s.stapleArgs, '--out', out]);
    expect(r.code).toBe(6);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/aiwatch-deploy: notary: submission [0-9a-f-]{36} is Invalid: Apple did not notarize it\n {2}error: .*Payload\/usr\/local\/lib\/runlayer\/aiwatch\/aiwatch \[arm64\]: The signature of the binary is invalid\.\n$/);
    expect(r.stderr).not.toContain('write zip');
    expect(s.tickets.asked).toEqual([]);
    expect(filesIn(out)).toEqual([]);
  });

  it('Invalid with --json → exit 6 and {ok: false, error.kind: rejected} on stdout, nothing on stderr but the message', async () => {
    const s = await startTrustServers({ outcome: 'Invalid' });
    const out = tempDir('trust-inv-json');
    const r = await cli(['build', '--demo', '--json', '--sign', ...s.signArgs, '--notarize', ...s.notaryArgs, '--out', out]);
    expect(r.code).toBe(6);
    expect(r.json()).toMatchObject({ ok: false, error: { kind: 'rejected', exitCode: 6 } });
    expect(r.stderr).not.toContain('notary: uploaded');
    expect(filesIn(out)).toEqual([]);
  });

  it('a verdict that never comes → exit 5 at --timeout, with the submission id to resume; nothing in --out', async () => {
    const s = await startTrustServers({ outcome: 'never' });
    const out = tempDir('trust-never');
    const r = await cli(['build', '--demo', '--sign', ...s.signArgs, '--notarize', ...s.notaryArgs, '--timeout', '1s', '--staple', ...s.stapleArgs, '--out', out]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/is still "In Progress" after 1s \(--timeout 1s\); nothing was notarized yet\. Resume waiting with: notarize <pkg> --submission-id [0-9a-f-]{36}/);
    expect(filesIn(out)).toEqual([]);
  });

  it('time-stamp server down → exit 5 after its retries; nothing in --out', async () => {
    const s = await startTrustServers();
    const url = await deadUrl();
    const out = tempDir('trust-tsa-down');
    const args = s.signArgs.map((a) => (a === s.tsa.url ? url : a));
    const r = await cli(['build', '--demo', '--sign', ...args, '--out', out]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(`aiwatch-deploy: time-stamp server ${url} could not be reached after 3 attempts`);
    expect(filesIn(out)).toEqual([]);
  });

  it('time-stamp server refuses → exit 6', async () => {
    const s = await startTrustServers();
    s.tsa.mode = 'reject';
    const out = tempDir('trust-tsa-no');
    const r = await cli(['build', '--demo', '--sign', ...s.signArgs, '--out', out]);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/time-stamp server .* answered rejection: request rejected by the test TSA/);
    expect(filesIn(out)).toEqual([]);
  });

  it('wrong .p12 password → exit 2 before any build step; the password is never printed', async () => {
    const s = await startTrustServers();
    const dir = tempDir('trust-pw');
    const pw = path.join(dir, 'pw.txt');
    writeFileSync(pw, 'Tr0ub4dor&3-wrong\n');
    const args = s.signArgs.map((a) => (a === s.pki.passwordFile ? pw : a));
    const r = await cli(['build', '--demo', '--sign', ...args, '--out', path.join(dir, 'out')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`aiwatch-deploy: ${s.pki.installer.p12}: wrong password for this PKCS#12 file (from --p12-password-file: ********)`);
    expect(r.stderr).not.toContain('check binary');
    expect(printed(r)).not.toContain('Tr0ub4dor');
    expect(filesIn(path.join(dir, 'out'))).toEqual([]);
  });

  it('a certificate without the Developer ID Installer EKU is refused (exit 3) unless --allow-untrusted', async () => {
    const s = await startTrustServers();
    const out = tempDir('trust-eku');
    const p12 = ['--p12', s.pki.codeSigning.p12, '--p12-password-file', s.pki.passwordFile, '--timestamp-url', s.tsa.url];
    const refused = await cli(['build', '--demo', '--sign', ...p12, '--out', out]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/"Test Code Signing" is not a Developer ID Installer certificate: its extended key usage lacks 1\.2\.840\.113635\.100\.4\.13 \(has: 1\.3\.6\.1\.5\.5\.7\.3\.3\).*pass --allow-untrusted/);
    expect(refused.stderr).not.toContain('check binary');
    expect(filesIn(out)).toEqual([]);
    const forced = await cli(['build', '--demo', '--sign', ...p12, '--allow-untrusted', '--out', out]);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/WARNING: "Test Code Signing" is not a Developer ID Installer certificate.*signing anyway \(--allow-untrusted\)/);
  });

  it('inconsistent flags → exit 2 with every problem at once, before any work', async () => {
    const pki = (await startTrustServers()).pki;
    const r = await cli(['build', '--demo', '--notarize', '--staple', '--p12', pki.installer.p12, '--binary-p12', 'x.p12', '--out', tempDir('trust-flags')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--notarize needs --sign: Apple notarizes only signed packages');
    expect(r.stderr).toContain('--staple needs --sign');
    expect(r.stderr).toContain('--p12 was given but nothing is signed with it: add --sign and/or --sign-profiles');
    expect(r.stderr).toContain('--binary-p12 was given without --sign-binary');
    const bad = await cli(['build', '--demo', '--sign', '--p12', pki.installer.p12, '--notarize', '--timeout', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--timeout: expected a duration like 90s, 30m or 1h, got "soon"');
  });

  it('--notarize without API credentials → exit 2 naming each missing one (flag or environment)', async () => {
    const s = await startTrustServers();
    const r = await cli(['build', '--demo', '--sign', ...s.signArgs, '--notarize', '--out', tempDir('trust-nokey')], { env: { AIWATCH_NOTARY_KEY_ID: s.key.keyId } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--notarize: --api-key: the App Store Connect API key file (.p8) is required (or AIWATCH_NOTARY_KEY_FILE)');
    expect(r.stderr).toContain('--notarize: --api-issuer: the issuer ID is required (or AIWATCH_NOTARY_ISSUER)');
    expect(r.stderr).not.toContain('--api-key-id: the API key ID is required');
  });

  it('--staple without --notarize and no ticket published → exit 6, never an unstapled pkg with exit 0', async () => {
    const s = await startTrustServers({ publish: false });
    const out = tempDir('trust-noticket');
    const r = await cli(['build', '--demo', '--sign', ...s.signArgs, '--staple', ...s.stapleArgs, '--out', out]);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/ticket lookup: Apple has no notarization ticket for this package \(record 2\/1\/[0-9a-f]{40}, NOT_FOUND/);
    expect(s.tickets.asked).toHaveLength(1);
    expect(filesIn(out)).toEqual([]);
  });
});

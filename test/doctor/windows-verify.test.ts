/**
 * The doctor scripts signed like the install scripts (osslsigncode, test CA from openssl: `osslsigncode verify`
 * passes, text rules and syntax still hold), and verify's cross-checks of the Windows scripts
 * (src/verify/doctor-windows.ts): everything `aiwatch-deploy intune` writes passes `aiwatch-deploy verify` against
 * the spec it was made from; a changed task folder, log folder, check table or redaction rule, and a doctor made
 * from another spec, are each reported by name; someone else's script gets nothing from these rules.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { buildWindowsDoctorScripts, renderWindowsDoctorScripts, WINDOWS_DOCTOR_SCRIPTS } from '../../src/doctor/doctor-windows.js';
import { scriptTextProblems } from '../../src/intune/intune-checks.js';
import { renderIntuneScripts, type IntuneFile } from '../../src/intune/intune.js';
import { Secret } from '../../src/secret.js';
import { authenticodeSigner } from '../../src/sign/authenticode.js';
import { doctorScriptName, windowsScriptCrossProblems } from '../../src/verify/doctor-windows.js';
import { describeWithTools, tryRun } from '../helpers/tools.js';
import { ORG_KEY, spec, VARIANTS } from '../intune/helpers.js';
import { makePki, PASSWORD, type Pki } from '../intune/pki.js';
import { psSyntaxProblems } from '../intune/ps-parse.js';

const doctorText = (name: string, input = VARIANTS.full!()): string => renderWindowsDoctorScripts(input).find((f) => f.name === name)!.text;
const messages = (text: string, where = 'x.ps1') => windowsScriptCrossProblems(text, spec, where).map((p) => p.message);

describe('verify cross-checks of the Windows scripts', () => {
  it('every script intune writes, for both variants, has no problem', () => {
    for (const make of Object.values(VARIANTS)) {
      const all = { ...renderIntuneScripts(make()), ...Object.fromEntries(renderWindowsDoctorScripts(make()).map((f) => [f.name, f.text])) };
      expect(Object.keys(all)).toHaveLength(make().tenant.EnrollmentKey ? 10 : 8);
      for (const [name, text] of Object.entries(all)) expect(messages(text, name), name).toEqual([]);
    }
  });

  it('knows the doctor scripts by their first line', () => {
    for (const n of Object.values(WINDOWS_DOCTOR_SCRIPTS)) expect(doctorScriptName(doctorText(n))).toBe(n);
    expect(doctorScriptName(renderIntuneScripts(VARIANTS.detect!())['Detect-Aiwatch.ps1']!)).toBeUndefined();
  });

  it('a changed task folder in an install script is named, with both values', () => {
    const install = renderIntuneScripts(VARIANTS.detect!())['Uninstall-Aiwatch.ps1']!.replace("$AiwatchTaskPath = '\\Runlayer\\'", "$AiwatchTaskPath = '\\Other\\'");
    expect(messages(install)).toEqual(['$AiwatchTaskPath is "\\\\Other\\\\", but the deployment spec\'s Intune scripts use "\\\\Runlayer\\\\"']);
  });

  it('a doctor made from another spec (log folder, CLI package) is reported against this one', () => {
    const other = { ...VARIANTS.detect!(), spec: { ...spec, windows: { ...spec.windows, logDir: '%ProgramData%\\Elsewhere', cliPackage: 'other-cli' } } };
    const m = messages(doctorText(WINDOWS_DOCTOR_SCRIPTS.detect, other));
    expect(m).toContain('$AiwatchLogDir is "%ProgramData%\\\\Elsewhere", but the deployment spec\'s Intune scripts use "%ProgramData%\\\\Runlayer"');
    expect(m).toContain('$AiwatchCliExe is "other-cli.exe", but the deployment spec\'s Intune scripts use "runlayer.exe"');
  });

  it('a missing check row, a missing doctor setting and a dropped redaction rule are each a problem', () => {
    const text = doctorText(WINDOWS_DOCTOR_SCRIPTS.doctor);
    const noTls = text.replace(/^ {4}@\{ Id = 'tls';.*\r\n/m, '');
    expect(messages(noTls).join('\n')).toMatch(/^check table \[.*\] is not the doctor's \[.*"tls".*\] \(with auto-provisioning\)$/m);
    const noPrefix = text.replace(/^\$AiwatchOrgKeyPrefix = .*\r\n/m, '');
    expect(messages(noPrefix)).toEqual(['$AiwatchOrgKeyPrefix is not set; a doctor script sets it to "rl_org_"']);
    const noBearer = text.replace(/^ {4}@\{ Name = 'bearer';.*\r\n/m, '');
    expect(messages(noBearer).join('\n')).toMatch(/^redaction rules \(runlayer-key, authorization, secret-setting, .*\) are not those of this spec \(runlayer-key, authorization, bearer, .*\): the bundle could keep a secret$/m);
  });

  it('someone else\'s script gets nothing from these rules', () => {
    expect(messages("# Get-Thing.ps1 - not ours\r\n$Thing = 'x'\r\nexit 0\r\n")).toEqual([]);
  });
});

describe('aiwatch-deploy intune, then aiwatch-deploy verify of every file it wrote', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'aiwatch-doctor-verify-'));
    writeFileSync(path.join(work, 'org.key'), `${ORG_KEY}\n`);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const run = async (argv: string[]): Promise<{ code: number; out: string }> => {
    let out = '';
    const code = await main(argv, { stdout: (t) => (out += t), stderr: (t) => (out += t), stdin: Readable.from([]), env: {}, cwd: work, isTTY: false });
    return { code, out };
  };

  it('exit 0: the doctor scripts agree with the install scripts and the spec', async () => {
    const w = await run(['intune', '--host', 'https://acme.runlayer.com', '--org-api-key-file', 'org.key', '--expected-publisher', 'Runlayer', '--out', 'out']);
    expect(w.code, w.out).toBe(0);
    const files = readdirSync(path.join(work, 'out')).map((f) => path.join('out', f));
    expect(files).toHaveLength(8);
    const v = await run(['verify', ...files]);
    expect(v.code, v.out).toBe(0);
    expect(v.out).not.toContain(ORG_KEY);
  });

  it('exit 1 when a doctor script was edited to look elsewhere', async () => {
    const file = path.join(work, 'out', 'Test-Aiwatch.ps1');
    writeFileSync(file, readFileSync(file, 'latin1').replace("$AiwatchScanTaskName = 'Scan'", "$AiwatchScanTaskName = 'Scan2'"), 'latin1');
    const v = await run(['verify', path.join('out', 'Test-Aiwatch.ps1')]);
    expect(v.code).toBe(1);
    expect(v.out).toContain('$AiwatchScanTaskName is "Scan2", but the deployment spec\'s Intune scripts use "Scan"');
  });
});

describeWithTools(['osslsigncode', 'openssl'], 'the doctor scripts Authenticode-signed (osslsigncode, test CA)', () => {
  let pki: Pki;
  let signed: IntuneFile[];
  beforeAll(async () => {
    pki = makePki();
    signed = await buildWindowsDoctorScripts(VARIANTS.full!(), authenticodeSigner({ pfxFile: pki.pfx, password: new Secret(PASSWORD, '--pfx-password-file'), caFile: pki.caCert, description: 'Runlayer aiwatch' }));
  }, 120_000);
  afterAll(() => rmSync(pki.dir, { recursive: true, force: true }));

  it('each verifies with osslsigncode against the test CA, and still obeys the text rules and parses', async () => {
    expect(signed.map((f) => f.name)).toEqual(Object.values(WINDOWS_DOCTOR_SCRIPTS));
    for (const f of signed) {
      expect(f.text).toMatch(/\r\n# SIG # Begin signature block\r\n(# [A-Za-z0-9+/=]+\r\n)+# SIG # End signature block\r\n$/);
      const p = path.join(pki.dir, `verify-${f.name}`);
      writeFileSync(p, f.text, 'latin1');
      const r = tryRun('osslsigncode', ['verify', '-in', p, '-CAfile', pki.caCert]);
      expect(r.status, `${f.name}\n${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout + r.stderr).toMatch(/Signature verification: ok/);
      expect(scriptTextProblems(f.name, f.text)).toEqual([]);
      expect(await psSyntaxProblems(f.text)).toEqual([]);
      expect(windowsScriptCrossProblems(f.text, spec, f.name)).toEqual([]);
    }
  });

  it('a one-character edit after signing fails osslsigncode verify', () => {
    const f = signed[0]!;
    const p = path.join(pki.dir, 'tampered.ps1');
    writeFileSync(p, f.text.replace("$AiwatchNetworkTimeoutSeconds = 15", "$AiwatchNetworkTimeoutSeconds = 16"), 'latin1');
    expect(tryRun('osslsigncode', ['verify', '-in', p, '-CAfile', pki.caCert]).status).not.toBe(0);
  });
});

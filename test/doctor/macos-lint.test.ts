/**
 * The three macOS doctor scripts (doctor, Jamf extension attribute, Intune custom attribute), for the default spec
 * and a hostile one, pass `shellcheck -s sh` with no finding (but SC2016 on the hostile values, which are meant
 * to stay literal), `dash -n` and `bash --posix -n`; the default doctor is pinned by a golden file; rendering is
 * deterministic; a hostile spec's values never run (no marker file appears after a real run); the inventory
 * scripts print their one line, make no network call and exit 0 even when unhealthy.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { DEFAULT_PROBE, renderDoctorScripts } from '../../src/doctor/doctor-macos.js';
import { UsageError } from '../../src/errors.js';
import { describeWithTools, tryRun } from '../helpers/tools.js';
import { hostileSpec, MARKERS } from '../scripts/hostile-spec.js';
import { FakeDoctorMac } from './fake-mac-doctor.js';

const spec = loadDefaultSpec();
const dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-doctor-lint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let macs: FakeDoctorMac[] = [];
afterEach(() => {
  for (const m of macs) m.dispose();
  macs = [];
});

function writeAll(name: string, s: ReturnType<typeof renderDoctorScripts>): string[] {
  return Object.entries(s).map(([k, text]) => {
    const file = path.join(dir, `${name}-${k}.sh`);
    writeFileSync(file, text);
    return file;
  });
}

describeWithTools(['shellcheck', 'dash', 'bash'], 'macOS doctor scripts: shellcheck, dash -n, bash --posix -n', () => {
  const files = [...writeAll('default', renderDoctorScripts(spec)), ...writeAll('hostile', renderDoctorScripts(hostileSpec()))];

  it('shellcheck -s sh: no finding but SC2016 notes on the hostile values', () => {
    const r = tryRun('shellcheck', ['-s', 'sh', '--severity=style', '--format=gcc', ...files, path.resolve(import.meta.dirname, 'macos-doctor-stub.sh')]);
    expect(r.stderr).toBe('');
    const findings = r.stdout.split('\n').filter(Boolean);
    const hostileLiteral = findings.filter((l) => l.includes('/hostile-') && l.endsWith('[SC2016]') && l.includes(': note: '));
    expect(findings.filter((l) => !hostileLiteral.includes(l))).toEqual([]);
  });

  it.each(files.map((f) => [path.basename(f), f]))('%s: dash -n and bash --posix -n', (_name, file) => {
    expect(tryRun('dash', ['-n', file])).toMatchObject({ status: 0, stderr: '' });
    expect(tryRun('bash', ['--posix', '-n', file])).toMatchObject({ status: 0, stderr: '' });
  });

  it('the default doctor is pinned; rendering twice gives the same bytes; the three differ only in their defaults', async () => {
    const a = renderDoctorScripts(spec);
    expect(renderDoctorScripts(spec)).toEqual(a);
    await expect(a.doctor).toMatchFileSnapshot('golden/aiwatch-doctor.sh');
    const diff = (x: string, y: string) => x.split('\n').filter((l, i) => l !== y.split('\n')[i]);
    expect(diff(a.jamfAttribute, a.doctor)).toEqual(["MODE='jamf'", "OFFLINE='yes'"]);
    expect(diff(a.intuneAttribute, a.doctor)).toEqual(["MODE='summary'", "OFFLINE='yes'"]);
  });

  it('a hostile spec renders quoted: a real run creates no marker file', () => {
    const hostile = hostileSpec();
    const m = new FakeDoctorMac();
    macs.push(m);
    m.healthy(hostile);
    for (const f of hostile.legacy.logFiles) m.file(f, 'old\n');
    const r = m.run(renderDoctorScripts(hostile).doctor, ['--json']);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as { checks: Array<{ id: string; status: string }> };
    expect(report.checks.find((c) => c.id === 'binary')?.status).toBe('ok');
    expect(report.checks.find((c) => c.id === 'legacy')?.status).toBe('warn');
    for (const marker of MARKERS) expect(existsSync(marker), marker).toBe(false);
  });

  it('refuses a probe or a key pattern it cannot use, naming the value', () => {
    expect(() => renderDoctorScripts(spec, { ...DEFAULT_PROBE, path: 'api/v1 x' })).toThrow(UsageError);
    expect(() => renderDoctorScripts(spec, { ...DEFAULT_PROBE, header: 'Authorization: "Bearer ' })).toThrow(/doctor probe header/);
    expect(() => renderDoctorScripts(spec, { ...DEFAULT_PROBE, maxTime: 0 })).toThrow(/maxTime: must be a whole number of seconds from 1 to 120, got 0/);
    const odd = { ...spec, tenantKeys: spec.tenantKeys.map((k) => (k.name === 'OrgApiKey' ? { ...k, pattern: '^.+$' } : k)) };
    expect(() => renderDoctorScripts(odd)).toThrow(/tenant key OrgApiKey: the doctor needs a pattern of the form/);
  });
});

describeWithTools(['dash'], 'inventory scripts (Jamf extension attribute, Intune custom attribute)', () => {
  const s = renderDoctorScripts(spec);

  it('Jamf: <result>VERSION; healthy</result>, offline (no curl), exit 0', () => {
    const m = new FakeDoctorMac();
    macs.push(m);
    m.healthy(spec);
    const r = m.run(s.jamfAttribute);
    expect(r).toMatchObject({ status: 0, stdout: '<result>1.4.0; healthy</result>\n', stderr: '' });
    expect(r.calls.filter((c) => c[0] === 'curl')).toEqual([]);
  });

  it('Jamf: unhealthy lists the failed checks, warnings are named, still exit 0', () => {
    const m = new FakeDoctorMac();
    macs.push(m);
    m.healthy(spec);
    m.setState('tcc', ['com.runlayer.aiwatch|0']);
    m.setState('loaded', ['system/com.runlayer.aiwatch.bootstrap', 'gui/501/com.runlayer.aiwatch.enroll']);
    m.file('/usr/local/bin/runlayer-scan', '#!/bin/sh\n', 0o755);
    expect(m.run(s.jamfAttribute)).toMatchObject({ status: 0, stdout: '<result>1.4.0; unhealthy: fda,launchd:com.runlayer.aiwatch</result>\n' });
    m.setState('tcc', ['com.runlayer.aiwatch|2']);
    m.setState('loaded', spec.units.map((u) => (u.kind === 'daemon' ? `system/${u.label}` : `gui/501/${u.label}`)));
    expect(m.run(s.jamfAttribute).stdout).toBe('<result>1.4.0; healthy; warnings: legacy</result>\n');
  });

  it('not installed: the version reads "not installed"', () => {
    const m = new FakeDoctorMac();
    macs.push(m);
    m.setState('users', ['alice:501']);
    expect(m.run(s.intuneAttribute).stdout).toMatch(/^not installed; unhealthy: receipt,binary,pppc-profile,/);
  });

  it('Intune: the bare line; the TLS signal from the logs still counts offline', () => {
    const m = new FakeDoctorMac();
    macs.push(m);
    m.healthy(spec);
    expect(m.run(s.intuneAttribute)).toMatchObject({ status: 0, stdout: '1.4.0; healthy\n' });
    m.file('/var/log/runlayer/auto_provisioning.log', 'ERROR [SSL: CERTIFICATE_VERIFY_FAILED]\n');
    expect(m.run(s.intuneAttribute).stdout).toBe('1.4.0; unhealthy: tls\n');
  });
});

/**
 * aiwatch-doctor.sh --bundle: secrets are planted in every source the bundle collects (the agent, fallback and
 * legacy logs, the managed preferences, the profile list, launchctl print), the bundle is opened with bsdtar (an
 * independent reader) and every file is searched for every planted secret: none may be found. Also: the file is
 * 0600, each log is cut to its last 2 MiB, the report inside is valid against the schema.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { validatorFor } from '../../src/config/validate.js';
import { BUNDLE_LOG_TAIL_MIB, renderDoctorScripts } from '../../src/doctor/doctor-macos.js';
import { describeWithTools, run } from '../helpers/tools.js';
import { ENROLL_KEY, FakeDoctorMac, ORG_KEY } from './fake-mac-doctor.js';

const spec = loadDefaultSpec();
const { doctor } = renderDoctorScripts(spec);

/** Secrets as they would leak: keys, tokens, and values of secret settings that have no recognisable shape. */
const SECRETS = {
  orgKey: ORG_KEY,
  enrollKey: ENROLL_KEY,
  otherOrgKey: 'rl_org_AnotherKeyFromAnOldProfile42',
  bearer: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl',
  envPlain: 'PlainEnvSecretValue7781',
  quotedSetting: 'QuotedSettingSecret1234',
  genericApiKey: 'sk_live_GenericApiKey5566',
  password: 'hunter2-Password-9',
  authHeader: 'Basic YWxpY2U6c2VjcmV0',
};

function plantedLines(): string {
  return [
    `2026-12-06 04:00:00 INFO using org key ${SECRETS.orgKey} for ${'https://acme.runlayer.com'}`,
    `2026-12-06 04:00:01 DEBUG enroll with ${SECRETS.enrollKey} and old ${SECRETS.otherOrgKey}`,
    `2026-12-06 04:00:02 DEBUG headers {"Authorization": "Bearer ${SECRETS.bearer}"}`,
    `2026-12-06 04:00:03 DEBUG env RUNLAYER_API_KEY=${SECRETS.envPlain}`,
    `2026-12-06 04:00:04 DEBUG settings {"OrgApiKey": "${SECRETS.quotedSetting}"}`,
    `2026-12-06 04:00:05 DEBUG api_key=${SECRETS.genericApiKey} password: ${SECRETS.password}`,
    `2026-12-06 04:00:06 DEBUG Authorization: ${SECRETS.authHeader}`,
    '2026-12-06 04:00:07 ERROR upload failed: [SSL: CERTIFICATE_VERIFY_FAILED]',
  ].join('\n');
}

let macs: FakeDoctorMac[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const m of macs) m.dispose();
  macs = [];
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function plantedMac(): FakeDoctorMac {
  const m = new FakeDoctorMac();
  macs.push(m);
  m.healthy(spec);
  const lines = `${plantedLines()}\n`;
  for (const f of ['/var/log/runlayer/ai_watch_detect.log', '/var/log/runlayer/auto_provisioning.log', '/var/log/runlayer/install.log', '/tmp/runlayer-ai_watch_enforce.log', '/tmp/runlayer-scan.stderr.log']) m.file(f, lines);
  // the managed preferences hold the two keys (multi-line <key>/<string>, as macOS writes them)
  m.prefs(spec, { Host: 'https://acme.runlayer.com', OrgApiKey: ORG_KEY, EnrollmentKey: ENROLL_KEY, Enforcement: true });
  // the profile list as `profiles show` prints a custom-settings payload
  m.profileList(['com.runlayer.aiwatch.pppc', 'com.runlayer.aiwatch.loginitems', 'com.runlayer.aiwatch.tenant'], [
    `_computerlevel[3] attribute: payload: { OrgApiKey = "${SECRETS.orgKey}"; EnrollmentKey = ${SECRETS.enrollKey}; RUNLAYER_API_KEY = "${SECRETS.envPlain}"; }`,
    `_computerlevel[3] attribute: payload: <key>OrgApiKey</key><string>${SECRETS.quotedSetting}</string>`,
  ]);
  // launchctl print shows the job's environment
  m.setState('print.extra', ['\tenvironment = {', `\t\tRUNLAYER_API_KEY => ${SECRETS.envPlain}`, `\t\tRUNLAYER_ENROLLMENT_KEY => ${SECRETS.enrollKey}`, `\t\tAUTH => Bearer ${SECRETS.bearer}`, '\t}']);
  return m;
}

function extract(bundle: string): { dir: string; files: string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-bundle-x-'));
  dirs.push(dir);
  run('bsdtar', ['-xzf', bundle, '-C', dir]);
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else files.push(path.relative(dir, full));
    }
  };
  walk(dir);
  return { dir, files: files.sort() };
}

describeWithTools(['dash', 'bsdtar'], 'aiwatch-doctor.sh --bundle', () => {
  it('holds the report, logs, profile list, launchctl print, prefs, receipt and OS version, with no planted secret left', () => {
    const m = plantedMac();
    const bundle = path.join(m.dir, 'out', 'support.tar.gz');
    m.outsideFile('out/.keep', '');
    const r = m.run(doctor, ['--bundle', bundle]);
    expect(r.stderr).toContain(`support bundle: ${bundle} (secrets redacted; mode 0600)`);
    expect(r.status).toBe(2); // the planted CERTIFICATE_VERIFY_FAILED line: tls fails
    expect(statSync(bundle).mode & 0o777).toBe(0o600);
    const { dir, files } = extract(bundle);
    expect(files).toEqual([
      'doctor.json', 'doctor.txt',
      'launchctl/gui_501_com.runlayer.aiwatch.enroll.txt', 'launchctl/gui_501_com.runlayer.aiwatch.txt', 'launchctl/system_com.runlayer.aiwatch.bootstrap.txt',
      'logs/ai_watch_detect.log', 'logs/ai_watch_enforce.log', 'logs/auto_provisioning.log', 'logs/install.log', 'logs/runlayer-ai_watch_enforce.log', 'logs/runlayer-scan.stderr.log',
      'managed-preferences.plist', 'profiles.txt', 'receipt.txt', 'sw_vers.txt',
    ]);
    let redactions = 0;
    for (const f of files) {
      const text = readFileSync(path.join(dir, f), 'utf8');
      for (const [name, secret] of Object.entries(SECRETS)) expect(text, `${f} holds the planted ${name}`).not.toContain(secret);
      redactions += text.split('[REDACTED]').length - 1;
    }
    // every planted line was redacted, not dropped: 8 per log copy, the prefs, the profile list, launchctl print
    expect(readFileSync(path.join(dir, 'logs/ai_watch_detect.log'), 'utf8')).toBe(
      [
        '2026-12-06 04:00:00 INFO using org key [REDACTED] for https://acme.runlayer.com',
        '2026-12-06 04:00:01 DEBUG enroll with [REDACTED] and old rl_org_[REDACTED]',
        '2026-12-06 04:00:02 DEBUG headers {"Authorization": [REDACTED]',
        '2026-12-06 04:00:03 DEBUG env RUNLAYER_API_KEY=[REDACTED]',
        '2026-12-06 04:00:04 DEBUG settings {"OrgApiKey": "[REDACTED]"}',
        '2026-12-06 04:00:05 DEBUG api_key=[REDACTED] password: [REDACTED]',
        '2026-12-06 04:00:06 DEBUG Authorization: [REDACTED]',
        '2026-12-06 04:00:07 ERROR upload failed: [SSL: CERTIFICATE_VERIFY_FAILED]',
        '',
      ].join('\n'),
    );
    expect(readFileSync(path.join(dir, 'managed-preferences.plist'), 'utf8')).toContain('<key>OrgApiKey</key>\n\t<string>[REDACTED]</string>');
    expect(readFileSync(path.join(dir, 'launchctl/gui_501_com.runlayer.aiwatch.txt'), 'utf8')).toContain('RUNLAYER_API_KEY => [REDACTED]');
    expect(readFileSync(path.join(dir, 'receipt.txt'), 'utf8')).toContain('version: 1.4.0');
    expect(readFileSync(path.join(dir, 'sw_vers.txt'), 'utf8')).toContain('ProductVersion:\t\t15.1');
    expect(redactions).toBeGreaterThanOrEqual(60);
    const report = JSON.parse(readFileSync(path.join(dir, 'doctor.json'), 'utf8')) as { exitCode: number };
    expect(validatorFor('aiwatch-doctor.schema.json')(report)).toBe(true);
    expect(report.exitCode).toBe(2);
    // nothing of the bundle's staging is left behind
    expect(readdirSync(m.tmp)).toEqual([]);
    expect(readdirSync(path.dirname(bundle))).toEqual(['.keep', 'support.tar.gz']);
  });

  it(`cuts each log to its last ${BUNDLE_LOG_TAIL_MIB} MiB`, () => {
    const m = plantedMac();
    const line = 'x'.repeat(1023) + '\n';
    m.file('/var/log/runlayer/ai_watch_detect.log', `FIRST-LINE\n${line.repeat(3 * 1024)}LAST-LINE\n`);
    const bundle = path.join(m.dir, 'b.tar.gz');
    m.run(doctor, ['--bundle', bundle, '--offline']);
    const { dir } = extract(bundle);
    const log = readFileSync(path.join(dir, 'logs/ai_watch_detect.log'), 'utf8');
    expect(log.length).toBe(BUNDLE_LOG_TAIL_MIB * 1024 * 1024);
    expect(log.endsWith('LAST-LINE\n')).toBe(true);
    expect(log).not.toContain('FIRST-LINE');
  });

  it('replaces a symbolic link at FILE instead of writing through it; a missing folder is an error', () => {
    const m = plantedMac();
    const target = m.outsideFile('victim.txt', 'keep me\n');
    const bundle = path.join(m.dir, 'link.tar.gz');
    m.symlinkOutside('link.tar.gz', target);
    const r = m.run(doctor, ['--bundle', bundle, '--offline']);
    expect(r.stderr).toContain('support bundle:');
    expect(readFileSync(target, 'utf8')).toBe('keep me\n');
    expect(statSync(bundle).isFile()).toBe(true);
    const healthy = new FakeDoctorMac();
    macs.push(healthy);
    healthy.healthy(spec);
    const bad = healthy.run(doctor, ['--bundle', path.join(healthy.dir, 'no', 'such', 'x.tar.gz'), '--offline']);
    expect(bad.stderr).toContain('the folder');
    expect(bad.stderr).toContain('does not exist');
    expect(bad.status).toBe(1);
  });
});

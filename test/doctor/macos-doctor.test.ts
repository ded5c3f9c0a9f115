/**
 * aiwatch-doctor.sh run for real under dash against a fake macOS root with recording stubs: the all-healthy Mac,
 * then one scenario per failure of the vendor's troubleshooting guide, each asserting the check's result, its fix
 * text and the exit code (0–3 table). Every --json report is parsed and validated against
 * schemas/aiwatch-doctor.schema.json; no key ever appears in a stub's argv or in anything printed.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { validatorFor } from '../../src/config/validate.js';
import { renderDoctorScripts } from '../../src/doctor/doctor-macos.js';
import { describeWithTools } from '../helpers/tools.js';
import { type CheckResult, type DoctorReport, type DoctorRun, ENROLL_KEY, FakeDoctorMac, ORG_KEY } from './fake-mac-doctor.js';

const spec = loadDefaultSpec();
const scripts = renderDoctorScripts(spec);
const validate = validatorFor('aiwatch-doctor.schema.json');

let macs: FakeDoctorMac[] = [];
afterEach(() => {
  for (const m of macs) m.dispose();
  macs = [];
});

function healthyMac(): FakeDoctorMac {
  const m = new FakeDoctorMac();
  macs.push(m);
  m.healthy(spec);
  return m;
}

/** No key in any stub's argv, in stdout or stderr. */
function expectNoSecret(r: DoctorRun): void {
  for (const key of [ORG_KEY, ENROLL_KEY]) {
    expect(r.calls.flat().join(' ')).not.toContain(key);
    expect(r.stdout).not.toContain(key);
    expect(r.stderr).not.toContain(key);
  }
}

/** Run --json, check it against the schema, and return the report with its checks by id. */
function doctorJson(m: FakeDoctorMac, env: Record<string, string> = {}): { report: DoctorReport; check: (id: string) => CheckResult; run: DoctorRun } {
  const run = m.run(scripts.doctor, ['--json'], env);
  expect(run.stderr).toBe('');
  expectNoSecret(run);
  const report = JSON.parse(run.stdout) as DoctorReport;
  expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
  expect(report.exitCode).toBe(run.status);
  const check = (id: string): CheckResult => {
    const c = report.checks.find((x) => x.id === id);
    if (!c) throw new Error(`no check ${id} in ${run.stdout}`);
    return c;
  };
  return { report, check, run };
}

const ALL_IDS = [
  'console-user', 'receipt', 'binary', 'signature', 'pppc-profile', 'login-items-profile', 'fda',
  'launchd:com.runlayer.aiwatch', 'launchd:com.runlayer.aiwatch.bootstrap', 'launchd:com.runlayer.aiwatch.enroll',
  'managed-prefs', 'org-api-key', 'enrollment-key', 'enrollment', 'gui-path', 'legacy', 'logs', 'host', 'tls', 'org-key-auth',
];

describeWithTools(['dash', 'bash'], 'aiwatch-doctor.sh on a fake Mac', () => {
  it('all healthy: every check ok, exit 0, the human report and --json agree', () => {
    const m = healthyMac();
    const { report, run } = doctorJson(m);
    expect(report.checks.map((c) => c.id)).toEqual(ALL_IDS);
    expect(report.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(report).toMatchObject({ status: 'ok', exitCode: 0, version: '1.4.0', summary: '1.4.0; healthy' });
    expect(run.status).toBe(0);
    const human = m.run(scripts.doctor);
    expect(human.status).toBe(0);
    expect(human.stdout).toContain('OK    org-api-key');
    expect(human.stdout).toContain('OrgApiKey is present, prefix rl_org_ valid, 36 characters');
    expect(human.stdout).toContain('exit code 0: healthy');
    expectNoSecret(human);
    // the key went to curl through its config file, never argv; the host probe had no header
    expect(run.curlConfigs).toBe(`>>> https://acme.runlayer.com/\n>>> https://acme.runlayer.com/api/v1/ai-watch/ping\nheader = "Authorization: Bearer ${ORG_KEY}"\n`);
    const curl = run.calls.filter((c) => c[0] === 'curl');
    expect(curl).toHaveLength(2);
    for (const c of curl) expect(c.slice(0, 2)).toEqual(['curl', '-q']);
    expect(curl[0]).toContain('--max-time');
  });

  it('also runs under bash --posix (macOS /bin/sh) with the same report', () => {
    const m = healthyMac();
    const a = m.run(scripts.doctor, ['--json']);
    const b = m.run(scripts.doctor, ['--json'], {}, ['bash', '--posix']);
    expect(b.status).toBe(0);
    expect(b.stdout).toBe(a.stdout);
  });

  const scenarios: Array<{ name: string; id: string; status: 'fail' | 'warn'; exit: number; fix: string; evidence: string; breakIt: (m: FakeDoctorMac) => void; env?: Record<string, string> }> = [
    {
      name: 'PPPC profile missing',
      id: 'pppc-profile', status: 'fail', exit: 1,
      evidence: 'profile com.runlayer.aiwatch.pppc is not installed',
      fix: 'deploy com.runlayer.aiwatch.pppc.mobileconfig from the release zip through your MDM',
      breakIt: (m) => m.profileList(['com.runlayer.aiwatch.loginitems', 'com.runlayer.aiwatch.tenant']),
    },
    {
      name: 'Full Disk Access denied',
      id: 'fda', status: 'fail', exit: 1,
      evidence: 'Full Disk Access denied for com.runlayer.aiwatch (TCC.db auth_value 0)',
      fix: 'tccutil reset SystemPolicyAllFiles com.runlayer.aiwatch',
      breakIt: (m) => m.setState('tcc', ['com.runlayer.aiwatch|0']),
    },
    {
      name: 'Full Disk Access never granted (no TCC.db row, no MDM override)',
      id: 'fda', status: 'fail', exit: 1,
      evidence: 'no Full Disk Access for com.runlayer.aiwatch',
      fix: 'install com.runlayer.aiwatch.pppc through your MDM',
      breakIt: (m) => m.setState('tcc', ['com.apple.Terminal|2']),
    },
    {
      name: 'binary unsigned',
      id: 'signature', status: 'fail', exit: 3,
      evidence: '/usr/local/lib/runlayer/aiwatch/aiwatch: code object is not signed at all)',
      fix: 'the binary must be the Developer ID-signed aiwatch, identifier com.runlayer.aiwatch, team AF2M8HC7A2',
      breakIt: (m) => m.file(spec.installPath, '#!/bin/sh\n', 0o755),
    },
    {
      name: 'binary signed with the wrong identifier',
      id: 'signature', status: 'fail', exit: 3,
      evidence: 'signed as identifier com.example.other, team AF2M8HC7A2; expected identifier com.runlayer.aiwatch, team AF2M8HC7A2',
      fix: 'install the pkg built from the same spec as the profiles',
      breakIt: (m) => m.file(spec.installPath, '#!/bin/sh\nIDENT:com.example.other\nTEAM:AF2M8HC7A2\n', 0o755),
    },
    {
      name: 'binary signed by another team',
      id: 'signature', status: 'fail', exit: 3,
      evidence: 'signed as identifier com.runlayer.aiwatch, team ZZZZZZZZZZ',
      fix: 'the PPPC grant matches only identifier com.runlayer.aiwatch of team AF2M8HC7A2',
      breakIt: (m) => m.file(spec.installPath, '#!/bin/sh\nIDENT:com.runlayer.aiwatch\nTEAM:ZZZZZZZZZZ\n', 0o755),
    },
    {
      name: 'binary missing',
      id: 'binary', status: 'fail', exit: 3,
      evidence: '/usr/local/lib/runlayer/aiwatch/aiwatch is missing',
      fix: 'install (or reinstall) the aiwatch pkg',
      breakIt: (m) => m.rm(spec.installPath),
    },
    {
      name: 'unit not loaded (the Detect agent)',
      id: 'launchd:com.runlayer.aiwatch', status: 'fail', exit: 3,
      evidence: 'not loaded in gui/501 (launchctl print gui/501/com.runlayer.aiwatch: Could not find service',
      fix: 'launchctl bootstrap gui/501 /Library/LaunchAgents/com.runlayer.aiwatch.plist',
      breakIt: (m) => m.setState('loaded', ['system/com.runlayer.aiwatch.bootstrap', 'gui/501/com.runlayer.aiwatch.enroll']),
    },
    {
      name: 'daemon not loaded',
      id: 'launchd:com.runlayer.aiwatch.bootstrap', status: 'fail', exit: 3,
      evidence: 'not loaded in system',
      fix: 'launchctl bootstrap system /Library/LaunchDaemons/com.runlayer.aiwatch.bootstrap.plist',
      breakIt: (m) => m.setState('loaded', ['gui/501/com.runlayer.aiwatch', 'gui/501/com.runlayer.aiwatch.enroll']),
    },
    {
      name: 'host unreachable (DNS)',
      id: 'host', status: 'fail', exit: 2,
      evidence: 'cannot resolve https://acme.runlayer.com or its proxy (curl exit 6',
      fix: 'check DNS on this Mac and the Host value in the tenant profile',
      breakIt: () => undefined,
      env: { STUB_CURL_HOST: '6' },
    },
    {
      name: 'host times out',
      id: 'host', status: 'fail', exit: 2,
      evidence: 'no answer from https://acme.runlayer.com within 10 s (curl exit 28',
      fix: 'allow outbound HTTPS (443) to https://acme.runlayer.com',
      breakIt: () => undefined,
      env: { STUB_CURL_HOST: '28' },
    },
    {
      name: 'TLS intercepted (curl exit 60)',
      id: 'tls', status: 'fail', exit: 2,
      evidence: 'the certificate of https://acme.runlayer.com was not accepted (curl exit 60: curl: (60) SSL certificate problem: unable to get local issuer certificate)',
      fix: 'install the corporate root CA as trusted through your MDM, or give the agent a PEM bundle in RUNLAYER_CA_BUNDLE (SSL_CERT_FILE, then REQUESTS_CA_BUNDLE are the fallbacks)',
      breakIt: () => undefined,
      env: { STUB_CURL_HOST: '60' },
    },
    {
      name: 'TLS intercepted (CERTIFICATE_VERIFY_FAILED in the agent log)',
      id: 'tls', status: 'fail', exit: 2,
      evidence: 'CERTIFICATE_VERIFY_FAILED in ai_watch_detect.log',
      fix: 'RUNLAYER_CA_BUNDLE',
      breakIt: (m) => m.file('/var/log/runlayer/ai_watch_detect.log', 'ERROR scan upload failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate\n'),
    },
    {
      name: 'HTTP 401: wrong or revoked key',
      id: 'org-key-auth', status: 'fail', exit: 1,
      evidence: 'HTTP 401 from https://acme.runlayer.com/api/v1/ai-watch/ping: the organization API key was refused',
      fix: 'the key is wrong or revoked: mint a new organization API key with the Detect Scan role',
      breakIt: () => undefined,
      env: { STUB_CURL_STATUS: '401' },
    },
    {
      name: 'HTTP 403: the key lacks the Detect Scan role',
      id: 'org-key-auth', status: 'fail', exit: 1,
      evidence: 'HTTP 403 from https://acme.runlayer.com/api/v1/ai-watch/ping: the organization API key is valid but not allowed',
      fix: 'give the organization API key the Detect Scan role',
      breakIt: () => undefined,
      env: { STUB_CURL_STATUS: '403' },
    },
    {
      name: 'no console user',
      id: 'console-user', status: 'fail', exit: 1,
      evidence: 'no user is logged in at the screen (scutil: loginwindow)',
      fix: 'run the doctor again while a user is logged in',
      breakIt: () => undefined,
      env: { STUB_CONSOLE_USER: 'loginwindow' },
    },
    {
      name: 'legacy runlayer-scan leftovers',
      id: 'legacy', status: 'warn', exit: 0,
      evidence: 'runlayer-scan leftovers: /usr/local/bin/runlayer-scan, /Library/LaunchAgents/com.runlayer.scan.plist, /Users/alice/Library/LaunchAgents/com.runlayer.scan.plist, /tmp/runlayer-scan.stdout.log, job gui/501/com.runlayer.scan loaded',
      fix: 'run cleanup-runlayer-scan.sh from the release zip as root',
      breakIt: (m) => {
        m.file('/usr/local/bin/runlayer-scan', '#!/bin/sh\n', 0o755);
        m.file('/Library/LaunchAgents/com.runlayer.scan.plist', '<plist/>\n');
        m.file('/Users/alice/Library/LaunchAgents/com.runlayer.scan.plist', '<plist/>\n');
        m.file('/tmp/runlayer-scan.stdout.log', 'old\n');
        m.setState('loaded', [...spec.units.map((u) => (u.kind === 'daemon' ? `system/${u.label}` : `gui/501/${u.label}`)), 'gui/501/com.runlayer.scan']);
      },
    },
    {
      name: 'GUI PATH missing the binary folder',
      id: 'gui-path', status: 'warn', exit: 0,
      evidence: 'no launchd user PATH is set: GUI apps get /usr/bin:/bin:/usr/sbin:/sbin, without /usr/local/lib/runlayer/aiwatch',
      fix: "sudo launchctl config user path '/usr/local/lib/runlayer/aiwatch:/usr/bin:/bin:/usr/sbin:/sbin'",
      breakIt: (m) => m.rm('/private/var/db/com.apple.xpc.launchd/config/user.plist'),
    },
    {
      name: 'managed preferences missing',
      id: 'managed-prefs', status: 'fail', exit: 1,
      evidence: 'no managed preferences for com.runlayer.aiwatch (/Library/Managed Preferences/com.runlayer.aiwatch.plist is missing)',
      fix: 'deploy the tenant profile (com.runlayer.aiwatch.tenant, made by aiwatch-deploy tenant) through your MDM',
      breakIt: (m) => m.rm('/Library/Managed Preferences/com.runlayer.aiwatch.plist'),
    },
    {
      name: 'org key without its prefix',
      id: 'org-api-key', status: 'fail', exit: 1,
      evidence: 'OrgApiKey is present (22 characters) but does not start with rl_org_',
      fix: 'copy the organization API key again from Settings > Organization API keys (its prefix is rl_org_ ) into the tenant profile',
      breakIt: (m) => m.prefs(spec, { Host: 'https://acme.runlayer.com', OrgApiKey: 'sk_live_0123456789abcd', EnrollmentKey: ENROLL_KEY }),
    },
    {
      name: 'Enforce without an enrollment key',
      id: 'enrollment-key', status: 'warn', exit: 0,
      evidence: 'EnrollmentKey is absent while Enforcement is true (default): the enroll and bootstrap units stay idle at their gate',
      fix: 'add the enrollment key (prefix rl_enroll_ ) to the tenant profile for Enforce',
      breakIt: (m) => m.prefs(spec, { Host: 'https://acme.runlayer.com', OrgApiKey: ORG_KEY }),
    },
    {
      name: 'enrollment attempted and not completed (the guard)',
      id: 'enrollment', status: 'warn', exit: 0,
      evidence: 'guard holds retries for 60 s',
      fix: 'launchctl kickstart -k gui/501/com.runlayer.aiwatch.enroll',
      breakIt: (m) => {
        m.rm('/Users/alice/.runlayer/config.json');
        m.file('/Users/alice/.runlayer/.enrollment-attempt', '');
      },
    },
    {
      name: 'agents logging to the /tmp fallback',
      id: 'logs', status: 'warn', exit: 0,
      evidence: 'the agents wrote to the fallback /tmp/runlayer-ai_watch_detect.log',
      fix: 'postinstall makes /var/log/runlayer root:wheel 0755',
      breakIt: (m) => m.file('/tmp/runlayer-ai_watch_detect.log', 'INFO fallback\n'),
    },
  ];

  describe.each(scenarios)('$name', (s) => {
    it(`${s.id}: ${s.status}, exit ${s.exit}, with its fix`, () => {
      const m = healthyMac();
      s.breakIt(m);
      const { report, check } = doctorJson(m, s.env);
      const c = check(s.id);
      expect(c.status).toBe(s.status);
      expect(c.evidence).toContain(s.evidence);
      expect(c.fix).toContain(s.fix);
      expect(report.exitCode).toBe(s.exit);
      if (s.status === 'fail') expect(report.summary).toMatch(new RegExp(`unhealthy: (.*,)?${s.id.replace(/[.:]/g, '\\$&')}(,|$)`));
    });
  });

  it('several failures: the exit code is the highest (installation 3 over network 2 over general 1)', () => {
    const m = healthyMac();
    m.profileList([]);
    m.rm(spec.installPath);
    const { report, check } = doctorJson(m, { STUB_CURL_HOST: '7' });
    expect(check('pppc-profile').exitCode).toBe(1);
    expect(check('host').exitCode).toBe(2);
    expect(check('binary').exitCode).toBe(3);
    expect(check('signature').status).toBe('skip');
    expect(report.exitCode).toBe(3);
  });

  it('no console user: the agents and enrollment are skipped, the daemon still checked', () => {
    const m = healthyMac();
    const { check } = doctorJson(m, { STUB_CONSOLE_USER: 'root' });
    expect(check('console-user').evidence).toBe('no user is logged in at the screen (scutil: root)');
    expect(check('launchd:com.runlayer.aiwatch').status).toBe('skip');
    expect(check('launchd:com.runlayer.aiwatch.bootstrap').status).toBe('ok');
    expect(check('enrollment').status).toBe('skip');
  });

  it('the CA bundle rules: RUNLAYER_CA_BUNDLE first, then SSL_CERT_FILE, then REQUESTS_CA_BUNDLE; a missing file is ignored', () => {
    const m = healthyMac();
    m.file('/ca/corp.pem', '-----BEGIN CERTIFICATE-----\n');
    m.file('/ca/ssl.pem', '-----BEGIN CERTIFICATE-----\n');
    const both = doctorJson(m, { RUNLAYER_CA_BUNDLE: m.p('/ca/corp.pem'), SSL_CERT_FILE: m.p('/ca/ssl.pem') });
    expect(both.check('host').evidence).toContain(`CA bundle from RUNLAYER_CA_BUNDLE: ${m.p('/ca/corp.pem')}`);
    const curl = both.run.calls.filter((c) => c[0] === 'curl');
    for (const c of curl) expect(c[c.indexOf('--cacert') + 1]).toBe('<ROOT>/ca/corp.pem');
    const fallback = doctorJson(m, { RUNLAYER_CA_BUNDLE: '/nonexistent.pem', REQUESTS_CA_BUNDLE: m.p('/ca/ssl.pem') });
    expect(fallback.check('host').evidence).toContain(`CA bundle from REQUESTS_CA_BUNDLE: ${m.p('/ca/ssl.pem')}`);
    const none = doctorJson(m);
    expect(none.run.calls.flat()).not.toContain('--cacert');
  });

  it('a unit that keeps failing is a warning with its last exit code and the kickstart command', () => {
    const m = healthyMac();
    const { check } = doctorJson(m, { STUB_LAST_EXIT: '78' });
    expect(check('launchd:com.runlayer.aiwatch')).toMatchObject({ status: 'warn', fix: expect.stringContaining('launchctl kickstart -k gui/501/com.runlayer.aiwatch') });
  });

  it('TCC.db not readable and no MDM override: a warning that names who needs Full Disk Access', () => {
    const m = healthyMac();
    const { check } = doctorJson(m, { STUB_TCC_ERROR: 'unable to open database file: authorization denied' });
    expect(check('fda')).toMatchObject({ status: 'warn', evidence: expect.stringContaining('authorization denied') });
    m.file('/Library/Application Support/com.apple.TCC/MDMOverrides.plist', '<plist><dict><key>com.runlayer.aiwatch</key><dict><key>kTCCServiceSystemPolicyAllFiles</key><dict/></dict></dict></plist>\n');
    const viaMdm = doctorJson(m, { STUB_TCC_ERROR: 'unable to open database file: authorization denied' });
    expect(viaMdm.check('fda')).toMatchObject({ status: 'ok', evidence: expect.stringContaining('granted by MDM: MDMOverrides.plist names com.runlayer.aiwatch') });
  });

  it('a key in a log line or a hostile Host is never printed raw; control characters in evidence become spaces', () => {
    const m = healthyMac();
    m.file('/var/log/runlayer/ai_watch_detect.log', `ERROR upload failed for key ${ORG_KEY} \x1b[31m"quoted"\\ and Authorization: Bearer abc.def\n`);
    const { check } = doctorJson(m);
    expect(check('logs').evidence).toBe('ai_watch_detect.log 114 B, ai_watch_enforce.log 35 B, auto_provisioning.log 35 B; last error: ai_watch_detect.log: ERROR upload failed for key [REDACTED]  [31m"quoted"\\ and Authorization: [REDACTED]');
    m.prefs(spec, { Host: 'https://evil.example.com/$(touch /tmp/x)"\n', OrgApiKey: ORG_KEY });
    const bad = doctorJson(m);
    expect(bad.check('managed-prefs')).toMatchObject({ status: 'fail', exitCode: 1 });
    expect(bad.run.calls.filter((c) => c[0] === 'curl')).toEqual([]);
  });

  it('not root: exit 1 before any check; unknown option: exit 1 with usage', () => {
    const m = healthyMac();
    const r = m.run(scripts.doctor, [], { STUB_EUID: '501' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('must be run as root');
    expect(r.calls.map((c) => c[0])).toEqual(['id']);
    const u = m.run(scripts.doctor, ['--frobnicate']);
    expect(u.status).toBe(1);
    expect(u.stderr).toContain('unknown option: --frobnicate');
  });

  it('changes nothing on the Mac: every file of the fake root and the stub state are the same after a run', () => {
    const m = healthyMac();
    m.file('/tmp/runlayer-scan.stdout.log', 'old\n');
    const tree = (): string[] =>
      [m.root, m.state].flatMap((top) =>
        (readdirSync(top, { recursive: true }) as string[]).sort().map((rel) => {
          const f = path.join(top, rel);
          const st = statSync(f);
          return `${f} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${st.isFile() && !f.endsWith('curl.configs') ? readFileSync(f, 'utf8') : ''}`;
        }),
      );
    const before = tree();
    expect(m.run(scripts.doctor, ['--json'], { STUB_CURL_STATUS: '401' }).status).toBe(1);
    expect(tree().filter((l) => !l.includes('curl.configs'))).toEqual(before.filter((l) => !l.includes('curl.configs')));
  });

  it('leaves nothing behind in TMPDIR', () => {
    const m = healthyMac();
    m.run(scripts.doctor, ['--json']);
    expect(m.run(scripts.doctor).status).toBe(0);
    expect(readdirSync(m.tmp)).toEqual([]);
  });
});

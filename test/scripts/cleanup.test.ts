/**
 * cleanup-runlayer-scan.sh (and the same logic inside preinstall) run under dash against a fake root with a
 * legacy runlayer-scan deployment in it. Oracles: the fake root's files, the stubs' launchd state and argv log.
 */
import { afterEach, expect, it } from 'vitest';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { renderCleanupScript, renderInstallScripts } from '../../src/release/macos-scripts.js';
import { describeWithTools } from '../helpers/tools.js';
import { callsOf, FakeMac, unprefixedPaths, type FakeMacOptions } from './fake-mac.js';

const spec = loadDefaultSpec();
const cleanup = renderCleanupScript(spec);
const LEGACY_PLISTS = [
  '/Library/LaunchAgents/com.runlayer.scan.plist',
  '/Users/alice/Library/LaunchAgents/com.runlayer.scan.plist',
  '/Users/carol/Library/LaunchAgents/com.runlayer.scan.plist',
  '/Volumes/Home Disk/bob/Library/LaunchAgents/com.runlayer.scan.plist',
];
const AIWATCH_LOGS = ['/var/log/runlayer/ai_watch_detect.log', '/var/log/runlayer/auto_provisioning.log'];

let macs: FakeMac[] = [];
afterEach(() => {
  for (const m of macs) m.dispose();
  macs = [];
});

/** A Mac with the legacy deployment: plists (system, /Users homes, a home elsewhere), wrapper, logs, loaded job. */
function legacyMac(opts: FakeMacOptions = {}): FakeMac {
  const m = new FakeMac({
    users: { alice: 501, bob: 502, carol: 503 },
    consoleUser: 'alice',
    loginwindowUids: [0, 501, 502],
    homes: [['alice', '/Users/alice'], ['bob', '/Volumes/Home Disk/bob'], ['_www', '/Library/WebServer'], ['root', '/var/root']],
    ...opts,
  });
  macs.push(m);
  for (const p of LEGACY_PLISTS) m.file(p, '<plist>legacy</plist>\n');
  m.file('/usr/local/bin/runlayer-scan', '\x7fELF-ish\nIDENT:com.runlayer.scan\n', 0o755);
  m.file('/tmp/runlayer-scan.stdout.log', 'out\n');
  m.file('/tmp/runlayer-scan.stderr.log', 'err\n');
  m.setLoaded(['gui/501/com.runlayer.scan', 'gui/502/com.runlayer.scan', 'system/com.runlayer.aiwatch.bootstrap']);
  // aiwatch's own files, which must never be touched
  m.installPayload(spec);
  for (const l of AIWATCH_LOGS) m.file(l, 'aiwatch log\n');
  m.file('/Library/LaunchAgents/com.runlayer.aiwatch.custom.plist', 'not the package\'s\n');
  m.file('/usr/local/bin/other-tool', 'IDENT:org.example.other\n', 0o755);
  return m;
}

function expectAiwatchUntouched(m: FakeMac): void {
  for (const u of spec.units) expect(m.exists(u.plistPath), u.plistPath).toBe(true);
  expect(m.exists(spec.installPath)).toBe(true);
  for (const l of AIWATCH_LOGS) expect(m.read(l)).toBe('aiwatch log\n');
  expect(m.exists('/Library/LaunchAgents/com.runlayer.aiwatch.custom.plist')).toBe(true);
  expect(m.exists('/usr/local/bin/other-tool')).toBe(true);
  expect(m.loaded()).toContain('system/com.runlayer.aiwatch.bootstrap');
}

describeWithTools(['shellcheck', 'dash'], 'cleanup-runlayer-scan.sh', () => {
  it('removes the legacy deployment everywhere and touches nothing of aiwatch', () => {
    const m = legacyMac();
    const r = m.run(cleanup);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(callsOf(r, 'launchctl')).toEqual([
      'launchctl bootout system/com.runlayer.scan',
      'launchctl bootout gui/501/com.runlayer.scan',
      'launchctl bootout gui/502/com.runlayer.scan',
    ]);
    expect(m.loaded()).toEqual(['system/com.runlayer.aiwatch.bootstrap']);
    for (const p of LEGACY_PLISTS) expect(m.exists(p), p).toBe(false);
    expect(m.exists('/usr/local/bin/runlayer-scan')).toBe(false);
    expect(callsOf(r, 'codesign')).toEqual(['codesign -dv <ROOT>/usr/local/bin/runlayer-scan']);
    expect(m.exists('/tmp/runlayer-scan.stdout.log')).toBe(false);
    expect(m.exists('/tmp/runlayer-scan.stderr.log')).toBe(false);
    expect(m.exists('/var/log/runlayer')).toBe(true);
    expectAiwatchUntouched(m);
    expect(r.stdout).toContain('summary: changed 9 item(s); kept 0; 0 error(s)');
    expect(r.stdout).toContain('REMINDER: remove the legacy runlayer-scan PPPC');
    expect(unprefixedPaths(r)).toEqual([]);
  });

  it('is idempotent: a second run changes nothing and exits 0', () => {
    const m = legacyMac();
    expect(m.run(cleanup).status).toBe(0);
    const before = m.snapshot();
    const r = m.run(cleanup);
    expect(r.status).toBe(0);
    expect(m.snapshot()).toBe(before);
    expect(r.stdout).toContain('summary: changed 0 item(s); kept 0; 0 error(s)');
    expect(r.stdout).toContain('nothing to do');
    expect(callsOf(r, 'chown')).toEqual([]);
    expect(callsOf(r, 'chmod')).toEqual([]);
  });

  it('--dry-run prints what it would do and changes nothing', () => {
    const m = legacyMac();
    const before = m.snapshot();
    const r = m.run(cleanup, ['--dry-run']);
    expect(r.status).toBe(0);
    expect(m.snapshot()).toBe(before);
    expect(callsOf(r, 'launchctl').every((c) => c.startsWith('launchctl print '))).toBe(true);
    expect(r.stdout).toContain('would boot out gui/501/com.runlayer.scan');
    expect(r.stdout).toContain(`would remove ${m.p('/Volumes/Home Disk/bob/Library/LaunchAgents/com.runlayer.scan.plist')}`);
    expect(r.stdout).toContain(`would remove ${m.p('/usr/local/bin/runlayer-scan')}`);
    expect(r.stdout).toContain('dry run, nothing was changed): would change 9 item(s)');
  });

  it.each([
    ['signed by someone else', 'IDENT:org.example.scanner\n'],
    ['unsigned', '#!/bin/sh\necho my own runlayer-scan\n'],
  ])('keeps a /usr/local/bin/runlayer-scan that is not the Runlayer wrapper (%s)', (_n, content) => {
    const m = legacyMac();
    m.file('/usr/local/bin/runlayer-scan', content, 0o755);
    const r = m.run(cleanup);
    expect(r.status).toBe(0);
    expect(m.read('/usr/local/bin/runlayer-scan')).toBe(content);
    expect(r.stdout).toContain('is not signed with the identifier com.runlayer.scan');
    for (const p of LEGACY_PLISTS) expect(m.exists(p)).toBe(false);
  });

  it('keeps a runlayer-scan that is a symbolic link (and its target)', () => {
    const m = legacyMac();
    m.file('/opt/tool/runlayer-scan', 'IDENT:com.runlayer.scan\n', 0o755);
    m.symlink('/usr/local/bin/runlayer-scan-x', m.p('/opt/tool/runlayer-scan'));
    const sp = { ...spec, legacy: { ...spec.legacy, wrapperPath: '/usr/local/bin/runlayer-scan-x' } };
    const r = m.run(renderCleanupScript(sp));
    expect(r.status).toBe(0);
    expect(m.exists('/usr/local/bin/runlayer-scan-x')).toBe(true);
    expect(m.exists('/opt/tool/runlayer-scan')).toBe(true);
    expect(callsOf(r, 'codesign')).toEqual([]);
  });

  it('without codesign, falls back to the identifier bytes in the file', () => {
    const ours = legacyMac({ withoutCodesign: true });
    const r1 = ours.run(cleanup);
    expect(r1.status).toBe(0);
    expect(r1.stdout).toContain('codesign is not available');
    expect(ours.exists('/usr/local/bin/runlayer-scan')).toBe(false);
    const other = legacyMac({ withoutCodesign: true });
    other.file('/usr/local/bin/runlayer-scan', 'IDENT:org.example.scanner\n', 0o755);
    const r2 = other.run(cleanup);
    expect(r2.status).toBe(0);
    expect(other.exists('/usr/local/bin/runlayer-scan')).toBe(true);
  });

  it('removes a /tmp/runlayer-scan.stdout.log symbolic link without following it', () => {
    const m = legacyMac();
    m.file('/etc/important.conf', 'keep me\n');
    m.rm('/tmp/runlayer-scan.stdout.log');
    m.symlink('/tmp/runlayer-scan.stdout.log', m.p('/etc/important.conf'));
    m.rm('/tmp/runlayer-scan.stderr.log');
    m.symlink('/tmp/runlayer-scan.stderr.log', m.outside('outside-the-root.txt', 'outside\n'));
    const r = m.run(cleanup);
    expect(r.status).toBe(0);
    expect(m.exists('/tmp/runlayer-scan.stdout.log')).toBe(false);
    expect(m.exists('/tmp/runlayer-scan.stderr.log')).toBe(false);
    expect(m.read('/etc/important.conf')).toBe('keep me\n');
    expect(m.readOutside('outside-the-root.txt')).toBe('outside\n');
  });

  it('does not follow a user\'s ~/Library/LaunchAgents that is a symbolic link', () => {
    const m = legacyMac();
    m.file('/Library/LaunchDaemons/com.runlayer.scan.plist', 'a root file with the legacy name\n');
    m.rmTree('/Users/carol/Library/LaunchAgents');
    m.symlink('/Users/carol/Library/LaunchAgents', m.p('/Library/LaunchDaemons'));
    const r = m.run(cleanup);
    expect(r.status).toBe(0);
    expect(m.exists('/Library/LaunchDaemons/com.runlayer.scan.plist')).toBe(true);
    expect(r.stdout).toContain('is a symbolic link: not following it');
  });

  it('exit codes: 1 when not root or on an unknown option, 3 when something could not be done', () => {
    const m = legacyMac();
    const notRoot = m.run(cleanup, [], { STUB_EUID: '501' });
    expect(notRoot.status).toBe(1);
    expect(notRoot.stderr).toContain('must be run as root');
    expect(m.exists('/usr/local/bin/runlayer-scan')).toBe(true);
    const bad = m.run(cleanup, ['--force']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('unknown option: --force');
    const help = m.run(cleanup, ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: cleanup-runlayer-scan.sh [--dry-run]');
    const failing = m.run(cleanup, [], { STUB_BOOTOUT_RC: '5' });
    expect(failing.status).toBe(3);
    expect(failing.stdout).toContain('ERROR: launchctl bootout system/com.runlayer.scan failed with 5');
  });
});

describeWithTools(['shellcheck', 'dash'], 'preinstall legacy cleanup', () => {
  it('does the same as the cleanup script, and still exits 0', () => {
    const a = legacyMac();
    const b = legacyMac();
    const viaCleanup = a.run(cleanup);
    const viaPreinstall = b.run(renderInstallScripts(spec).preinstall, ['/tmp/aiwatch.pkg', '/', '/', '/']);
    expect(viaPreinstall.status).toBe(0);
    for (const p of LEGACY_PLISTS) expect(b.exists(p)).toBe(false);
    expect(b.exists('/usr/local/bin/runlayer-scan')).toBe(false);
    expect(b.exists('/tmp/runlayer-scan.stdout.log')).toBe(false);
    const legacyCalls = (r: typeof viaCleanup): string[] => callsOf(r, 'launchctl').filter((c) => c.includes('com.runlayer.scan'));
    expect(legacyCalls(viaPreinstall)).toEqual(legacyCalls(viaCleanup));
    // preinstall also stopped the aiwatch daemon (an upgrade), which the cleanup script never does
    expect(b.loaded()).toEqual([]);
    expect(a.loaded()).toEqual(['system/com.runlayer.aiwatch.bootstrap']);
  });
});

describeWithTools(['shellcheck', 'bash'], 'cleanup-runlayer-scan.sh under bash --posix (macOS /bin/sh)', () => {
  it('does the same as under dash', () => {
    const a = legacyMac();
    const b = legacyMac();
    const viaDash = a.run(cleanup);
    const viaBash = b.run(cleanup, [], {}, ['bash', '--posix']);
    expect(viaBash.status, viaBash.stderr).toBe(0);
    expect(viaBash.stderr).toBe('');
    expect(b.snapshot().split(b.root).join('')).toBe(a.snapshot().split(a.root).join(''));
    expect(viaBash.calls.map((c) => c.join(' '))).toEqual(viaDash.calls.map((c) => c.join(' ')));
  });
});

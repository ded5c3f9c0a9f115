/**
 * uninstall-aiwatch.sh run under dash against a fake root holding the aiwatch payload next to unrelated files in
 * the same folders. Oracles: the fake root's files, the stubs' launchd and receipt state, the argv log.
 */
import { afterEach, expect, it } from 'vitest';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { renderUninstallScript } from '../../src/release/macos-scripts.js';
import { describeWithTools } from '../helpers/tools.js';
import { callsOf, FakeMac, unprefixedPaths } from './fake-mac.js';

const spec = loadDefaultSpec();
const uninstall = renderUninstallScript(spec);
const UNRELATED = [
  '/Library/LaunchAgents/com.runlayer.aiwatch.custom.plist',
  '/Library/LaunchAgents/com.example.agent.plist',
  '/Library/LaunchDaemons/com.example.daemon.plist',
  '/usr/local/lib/libexample.dylib',
  '/usr/local/lib/runlayer/other-tool',
  '/usr/local/bin/runlayer-scan',
  '/var/log/runlayer/other.log',
];
const LOGS = ['/var/log/runlayer/ai_watch_detect.log', '/var/log/runlayer/install.log', '/tmp/runlayer-ai_watch_detect.log'];
const OURS_LOADED = ['gui/501/com.runlayer.aiwatch', 'gui/501/com.runlayer.aiwatch.enroll', 'gui/502/com.runlayer.aiwatch', 'system/com.runlayer.aiwatch.bootstrap'];
const FOREIGN_LOADED = ['gui/501/com.runlayer.aiwatch.custom', 'system/com.example.daemon'];

let macs: FakeMac[] = [];
afterEach(() => {
  for (const m of macs) m.dispose();
  macs = [];
});

function installedMac(): FakeMac {
  const m = new FakeMac({ users: { alice: 501, bob: 502 }, consoleUser: 'alice', loginwindowUids: [0, 501, 502] });
  macs.push(m);
  m.installPayload(spec);
  for (const f of [...UNRELATED, ...LOGS]) m.file(f, `${f}\n`);
  m.setLoaded([...OURS_LOADED, ...FOREIGN_LOADED]);
  m.setReceipts(['com.example.other.pkg', spec.packageIdentifier]);
  return m;
}

describeWithTools(['shellcheck', 'dash'], 'uninstall-aiwatch.sh', () => {
  it('boots out the three units, removes exactly the payload, forgets the receipt, keeps logs and unrelated files', () => {
    const m = installedMac();
    const r = m.run(uninstall);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(callsOf(r, 'launchctl')).toEqual([
      'launchctl bootout system/com.runlayer.aiwatch.bootstrap',
      'launchctl bootout gui/501/com.runlayer.aiwatch',
      'launchctl bootout gui/501/com.runlayer.aiwatch.enroll',
      'launchctl bootout gui/502/com.runlayer.aiwatch',
      'launchctl bootout gui/502/com.runlayer.aiwatch.enroll',
    ]);
    expect(m.loaded()).toEqual(FOREIGN_LOADED);
    expect(m.exists(spec.installPath)).toBe(false);
    for (const u of spec.units) expect(m.exists(u.plistPath), u.plistPath).toBe(false);
    // the binary's own folder is gone (empty), its parent holds another file and stays
    expect(m.exists('/usr/local/lib/runlayer/aiwatch')).toBe(false);
    expect(m.exists('/usr/local/lib/runlayer')).toBe(true);
    for (const f of [...UNRELATED, ...LOGS]) expect(m.read(f), f).toBe(`${f}\n`);
    expect(m.receipts()).toEqual(['com.example.other.pkg']);
    expect(callsOf(r, 'pkgutil')).toEqual([`pkgutil --pkg-info ${spec.packageIdentifier}`, `pkgutil --forget ${spec.packageIdentifier}`]);
    expect(r.stdout).toContain('the logs in /var/log/runlayer are kept (--purge removes them)');
    expect(r.stdout).toContain('REMINDER: remove the aiwatch configuration profiles');
    expect(unprefixedPaths(r)).toEqual([]);
  });

  it('removes the package folders when nothing else is in them, never an empty shared folder', () => {
    const m = installedMac();
    m.rm('/usr/local/lib/runlayer/other-tool');
    m.rm('/usr/local/lib/libexample.dylib');
    const r = m.run(uninstall);
    expect(r.status).toBe(0);
    expect(m.exists('/usr/local/lib/runlayer')).toBe(false);
    expect(m.exists('/usr/local/lib')).toBe(true);
  });

  it('--purge also removes the aiwatch logs, but not other files in the log folder', () => {
    const m = installedMac();
    const r = m.run(uninstall, ['--purge']);
    expect(r.status).toBe(0);
    for (const f of LOGS) expect(m.exists(f), f).toBe(false);
    expect(m.read('/var/log/runlayer/other.log')).toBe('/var/log/runlayer/other.log\n');
    expect(r.stdout).toContain(`${m.p('/var/log/runlayer')} is not empty`);
  });

  it('--dry-run changes nothing', () => {
    const m = installedMac();
    const before = m.snapshot();
    const r = m.run(uninstall, ['--dry-run', '--purge']);
    expect(r.status).toBe(0);
    expect(m.snapshot()).toBe(before);
    expect(callsOf(r, 'launchctl').every((c) => c.startsWith('launchctl print '))).toBe(true);
    expect(callsOf(r, 'pkgutil')).toEqual([`pkgutil --pkg-info ${spec.packageIdentifier}`]);
    expect(r.stdout).toContain(`would remove ${m.p(spec.installPath)}`);
    expect(r.stdout).toContain(`would forget the installer receipt ${spec.packageIdentifier}`);
  });

  it('a second run finds nothing to do and exits 0', () => {
    const m = installedMac();
    expect(m.run(uninstall).status).toBe(0);
    const before = m.snapshot();
    const r = m.run(uninstall);
    expect(r.status).toBe(0);
    expect(m.snapshot()).toBe(before);
    expect(r.stdout).toContain('nothing to do: aiwatch is not installed');
  });

  it('exit codes: 1 when not root or on an unknown option, 3 when something could not be done', () => {
    const m = installedMac();
    expect(m.run(uninstall, [], { STUB_EUID: '501' }).status).toBe(1);
    expect(m.exists(spec.installPath)).toBe(true);
    expect(m.run(uninstall, ['--purge', '--yes']).status).toBe(1);
    const r = m.run(uninstall, [], { STUB_BOOTOUT_RC: '1' });
    expect(r.status).toBe(3);
    expect(r.stdout).toContain('ERROR: launchctl bootout system/com.runlayer.aiwatch.bootstrap failed with 1');
  });
});

describeWithTools(['shellcheck', 'bash'], 'uninstall-aiwatch.sh under bash --posix (macOS /bin/sh)', () => {
  it('does the same as under dash', () => {
    const a = installedMac();
    const b = installedMac();
    const viaDash = a.run(uninstall, ['--purge']);
    const viaBash = b.run(uninstall, ['--purge'], {}, ['bash', '--posix']);
    expect(viaBash.status, viaBash.stderr).toBe(0);
    expect(viaBash.stderr).toBe('');
    expect(b.snapshot().split(b.root).join('')).toBe(a.snapshot().split(a.root).join(''));
    expect(viaBash.calls.map((c) => c.join(' '))).toEqual(viaDash.calls.map((c) => c.join(' ')));
  });
});

/**
 * preinstall / postinstall run for real under dash against a fake root, with the macOS commands stubbed
 * (see fake-mac.ts). Oracles: the stubs' argv log, the stubs' launchd state, and the fake root's files.
 */
import { afterEach, expect, it } from 'vitest';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { renderInstallScripts } from '../../src/release/macos-scripts.js';
import { describeWithTools } from '../helpers/tools.js';
import { callsOf, FakeMac, unprefixedPaths, type FakeMacOptions } from './fake-mac.js';

const spec = loadDefaultSpec();
const { preinstall, postinstall } = renderInstallScripts(spec);
const DAEMON = 'com.runlayer.aiwatch.bootstrap';
const AGENTS = ['com.runlayer.aiwatch', 'com.runlayer.aiwatch.enroll'];
const DAEMON_PLIST = '<ROOT>/Library/LaunchDaemons/com.runlayer.aiwatch.bootstrap.plist';
const agentPlist = (label: string): string => `<ROOT>/Library/LaunchAgents/${label}.plist`;
const ARGS = ['/tmp/aiwatch-1.4.0.pkg', '/', '/', '/'];
const ALL_LOADED_501 = [`gui/501/${AGENTS[0]}`, `gui/501/${AGENTS[1]}`, `system/${DAEMON}`];

let macs: FakeMac[] = [];
afterEach(() => {
  for (const m of macs) m.dispose();
  macs = [];
});
function mac(opts: FakeMacOptions = {}): FakeMac {
  const m = new FakeMac({ users: { alice: 501, bob: 502, _mbsetupuser: 248 }, consoleUser: 'alice', loginwindowUids: [501], ...opts });
  macs.push(m);
  return m;
}

describeWithTools(['shellcheck', 'dash'], 'postinstall', () => {
  it('fresh install: daemon in system, agents in the console user\'s gui domain, in order; logs to install.log', () => {
    const m = mac();
    m.installPayload(spec);
    const r = m.run(postinstall, ARGS);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(callsOf(r, 'launchctl')).toEqual([
      `launchctl bootout system/${DAEMON}`,
      `launchctl enable system/${DAEMON}`,
      `launchctl bootstrap system ${DAEMON_PLIST}`,
      ...AGENTS.flatMap((l) => [`launchctl bootout gui/501/${l}`, `launchctl enable gui/501/${l}`, `launchctl bootstrap gui/501 ${agentPlist(l)}`]),
    ]);
    expect(m.loaded()).toEqual(ALL_LOADED_501);
    expect(unprefixedPaths(r)).toEqual([]);
    // the log folder and its files, with their modes and (simulated) owners
    expect(m.mode('/var/log/runlayer')).toBe(0o755);
    expect(m.owner('/var/log/runlayer')).toEqual({ uid: 0, group: 'wheel' });
    expect(m.mode('/var/log/runlayer/ai_watch_detect.log')).toBe(0o664);
    expect(m.owner('/var/log/runlayer/ai_watch_detect.log')).toEqual({ uid: 0, group: 'staff' });
    expect(m.mode('/var/log/runlayer/install.log')).toBe(0o644);
    const log = m.read('/var/log/runlayer/install.log');
    expect(log).toContain(`bootstrapped ${DAEMON} in system`);
    expect(log).toContain(`bootstrapped ${AGENTS[1]} in gui/501`);
    expect(log).toContain('summary: changed 3 item(s); kept 0; 0 error(s)');
    // the install path was already root-owned and closed: nothing to fix
    expect(callsOf(r, 'chown').filter((c) => c.includes('/usr/'))).toEqual([]);
  });

  it('upgrade with the units still loaded: boots them out first, then loads them again', () => {
    const m = mac();
    m.installPayload(spec);
    m.setLoaded(ALL_LOADED_501);
    const r = m.run(postinstall, ARGS);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`booted out system/${DAEMON}`);
    expect(callsOf(r, 'launchctl').filter((c) => c.startsWith('launchctl bootstrap'))).toHaveLength(3);
    expect(m.loaded()).toEqual(ALL_LOADED_501);
  });

  it.each([
    ['nobody logged in (login window)', { consoleUser: 'root', loginwindowUids: [0] }],
    ['the login window reported by name', { consoleUser: 'loginwindow', loginwindowUids: [] }],
    ['Setup Assistant', { consoleUser: '_mbsetupuser', loginwindowUids: [248] }],
    ['no console device owner at all', { consoleUser: '', loginwindowUids: [] }],
  ])('no console user (%s): only the daemon is loaded', (_name, opts) => {
    const m = mac(opts);
    m.installPayload(spec);
    const r = m.run(postinstall, ARGS);
    expect(r.status).toBe(0);
    expect(callsOf(r, 'launchctl').filter((c) => c.includes('gui/'))).toEqual([]);
    expect(m.loaded()).toEqual([`system/${DAEMON}`]);
    expect(r.stdout).toContain('no user is logged in at a GUI session');
  });

  it('two GUI users (fast user switching): the agents are loaded for each, once', () => {
    const m = mac({ consoleUser: 'alice', loginwindowUids: [0, 501, 502] });
    m.installPayload(spec);
    const r = m.run(postinstall, ARGS);
    expect(r.status).toBe(0);
    expect(m.loaded()).toEqual([...AGENTS.map((l) => `gui/501/${l}`), ...AGENTS.map((l) => `gui/502/${l}`), `system/${DAEMON}`].sort());
    expect(callsOf(r, 'launchctl').filter((c) => c.startsWith('launchctl bootstrap gui/'))).toHaveLength(4);
  });

  it('$3 is not /: no launchd work at all, files are prepared on the target volume', () => {
    const m = mac();
    const vol = '/Volumes/Macintosh HD 2';
    m.file(`${vol}${spec.installPath}`, 'IDENT:x\n', 0o755);
    for (const u of spec.units) m.file(`${vol}${u.plistPath}`, '<plist/>\n');
    const r = m.run(postinstall, ['/tmp/aiwatch.pkg', '/', vol, '/']);
    expect(r.status, r.stdout).toBe(0);
    expect(callsOf(r, 'launchctl')).toEqual([]);
    expect(m.read(`${vol}/var/log/runlayer/install.log`)).toContain('is not the running system: no launchd work');
    expect(m.exists('/var/log/runlayer')).toBe(false);
    expect(unprefixedPaths(r)).toEqual([]);
  });

  it('bootstrap failing twice with error 5, then succeeding: retried after a short wait', () => {
    const m = mac();
    m.installPayload(spec);
    const r = m.run(postinstall, ARGS, { STUB_BOOTSTRAP_RCS: '5 5' });
    expect(r.status).toBe(0);
    expect(callsOf(r, 'launchctl').filter((c) => c === `launchctl bootstrap system ${DAEMON_PLIST}`)).toHaveLength(3);
    expect(callsOf(r, 'sleep')).toEqual(['sleep 1', 'sleep 1']);
    expect(r.stdout).toContain('error 5 (attempt 2 of 10), retrying in 1 s');
    expect(m.loaded()).toEqual(ALL_LOADED_501);
    expect(r.stdout).toContain('0 error(s)');
  });

  it('bootstrap failing with error 5 every time: gives up after 10 attempts, logs it, still exits 0', () => {
    const m = mac({ consoleUser: 'root', loginwindowUids: [] });
    m.installPayload(spec);
    const r = m.run(postinstall, ARGS, { STUB_BOOTSTRAP_RCS: Array(20).fill('5').join(' ') });
    expect(r.status).toBe(0);
    expect(callsOf(r, 'launchctl').filter((c) => c.startsWith('launchctl bootstrap'))).toHaveLength(10);
    expect(callsOf(r, 'sleep')).toHaveLength(9);
    expect(r.stdout).toContain(`ERROR: launchctl bootstrap system ${DAEMON_PLIST.replace('<ROOT>', m.root)} failed with 5 after 10 attempt(s)`);
    expect(m.read('/var/log/runlayer/install.log')).toContain('the installation itself succeeded');
  });

  it('another bootstrap error is not retried', () => {
    const m = mac({ consoleUser: 'root', loginwindowUids: [] });
    m.installPayload(spec);
    const r = m.run(postinstall, ARGS, { STUB_BOOTSTRAP_RCS: '125' });
    expect(r.status).toBe(0);
    expect(callsOf(r, 'launchctl').filter((c) => c.startsWith('launchctl bootstrap'))).toHaveLength(1);
    expect(callsOf(r, 'sleep')).toEqual([]);
  });

  it('a group-writable, user-owned /usr/local/lib (Homebrew on Intel) is fixed before anything is loaded', () => {
    const m = mac();
    m.installPayload(spec);
    m.mkdir('/usr/local/lib', 0o775);
    m.setOwner('/usr/local/lib', 501, 'admin');
    const r = m.run(postinstall, ARGS);
    expect(r.status, r.stdout).toBe(0);
    expect(callsOf(r, 'chown')).toContain('chown root:wheel <ROOT>/usr/local/lib');
    expect(callsOf(r, 'chmod')).toContain('chmod go-w <ROOT>/usr/local/lib');
    expect(m.mode('/usr/local/lib')).toBe(0o755);
    expect(m.owner('/usr/local/lib').uid).toBe(0);
    expect(r.stdout).toContain('belongs to uid 501, not root');
    expect(m.loaded()).toEqual(ALL_LOADED_501);
    // the fix happens before the daemon is loaded
    const order = r.calls.map((c) => c.join(' '));
    expect(order.indexOf('chown root:wheel <ROOT>/usr/local/lib')).toBeLessThan(order.indexOf(`launchctl bootstrap system ${DAEMON_PLIST}`));
  });

  it('a world-writable binary folder owned by root gets its write bit removed', () => {
    const m = mac();
    m.installPayload(spec);
    m.mkdir('/usr/local/lib/runlayer', 0o777);
    const r = m.run(postinstall, ARGS);
    expect(r.status).toBe(0);
    expect(m.mode('/usr/local/lib/runlayer')).toBe(0o755);
  });

  it('refuses to go on (exit 3, nothing loaded) when the install path cannot be made root-only', () => {
    const m = mac();
    m.installPayload(spec);
    m.mkdir('/usr/local/lib', 0o775);
    m.setOwner('/usr/local/lib', 501, 'admin');
    const r = m.run(postinstall, ARGS, { STUB_CHOWN_RC: '1' });
    expect(r.status).toBe(3);
    expect(callsOf(r, 'launchctl')).toEqual([]);
    expect(m.loaded()).toEqual([]);
    expect(r.stdout).toContain('still not root-owned');
    expect(r.stdout).toContain('refusing to start the aiwatch jobs');
  });

  it('refuses a symbolic link above the binary', () => {
    const m = mac();
    m.installPayload(spec);
    m.mkdir('/opt/elsewhere');
    m.symlink('/usr/local/lib/runlayer-link', m.p('/opt/elsewhere'));
    const sp = { ...spec, installPath: '/usr/local/lib/runlayer-link/aiwatch' };
    m.file('/opt/elsewhere/aiwatch', 'IDENT:x\n', 0o755);
    const r = m.run(renderInstallScripts(sp).postinstall, ARGS);
    expect(r.status).toBe(3);
    expect(r.stdout).toContain('is a symbolic link');
    expect(callsOf(r, 'launchctl')).toEqual([]);
  });

  it('a missing payload is an installation failure (exit 3)', () => {
    const m = mac();
    m.file(spec.installPath, 'IDENT:x\n', 0o755);
    const r = m.run(postinstall, ARGS);
    expect(r.status).toBe(3);
    expect(r.stdout).toContain('com.runlayer.aiwatch.bootstrap.plist is missing');
    expect(callsOf(r, 'launchctl')).toEqual([]);
  });

  it('a symbolic link planted as a log file is replaced, its target left alone', () => {
    const m = mac();
    m.installPayload(spec);
    m.file('/etc/sudoers', 'root ALL=(ALL) ALL\n', 0o440);
    m.symlink('/var/log/runlayer/install.log', m.p('/etc/sudoers'));
    const r = m.run(postinstall, ARGS);
    expect(r.status).toBe(0);
    expect(m.read('/etc/sudoers')).toBe('root ALL=(ALL) ALL\n');
    expect(m.mode('/etc/sudoers')).toBe(0o440);
    expect(m.read('/var/log/runlayer/install.log')).toContain('bootstrapped');
  });
});

describeWithTools(['shellcheck', 'dash'], 'preinstall', () => {
  it('upgrade: boots out exactly the units this package installs, in every GUI session; never fails', () => {
    const m = mac({ loginwindowUids: [0, 501, 502] });
    m.installPayload(spec);
    const foreign = ['gui/501/com.runlayer.aiwatch.helper', 'system/com.example.daemon'];
    m.setLoaded([...ALL_LOADED_501, ...AGENTS.map((l) => `gui/502/${l}`), ...foreign]);
    m.file('/Library/LaunchAgents/com.runlayer.aiwatch.helper.plist', 'not ours\n');
    const r = m.run(preinstall, ARGS);
    expect(r.status).toBe(0);
    expect(m.loaded()).toEqual(foreign.sort());
    // the payload files are left for Installer to replace; a com.runlayer.aiwatch* file it does not own is untouched
    for (const u of spec.units) expect(m.exists(u.plistPath)).toBe(true);
    expect(m.exists(spec.installPath)).toBe(true);
    expect(m.read('/Library/LaunchAgents/com.runlayer.aiwatch.helper.plist')).toBe('not ours\n');
    expect(unprefixedPaths(r)).toEqual([]);
  });

  it('fresh install: nothing loaded, nothing to remove, exit 0', () => {
    const m = mac();
    const r = m.run(preinstall, ARGS);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`system/${DAEMON} was not loaded`);
    expect(r.stdout).toContain('summary: changed 0 item(s)');
  });

  it('exits 0 even when launchd misbehaves', () => {
    const m = mac();
    const r = m.run(preinstall, ARGS, { STUB_BOOTOUT_RC: '1' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('ERROR: launchctl bootout');
  });

  it('$3 is not /: leaves launchd alone, still cleans the legacy files on that volume', () => {
    const m = mac();
    const vol = '/Volumes/Data';
    m.file(`${vol}/Library/LaunchAgents/com.runlayer.scan.plist`, 'legacy\n');
    const r = m.run(preinstall, ['/tmp/aiwatch.pkg', '/', vol, '/']);
    expect(r.status).toBe(0);
    expect(callsOf(r, 'launchctl')).toEqual([]);
    expect(callsOf(r, 'dscl')).toEqual([]);
    expect(m.exists(`${vol}/Library/LaunchAgents/com.runlayer.scan.plist`)).toBe(false);
  });
});

describeWithTools(['shellcheck', 'dash', 'bash'], 'a whole upgrade', () => {
  it.each([['dash'], ['bash', '--posix']])('preinstall, new payload, postinstall under %s: the same jobs end up loaded, legacy gone', (...shell) => {
    const m = mac({ loginwindowUids: [0, 501, 502] });
    m.installPayload(spec);
    m.setLoaded([...ALL_LOADED_501, 'gui/502/com.runlayer.scan']);
    m.file('/Library/LaunchAgents/com.runlayer.scan.plist', 'legacy\n');
    const pre = m.run(preinstall, ARGS, {}, shell);
    expect(pre.status, pre.stdout + pre.stderr).toBe(0);
    expect(m.loaded()).toEqual([]);
    m.installPayload(spec);
    const post = m.run(postinstall, ARGS, {}, shell);
    expect(post.status, post.stdout + post.stderr).toBe(0);
    expect(post.stderr).toBe('');
    expect(m.loaded()).toEqual([...ALL_LOADED_501, ...AGENTS.map((l) => `gui/502/${l}`)].sort());
    expect(m.exists('/Library/LaunchAgents/com.runlayer.scan.plist')).toBe(false);
    const log = m.read('/var/log/runlayer/install.log');
    expect(log).toContain('preinstall: booted out gui/502/com.runlayer.scan');
    expect(log).toContain('postinstall: bootstrapped com.runlayer.aiwatch.enroll in gui/502');
  });
});

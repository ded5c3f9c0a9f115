/**
 * No injection through spec values. Values that cannot be made safe (labels, identifiers, anything with a newline
 * or control character) are refused by spec validation; the rest (paths with spaces, quotes, $(…), backticks …)
 * render as inert text: running every script for real creates none of the marker files, and the values reach the
 * stubbed commands and the file system literally.
 */
import { existsSync, rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildSpec } from '../../src/config/spec.js';
import { UsageError } from '../../src/errors.js';
import { renderMacosScripts, renderUninstallScript } from '../../src/release/macos-scripts.js';
import { describeWithTools } from '../helpers/tools.js';
import { callsOf, FakeMac } from './fake-mac.js';
import { HOSTILE, hostileSpec, MARKERS } from './hostile-spec.js';

const INJECTIONS = ['$(touch /tmp/pwned)', '`touch /tmp/pwned`', "a'b", 'a"b', 'a b', 'a;b', 'a\nb'];
const ARGS = ['/tmp/aiwatch.pkg', '/', '/', '/'];

describe('spec validation refuses values that cannot be made safe', () => {
  it.each([
    ['labelPrefix', (v: string) => ({ labelPrefix: v })],
    ['packageIdentifier', (v: string) => ({ packageIdentifier: v })],
    ['legacy.label', (v: string) => ({ legacy: { wrapperPath: '/usr/local/bin/x', signingIdentifier: 'com.runlayer.scan', label: v, logFiles: [] } })],
    ['legacy.signingIdentifier', (v: string) => ({ legacy: { wrapperPath: '/usr/local/bin/x', signingIdentifier: v, label: 'com.runlayer.scan', logFiles: [] } })],
    ['unit label', (v: string) => ({ units: [{ label: `{labelPrefix}.${v}`, kind: 'agent', arguments: ['x'], enrollmentGate: false, runAtLoad: true }] })],
  ])('%s with shell metacharacters', (_name, make) => {
    for (const v of INJECTIONS) {
      expect(() => buildSpec({ data: make(`com.runlayer.${v}`), subject: 'evil.json' }), v).toThrow(UsageError);
    }
  });

  it.each(['installPath', 'logDir'])('%s with a newline or another control character', (key) => {
    for (const v of ['/opt/a\nrm -rf /', '/opt/a\rb', '/opt/a\u0000b', '/opt/a\u001bb']) {
      expect(() => buildSpec({ data: { [key]: v }, subject: 'evil.json' })).toThrow(/evil\.json/);
    }
  });
});

describeWithTools(['shellcheck', 'dash'], 'hostile paths run as inert text', () => {
  const spec = hostileSpec();
  const s = renderMacosScripts(spec);
  let macs: FakeMac[] = [];
  const clean = (): void => {
    for (const f of MARKERS) rmSync(f, { force: true });
  };
  beforeAll(clean);
  afterAll(clean);
  afterEach(() => {
    for (const m of macs) m.dispose();
    macs = [];
    for (const f of MARKERS) expect(existsSync(f), `injection created ${f}`).toBe(false);
  });
  function hostileMac(): FakeMac {
    const m = new FakeMac({ users: { alice: 501 }, consoleUser: 'alice', loginwindowUids: [501] });
    macs.push(m);
    return m;
  }

  it('the values are in the scripts, quoted', () => {
    expect(s.postinstall).toContain(`INSTALL_PATH='/opt/it'\\''s "odd" $(touch`);
  });

  it('postinstall: secures and loads with the literal install path; logs into the literal log folder', () => {
    const m = hostileMac();
    m.installPayload(spec);
    m.setOwner(spec.installPath, 501);
    const r = m.run(s.postinstall, ARGS);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(callsOf(r, 'stat')).toContain(`stat -f %u %Lp <ROOT>${HOSTILE.installPath}`);
    expect(callsOf(r, 'chown')).toContain(`chown root:wheel <ROOT>${HOSTILE.installPath}`);
    expect(m.exists(`${HOSTILE.logDir}/install.log`)).toBe(true);
    expect(m.read(`${HOSTILE.logDir}/install.log`)).toContain(`${HOSTILE.installPath} belongs to uid 501`);
    expect(m.loaded()).toHaveLength(3);
  });

  it('cleanup and preinstall: remove the literal legacy files, identify the literal wrapper', () => {
    for (const script of [s.cleanup, s.preinstall]) {
      const m = hostileMac();
      m.file(HOSTILE.wrapperPath, 'IDENT:com.runlayer.scan\n', 0o755);
      for (const f of HOSTILE.logFiles) m.file(f, 'legacy log\n');
      m.file('/tmp/runlayer-scan.x.log', 'a sibling that only a glob would match\n');
      const r = m.run(script, script === s.preinstall ? ARGS : []);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(callsOf(r, 'codesign')).toEqual([`codesign -dv <ROOT>${HOSTILE.wrapperPath}`]);
      expect(m.exists(HOSTILE.wrapperPath)).toBe(false);
      for (const f of HOSTILE.logFiles) expect(m.exists(f), f).toBe(false);
      expect(m.exists('/tmp/runlayer-scan.x.log')).toBe(true);
    }
  });

  it('uninstall: removes the literal payload and purges the literal logs', () => {
    const m = hostileMac();
    m.installPayload(spec);
    m.file(`${HOSTILE.logDir}/install.log`, 'log\n');
    const r = m.run(s.uninstall, ['--purge']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(m.exists(HOSTILE.installPath)).toBe(false);
    expect(m.exists(HOSTILE.logDir)).toBe(false);
    expect(m.exists('/opt')).toBe(true);
  });

  it('an uninstall payload list with hostile names is inert too', () => {
    const m = hostileMac();
    const evil = `/Library/LaunchAgents/x $(touch ${MARKERS[0]}) \`touch ${MARKERS[1]}\` 'q".plist`;
    m.file(evil, 'x\n');
    m.file('/Library/LaunchAgents/keep.plist', 'keep\n');
    const r = m.run(renderUninstallScript(spec, [evil]));
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(m.exists(evil)).toBe(false);
    expect(m.exists('/Library/LaunchAgents/keep.plist')).toBe(true);
  });
});

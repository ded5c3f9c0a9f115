/**
 * Every rendered script, for the default spec, a hostile spec and a spec with other units, passes
 * `shellcheck -s sh` with no finding at all (any severity), `dash -n` and `bash --posix -n` (macOS /bin/sh is
 * bash 3.2 in POSIX mode). The default scripts are pinned by golden files; so is the test stub, which shellcheck
 * checks too. Rendering is deterministic and refuses specs where the cleanup could reach aiwatch's own files.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildSpec, loadDefaultSpec } from '../../src/config/spec.js';
import { UsageError } from '../../src/errors.js';
import { CLEANUP_SCRIPT_NAME, payloadDirs, payloadFiles, renderMacosScripts, renderUninstallScript, scriptSpecProblems, UNINSTALL_SCRIPT_NAME } from '../../src/release/macos-scripts.js';
import { describeWithTools, tryRun } from '../helpers/tools.js';
import { hostileSpec } from './hostile-spec.js';

const spec = loadDefaultSpec();
const GOLDEN = { preinstall: 'preinstall.sh', postinstall: 'postinstall.sh', cleanup: CLEANUP_SCRIPT_NAME, uninstall: UNINSTALL_SCRIPT_NAME } as const;
const STUB = path.resolve(import.meta.dirname, '../fixtures/scripts/stubs/macos-stub.sh');

const dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-lint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeAll(name: string, s: ReturnType<typeof renderMacosScripts>): string[] {
  return Object.entries(s).map(([k, text]) => {
    const file = path.join(dir, `${name}-${k}.sh`);
    writeFileSync(file, text);
    return file;
  });
}

describeWithTools(['shellcheck', 'dash', 'bash'], 'rendered scripts pass shellcheck, dash -n and bash --posix -n', () => {
  const otherUnits = buildSpec({
    subject: 'two-daemons.json',
    data: {
      labelPrefix: 'com.example.watch',
      units: [
        { label: '{labelPrefix}.one', kind: 'daemon', arguments: ['a'], enrollmentGate: false, runAtLoad: true },
        { label: '{labelPrefix}.two', kind: 'daemon', arguments: ['b'], enrollmentGate: true, runAtLoad: true },
        { label: '{labelPrefix}', kind: 'agent', arguments: ['c'], enrollmentGate: false, runAtLoad: true },
      ],
    },
  });
  const files = [
    ...writeAll('default', renderMacosScripts(spec)),
    ...writeAll('hostile', renderMacosScripts(hostileSpec())),
    ...writeAll('other-units', renderMacosScripts(otherUnits)),
  ];

  it('shellcheck -s sh: no finding of any severity (scripts and the test stub)', () => {
    const r = tryRun('shellcheck', ['-s', 'sh', '--severity=style', '--format=gcc', ...files, STUB]);
    expect(r.stderr).toBe('');
    // The one exception: SC2016 (info, "expressions don't expand in single quotes") on the hostile spec's values,
    // which are meant to stay literal. Anything else, or SC2016 in any other script, fails.
    const findings = r.stdout.split('\n').filter(Boolean);
    const expected = findings.filter((l) => l.includes('/hostile-') && l.endsWith('[SC2016]') && l.includes(': note: '));
    expect(findings.filter((l) => !expected.includes(l))).toEqual([]);
    expect(expected.length).toBeGreaterThan(0);
  });

  it.each([['dash', ['-n']], ['bash', ['--posix', '-n']]] as const)('%s parses every script', (shell, flags) => {
    for (const f of files) {
      const r = tryRun(shell, [...flags, f]);
      expect(r.stderr, f).toBe('');
      expect(r.status, f).toBe(0);
    }
  });

  it('shellcheck does catch a broken script (the check can fail)', () => {
    const bad = path.join(dir, 'bad.sh');
    writeFileSync(bad, '#!/bin/sh\nx=$1\nif [[ $x == y ]]; then echo $x; fi\n');
    expect(tryRun('shellcheck', ['-s', 'sh', bad]).status).not.toBe(0);
    expect(tryRun('dash', ['-n', path.join(dir, 'default-postinstall.sh')]).status).toBe(0);
    writeFileSync(bad, '#!/bin/sh\nif true; then\n');
    expect(tryRun('dash', ['-n', bad]).status).not.toBe(0);
  });
});

describe('rendering', () => {
  const scripts = renderMacosScripts(spec);

  it.each(Object.keys(GOLDEN) as Array<keyof typeof GOLDEN>)('%s matches its golden file', async (k) => {
    await expect(scripts[k]).toMatchFileSnapshot(`../fixtures/scripts/golden/${GOLDEN[k]}`);
  });

  it('is deterministic, ASCII, LF-only and starts with #!/bin/sh', () => {
    expect(renderMacosScripts(spec)).toEqual(scripts);
    for (const text of Object.values(scripts)) {
      expect(text.startsWith('#!/bin/sh\n')).toBe(true);
      expect(text).toMatch(/^[\x09\x0a\x20-\x7e]*$/);
      expect(text.endsWith('\n')).toBe(true);
    }
  });

  it('preinstall and cleanup share the legacy cleanup code verbatim', () => {
    const body = (t: string): string => t.slice(t.indexOf('LEGACY_LABEL='), t.indexOf('\n}\n', t.indexOf('legacy_cleanup() {')));
    expect(body(scripts.preinstall)).toBe(body(scripts.cleanup));
    expect(body(scripts.cleanup).length).toBeGreaterThan(1000);
  });

  it('the uninstall payload is the binary and the unit plists, listed one by one', () => {
    expect(payloadFiles(spec)).toEqual([
      '/usr/local/lib/runlayer/aiwatch/aiwatch',
      '/Library/LaunchAgents/com.runlayer.aiwatch.plist',
      '/Library/LaunchDaemons/com.runlayer.aiwatch.bootstrap.plist',
      '/Library/LaunchAgents/com.runlayer.aiwatch.enroll.plist',
    ]);
    expect(payloadDirs(spec)).toEqual(['/usr/local/lib/runlayer/aiwatch', '/usr/local/lib/runlayer']);
    for (const f of payloadFiles(spec)) expect(scripts.uninstall).toContain(`remove_file "$VOL"'${f}'`);
    expect(scripts.uninstall).not.toMatch(/remove_file[^\n]*\*/);
  });

  it('refuses a legacy deployment that overlaps aiwatch\'s own files', () => {
    const bad = { ...spec, legacy: { ...spec.legacy, label: 'com.runlayer.aiwatch.old', wrapperPath: '/usr/local/lib/runlayer/aiwatch/runlayer-scan', logFiles: ['/var/log/runlayer/scan.log'] } };
    const problems = scriptSpecProblems(bad, 'legacy.json');
    expect(problems).toHaveLength(3);
    expect(problems[0]).toContain('legacy.json: /legacy/label: must be outside labelPrefix "com.runlayer.aiwatch"');
    expect(problems[1]).toContain('/legacy/wrapperPath');
    expect(problems[2]).toContain('"/var/log/runlayer/scan.log"');
    expect(() => renderMacosScripts(bad)).toThrow(UsageError);
  });

  it.each([
    [['relative/file'], /normalised absolute file path/],
    [['/usr/local/lib/../bin/x'], /normalised absolute/],
    [['/usr/local/lib'], /system location/],
    [['/var/log/runlayer/install.log'], /inside the log folder/],
    [['/a/b', '/a/b'], /listed twice/],
    [['/a/b\nrm -rf /'], /control characters/],
    [[], /empty/],
  ])('refuses the uninstall payload %j', (files, why) => {
    expect(() => renderUninstallScript(spec, files)).toThrow(why);
  });
});

// The file name pattern that finds our package among a team's titles, and the install script the Fleet driver
// sends with our marker as its last line: a shell never reaches the marker (it runs after `exit`), the script passes
// the installer's exit code through, shellcheck finds nothing, and the marker reads back. Run under dash (the
// strictest common /bin/sh) with the installer replaced by a stub.
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { installScript } from '../../../src/mdm/fleet/desired.js';
import { readMarker, writeMarker } from '../../../src/rollout/marker.js';
import { tempDir } from '../../cli/cli-helpers.js';
import { describeWithTools, run, tryRun } from '../../helpers/tools.js';

const MARKED = writeMarker(installScript(), { kind: 'package', sha256: 'a'.repeat(64), version: '1.2.0' });

it('the marker is the last line, after exit, and reads back', () => {
  const lines = MARKED.trimEnd().split('\n');
  expect(lines.at(-2)).toBe('exit $?');
  expect(lines.at(-1)).toBe(`aiwatch-deploy: package sha256=${'a'.repeat(64)} version=1.2.0`);
  expect(readMarker(MARKED)).toEqual({ kind: 'package', sha256: 'a'.repeat(64), version: '1.2.0' });
});

describeWithTools(['dash', 'shellcheck'], 'the install script under a shell', () => {
  it('passes the installer\'s exit code through and never runs the marker line; shellcheck is clean', () => {
    const dir = tempDir('fleet-install-script');
    for (const code of [0, 3]) {
      const stub = path.join(dir, `installer-${code}`);
      writeFileSync(stub, `#!/bin/sh\necho "installer $*"\nexit ${code}\n`);
      chmodSync(stub, 0o755);
      const script = path.join(dir, `install-${code}.sh`);
      writeFileSync(script, MARKED.replace('/usr/sbin/installer', stub));
      const r = tryRun('dash', ['-c', `INSTALLER_PATH=/tmp/aiwatch-1.2.0.pkg; export INSTALLER_PATH; . ${script}`]);
      expect(r.status).toBe(code);
      expect(r.stdout).toBe('installer -pkg /tmp/aiwatch-1.2.0.pkg -target /\n');
      expect(r.stderr).toBe('');
    }
    const original = path.join(dir, 'install.sh');
    writeFileSync(original, MARKED);
    // SC2317 "command appears to be unreachable" is the point: the marker line is never run.
    expect(run('shellcheck', ['-s', 'sh', '-e', 'SC2317', original])).toBe('');
  });
});

it('the package file name pattern takes any release of this pkg and nothing else', async () => {
  const { fileNamePattern } = await import('../../../src/mdm/fleet/desired.js');
  const re = fileNamePattern('aiwatch-1.2.0-macos-arm64.pkg', '1.2.0');
  for (const yes of ['aiwatch-1.2.0-macos-arm64.pkg', 'aiwatch-1.1.0-macos-arm64.pkg', 'aiwatch-2.0.0-rc.1-macos-arm64.pkg']) expect(re.test(yes), yes).toBe(true);
  for (const no of ['aiwatch-helper-1.0-macos-arm64.pkg', 'aiwatch-1.2.0-macos-x86_64.pkg', 'xaiwatch-1.2.0-macos-arm64.pkg', 'aiwatch-1.2.0-macos-arm64.pkg.zip']) expect(re.test(no), no).toBe(false);
});

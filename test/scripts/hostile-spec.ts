/**
 * Spec values built to break a script that interpolates without quoting: spaces, both quotes, $(…), backticks,
 * `;`, `\`, `$VAR`, globs and a leading `-` in a segment. Each command substitution would create a marker file
 * (unique to this process) if it ever ran.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildSpec } from '../../src/config/spec.js';
import type { DeploymentSpec } from '../../src/config/spec-types.js';

const tag = `aiwatch-pwned-${process.pid}`;
/** Marker files an injection would create; none may exist after the scripts ran. */
export const MARKERS = ['a', 'b', 'c', 'd', 'e', 'f'].map((k) => path.join(tmpdir(), `${tag}-${k}`));
const [a, b, c, d, e, f] = MARKERS as [string, string, string, string, string, string];

export const HOSTILE = {
  installPath: `/opt/it's "odd" $(touch ${a})/-rf \`touch ${b}\`;x/* $HOME\\n/aiwatch bin`,
  logDir: `/var/log/run layer $(touch ${c})`,
  wrapperPath: `/usr/local/bin/runlayer-scan '$(touch ${d})'`,
  logFiles: [`/tmp/runlayer-scan.$(touch ${e}).log`, `/tmp/it's "q" \`touch ${f}\` $PATH *.log`],
};

export function hostileSpec(): DeploymentSpec {
  return buildSpec({
    subject: 'hostile.json',
    data: {
      installPath: HOSTILE.installPath,
      logDir: HOSTILE.logDir,
      legacy: { wrapperPath: HOSTILE.wrapperPath, signingIdentifier: 'com.runlayer.scan', label: 'com.runlayer.scan', logFiles: HOSTILE.logFiles },
    },
  });
}

/**
 * Recording stand-ins for every program aiwatch-deploy runs, put first on PATH. Each stub records, per call, the
 * environment it received (`env`) and its argv, behaves just enough for the caller to go on — osslsigncode runs the
 * real one (so signing and verifying really happen, stdin passed through), the others copy INPUT to OUTPUT or create
 * their output — and then, before control returns to aiwatch-deploy, the permission bits of the folder of its
 * `-out`/OUTPUT argument and of every file in it (the signing folder as the tool left it) and its umask. The log
 * folder is baked into the scripts: the stubs must not depend on the environment they are given, since that is
 * what is being recorded.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Call {
  tool: string;
  /** What the test was driving when the call happened (from `<log>/driver`). */
  driver: string;
  argv: string[];
  env: Record<string, string>;
  /** `<mode> <path>` for the output's folder and every file in it, seen right after the tool wrote its output. */
  modes: string[];
  /** The umask the tool ran with (octal, as sh prints it). */
  umask: string;
}

/** The tools we run: what each stub does after recording. */
const BEHAVIOUR: Record<string, (real: string | undefined) => string> = {
  osslsigncode: (real) => (real ? `'${real}' "$@"` : 'echo "osslsigncode stub: the real tool is missing" >&2; false'),
  rcodesign: () => 'n=$#; eval "in=\\${$((n - 1))}"; eval "out=\\${$n}"; cp "$in" "$out"',
  codesign: () => 'true',
  productsign: () => 'n=$#; eval "in=\\${$((n - 1))}"; eval "out=\\${$n}"; cp "$in" "$out"',
  pkgbuild: () => 'eval "out=\\${$#}"; printf component > "$out"',
  productbuild: () => 'eval "out=\\${$#}"; printf product > "$out"',
  // `sh` on PATH catches anything that runs a shell by name (the old `sh -c 'command -v …'` probe did).
  sh: () => '/bin/sh "$@"',
};
export const STUBBED = Object.keys(BEHAVIOUR);

function realTool(tool: string): string | undefined {
  try {
    return execFileSync('/bin/sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Write the stubs into `<dir>/bin` and their records into `<dir>/log`. */
export function installStubs(dir: string): { bin: string; log: string; setDriver: (name: string) => void; calls: () => Call[] } {
  const bin = path.join(dir, 'bin');
  const log = path.join(dir, 'log');
  mkdirSync(bin, { recursive: true });
  mkdirSync(log, { recursive: true });
  for (const [tool, behave] of Object.entries(BEHAVIOUR)) {
    const real = tool === 'osslsigncode' ? realTool(tool) : undefined;
    const script = [
      '#!/bin/sh',
      `rec='${log}'/call-$$-$(date +%s%N)-${tool}`,
      `mkdir "$rec"; printf '${tool}' > "$rec/tool"; cat '${log}/driver' > "$rec/driver" 2>/dev/null`,
      'env > "$rec/env"',
      'for a; do printf "%s\\0" "$a"; done > "$rec/argv"',
      // the output's folder: after -out (osslsigncode) or the last argument (the others)
      'prev=""; out=""; for a; do if [ "$prev" = "-out" ]; then out="$a"; fi; prev="$a"; done',
      '[ -n "$out" ] || eval "out=\\${$#}"',
      'd=$(dirname "$out")',
      behave(real),
      // after the tool wrote, before control returns to aiwatch-deploy
      'st=$?; if [ -d "$d" ]; then stat -c "%a %n" "$d" "$d"/* > "$rec/modes" 2>/dev/null; fi; printf "%s" "$(umask)" > "$rec/umask"',
      'exit $st',
      '',
    ].join('\n');
    writeFileSync(path.join(bin, tool), script);
    chmodSync(path.join(bin, tool), 0o755);
  }
  const calls = (): Call[] =>
    readdirSync(log)
      .filter((n) => n.startsWith('call-'))
      .sort()
      .map((n) => {
        const f = (x: string): string => {
          try {
            return readFileSync(path.join(log, n, x), 'utf8');
          } catch {
            return '';
          }
        };
        const env: Record<string, string> = {};
        for (const line of f('env').split('\n')) {
          const i = line.indexOf('=');
          if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
        }
        return { tool: f('tool'), driver: f('driver'), argv: f('argv').split('\0').slice(0, -1), env, modes: f('modes').trim().split('\n').filter(Boolean), umask: f('umask') };
      });
  return { bin, log, setDriver: (name) => writeFileSync(path.join(log, 'driver'), name), calls };
}

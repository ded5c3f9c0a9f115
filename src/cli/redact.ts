/**
 * The one redaction step main.ts applies to everything a run prints (stdout, stderr, --json), for secrets that reach
 * us by mistake. Collected from argv before parsing:
 *   - any value shaped like a key (`rl_org_…`, `rl_enroll_…`): a flag value, a positional, `--x=value`;
 *   - the value of a secret's own flag (`--org-api-key`, `--p12-password`: refused, never echoed), and of a
 *     `--…-key-file` / `--…-password-file` flag (also on a command that does not take it) unless it names an
 *     existing file: a key or password typed where its path belongs; a pasted PEM private key;
 * and from the environment: the AIWATCH_…_KEY / AIWATCH_…_PASSWORD values. Besides those exact values, any
 * `rl_org_…` / `rl_enroll_…` run in the output is masked, however it got there. Errors are also masked where they
 * are built (src/config/secrets.ts); this step is the net under them.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { looksLikeKey, Secret } from '../secret.js';

/**
 * A key-shaped run in output: printable ASCII (what a key may hold), stopping at quotes and the delimiters JSON and
 * messages put around values (so `"rl_org_x",` keeps its quote and comma, and `rl_org_…` in help text is no key).
 */
const KEY_RUN = /rl_(org|enroll)_[!#-&*+\-./0-9=?@A-Z^_a-z|~]+/g;
/** Flags whose value is a secret (refused, never echoed): `--org-api-key`, `--p12-password`, … */
const SECRET_VALUE_FLAG = /(?:^|-)password$|^(?:org-api|enrollment)-key$/;
/** Flags whose value names the file of a secret: masked when no such file exists (the secret typed in its place). */
const SECRET_FILE_FLAG = /-(?:password|key)-file$/;
const SECRET_ENV = /^AIWATCH_\w*_(?:KEY|PASSWORD)$/;

function masked(value: string): string {
  return new Secret(value, 'argv').masked();
}

/** The values of one run to mask, from its argv (paths resolved against `cwd`) and environment. */
export function secretValues(argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv): string[] {
  const out = new Set<string>();
  const end = argv.indexOf('--');
  for (let i = 0; i < argv.length; i += 1) {
    const t = argv[i]!;
    if (looksLikeKey(t)) out.add(t);
    if (end >= 0 && i >= end) continue;
    if (t.includes('PRIVATE KEY')) out.add(t);
    const m = /^--?([^=]+)(?:=([\s\S]*))?$/.exec(t);
    if (!m) continue;
    const [, flag, inline] = m as unknown as [string, string, string | undefined];
    const value = inline ?? argv[i + 1];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) continue;
    if (SECRET_VALUE_FLAG.test(flag)) out.add(value);
    else if (SECRET_FILE_FLAG.test(flag) && !existsSync(path.resolve(cwd, value))) out.add(value);
  }
  for (const [name, value] of Object.entries(env)) if (SECRET_ENV.test(name) && value) out.add(value);
  // Only values that could be told apart in text: not empty, not pure punctuation or whitespace.
  return [...out].filter((v) => /[A-Za-z0-9]/.test(v));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Masks every key-shaped run (`rl_org_…`, `rl_enroll_…`) in `text`. */
export function maskKeyShapes(text: string): string {
  return text.replace(KEY_RUN, (_m, kind: string) => `rl_${kind}_********`);
}

/**
 * A function masking `values` (as whole words: not inside a longer run of letters and digits, so a short password
 * does not blank every word holding its letters), their JSON-escaped forms, and every key-shaped run.
 */
export function createRedactor(values: readonly string[]): (text: string) => string {
  const forms = new Map<string, string>();
  for (const v of values) {
    forms.set(v, masked(v));
    const json = JSON.stringify(v).slice(1, -1);
    if (json !== v) forms.set(json, masked(v));
  }
  const sorted = [...forms.keys()].sort((a, b) => b.length - a.length);
  const exact = sorted.length > 0 ? new RegExp(`(?<![A-Za-z0-9])(?:${sorted.map(escapeRegExp).join('|')})(?![A-Za-z0-9])`, 'g') : undefined;
  return (text) => {
    return maskKeyShapes(exact ? text.replace(exact, (m) => forms.get(m) ?? masked(m)) : text);
  };
}

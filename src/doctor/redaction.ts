/**
 * The one list of redaction rules for the support bundles the doctor scripts make (Windows `Test-Aiwatch.ps1
 * -Bundle`, macOS `aiwatch-doctor.sh --bundle`): every secret-shaped value — Runlayer keys (`rl_org_…`,
 * `rl_enroll_…`), bearer tokens, `Authorization:` values, and the values of the secret settings named by the spec
 * (OrgApiKey, EnrollmentKey, the environment variables that carry them) — is replaced by `[REDACTED]` in the
 * bundle itself. The scripts cannot run TypeScript, so each renders these rules into its own language; the rules
 * are kept in the regular-expression subset that JavaScript and .NET read the same way (see
 * {@link portableRegexProblems}), so the TypeScript tests of {@link redact} prove what the PowerShell does.
 *
 * A rule is a pattern and a replacement using at most `$1`/`$2` (the same in JS `String.replace` and .NET
 * `Regex.Replace`; a replacement never puts a digit right after a group reference). There is no case flag and no
 * `\s`/`\w`/`\d`: .NET's IgnoreCase and classes are Unicode-aware where JavaScript's are not (the Kelvin sign
 * matches `k` in .NET only; U+0085 is `\s` in .NET only), so words are spelled caseless (`[Bb][Ee]…`) and spaces as
 * `[ \t]`; test/doctor/windows-dotnet.test.ts runs the rules on .NET (Mono) against the JavaScript results.
 * Over-redaction is accepted: a key pattern takes every printable character after the prefix, since a key may hold
 * any of them (profiles/tenant-keys.json: `^rl_org_[!-~]+$`).
 * Not covered: a secret split across lines, or encoded (base64); the scripts also replace the literal values of
 * the configured keys they read, which catches a key in any other form they print.
 */

export const REDACTED = '[REDACTED]';

export interface RedactionRule {
  /** Short name, for tests and messages. */
  name: string;
  /** Pattern source in the JS/.NET common subset. */
  source: string;
  /** Replacement text: literal but for `$1`/`$2`. */
  replacement: string;
}

/** Escape a name for use inside a pattern (both dialects escape the same characters this way). */
export function regexEscape(name: string): string {
  return name.replace(/[\\^$.|?*+()[\]{}]/g, (c) => `\\${c}`);
}

/** Horizontal space, spelled out (see the header on `\s`). */
const SP = '[ \\t]*';

/** `word` matching either case of each ASCII letter, without a case flag: `Bearer` → `[Bb][Ee][Aa][Rr][Ee][Rr]`. */
export function caseless(word: string): string {
  return [...word].map((c) => (/[A-Za-z]/.test(c) ? `[${c.toUpperCase()}${c.toLowerCase()}]` : regexEscape(c))).join('');
}

/** A value after `=`/`:`: a double-quoted or single-quoted string on one line (PowerShell doubles a quote inside), or a run of non-separators. */
const VALUE = `("[^"\\r\\n]*"|'(?:[^'\\r\\n]|'')*'|[^ \\t\\r\\n,;]+)`;

/**
 * The rules, in the order they are applied. `secretNames` are the names under which a secret is stored or passed
 * (e.g. `OrgApiKey`, `EnrollmentKey`, `RUNLAYER_ORG_API_KEY`, `AiwatchOrgApiKey`): `NAME = value`,
 * `NAME: value`, `"NAME": "value"` and a plist `<key>NAME</key><string>value</string>` lose their value.
 */
export function redactionRules(secretNames: readonly string[]): RedactionRule[] {
  const names = [...new Set(secretNames)].sort();
  for (const n of names) {
    if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(n)) throw new Error(`redaction: secret name ${JSON.stringify(n)} must be an identifier`);
  }
  const alternatives = names.map(caseless).join('|');
  const generic = ['api_key', 'api-key', 'apikey', 'access_token', 'access-token', 'refresh_token', 'refresh-token', 'client_secret', 'client-secret', 'password', 'passwd'];
  const rules: RedactionRule[] = [
    { name: 'runlayer-key', source: 'rl_(org|enroll)_[!-~]+', replacement: `rl_$1_${REDACTED}` },
    { name: 'authorization', source: `(${caseless('authorization')}["']?${SP}[:=]${SP})[^\\r\\n]+`, replacement: `$1${REDACTED}` },
    { name: 'bearer', source: `(${caseless('bearer')}[ \\t]+)[!-~]+`, replacement: `$1${REDACTED}` },
  ];
  if (alternatives) {
    rules.push(
      { name: 'secret-setting', source: `((?:${alternatives})["']?${SP}[:=]${SP})${VALUE}`, replacement: `$1${REDACTED}` },
      { name: 'secret-plist', source: `(<key>(?:${alternatives})</key>[ \\t\\r\\n]*<string>)[^<]*`, replacement: `$1${REDACTED}` },
    );
  }
  rules.push({ name: 'generic-credential', source: `((?:${generic.map(caseless).join('|')})["']?${SP}[:=]${SP})${VALUE}`, replacement: `$1${REDACTED}` });
  for (const r of rules) {
    const problems = portableRegexProblems(r.source);
    if (problems.length > 0) throw new Error(`redaction rule ${r.name}: ${problems.join('; ')}`);
  }
  return rules;
}

/**
 * Why `source` might not mean the same in JavaScript and .NET: constructs outside the common subset (lookbehind,
 * named groups, inline options, Unicode classes, possessive/atomic groups, `\A \Z \z \G`, backreferences), and a
 * `$` or `^` in the middle (multiline semantics differ). Empty when portable.
 */
export function portableRegexProblems(source: string): string[] {
  const problems: string[] = [];
  const banned: Array<[RegExp, string]> = [
    [/\(\?<[=!]/, 'lookbehind'],
    [/\(\?<[A-Za-z]|\(\?'/, 'named group'],
    [/\(\?[imnsx-]+[:)]/, 'inline option'],
    [/\(\?>/, 'atomic group'],
    [/\\[pP]\{/, 'Unicode class'],
    [/\\[AZzGk]/, 'anchor or escape only one dialect knows'],
    [/\\[1-9]/, 'backreference'],
    [/[*+?}]\+/, 'possessive quantifier'],
    [/\\[sSwWdDbB]/, 'class or boundary that is Unicode-aware in .NET only (\\s \\w \\d \\b)'],
  ];
  for (const [re, what] of banned) if (re.test(source)) problems.push(`uses a ${what}`);
  if (/[^\\]\$(?!$)/.test(source) || /(?!^)[^\\[]\^/.test(source)) problems.push('anchors only at the ends');
  try {
    new RegExp(source);
  } catch (e) {
    problems.push(`not a JavaScript pattern (${(e as Error).message})`);
  }
  return problems;
}

/** Apply `rules` to `text` with JavaScript's engine (the PowerShell applies the same rules with .NET's, CultureInvariant). */
export function redact(text: string, rules: readonly RedactionRule[]): string {
  let out = text;
  for (const r of rules) out = out.replace(new RegExp(r.source, 'g'), r.replacement);
  return out;
}

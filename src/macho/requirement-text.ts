/**
 * How Apple's code-requirement un-parser (`codesign -d -r -`, SecRequirementCopyString) prints a constant. One
 * implementation serves both directions: the PPPC generator writes the canonical designated requirement with it,
 * and the Mach-O reader decompiles an embedded requirement blob with it — a test checks the two agree.
 *
 * A value is printed bare when every byte is an ASCII letter or digit (or a dot, for keys and field names), it does
 * not start with a digit and it is not a reserved word; otherwise in double quotes with `\` and `"` escaped when
 * every byte is printable or white space; otherwise as `0x…` hex.
 */

/** Reserved words of the requirement language (plus ""): never printed bare. */
export const REQUIREMENT_KEYWORDS: ReadonlySet<string> = new Set([
  '', 'and', 'or', 'not', 'always', 'never', 'false', 'true', 'identifier', 'cdhash', 'anchor', 'apple', 'generic',
  'certificate', 'cert', 'trusted', 'info', 'entitlement', 'exists', 'absent', 'leaf', 'root', 'host', 'guest',
  'designated', 'library', 'plugin', 'platform', 'notarized', 'legacy', 'timestamp', 'field', 'policy',
]);

const isPrintableOrSpace = (c: number): boolean => (c >= 0x20 && c < 0x7f) || (c >= 0x09 && c <= 0x0d);

/** Print `value` (text, or the raw bytes of a requirement blob) as the un-parser does. */
export function requirementConstant(value: string | Uint8Array, opts: { dotsOk?: boolean } = {}): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  const text = bytes.toString('latin1');
  const word = opts.dotsOk ? /^[A-Za-z][A-Za-z0-9.]*$/ : /^[A-Za-z][A-Za-z0-9]*$/;
  if (word.test(text) && !REQUIREMENT_KEYWORDS.has(text)) return text;
  if (bytes.every(isPrintableOrSpace)) return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  return `0x${bytes.toString('hex')}`;
}

/**
 * Text layout helpers shared by the `inspect` renderers: section headings, aligned key/value rows, indentation and
 * a few value formats. Pure string functions; the output is stable (no dates, no locale).
 */
import type { CertificateSummary } from '../sign/certificate.js';

/** A section heading: `== title`. */
export function heading(title: string): string {
  return `== ${title}`;
}

/** Rows `key  value` with the values aligned, each line indented by `indent` spaces. Undefined values are skipped. */
export function rows(pairs: ReadonlyArray<readonly [string, string | number | undefined]>, indent = 2): string[] {
  const kept = pairs.filter((p): p is readonly [string, string | number] => p[1] !== undefined);
  const width = Math.max(0, ...kept.map(([k]) => k.length));
  return kept.map(([k, v]) => `${' '.repeat(indent)}${k.padEnd(width)}  ${v}`);
}

/** Indent every line of `lines` by `n` spaces. */
export function indent(lines: readonly string[], n: number): string[] {
  const pad = ' '.repeat(n);
  return lines.map((l) => (l === '' ? l : pad + l));
}

/** `1 file` / `3 files`. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** Octal permission bits, zero-padded to 4 digits (`0755`). */
export function octalMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** A certificate as `pkgutil --check-signature` lists it, numbered. */
export function certificateLines(c: CertificateSummary, n: number): string[] {
  return [
    `${n}. ${c.commonName}`,
    ...rows(
      [
        ['Subject', c.subject],
        ['Issuer', c.issuer],
        ['Serial', c.serialNumber],
        ['Valid', `${c.notBefore} to ${c.notAfter}`],
        ['SHA-256', c.sha256],
        ['EKU', c.extendedKeyUsages.length > 0 ? c.extendedKeyUsages.join(', ') : undefined],
      ],
      3,
    ),
  ];
}

/** Join lines into text with a final newline. */
export function text(lines: readonly string[]): string {
  return `${lines.join('\n')}\n`;
}

/**
 * A copy of `value` that JSON can carry: bigints become numbers when safe (else decimal strings), byte arrays
 * become hex strings. For parsed structures (Mach-O headers) printed with --json.
 */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  return value;
}

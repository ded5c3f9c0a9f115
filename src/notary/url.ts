/**
 * The service URLs the notary steps talk to (`--notary-url`, `--s3-url`, `--ticket-url`): https only, because the
 * App Store Connect token, the package with Apple's temporary upload credentials, and the ticket lookup must not
 * travel in clear. Plain http is accepted for a loopback host only (127.0.0.0/8, ::1, localhost): the local test
 * servers, where nothing leaves the machine. A bad URL is a usage error (exit 2) found before any work.
 */
import { UsageError } from '../errors.js';

export type ServiceUrlFlag = '--notary-url' | '--s3-url' | '--ticket-url';

const WHY: Record<ServiceUrlFlag, string> = {
  '--notary-url': 'the App Store Connect token would travel in clear',
  '--s3-url': "the package and Apple's temporary upload credentials would travel in clear",
  '--ticket-url': 'the ticket lookup would travel in clear',
};

const LOOPBACK = /^(?:127(?:\.\d{1,3}){3}|\[::1\]|localhost)$/i;

/** The problem with `value` as the URL of `flag`, or undefined when it is fine. */
export function serviceUrlProblem(flag: ServiceUrlFlag, value: string): string | undefined {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return `${flag}: expected an https:// URL, got ${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)}`;
  }
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:' && LOOPBACK.test(u.hostname)) return undefined;
  const shown = value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1'); // never print credentials
  return `${flag}: expected an https:// URL (${WHY[flag]}), got ${JSON.stringify(shown)}; plain http is accepted only for a loopback test server (127.0.0.1, ::1, localhost)`;
}

/** Every problem of the given URLs (undefined values are skipped: the defaults are Apple's https URLs). */
export function serviceUrlProblems(urls: Partial<Record<ServiceUrlFlag, string | undefined>>): string[] {
  return (Object.entries(urls) as Array<[ServiceUrlFlag, string | undefined]>).flatMap(([flag, v]) => {
    const p = v === undefined ? undefined : serviceUrlProblem(flag, v);
    return p ? [p] : [];
  });
}

/** Throw a UsageError listing every bad URL. */
export function checkServiceUrls(urls: Partial<Record<ServiceUrlFlag, string | undefined>>): void {
  const problems = serviceUrlProblems(urls);
  if (problems.length) throw new UsageError(problems);
}

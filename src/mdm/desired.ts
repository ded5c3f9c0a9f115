/**
 * What the desired objects of the drivers share (jamf, kandji, fleet desired.ts): the fields every desired object
 * has, the roles of the release's three profiles, the shell quoting of the scripts we write and how a script we
 * wrote is compared.
 */
import type { FieldValue } from '../rollout/model.js';

/** The release's three profiles, by role (the marker's kind). */
export type ProfileRole = 'profile-pppc' | 'profile-loginitems' | 'profile-tenant';

/** What every desired object has. */
export interface DesiredBase<Role extends string = string> {
  /** Our finer kind, kept in the marker: `profile-pppc`, `package`, … */
  role: Role;
  name: string;
  /** The marker's content hash. */
  hash: string;
  /** Compared fields, as plan values. */
  fields: Record<string, FieldValue>;
  /** Fields shown only as a hash and marked secret in a plan. */
  secretFields?: string[];
}

/** A shell word in single quotes. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A script as compared: line ends unified, our marker line dropped, outer whitespace dropped. */
export function scriptWithoutMarker(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('aiwatch-deploy:'))
    .join('\n')
    .trim();
}

/**
 * A secret value (OrgApiKey, EnrollmentKey, a certificate password) that masks itself wherever it could leak:
 * String(), template literals, JSON.stringify, util.inspect / console.log. Only `reveal()` gives the value, and
 * only the serialisers that must embed it (tenant profile, child-process environment) call it.
 */
import { inspect } from 'node:util';

const MASK = '********';

/** The prefixes of Runlayer's keys (`rl_org_…`, `rl_enroll_…`): a value holding one is treated as a key wherever it is. */
const KEY_PREFIX = /rl_(?:org|enroll)_/;

/** Whether `value` holds something shaped like a key, in whatever field it was typed. */
export function looksLikeKey(value: string): boolean {
  return KEY_PREFIX.test(value);
}

export class Secret {
  readonly #value: string;
  /** What the secret is, for messages: "OrgApiKey", "--p12-password-file". */
  readonly label: string;

  constructor(value: string, label: string) {
    this.#value = value;
    this.label = label;
  }

  reveal(): string {
    return this.#value;
  }

  /** A masked form safe to print: the prefix up to and including the last `_` of a known key prefix, then stars. */
  masked(): string {
    const m = new RegExp(`^${KEY_PREFIX.source}`).exec(this.#value);
    return m ? `${m[0]}${MASK}` : MASK;
  }

  toString(): string {
    return this.masked();
  }

  toJSON(): string {
    return this.masked();
  }

  [inspect.custom](): string {
    return `Secret(${this.label}: ${this.masked()})`;
  }
}

export function isSecret(v: unknown): v is Secret {
  return v instanceof Secret;
}

/** Replace every occurrence of each secret's value in `text` with its masked form (for tool output, errors). */
export function redact(text: string, secrets: readonly Secret[]): string {
  let out = text;
  for (const s of secrets) {
    const v = s.reveal();
    if (v.length > 0) out = out.split(v).join(s.masked());
  }
  return out;
}

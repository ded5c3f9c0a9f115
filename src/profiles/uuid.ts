/**
 * Name-based UUIDs (RFC 9562 version 5: SHA-1 of namespace + name) for PayloadUUIDs, so that the same
 * PayloadIdentifier always gets the same PayloadUUID and a re-generated profile replaces the installed one
 * instead of being added next to it.
 *
 * Covers: UUIDv5 from a namespace UUID and a UTF-8 name. Does not cover the other UUID versions.
 * Hand-written because it is a dozen lines over node:crypto and the `uuid` package is not a dependency.
 */
import { createHash } from 'node:crypto';

/** RFC 9562 §6.6 namespace for DNS names. */
export const DNS_NAMESPACE = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';

/**
 * The fixed namespace of every aiwatch PayloadUUID: `uuidv5(DNS_NAMESPACE, "aiwatch-deploy.runlayer.com")`.
 * Written out so that it can never drift; a test re-derives it. Changing it changes every PayloadUUID.
 */
export const PROFILE_NAMESPACE = '376D95DF-ECC8-56E6-B559-BAC6A6350AE8';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

function uuidBytes(uuid: string): Buffer {
  if (!isUuid(uuid)) throw new Error(`not a UUID: ${JSON.stringify(uuid)}`);
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

/** Version-5 UUID of `name` in `namespace`, in upper-case hex as `uuidgen` prints it. */
export function uuidv5(name: string, namespace: string): string {
  const hash = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest();
  const b = hash.subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`.toUpperCase();
}

/** The PayloadUUID of a PayloadIdentifier. */
export function payloadUuid(payloadIdentifier: string): string {
  return uuidv5(payloadIdentifier, PROFILE_NAMESPACE);
}

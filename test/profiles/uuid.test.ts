import { describe, expect, it } from 'vitest';
import { DNS_NAMESPACE, isUuid, payloadUuid, PROFILE_NAMESPACE, uuidv5 } from '../../src/profiles/uuid.js';

describe('UUIDv5', () => {
  it('matches the published vector (Python docs: uuid5(NAMESPACE_DNS, "python.org"))', () => {
    expect(uuidv5('python.org', DNS_NAMESPACE)).toBe('886313E1-3B8A-5372-9B90-0C9AEE199E5D');
  });
  it('the profile namespace is derived as documented', () => {
    expect(PROFILE_NAMESPACE).toBe(uuidv5('aiwatch-deploy.runlayer.com', DNS_NAMESPACE));
  });
  it('payload UUIDs are stable, version 5, variant RFC 4122, and differ per identifier', () => {
    const a = payloadUuid('com.runlayer.aiwatch.pppc');
    expect(a).toBe(payloadUuid('com.runlayer.aiwatch.pppc'));
    expect(a).not.toBe(payloadUuid('com.runlayer.aiwatch.pppc.tcc'));
    expect(isUuid(a)).toBe(true);
    expect(a[14]).toBe('5');
    expect('89AB').toContain(a[19]);
  });
  it('refuses a malformed namespace', () => {
    expect(() => uuidv5('x', 'not-a-uuid')).toThrow(/not a UUID/);
  });
});

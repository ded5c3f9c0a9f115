import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MARKER_SCAN_LIMIT, canonicalJson, contentHash, formatMarker, readMarker, secretShown, writeMarker } from '../../src/rollout/marker.js';
import { Secret } from '../../src/secret.js';

const HASH = 'a'.repeat(64);
const M = { kind: 'profile', sha256: HASH, version: '1.2.0' };

describe('marker', () => {
  it('formats one line and reads it back', () => {
    expect(formatMarker(M)).toBe(`aiwatch-deploy: profile sha256=${HASH} version=1.2.0`);
    expect(readMarker(writeMarker('', M))).toEqual(M);
    expect(writeMarker(undefined, M)).toBe(formatMarker(M));
  });

  it('keeps the admin text, replaces an old marker, reads through CRLF', () => {
    const old = writeMarker('Managed by IT.\r\nDo not touch.\r\n', { ...M, version: '1.1.0' });
    expect(old).toBe(`Managed by IT.\r\nDo not touch.\r\n${formatMarker({ ...M, version: '1.1.0' })}`);
    const renewed = writeMarker(old, M);
    expect(renewed).toBe(`Managed by IT.\r\nDo not touch.\r\n${formatMarker(M)}`);
    expect(readMarker(renewed)).toEqual(M);
    expect(readMarker(`note\r\n${formatMarker(M)}\r\n`)).toEqual(M);
  });

  it('round-trips any admin text and any valid marker', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.array(fc.constantFrom('a', ' ', '\r', '\n', 'aiwatch-deploy: x', `aiwatch-deploy: p sha256=${HASH} version=9`)).map((a) => a.join(''))),
        fc.stringMatching(/^[a-z][a-z0-9-]{0,39}$/),
        fc.stringMatching(/^[0-9a-f]{64}$/),
        fc.stringMatching(/^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/),
        (text, kind, sha256, version) => {
          const out = writeMarker(text, { kind, sha256, version });
          expect(readMarker(out)).toEqual({ kind, sha256, version });
          // writing again is stable
          expect(writeMarker(out, { kind, sha256, version })).toBe(out);
        },
      ),
    );
  });

  it('refuses a malformed marker and ignores look-alikes', () => {
    expect(() => formatMarker({ ...M, version: '1.0 evil' })).toThrow(/version/);
    expect(() => formatMarker({ ...M, sha256: 'ABC' })).toThrow(/sha256/);
    expect(readMarker(`aiwatch-deploy: profile sha256=${HASH.slice(1)} version=1`)).toBeUndefined();
    expect(readMarker(`aiwatch-deploy: profile sha256=${HASH} version=1 trailing`)).toBeUndefined();
    expect(readMarker(null)).toBeUndefined();
  });

  it('is bounded on hostile text: a marker past the scan limit is not read, a huge line costs one pass', () => {
    const far = `${'x'.repeat(MARKER_SCAN_LIMIT)}\n${formatMarker(M)}`;
    expect(readMarker(far)).toBeUndefined();
    const hostile = `aiwatch-deploy: ${'a-'.repeat(4_000_000)}`;
    expect(readMarker(hostile)).toBeUndefined();
    const manyLines = 'aiwatch-deploy: x\n'.repeat(100_000);
    expect(readMarker(manyLines)).toBeUndefined();
  });
});

describe('content hash', () => {
  it('is independent of key order and drops undefined members', () => {
    expect(contentHash({ b: 1, a: [true, null, 'x'], c: undefined })).toBe(contentHash({ a: [true, null, 'x'], b: 1 }));
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
  });

  it('changes with a secret value without holding it', () => {
    const a = canonicalJson({ OrgApiKey: new Secret('rl_org_AAAAAAAA', 'OrgApiKey') });
    const b = canonicalJson({ OrgApiKey: new Secret('rl_org_BBBBBBBB', 'OrgApiKey') });
    expect(a).not.toBe(b);
    expect(a).not.toContain('AAAAAAAA');
    expect(canonicalJson({ p: new Uint8Array([1, 2, 3]) })).toMatch(/^\{"p":\{"bytes-sha256":"[0-9a-f]{64}"\}\}$/);
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/finite/);
  });

  it('shows a secret as a short hash', () => {
    const shown = secretShown(new Secret('rl_org_SECRETVALUE', 'OrgApiKey'));
    expect(shown).toMatch(/^sha256:[0-9a-f]{12}$/);
    expect(shown).toBe(secretShown('rl_org_SECRETVALUE'));
    expect(shown).not.toContain('SECRET');
  });
});

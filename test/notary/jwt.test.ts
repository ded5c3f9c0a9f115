import { generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { InputFileError, UsageError } from '../../src/errors.js';
import { loadApiKey, mintToken, TokenSource } from '../../src/notary/jwt.js';
import { makeApiKey } from '../helpers/servers/keys.js';

const dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-jwt-'));
const NOW = 1_760_000_000; // 2025-10-09T08:53:20Z

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('App Store Connect JWT', () => {
  it('is ES256 with kid/typ and exactly iss, iat, exp (10 min), aud; verifies with the public key (jose)', async () => {
    const k = makeApiKey(dir);
    const key = await loadApiKey({ file: k.file, keyId: k.keyId, issuerId: k.issuerId });
    const token = (await mintToken(key, NOW)).reveal();
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: 'ABCDE12345', typ: 'JWT' });
    const { payload } = await jwtVerify(token, k.publicKey, {
      algorithms: ['ES256'],
      audience: 'appstoreconnect-v1',
      issuer: k.issuerId,
      currentDate: new Date((NOW + 1) * 1000),
    });
    expect(payload).toEqual({ iss: k.issuerId, iat: NOW, exp: NOW + 600, aud: 'appstoreconnect-v1' });
  });

  it('signature is raw r||s (64 bytes) over header.payload, checked by node:crypto independently of jose', async () => {
    const k = makeApiKey(dir);
    const token = (await mintToken(await loadApiKey({ file: k.file, keyId: k.keyId, issuerId: k.issuerId }), NOW)).reveal();
    const [h, p, s] = token.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    expect(sig.length).toBe(64);
    expect(verify('sha256', Buffer.from(`${h}.${p}`), { key: k.publicKey, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
    expect(verify('sha256', Buffer.from(`${h}.${p}x`), { key: k.publicKey, dsaEncoding: 'ieee-p1363' }, sig)).toBe(false);
  });

  it('refuses lifetimes over Apple\'s 20 minutes', async () => {
    const k = makeApiKey(dir);
    const key = await loadApiKey({ file: k.file, keyId: k.keyId, issuerId: k.issuerId });
    await expect(mintToken(key, NOW, 1200)).resolves.toBeDefined();
    expect(await rejection(mintToken(key, NOW, 1201))).toBeInstanceOf(UsageError);
  });

  it('TokenSource re-mints when under a minute is left, and not before', async () => {
    const k = makeApiKey(dir);
    const key = await loadApiKey({ file: k.file, keyId: k.keyId, issuerId: k.issuerId });
    let now = NOW * 1000;
    const src = new TokenSource(key, () => now);
    const first = (await src.bearer()).reveal();
    now += 539_000; // 61 s left
    expect((await src.bearer()).reveal()).toBe(first);
    now += 2_000; // 59 s left
    const second = (await src.bearer()).reveal();
    expect(second).not.toBe(first);
    const { payload } = await jwtVerify(second, k.publicKey, { currentDate: new Date(now) });
    expect(payload.iat).toBe(Math.floor(now / 1000));
  });

  it('the token and the key never show in String(), JSON or inspect', async () => {
    const k = makeApiKey(dir);
    const key = await loadApiKey({ file: k.file, keyId: k.keyId, issuerId: k.issuerId });
    const token = await mintToken(key, NOW);
    const shown = [String(token), JSON.stringify({ token }), inspect(token), inspect(key, { depth: 5 }), JSON.stringify(key)].join('\n');
    expect(shown).not.toContain(token.reveal());
    expect(shown).not.toContain(k.pemBody.slice(0, 24));
  });
});

describe('API key errors', () => {
  const good = makeApiKey(dir);
  const cases: [string, string][] = [
    ['garbage text', 'this is not a key\n'],
    ['a certificate', '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUJ3=\n-----END CERTIFICATE-----\n'],
    ['a damaged PEM', good.pem.replace(/\n[A-Za-z0-9+/]{20}/, '\n')],
    ['an RSA key', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()],
    ['a P-384 key', generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()],
  ];
  for (const [name, text] of cases) {
    it(`${name} is a usage error (exit 2) naming the file, without its content`, async () => {
      const file = path.join(dir, `bad-${name.replace(/\W/g, '_')}.p8`);
      writeFileSync(file, text);
      const e = await rejection(loadApiKey({ file, keyId: good.keyId, issuerId: good.issuerId }));
      expect(e).toBeInstanceOf(UsageError);
      expect((e as UsageError).exitCode).toBe(2);
      expect(e.message).toContain(file);
      expect(e.message).toContain('expected an App Store Connect API key');
      for (const line of text.split('\n').filter((l) => l.length > 16 && !l.startsWith('-----'))) expect(e.message).not.toContain(line);
    });
  }

  it('an SEC1 "EC PRIVATE KEY" P-256 PEM is accepted (same key, older encoding)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const file = path.join(dir, 'sec1.p8');
    writeFileSync(file, privateKey.export({ type: 'sec1', format: 'pem' }));
    const token = (await mintToken(await loadApiKey({ file, keyId: good.keyId, issuerId: good.issuerId }), NOW)).reveal();
    await expect(jwtVerify(token, publicKey, { currentDate: new Date(NOW * 1000) })).resolves.toBeDefined();
  });

  it('a missing or unreadable key file is an input-file error (exit 3)', async () => {
    const e = await rejection(loadApiKey({ file: path.join(dir, 'nope.p8'), keyId: good.keyId, issuerId: good.issuerId }));
    expect(e).toBeInstanceOf(InputFileError);
    expect(e.message).toMatch(/nope\.p8: --api-key: no such file/);
    const e2 = await rejection(loadApiKey({ file: dir, keyId: good.keyId, issuerId: good.issuerId }));
    expect(e2.message).toMatch(/is a folder/);
  });

  it('a bad key id and a bad issuer are reported together', async () => {
    const e = await rejection(loadApiKey({ file: good.file, keyId: 'abc', issuerId: 'not-a-uuid' }));
    expect(e).toBeInstanceOf(UsageError);
    expect((e as UsageError).problems).toEqual([
      expect.stringMatching(/^--api-key-id: expected the 10-character key ID .* got "abc"$/),
      expect.stringMatching(/^--api-issuer: expected the issuer ID, a UUID .* got "not-a-uuid"$/),
    ]);
  });
});

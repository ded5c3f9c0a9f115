/**
 * A deterministic RSA-2048 key for the DEMO signature: primes found by searching upwards from numbers drawn from a
 * SHA-256 counter stream over a published seed, tested with Miller-Rabin. Same seed → same key, so the demo
 * fixtures are reproducible and no private key is stored in the repository. The seed is public, so the key
 * protects nothing: it exists only to make a well-formed signature. Erasable TypeScript: node runs it directly.
 */
import { createHash, createPrivateKey, type KeyObject } from 'node:crypto';

/** Deterministic byte stream: SHA-256(seed ‖ counter) blocks. */
function stream(seed: string): (n: number) => Buffer {
  let counter = 0;
  return (n) => {
    const parts: Buffer[] = [];
    for (let have = 0; have < n; have += 32) parts.push(createHash('sha256').update(`${seed}\0${counter++}`).digest());
    return Buffer.concat(parts).subarray(0, n);
  };
}

function toBig(b: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`);
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
  }
  return result;
}

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [m, a % m, 0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new Error('not invertible');
  return ((s0 % m) + m) % m;
}

const SMALL_PRIMES: bigint[] = (() => {
  const out: bigint[] = [];
  for (let n = 3; n < 2000; n += 2) if (out.every((p) => BigInt(n) % p !== 0n)) out.push(BigInt(n));
  return out;
})();

function millerRabin(n: bigint, rounds: number, random: (n: number) => Buffer): boolean {
  let d = n - 1n;
  let s = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    s++;
  }
  for (let i = 0; i < rounds; i++) {
    const a = 2n + (toBig(random(32)) % (n - 4n));
    let x = modPow(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    let witness = true;
    for (let r = 1; r < s && witness; r++) {
      x = (x * x) % n;
      if (x === n - 1n) witness = false;
    }
    if (witness) return false;
  }
  return true;
}

/** The first probable prime ≥ a random 1024-bit odd number with its top two bits set, with gcd(p-1, e) = 1. */
function prime(random: (n: number) => Buffer, e: bigint): bigint {
  const start = random(128);
  start[0] = start[0]! | 0xc0;
  let p = toBig(start) | 1n;
  for (;; p += 2n) {
    if (SMALL_PRIMES.some((q) => p % q === 0n)) continue;
    if ((p - 1n) % e === 0n) continue;
    if (millerRabin(p, 24, random)) return p;
  }
}

function b64url(n: bigint): string {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex').toString('base64url');
}

/** RSA-2048 private key (e = 65537) derived from `seed`. */
export function deterministicRsaKey(seed: string): KeyObject {
  const random = stream(seed);
  const e = 65537n;
  const p = prime(random, e);
  let q = prime(random, e);
  while (q === p) q = prime(random, e);
  const n = p * q;
  const d = modInverse(e, (p - 1n) * (q - 1n));
  const jwk = {
    kty: 'RSA', n: b64url(n), e: b64url(e), d: b64url(d), p: b64url(p), q: b64url(q),
    dp: b64url(d % (p - 1n)), dq: b64url(d % (q - 1n)), qi: b64url(modInverse(q, p)),
  };
  return createPrivateKey({ key: jwk, format: 'jwk' });
}

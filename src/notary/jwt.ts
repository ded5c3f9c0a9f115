/**
 * App Store Connect API authentication for the notary service: an ES256 JWT signed with a Team API key
 * (`AuthKey_<KEYID>.p8`, a PKCS#8 PEM P-256 private key).
 *
 * Header `{alg: "ES256", kid: <key id>, typ: "JWT"}`; claims `{iss: <issuer UUID>, iat, exp, aud: "appstoreconnect-v1"}`.
 * No `scope` claim: Apple documents it as optional, and rcodesign (a working Notary API v2 client) sends none.
 * Apple refuses tokens that expire more than 20 minutes ahead; we mint 10-minute tokens (room for clock skew
 * either way) and mint a new one when less than a minute is left, so a 30-minute poll never sends a stale one.
 *
 * The key material never leaves this module as text: it is imported into a non-extractable CryptoKey, and
 * error messages name the file and what was wrong with it, never its content.
 */
import { createPrivateKey } from 'node:crypto';
import { UsageError } from '../errors.js';
import { readInputText } from '../io/fs.js';
import { Secret } from '../secret.js';

export const JWT_AUDIENCE = 'appstoreconnect-v1';
/** Apple's limit for exp − iat. */
export const MAX_TOKEN_LIFETIME_S = 1200;
export const DEFAULT_TOKEN_LIFETIME_S = 600;

export interface ApiKey {
  /** The key ID shown in App Store Connect, e.g. `2X9R4HXF34`. */
  keyId: string;
  /** The issuer ID (a UUID) of the team's API keys. */
  issuerId: string;
  /** Where the key came from, for messages. */
  file: string;
  /** Non-extractable P-256 signing key. */
  signingKey: CryptoKey;
}

export interface ApiKeyInput {
  /** Path of the `.p8` file (`--api-key`). */
  file: string;
  keyId: string;
  issuerId: string;
}

const KEY_ID = /^[A-Z0-9]{10}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Check key id and issuer; returns every problem at once. */
export function checkKeyIdentity(keyId: string, issuerId: string): string[] {
  const problems: string[] = [];
  if (!KEY_ID.test(keyId)) problems.push(`--api-key-id: expected the 10-character key ID from App Store Connect (e.g. 2X9R4HXF34), got ${JSON.stringify(keyId)}`);
  if (!UUID.test(issuerId)) problems.push(`--api-issuer: expected the issuer ID, a UUID (e.g. 57246542-96fe-1a63-e053-0824d011072a), got ${JSON.stringify(issuerId)}`);
  return problems;
}

/** What kind of key a PEM holds, without revealing it; undefined when it is a P-256 private key. */
function keyShapeProblem(pem: Secret): string | undefined {
  const text = pem.reveal();
  const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
  if (label === undefined) return 'no PEM block found';
  if (label === 'ENCRYPTED PRIVATE KEY') return 'the key is encrypted; App Store Connect keys are not';
  if (label !== 'PRIVATE KEY' && label !== 'EC PRIVATE KEY') return `found a PEM "${label}" block`;
  let key;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch {
    return 'the PEM block is damaged (not a readable private key)';
  }
  if (key.asymmetricKeyType !== 'ec') return `found an ${key.asymmetricKeyType?.toUpperCase() ?? 'unknown'} key`;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve !== 'prime256v1') return `found an EC key on curve ${curve ?? 'unknown'}`;
  return undefined;
}

/** Read and check an App Store Connect API key; UsageError (exit 2) for a bad key, InputFileError (3) for a bad file. */
export async function loadApiKey(input: ApiKeyInput): Promise<ApiKey> {
  const problems = checkKeyIdentity(input.keyId, input.issuerId);
  if (problems.length > 0) throw new UsageError(problems);
  const pem = new Secret(await readInputText(input.file, '--api-key'), '--api-key');
  const expected = 'expected an App Store Connect API key (.p8: a PKCS#8 PEM P-256 private key, "-----BEGIN PRIVATE KEY-----")';
  const problem = keyShapeProblem(pem);
  if (problem) throw new UsageError(`${input.file}: ${expected}; ${problem}`);
  // jose takes PKCS#8 only; normalise an SEC1 "EC PRIVATE KEY" through node:crypto first.
  const pkcs8 = createPrivateKey(pem.reveal()).export({ type: 'pkcs8', format: 'pem' }).toString();
  let signingKey: CryptoKey;
  try {
    // jose (~46 modules) loads when a key is read, not at every start of the CLI.
    const { importPKCS8 } = await import('jose');
    signingKey = await importPKCS8(pkcs8, 'ES256');
  } catch {
    throw new UsageError(`${input.file}: ${expected}; it could not be imported for ES256 signing`);
  }
  return { keyId: input.keyId, issuerId: input.issuerId, file: input.file, signingKey };
}

/** Mint one token valid from `nowS` (Unix seconds) for `lifetimeS` seconds (≤ 1200). */
export async function mintToken(key: ApiKey, nowS: number, lifetimeS = DEFAULT_TOKEN_LIFETIME_S): Promise<Secret> {
  if (!(lifetimeS > 0 && lifetimeS <= MAX_TOKEN_LIFETIME_S)) {
    throw new UsageError(`token lifetime must be 1…${MAX_TOKEN_LIFETIME_S} s (Apple refuses longer), got ${lifetimeS}`);
  }
  const iat = Math.floor(nowS);
  const { SignJWT } = await import('jose');
  const jwt = await new SignJWT({ iss: key.issuerId, iat, exp: iat + lifetimeS, aud: JWT_AUDIENCE })
    .setProtectedHeader({ alg: 'ES256', kid: key.keyId, typ: 'JWT' })
    .sign(key.signingKey);
  return new Secret(jwt, 'notary token');
}

/** Hands out a valid bearer token, minting a new one when the current one has under a minute left. */
export class TokenSource {
  #token: Secret | undefined;
  #expiresS = 0;

  constructor(
    private readonly key: ApiKey,
    /** Milliseconds since the epoch; injected for tests. */
    private readonly now: () => number = Date.now,
    private readonly lifetimeS = DEFAULT_TOKEN_LIFETIME_S,
  ) {}

  async bearer(): Promise<Secret> {
    const nowS = Math.floor(this.now() / 1000);
    if (!this.#token || this.#expiresS - nowS < 60) {
      this.#token = await mintToken(this.key, nowS, this.lifetimeS);
      this.#expiresS = nowS + this.lifetimeS;
    }
    return this.#token;
  }
}

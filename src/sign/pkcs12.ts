/**
 * PKCS#12 (.p12 / .pfx) decoding through node-forge: MAC check, decryption of the key and certificate bags, and
 * conversion to node KeyObjects and DER certificates.
 *
 * Covers what Keychain Access and `openssl pkcs12 -export` write: MAC SHA-1/SHA-256/384/512, bags encrypted with
 * PBES2 (PBKDF2 + AES/3DES), pbeWithSHAAnd3-KeyTripleDES-CBC and pbeWithSHAAnd40BitRC2-CBC; RSA keys (and, through
 * the raw PrivateKeyInfo, EC keys). Not covered: public-key integrity mode, secret/CRL bags, and non-ASCII passwords
 * on PBES2 files (forge derives PBES2 keys from the password's UTF-16 code units, OpenSSL from its UTF-8 bytes).
 * pkijs was not used here because it decrypts only PBES2 bags, not the 3DES bags Keychain Access writes.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type forgeTypes from 'node-forge';
import { InputFileError, UsageError } from '../errors.js';
import type { Secret } from '../secret.js';
import { lazyRequire } from '../formats/lazy.js';

// node-forge (~42 modules) loads when a .p12 is read, not at every start of the CLI (src/formats/lazy.ts).
const forge = lazyRequire<typeof forgeTypes>('node-forge');

export interface Pkcs12Contents {
  keys: KeyObject[];
  /** Every certificate in the file, DER, in file order. */
  certificates: Uint8Array[];
}

function toBinary(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('binary');
}

function fromBinary(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'binary'));
}

function derOf(node: forgeTypes.asn1.Asn1): Uint8Array {
  return fromBinary(forge().asn1.toDer(node).getBytes());
}

/** forge's wording for a failed MAC check or a failed decryption: both mean the password is wrong. */
function isWrongPassword(message: string): boolean {
  return /MAC could not be verified|Invalid password|wrong password|Failed to decrypt/i.test(message);
}

function parsePfx(bytes: Uint8Array, password: Secret, file: string): forgeTypes.pkcs12.Pkcs12Pfx {
  let asn: forgeTypes.asn1.Asn1;
  try {
    asn = forge().asn1.fromDer(forge().util.createBuffer(toBinary(bytes)), false);
  } catch (e) {
    throw new InputFileError(file, `not a PKCS#12 (.p12) file: it is not DER (${(e as Error).message})`, { cause: e });
  }
  try {
    return forge().pkcs12.pkcs12FromAsn1(asn, false, password.reveal());
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    if (isWrongPassword(msg)) {
      // An empty password is what "none given" (or an empty password file) reads as: say that, not "wrong".
      if (password.reveal() === '') throw new UsageError(`${file}: this PKCS#12 file needs a password, and no password was given${/ is empty$/.test(password.label) ? ` (${password.label})` : ''}`);
      throw new UsageError(`${file}: wrong password for this PKCS#12 file (from ${password.label}: ${password.masked()})`);
    }
    throw new InputFileError(file, `cannot read this PKCS#12 file: ${msg}`);
  }
}

type Bag = forgeTypes.pkcs12.Bag & { asn1?: forgeTypes.asn1.Asn1 };

function keyFromBag(bag: Bag, file: string): KeyObject {
  try {
    const info = bag.key
      ? forge().pki.wrapRsaPrivateKey(forge().pki.privateKeyToAsn1(bag.key as forgeTypes.pki.rsa.PrivateKey))
      : bag.asn1;
    if (!info) throw new Error('empty key bag');
    return createPrivateKey({ key: Buffer.from(derOf(info)), format: 'der', type: 'pkcs8' });
  } catch (e) {
    throw new InputFileError(file, `cannot read the private key in this PKCS#12 file: ${(e as Error).message}`, { cause: e });
  }
}

function certFromBag(bag: Bag): Uint8Array | undefined {
  if (bag.cert) return derOf(forge().pki.certificateToAsn1(bag.cert));
  return bag.asn1 ? derOf(bag.asn1) : undefined;
}

/** Decode a .p12: every private key and certificate it holds. */
export function decodePkcs12(bytes: Uint8Array, password: Secret, file: string): Pkcs12Contents {
  const pfx = parsePfx(bytes, password, file);
  const keys: KeyObject[] = [];
  const certificates: Uint8Array[] = [];
  for (const safe of pfx.safeContents) {
    for (const bag of safe.safeBags as Bag[]) {
      if (bag.type === forge().pki.oids.pkcs8ShroudedKeyBag || bag.type === forge().pki.oids.keyBag) keys.push(keyFromBag(bag, file));
      else if (bag.type === forge().pki.oids.certBag) {
        const der = certFromBag(bag);
        if (der) certificates.push(der);
      }
    }
  }
  return { keys, certificates };
}

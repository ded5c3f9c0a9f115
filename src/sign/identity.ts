/**
 * A signing identity: a private key, its certificate and the chain to embed, loaded from a PKCS#12 file
 * (`--p12 F`, password as a {@link Secret}) or PEM files (`--key F --cert F [--chain F]`), then checked:
 * exactly one key; the certificate belongs to it; every certificate of the chain is valid at the injected clock;
 * and, for pkgs, the leaf is a Developer ID Installer certificate chaining to Apple.
 *
 * "Developer ID Installer" means (reference/pkg-format.md §2.4): the leaf's **extended key usage** extension lists
 * 1.2.840.113635.100.4.13 (Apple also marks the leaf with the critical extension 1.2.840.113635.100.6.1.14; we report
 * it but the EKU is what decides). The embedded chain is leaf → Developer ID CA (G2 or G1, the one whose key identifier
 * and signature match the leaf) → Apple Root CA from `certs/apple/`; with `allowUntrusted`, any certificate is
 * accepted and the chain is leaf → whatever the file/`--chain` provides, in issuer order.
 *
 * Profiles may be signed with any certificate (Developer ID Application, an in-house code-signing certificate …):
 * MDMs and macOS show them "Verified" only when the device trusts the chain, which is not ours to decide.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { InputFileError } from '../errors.js';
import { type AppleCertificates, developerIdGeneration, developerIdPool, isAppleRoot, loadAppleCertificates } from './apple-certs.js';
import {
  buildChain,
  type Certificate,
  type CertificateSummary,
  claimsIssuer,
  commonName,
  extendedKeyUsages,
  hasExtension,
  parseCertificate,
  summarize,
  validityProblem,
} from './certificate.js';
import { loadIdentityMaterial, type IdentityMaterial, type IdentitySource } from './identity-sources.js';
import { OID } from './oids.js';

export type { IdentityMaterial, IdentitySource } from './identity-sources.js';

/** What the identity will sign: a `.pkg` (Developer ID Installer required) or a configuration profile (any cert). */
export type IdentityPurpose = 'installer' | 'profile';

export interface IdentityOptions {
  purpose: IdentityPurpose;
  /**
   * Accept a leaf that is not a Developer ID Installer certificate issued through Apple's Developer ID CA, and embed
   * the chain as provided. For tests and internal distribution only: Installer reports such pkgs as untrusted.
   * Default false. Never relaxes the key/certificate match or the validity dates.
   */
  allowUntrusted?: boolean;
  /** Time at which certificates must be valid. */
  clock: () => Date;
  /** Apple's CA certificates; default: loaded from the package's `certs/apple/`. */
  appleCerts?: AppleCertificates;
}

export interface SigningIdentity {
  privateKey: KeyObject;
  keyType: 'rsa' | 'ec';
  /** RSA modulus length in bytes (256 for RSA-2048); undefined for EC keys. */
  rsaModulusBytes: number | undefined;
  leaf: Certificate;
  /** Certificates to embed, leaf first, each followed by its issuer. */
  chain: Certificate[];
  summary: CertificateSummary;
  /** The leaf has the Developer ID Installer EKU. */
  developerIdInstaller: boolean;
  /** The Developer ID intermediate the chain goes through to Apple Root CA, if it does. */
  appleIntermediate: 'G1' | 'G2' | undefined;
  /** Things a user should know (e.g. "not chained to Apple: Installer will say untrusted"). */
  warnings: string[];
}

function spki(key: KeyObject): string {
  const pub = key.type === 'public' ? key : createPublicKey(key);
  return pub.export({ format: 'der', type: 'spki' }).toString('base64');
}

function keyTypeOf(key: KeyObject, subject: string): 'rsa' | 'ec' {
  const t = key.asymmetricKeyType;
  if (t === 'rsa' || t === 'ec') return t;
  throw new InputFileError(subject, `private key type ${String(t)} is not supported; expected an RSA key (or EC for profiles)`);
}

function parseAll(ders: readonly Uint8Array[], subject: string): Certificate[] {
  return ders.map((d, i) => {
    try {
      return parseCertificate(d);
    } catch (e) {
      throw new InputFileError(subject, `certificate #${i + 1} is not a valid X.509 certificate (${(e as Error).message})`, { cause: e });
    }
  });
}

function pickKey(m: IdentityMaterial): KeyObject {
  if (m.keys.length === 0) {
    throw new InputFileError(m.subject, 'holds no private key; export the whole identity (certificate and private key), not the certificate alone');
  }
  if (m.keys.length > 1) throw new InputFileError(m.subject, `holds ${m.keys.length} private keys; expected exactly one identity`);
  return m.keys[0]!;
}

function pickLeaf(m: IdentityMaterial, key: KeyObject, certs: Certificate[]): Certificate {
  const want = spki(key);
  if (m.leaf) {
    const leaf = parseAll([m.leaf], m.subject)[0]!;
    if (spki(leaf.node.publicKey) !== want) {
      throw new InputFileError(m.subject, `the private key does not belong to the certificate "${commonName(leaf)}" (their public keys differ); expected the key and certificate of one identity`);
    }
    return leaf;
  }
  const leaf = certs.find((c) => spki(c.node.publicKey) === want);
  if (!leaf) {
    const names = certs.map((c) => `"${commonName(c)}"`).join(', ') || 'none';
    throw new InputFileError(m.subject, `no certificate matches the private key (certificates present: ${names}); expected the key and certificate of one identity`);
  }
  return leaf;
}

function checkDates(chain: readonly Certificate[], now: Date, subject: string): void {
  chain.forEach((c, i) => {
    const problem = validityProblem(c, now);
    if (problem) {
      const role = i === 0 ? 'signing certificate' : 'chain certificate';
      throw new InputFileError(subject, `${role} "${commonName(c)}" ${problem}`);
    }
  });
}

function refuseForPkg(leaf: Certificate, chain: readonly Certificate[], apple: AppleCertificates): string | undefined {
  const name = commonName(leaf);
  if (!extendedKeyUsages(leaf).includes(OID.ekuDeveloperIdInstaller)) {
    const ekus = extendedKeyUsages(leaf).join(', ') || 'none';
    return `"${name}" is not a Developer ID Installer certificate: its extended key usage lacks ${OID.ekuDeveloperIdInstaller} (has: ${ekus}); expected a "Developer ID Installer: …" identity`;
  }
  if (developerIdGeneration(chain) === undefined || !isAppleRoot(chain[chain.length - 1]!)) {
    const claimed = [['G2', apple.developerIdG2], ['G1', apple.developerIdG1]] as const;
    const gen = claimed.find(([, ca]) => claimsIssuer(leaf, ca))?.[0];
    if (gen) return `"${name}" names Apple's Developer ID Certification Authority (${gen}) as issuer, but its signature does not verify with Apple's ${gen} certificate`;
    return `"${name}" is not issued by Apple's Developer ID Certification Authority (issuer: ${summarize(leaf).issuer})`;
  }
  return undefined;
}

/** Check raw identity material and assemble the identity (see the module comment for the rules). */
export async function identityFromMaterial(m: IdentityMaterial, opts: IdentityOptions): Promise<SigningIdentity> {
  const apple = opts.appleCerts ?? (await loadAppleCertificates());
  const key = pickKey(m);
  const keyType = keyTypeOf(key, m.subject);
  const provided = parseAll(m.certificates, m.subject);
  const leaf = pickLeaf(m, key, provided);
  const chain = buildChain(leaf, [...developerIdPool(apple), ...provided]);
  checkDates(chain, opts.clock(), m.subject);
  const warnings: string[] = [];
  const developerIdInstaller = extendedKeyUsages(leaf).includes(OID.ekuDeveloperIdInstaller);
  if (opts.purpose === 'installer') {
    const refusal = refuseForPkg(leaf, chain, apple);
    if (refusal && !opts.allowUntrusted) throw new InputFileError(m.subject, `${refusal}; pass --allow-untrusted to sign anyway (for tests: Installer will call the package untrusted)`);
    if (refusal) warnings.push(`${refusal}; signing anyway (--allow-untrusted): Installer will call the package untrusted`);
    if (keyType !== 'rsa') throw new InputFileError(m.subject, `a pkg signature needs an RSA key, got ${keyType}`);
    if (developerIdInstaller && !hasExtension(leaf, OID.extDeveloperIdInstaller)) {
      warnings.push(`"${commonName(leaf)}" lacks Apple's Developer ID Installer marker extension ${OID.extDeveloperIdInstaller}`);
    }
  }
  const details = key.asymmetricKeyDetails;
  return {
    privateKey: key,
    keyType,
    rsaModulusBytes: keyType === 'rsa' && details?.modulusLength ? Math.ceil(details.modulusLength / 8) : undefined,
    leaf,
    chain,
    summary: summarize(leaf),
    developerIdInstaller,
    appleIntermediate: isAppleRoot(chain[chain.length - 1]!) ? developerIdGeneration(chain) : undefined,
    warnings,
  };
}

/** Read a .p12 or PEM identity from disk and check it. */
export async function loadSigningIdentity(src: IdentitySource, opts: IdentityOptions): Promise<SigningIdentity> {
  return identityFromMaterial(await loadIdentityMaterial(src), opts);
}

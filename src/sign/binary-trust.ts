/**
 * Whom a Mach-O code signature's CMS blob says signed the binary, and whether a Mac would see an Apple Developer ID
 * behind it — the part of the PPPC designated requirement (`anchor apple generic and certificate
 * 1[field.1.2.840.113635.100.6.2.6] and certificate leaf[field.1.2.840.113635.100.6.1.13] …`) that no field of the
 * CodeDirectory can tell:
 *   - the CMS signature verifies with the signer certificate's key (over the signed attributes; that the signed
 *     message digest is the CodeDirectory's is checked by the Mach-O reader, src/macho/codesign.ts);
 *   - the chain built from the embedded certificates and Apple's Developer ID CAs (certs/apple), every link's
 *     signature checked, ends at Apple Root CA (pinned fingerprint: a look-alike root with Apple's name is not it);
 *   - the intermediate carries the Developer ID CA marker and the leaf the Developer ID Application marker.
 * Other anchors can be given (tests: a throwaway PKI stands in for Apple's).
 *
 * Not covered: validity dates (a timestamped signature outlives its certificate; Gatekeeper decides), revocation,
 * notarization. Never throws: a blob that is not readable CMS is "not trusted" with the reason.
 */
import { verify as verifySignature } from 'node:crypto';
import { developerIdPool, isAppleRoot, loadAppleCertificatesSync } from './apple-certs.js';
import { buildChain, commonName, hasExtension, type Certificate } from './certificate.js';
import { readSignedData } from './cms-read.js';
import { HASHES, OID } from './oids.js';

/** Where a trusted chain must end, and the intermediates that may complete it. */
export interface TrustAnchors {
  /** Issuers to try after the embedded certificates (Apple: Developer ID G2, G1, Apple Root CA). */
  pool: readonly Certificate[];
  isRoot: (c: Certificate) => boolean;
  /** How the root is named in messages. */
  rootName: string;
}

export interface CodeSignerTrust {
  /** Common name of the signer certificate, when the blob names one. */
  signer?: string;
  /** Common names leaf first, as far as the chain could be built. */
  chain: string[];
  signatureVerifies: boolean;
  chainsToRoot: boolean;
  developerIdApplication: boolean;
  /** All of the above: what the PPPC requirement needs. */
  trusted: boolean;
  /** Why not, as a clause about the binary (`is signed by "…", a certificate that does not chain to …`); undefined when trusted. */
  problem?: string;
}

/** Apple's anchors (certs/apple, read once). */
export function appleAnchors(): TrustAnchors {
  const apple = loadAppleCertificatesSync();
  return { pool: developerIdPool(apple), isRoot: isAppleRoot, rootName: 'Apple Root CA' };
}

const SIGNATURE_HASH: Record<string, string | undefined> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};
/** Algorithms that name only the key type: the hash is the signer's digestAlgorithm. */
const KEY_ONLY = new Set(['1.2.840.113549.1.1.1', '1.2.840.10045.2.1']);
const DIGEST_NAME = new Map<string, string>(Object.values(HASHES).map((h) => [h.oid as string, h.node as string]));

/** Whether the first signer's signature over its signed attributes verifies with `leaf`'s key; a reason if not. */
function signedAttributesVerify(info: ReturnType<typeof readSignedData>, leaf: Certificate): string | undefined {
  const si = info.signedData.signerInfos[0]!;
  const attrs = si.signedAttrs?.encodedValue;
  if (!attrs || attrs.byteLength === 0) return 'its CMS signature has no signed attributes';
  const alg = si.signatureAlgorithm.algorithmId;
  const hash = KEY_ONLY.has(alg) ? DIGEST_NAME.get(si.digestAlgorithm.algorithmId) : SIGNATURE_HASH[alg];
  if (!hash) return `its CMS signature algorithm ${alg} is not one this check knows (RSA PKCS#1 v1.5 or ECDSA)`;
  try {
    const ok = verifySignature(hash, new Uint8Array(attrs), leaf.node.publicKey, new Uint8Array(si.signature.valueBlock.valueHexView));
    return ok ? undefined : 'its CMS signature does not verify with the signer certificate\'s key (the signature was forged or damaged)';
  } catch (e) {
    return `its CMS signature cannot be checked (${(e as Error).message})`;
  }
}

function untrusted(partial: Omit<CodeSignerTrust, 'trusted'>, problem: string): CodeSignerTrust {
  return { ...partial, trusted: false, problem };
}

/** Evaluate the CMS blob of a code signature (see the module comment). */
export function codeSignerTrust(cmsDer: Uint8Array, anchors: TrustAnchors = appleAnchors()): CodeSignerTrust {
  const none = { chain: [], signatureVerifies: false, chainsToRoot: false, developerIdApplication: false };
  let info: ReturnType<typeof readSignedData>;
  try {
    info = readSignedData(cmsDer);
  } catch (e) {
    return untrusted(none, `its CMS signature blob cannot be read (${(e as Error).message})`);
  }
  const leaf = info.signer;
  if (!leaf) return untrusted(none, 'its CMS signature does not carry the signer\'s certificate');
  const signer = commonName(leaf);
  const chain = buildChain(leaf, [...info.certificates.filter((c) => c !== leaf), ...anchors.pool]);
  const last = chain[chain.length - 1]!;
  const badSignature = signedAttributesVerify(info, leaf);
  const r = {
    signer,
    chain: chain.map(commonName),
    signatureVerifies: badSignature === undefined,
    chainsToRoot: chain.length > 1 && anchors.isRoot(last),
    developerIdApplication: hasExtension(leaf, OID.extDeveloperIdApplication) && chain[1] !== undefined && hasExtension(chain[1], OID.extDeveloperIdCa),
  };
  if (badSignature) return untrusted(r, badSignature);
  if (!r.chainsToRoot) {
    const end = chain.length > 1 ? `its chain ends at "${commonName(last)}"` : `"${signer}" is self-signed or its issuer is not embedded`;
    return untrusted(r, `is signed by "${signer}", a certificate that does not chain to ${anchors.rootName} (${end})`);
  }
  if (!r.developerIdApplication) return untrusted(r, `is signed by "${signer}", which chains to ${anchors.rootName} but is not a Developer ID Application certificate`);
  return { ...r, trusted: true };
}

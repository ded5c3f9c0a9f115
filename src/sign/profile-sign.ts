/**
 * Signed configuration profiles (reference/mdm-payloads.md §5): a DER CMS SignedData with the .mobileconfig bytes
 * ATTACHED, unchanged (the equivalent of `openssl cms -sign -binary -nodetach -outform DER`, or `security cms -S`),
 * SHA-256, signingTime from the injected clock, the identity's chain embedded so a device can build the path.
 * And the reverse: unwrap a signed profile into its inner bytes, the signer and whether the signature is valid.
 *
 * Any certificate may sign a profile (no Developer ID Installer requirement): macOS shows "Verified" when it trusts
 * the chain, "Unverified" otherwise. Not covered: encrypted profiles (EnvelopedData), detached signatures, several
 * signers. Most MDMs want unsigned profiles (Jamf makes signed uploads read-only; Intune, Kandji, Fleet take
 * unsigned XML), so signing is an option, never the default.
 */
import { InputFileError } from '../errors.js';
import { developerIdPool, isAppleRoot, loadAppleCertificates } from './apple-certs.js';
import { buildChain, type CertificateSummary, summarize } from './certificate.js';
import { createSignedData, encodeSignedData } from './cms.js';
import { checkCmsSignature, readSignedData } from './cms-read.js';
import type { SigningIdentity } from './identity.js';

export interface SignProfileOptions {
  /** signingTime of the signature. */
  clock: () => Date;
}

export type ProfileEncoding = 'xml' | 'binary-plist' | 'cms' | 'unknown';

/** What the bytes look like: an XML plist, a binary plist, a DER CMS blob (signed profile), or something else. */
export function profileEncoding(bytes: Uint8Array): ProfileEncoding {
  const head = Buffer.from(bytes.subarray(0, 64)).toString('latin1').replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart();
  if (head.startsWith('<?xml') || head.startsWith('<plist') || head.startsWith('<!DOCTYPE plist')) return 'xml';
  if (head.startsWith('bplist00')) return 'binary-plist';
  if (bytes[0] === 0x30) return 'cms';
  return 'unknown';
}

/** Sign `profile` (a plist, XML or binary) as attached CMS. `name` names the input in messages. */
export async function signProfile(profile: Uint8Array, identity: SigningIdentity, opts: SignProfileOptions, name = 'profile'): Promise<Uint8Array> {
  const kind = profileEncoding(profile);
  if (kind === 'cms') throw new InputFileError(name, 'is already signed (DER CMS); sign the unsigned .mobileconfig instead');
  if (kind === 'unknown') throw new InputFileError(name, 'is not a configuration profile: expected an XML or binary property list');
  const sd = await createSignedData({
    privateKey: identity.privateKey,
    certificates: identity.chain.map((c) => c.der),
    content: profile,
    detached: false,
    signingTime: opts.clock(),
  });
  return encodeSignedData(sd);
}

export interface SignedProfile {
  /** The embedded profile, byte for byte. */
  content: Uint8Array;
  /** Integrity: the signature verifies over the content with the signer certificate's key. */
  signatureValid: boolean;
  /** Why the signature is not valid. */
  problem?: string;
  signer: CertificateSummary | undefined;
  /** The embedded certificates ordered from the signer up, as far as they link (plus Apple's CAs if they apply). */
  chain: CertificateSummary[];
  /** The chain ends at Apple Root CA (e.g. a Developer ID leaf). Trust by a device depends on its own anchors. */
  chainsToApple: boolean;
  signingTime: string | undefined;
}

/** Read a signed profile: inner bytes, signer, validity. Throws InputFileError if it is not attached CMS. */
export async function unwrapSignedProfile(bytes: Uint8Array, name: string): Promise<SignedProfile> {
  let info;
  try {
    info = readSignedData(bytes);
  } catch (e) {
    throw new InputFileError(name, `is not a signed profile (CMS SignedData): ${(e as Error).message}`, { cause: e });
  }
  if (!info.content) throw new InputFileError(name, 'is a detached CMS signature; a signed profile carries the profile inside');
  const check = await checkCmsSignature(info);
  const apple = await loadAppleCertificates();
  const chain = info.signer ? buildChain(info.signer, [...info.certificates, ...developerIdPool(apple)]) : [];
  return {
    content: info.content,
    signatureValid: check.valid && info.signer !== undefined,
    ...(check.valid && info.signer ? {} : { problem: info.signer ? check.reason : 'the signer certificate is not embedded' }),
    signer: info.signer ? summarize(info.signer) : undefined,
    chain: chain.map(summarize),
    chainsToApple: chain.length > 0 && isAppleRoot(chain[chain.length - 1]!),
    signingTime: info.signingTime?.toISOString(),
  };
}

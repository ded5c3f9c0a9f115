/**
 * Object identifiers used by the signing code, named once. Sources: RFC 5652 (CMS), RFC 3161 (time-stamp protocol),
 * RFC 5035 (ESS signing-certificate-v2), RFC 5280 (X.509), and the Developer ID Installer certificate fields observed
 * on Apple-issued leaves (reference/pkg-format.md §2.4).
 */
export const OID = {
  /** id-data: the eContentType of a pkg signature and of a signed profile. */
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  /** id-aa-timeStampToken: unsigned attribute carrying an RFC 3161 token. */
  timeStampToken: '1.2.840.113549.1.9.16.2.14',
  /** id-ct-TSTInfo: eContentType of an RFC 3161 token. */
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  /** id-aa-signingCertificateV2 (RFC 5035), required by RFC 3161 tokens. */
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  ekuCodeSigning: '1.3.6.1.5.5.7.3.3',
  ekuTimeStamping: '1.3.6.1.5.5.7.3.8',
  /** Extended key usage of a "Developer ID Installer" leaf (critical EKU on Apple-issued certificates). */
  ekuDeveloperIdInstaller: '1.2.840.113635.100.4.13',
  /** Certificate extension marking a Developer ID Installer leaf (critical, value NULL). */
  extDeveloperIdInstaller: '1.2.840.113635.100.6.1.14',
  /** Certificate extension marking a Developer ID Application leaf. */
  extDeveloperIdApplication: '1.2.840.113635.100.6.1.13',
  /** Extension on the Developer ID intermediate CA (G1 and G2). */
  extDeveloperIdCa: '1.2.840.113635.100.6.2.6',
} as const;

/** Hash names as WebCrypto/pkijs spell them, with the OID and digest length. */
export const HASHES = {
  'SHA-1': { oid: OID.sha1, bytes: 20, node: 'sha1' },
  'SHA-256': { oid: OID.sha256, bytes: 32, node: 'sha256' },
  'SHA-384': { oid: OID.sha384, bytes: 48, node: 'sha384' },
  'SHA-512': { oid: OID.sha512, bytes: 64, node: 'sha512' },
} as const;
export type HashName = keyof typeof HASHES;

/**
 * The configuration-profile envelope every aiwatch profile shares: the top-level dictionary (Apple's TopLevel
 * keys) and the common keys of each payload dictionary (CommonPayloadKeys), with derived identifiers and UUIDs.
 *
 * PayloadIdentifier scheme (documented in docs/decisions.md): `<identifier>.<profile>` for the profile and
 * `<identifier>.<profile>.<payload>` for each payload (the spec's signing identifier), e.g. `com.runlayer.aiwatch.pppc` and
 * `com.runlayer.aiwatch.pppc.tcc`. Every PayloadUUID is the UUIDv5 of its PayloadIdentifier ({@link payloadUuid}),
 * so re-generating a profile keeps its identity and an MDM replaces the installed copy instead of adding another.
 *
 * Every profile is device-level (`PayloadScope System`) and marked for Macs (`TargetDeviceType 5`, read by
 * macOS 10.15+ and ignored before). Covers the unsigned XML form only; signing is src/sign's job.
 */
import type { DeploymentSpec } from '../config/spec-types.js';
import { serializePlist, type PlistData, type PlistDict } from '../formats/plist-serialize.js';
import { payloadUuid } from './uuid.js';

/**
 * Root of every PayloadIdentifier and profile file name: the spec's signing identifier (`com.runlayer.aiwatch`), so a
 * staging spec (another identifier) gets profiles that install next to production's instead of replacing them.
 */
export function identifierRoot(spec: Pick<DeploymentSpec, 'identifier'>): string {
  return spec.identifier;
}

export interface PayloadHeader {
  /** Apple payload type, e.g. `com.apple.TCC.configuration-profile-policy`. */
  type: string;
  identifier: string;
  displayName: string;
  description?: string;
  organization: string;
}

/** A payload dictionary: the common keys plus the payload's own `content` keys. */
export function payload(h: PayloadHeader, content: PlistDict): PlistDict {
  for (const k of Object.keys(content)) {
    if (k.startsWith('Payload') && k !== 'PayloadContent') throw new Error(`payload ${h.identifier}: content key ${k} would clash with a common payload key`);
  }
  const d: PlistDict = {
    PayloadType: h.type,
    PayloadIdentifier: h.identifier,
    PayloadUUID: payloadUuid(h.identifier),
    PayloadVersion: 1,
    PayloadDisplayName: h.displayName,
    PayloadOrganization: h.organization,
  };
  if (h.description !== undefined) d.PayloadDescription = h.description;
  return { ...d, ...content };
}

export interface ProfileHeader {
  identifier: string;
  displayName: string;
  description: string;
  organization: string;
  /** Only set when given; on macOS 10.15+ it affects manually installed profiles only. */
  removalDisallowed?: boolean;
}

/** The top-level profile dictionary around `payloads`. */
export function profile(h: ProfileHeader, payloads: PlistDict[]): PlistDict {
  const d: PlistDict = {
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: h.identifier,
    PayloadUUID: payloadUuid(h.identifier),
    PayloadDisplayName: h.displayName,
    PayloadDescription: h.description,
    PayloadOrganization: h.organization,
    PayloadScope: 'System',
    TargetDeviceType: 5,
    PayloadContent: payloads as PlistData[],
  };
  if (h.removalDisallowed !== undefined) d.PayloadRemovalDisallowed = h.removalDisallowed;
  return d;
}

/** Profiles are written with their keys sorted byte-wise at every level, as Apple's tools write them. */
export const PROFILE_KEYS_SORTED = true;

/** Serialise a profile dictionary: keys sorted byte-wise at every level, as Apple's tools write them. */
export function renderProfile(dict: PlistDict): string {
  return serializePlist(dict, { sortKeys: PROFILE_KEYS_SORTED });
}

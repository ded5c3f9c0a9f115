/**
 * The PPPC (Privacy Preferences Policy Control, `com.apple.TCC.configuration-profile-policy`) profile that grants
 * the agent binary its TCC services (Full Disk Access by default), and the Developer ID designated requirement
 * it is pinned to.
 *
 * Covers: one Identity entry per service in `spec.pppc`, for a bare (non-bundled) binary: `IdentifierType path`,
 * `Identifier` = install path, `CodeRequirement` = the canonical designated requirement of identifier + team,
 * `StaticCode false`, and exactly one of `Allowed` / `Authorization` (Apple's YAML marks `Allowed` required but its
 * own text says "either, not both"; Intune rejects both with error 10022).
 * Does not cover: bundle-ID identities, AppleEvents receivers, reading a requirement out of a signed binary.
 *
 * Apple quirk: the requirement must be the un-parsed text `codesign -d -r -` prints, without the
 * `designated => ` prefix (MDMs reject that with "The key CodeRequirement has an invalid value").
 */
import type { DeploymentSpec, PppcService } from '../config/spec-types.js';
import { identifierRoot, payload, profile, renderProfile } from './mobileconfig.js';
import type { PlistDict } from '../formats/plist-serialize.js';
import { requirementConstant } from '../macho/requirement-text.js';

export { requirementConstant };

/** Developer ID intermediate CA marker, checked on certificate 1. */
export const OID_DEVELOPER_ID_CA = '1.2.840.113635.100.6.2.6';
/** Developer ID Application leaf marker. */
export const OID_DEVELOPER_ID_APPLICATION = '1.2.840.113635.100.6.1.13';

/**
 * The designated requirement `codesign -d -r -` prints for a Developer ID Application–signed binary with signing
 * identifier `identifier` and team `teamId`, byte for byte (e.g. team `AF2M8HC7A2` bare, `483DWKW443` quoted).
 */
export function designatedRequirement(identifier: string, teamId: string): string {
  return [
    `identifier ${requirementConstant(identifier)}`,
    'anchor apple generic',
    `certificate 1[field.${OID_DEVELOPER_ID_CA}] /* exists */`,
    `certificate leaf[field.${OID_DEVELOPER_ID_APPLICATION}] /* exists */`,
    `certificate leaf[subject.OU] = ${requirementConstant(teamId)}`,
  ].join(' and ');
}

/** What System Settings calls each service we are likely to grant (for display names). */
const SERVICE_TITLES: Record<string, string> = {
  SystemPolicyAllFiles: 'Full Disk Access',
  SystemPolicySysAdminFiles: 'administration files',
  Accessibility: 'Accessibility',
  AppleEvents: 'Automation',
};

function identity(spec: DeploymentSpec, s: PppcService): PlistDict {
  if ((s.allowed === undefined) === (s.authorization === undefined)) {
    throw new Error(`pppc service ${s.service}: exactly one of allowed / authorization must be set`);
  }
  const entry: PlistDict = {
    Identifier: spec.installPath,
    IdentifierType: 'path',
    CodeRequirement: designatedRequirement(spec.identifier, spec.teamId),
    StaticCode: false,
  };
  if (s.authorization !== undefined) entry.Authorization = s.authorization;
  else entry.Allowed = s.allowed!;
  if (s.comment !== undefined) entry.Comment = s.comment;
  return entry;
}

/** The PPPC profile dictionary. */
export function pppcProfile(spec: DeploymentSpec): PlistDict {
  const root = `${identifierRoot(spec)}.pppc`;
  const services: PlistDict = {};
  for (const s of spec.pppc) services[s.service] = [...((services[s.service] as PlistDict[] | undefined) ?? []), identity(spec, s)];
  const granted = spec.pppc.map((s) => SERVICE_TITLES[s.service] ?? s.service).join(', ');
  const tcc = payload(
    {
      type: 'com.apple.TCC.configuration-profile-policy',
      identifier: `${root}.tcc`,
      displayName: `${spec.productTitle}: privacy permissions`,
      description: `${granted} for ${spec.installPath}`,
      organization: spec.organization,
    },
    { Services: services },
  );
  return profile(
    {
      identifier: root,
      displayName: `${spec.productTitle}: privacy permissions (PPPC)`,
      description:
        `Grants ${granted} to ${spec.installPath} when it is signed as ${spec.identifier} by Developer ID team ${spec.teamId}. ` +
        'Needs a user-approved MDM enrollment (device channel); install it before the package.',
      organization: spec.organization,
    },
    [tcc],
  );
}

/** `com.runlayer.aiwatch.pppc.mobileconfig`, as bytes-stable XML text. */
export function renderPppcProfile(spec: DeploymentSpec): string {
  return renderProfile(pppcProfile(spec));
}

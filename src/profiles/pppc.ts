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
import type { PlistDict } from './plist-serialize.js';

/** Reserved words of the code-requirement language (plus ""): never printed bare. */
const REQUIREMENT_KEYWORDS = new Set([
  'guest', 'host', 'designated', 'library', 'plugin', 'or', 'and', 'always', 'true', 'never', 'false', 'identifier',
  'cdhash', 'platform', 'notarized', 'anchor', 'apple', 'generic', 'certificate', 'cert', 'trusted', 'info',
  'entitlement', 'exists', 'leaf', 'root', '',
]);

const isAlnum = (b: number): boolean => (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;
const isGraphOrSpace = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || b === 0x20 || (b >= 0x09 && b <= 0x0d);

/**
 * A constant as Apple's requirement un-parser prints it: bare when every byte is an ASCII letter or digit, the
 * first is not a digit and it is not a reserved word; otherwise in double quotes with `\` and `"` escaped; and as
 * `0x…` hex when a byte is neither printable nor space (e.g. any non-ASCII byte, in the C locale).
 */
export function requirementConstant(value: string): string {
  const bytes = Buffer.from(value, 'utf8');
  let mode: 'simple' | 'printable' | 'binary' = 'simple';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (isAlnum(b)) {
      if (i === 0 && isDigit(b)) mode = 'printable';
    } else if (isGraphOrSpace(b)) {
      if (mode === 'simple') mode = 'printable';
    } else {
      mode = 'binary';
      break;
    }
  }
  if (mode === 'simple' && REQUIREMENT_KEYWORDS.has(value)) mode = 'printable';
  if (mode === 'simple') return value;
  if (mode === 'printable') return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  return `0x${bytes.toString('hex')}`;
}

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

/**
 * What one Fleet target should hold for a release, in apply order — pure data from the release, the spec it was
 * built from and the target (no I/O):
 *
 *  1. the PPPC profile, 2. the login-items profile, 3. the tenant-config profile (managed preferences of the agent's
 *     domain, made by the project's tenant profile generator; holds the keys) — each a custom configuration profile
 *     of the team, limited to the scope label (`labels_include_any`);
 *  4. the package: the release pkg as the team's software package, installed automatically (Fleet makes the
 *     install policy) on the Macs of the scope label, with our install script.
 *
 * Identity: a profile is found by its PayloadIdentifier (Fleet refuses a second profile of the same identifier in a
 * team), the package by its file name with the version left open (aiwatch-*-macos-arm64.pkg).
 *
 * Markers: Fleet keeps no free-text field on a configuration profile, so a profile's hash is the content hash of
 * what we send (the bytes and the labels) and is compared with the same hash of what Fleet holds (downloaded). The
 * package's install script is free text Fleet keeps: our marker is its last line, after `exit`, where the shell
 * never reads it (docs/decisions.md).
 */
import type { DeploymentSpec } from '../../config/spec-types.js';
import type { TenantValues } from '../../config/tenant-keys.js';
import { dictString, readPlist } from '../../formats/plist-read.js';
import { planTenant } from '../../profiles/plan.js';
import { contentHash, secretShown } from '../../rollout/marker.js';
import type { ReleaseContent } from '../../rollout/model.js';
import { scriptWithoutMarker, type DesiredBase, type ProfileRole } from '../desired.js';

export interface DesiredProfile extends DesiredBase {
  kind: 'profile';
  role: ProfileRole;
  /** PayloadIdentifier: the profile's identity in Fleet. */
  identifier: string;
  /** The .mobileconfig bytes sent (the tenant one holds secrets: never in a message). */
  bytes: Uint8Array;
  labels: string[];
}

export interface DesiredPackage extends DesiredBase {
  kind: 'package';
  role: 'package';
  fileName: string;
  /** Matches the file name of any release of this pkg (the version left open). */
  fileNamePattern: RegExp;
  size: number;
  sha256: string;
  version: string;
  /** The install script without our marker line. */
  installScript: string;
  labels: string[];
}

export type DesiredObject = DesiredProfile | DesiredPackage;

/** A .mobileconfig text as compared: line ends unified, outer whitespace dropped. */
export function normalPayload(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('utf8').replace(/\r\n?/g, '\n').trim();
}

/** The profile's hash over what Fleet holds: its bytes (normalised) and labels. Used for desired and observed alike. */
export function profileHash(role: ProfileRole, bytes: Uint8Array, labels: readonly string[]): string {
  return contentHash({ role, payload: Buffer.from(normalPayload(bytes), 'utf8'), labels: [...labels].sort() });
}

/** The plan value of a payload: its hash, never its text (the tenant one holds keys). */
export function payloadShown(bytes: Uint8Array): string {
  return secretShown(normalPayload(bytes));
}

export function labelsShown(labels: readonly string[]): string {
  return JSON.stringify([...labels].sort());
}

/** PayloadIdentifier and PayloadDisplayName of a .mobileconfig; throws naming the profile when either is missing. */
export function profileIdentity(bytes: Uint8Array, what: string): { identifier: string; displayName: string } {
  const read = readPlist(bytes, what);
  const identifier = dictString(read.root, 'PayloadIdentifier');
  const displayName = dictString(read.root, 'PayloadDisplayName');
  if (!read.root || !identifier || !displayName) {
    throw new Error(`${what}: not a configuration profile with PayloadIdentifier and PayloadDisplayName${read.problems[0] ? ` (${read.problems[0].message})` : ''}`);
  }
  return { identifier, displayName };
}

/**
 * The install script Fleet runs on a Mac with the downloaded pkg at $INSTALLER_PATH (Fleet's own default for a
 * .pkg does the same). The marker is appended after `exit`, so the shell never reaches it.
 */
export function installScript(): string {
  return ['#!/bin/sh', '# aiwatch-deploy: install the aiwatch pkg Fleet downloaded to $INSTALLER_PATH.', '/usr/sbin/installer -pkg "$INSTALLER_PATH" -target /', 'exit $?', ''].join('\n');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * `aiwatch-1.2.0-macos-arm64.pkg` with version 1.2.0 → /^aiwatch-[0-9][0-9A-Za-z.+_-]{0,63}-macos-arm64\.pkg$/: any
 * release of this pkg (a version starts with a digit, so `aiwatch-helper-1.0-macos-arm64.pkg` is not one).
 */
export function fileNamePattern(fileName: string, version: string): RegExp {
  const at = fileName.indexOf(version);
  if (at < 0) return new RegExp(`^${escapeRe(fileName)}$`);
  return new RegExp(`^${escapeRe(fileName.slice(0, at))}[0-9][0-9A-Za-z.+_-]{0,63}${escapeRe(fileName.slice(at + version.length))}$`);
}

export interface DesiredInput {
  spec: DeploymentSpec;
  release: ReleaseContent;
  tenant: TenantValues;
  /** The scope label (scope.group). */
  label: string;
}

function profile(role: ProfileRole, bytes: Uint8Array, labels: string[], secret: boolean): DesiredProfile {
  const { identifier, displayName } = profileIdentity(bytes, `${role} profile`);
  const text = Buffer.from(normalPayload(bytes), 'utf8');
  return {
    kind: 'profile',
    role,
    name: displayName,
    identifier,
    bytes: text,
    labels,
    hash: profileHash(role, text, labels),
    fields: { identifier, payload: payloadShown(text), labels_include_any: labelsShown(labels) },
    ...(secret ? { secretFields: ['payload'] } : {}),
  };
}

/** The desired objects of one target, in apply order (profiles before the package). */
export function desiredObjects(input: DesiredInput): DesiredObject[] {
  const { spec, release, tenant, label } = input;
  const labels = [label];
  const pkg = release.pkg;
  const script = installScript();
  return [
    profile('profile-pppc', release.profiles.pppc, labels, false),
    profile('profile-loginitems', release.profiles.loginItems, labels, false),
    profile('profile-tenant', planTenant(spec, tenant, 'mobileconfig').bytes, labels, true),
    {
      kind: 'package',
      role: 'package',
      name: pkg.fileName,
      fileName: pkg.fileName,
      fileNamePattern: fileNamePattern(pkg.fileName, release.version),
      size: pkg.size,
      sha256: pkg.sha256.toLowerCase(),
      version: release.version,
      installScript: script,
      labels,
      hash: contentHash({ role: 'package', fileName: pkg.fileName, size: pkg.size, sha256: pkg.sha256.toLowerCase(), installScript: scriptWithoutMarker(script), labels, automaticInstall: true }),
      fields: { fileName: pkg.fileName, install_script: secretShown(scriptWithoutMarker(script)), labels_include_any: labelsShown(labels) },
    },
  ];
}

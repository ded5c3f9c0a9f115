/**
 * The plan of the profile artifacts: pure functions from the spec (and tenant input) to the files to write —
 * relative path, bytes and mode. The `profiles`, `tenant` and `tenants` commands (and the release build) write
 * what these return; nothing here touches the disk.
 */
import type { DeploymentSpec, TenantInput } from '../config/spec-types.js';
import { launchdFileName, renderLaunchdPlist } from '../launchd/plist.js';
import { renderIntuneFragment } from './intune-fragment.js';
import { renderJamfSchema, renderJamfValues } from './jamf-schema.js';
import { renderLoginItemsProfile } from './login-items.js';
import { identifierRoot } from './mobileconfig.js';
import { renderPppcProfile } from './pppc.js';
import { renderTenantProfile } from './tenant-profile.js';

/** One file to write. */
export interface Artifact {
  /** Path relative to the output folder, `/`-separated. */
  path: string;
  bytes: Uint8Array;
  /** 0o644, or 0o600 when `secret`. */
  mode: number;
  /** Holds a secret (OrgApiKey, EnrollmentKey). */
  secret: boolean;
}

function artifact(path: string, text: string, secret = false): Artifact {
  return { path, bytes: Buffer.from(text, 'utf8'), mode: secret ? 0o600 : 0o644, secret };
}

/** File names of the release profiles, derived from the spec's identifier. */
export function profileFileNames(spec: DeploymentSpec): { pppc: string; loginItems: string; jamfSchema: string } {
  const root = identifierRoot(spec);
  return { pppc: `${root}.pppc.mobileconfig`, loginItems: `${root}.loginitems.mobileconfig`, jamfSchema: `${root}.jamf.schema.json` };
}

/** The tenant-independent artifacts: PPPC and login-items profiles, Jamf schema, `launchd/<Label>.plist`. */
export function planProfiles(spec: DeploymentSpec): Artifact[] {
  const names = profileFileNames(spec);
  return [
    artifact(names.pppc, renderPppcProfile(spec)),
    artifact(names.loginItems, renderLoginItemsProfile(spec)),
    artifact(names.jamfSchema, renderJamfSchema(spec)),
    ...spec.units.map((u) => artifact(`launchd/${launchdFileName(u)}`, renderLaunchdPlist(u))),
  ];
}

export const TENANT_FORMATS = ['mobileconfig', 'mcx', 'intune-plist', 'json'] as const;
export type TenantFormat = (typeof TENANT_FORMATS)[number];

/** Default file name of each tenant format. */
export function tenantFileName(spec: DeploymentSpec, format: TenantFormat): string {
  const root = identifierRoot(spec);
  switch (format) {
    case 'mobileconfig':
      return `${root}.tenant.mobileconfig`;
    case 'mcx':
      return `${root}.tenant.mcx.mobileconfig`;
    case 'intune-plist':
      return `${root}.intune.plist`;
    case 'json':
      return `${root}.jamf.values.json`;
  }
}

/** One tenant artifact in `format`. Secret-bearing whenever a key is present (always: OrgApiKey is required). */
export function planTenant(spec: DeploymentSpec, tenant: TenantInput, format: TenantFormat, path = tenantFileName(spec, format)): Artifact {
  const secret = spec.tenantKeys.some((d) => d.secret && tenant[d.name] !== undefined);
  switch (format) {
    case 'mobileconfig':
      return artifact(path, renderTenantProfile(spec, tenant, 'domain'), secret);
    case 'mcx':
      return artifact(path, renderTenantProfile(spec, tenant, 'mcx'), secret);
    case 'intune-plist':
      return artifact(path, renderIntuneFragment(tenant), secret);
    case 'json':
      return artifact(path, renderJamfValues(spec, tenant), secret);
  }
}

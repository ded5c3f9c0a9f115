/**
 * The tenant-config profile: the managed preferences of the agent's domain (`com.runlayer.aiwatch`: Host,
 * OrgApiKey, EnrollmentKey, Username, DeviceName, Enforcement, Sessions), in one of two encodings that both land in
 * `/Library/Managed Preferences/<domain>.plist` and are read through CFPreferences:
 *  - `domain` (default): a payload whose PayloadType is the domain itself, keys next to the Payload* keys (the
 *    de-facto form of ProfileCreator, Nudge, Defender, Kandji);
 *  - `mcx`: `com.apple.ManagedClient.preferences` with Forced mcx_preference_settings (what Jamf and Intune emit).
 *
 * The profile carries secrets: callers write it 0600. Display names show the tenant host, never a key.
 * PayloadRemovalDisallowed is false: the admin must be able to retire a tenant profile by hand.
 */
import type { DeploymentSpec, TenantInput } from '../config/spec-types.js';
import { HOST_KEY, tenantPreferences } from '../config/tenant-keys.js';
import { mcxContent, MCX_PAYLOAD_TYPE } from './mcx.js';
import { identifierRoot, payload, profile, PROFILE_KEYS_SORTED } from './mobileconfig.js';
import { plistText } from './plist-fast.js';
import type { PlistDict } from '../formats/plist-serialize.js';

export type TenantEncoding = 'domain' | 'mcx';

/** PayloadIdentifier of the tenant profile (the same for every tenant: a new tenant profile replaces the old). */
export function tenantProfileIdentifier(spec: DeploymentSpec): string {
  return `${identifierRoot(spec)}.tenant`;
}

function hostName(t: TenantInput): string {
  return new URL(t[HOST_KEY]).host;
}

export function tenantProfile(spec: DeploymentSpec, tenant: TenantInput, encoding: TenantEncoding = 'domain'): PlistDict {
  const root = tenantProfileIdentifier(spec);
  const prefs = tenantPreferences(tenant) as PlistDict;
  const keys = Object.keys(prefs).join(', ');
  const header = {
    displayName: `${spec.productTitle}: tenant settings (${hostName(tenant)})`,
    description: `Managed preferences ${spec.domain}: ${keys}`,
    organization: spec.organization,
  };
  const content =
    encoding === 'domain'
      ? payload({ ...header, type: spec.domain, identifier: `${root}.settings` }, prefs)
      : payload({ ...header, type: MCX_PAYLOAD_TYPE, identifier: `${root}.mcx` }, mcxContent(spec.domain, prefs));
  return profile(
    {
      identifier: root,
      displayName: header.displayName,
      description:
        `Connects the ${spec.productTitle} agent to ${tenant[HOST_KEY]} (preference domain ${spec.domain}). ` +
        'Contains the organization keys: distribute it only through your MDM.',
      organization: spec.organization,
      removalDisallowed: false,
    },
    [content],
  );
}

/**
 * The tenant profile as XML text (holds secrets: write it 0600): what renderProfile writes, through the direct
 * writer `tenants` needs at scale (plist-fast.ts).
 */
export function renderTenantProfile(spec: DeploymentSpec, tenant: TenantInput, encoding: TenantEncoding = 'domain'): string {
  return plistText(tenantProfile(spec, tenant, encoding), PROFILE_KEYS_SORTED);
}

/**
 * The Intune "Preference file" upload for the tenant config: only `<key>…</key><value/>` pairs of the domain's
 * preferences — no XML declaration, no `<plist>`, no outer `<dict>` (Microsoft's documented format; Intune does not
 * validate it and wraps it into a com.apple.ManagedClient.preferences payload itself). The admin enters the
 * preference domain (`com.runlayer.aiwatch`) in the form. Holds secrets: write it 0600.
 */
import type { TenantInput } from '../config/spec-types.js';
import { tenantPreferences } from '../config/tenant-keys.js';
import type { PlistDict } from '../formats/plist-serialize.js';
import { plistFragmentText } from './plist-fast.js';

/** The fragment (keys sorted), through the direct writer `tenants` needs at scale (plist-fast.ts). */
export function renderIntuneFragment(tenant: TenantInput): string {
  return plistFragmentText(tenantPreferences(tenant) as PlistDict, true);
}

/** The fragment wrapped into a complete plist document (for validation and read-back). */
export function wrapFragment(fragment: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
    `<plist version="1.0">\n<dict>\n${fragment}</dict>\n</plist>\n`
  );
}

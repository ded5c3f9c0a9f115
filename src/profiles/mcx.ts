/**
 * The `com.apple.ManagedClient.preferences` ("MCX") payload: managed preferences for one domain, delivered as
 * `PayloadContent → <domain> → Forced → [{ mcx_preference_settings: {…} }]` — the shape Jamf's Custom Schema and
 * Intune's Preference file template produce. Covers Forced only (never Set-Once: the agent's settings are
 * enforced, not defaults the user may change).
 */
import type { PlistDict } from '../formats/plist-serialize.js';

export const MCX_PAYLOAD_TYPE = 'com.apple.ManagedClient.preferences';

/** The payload content (the keys next to the common payload keys) forcing `settings` in `domain`. */
export function mcxContent(domain: string, settings: PlistDict): PlistDict {
  return { PayloadContent: { [domain]: { Forced: [{ mcx_preference_settings: settings }] } } };
}


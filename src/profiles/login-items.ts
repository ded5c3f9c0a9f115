/**
 * The managed login items profile (`com.apple.servicemanagement`, macOS 13+): rules that mark the aiwatch launchd
 * jobs as managed, so macOS enables them and does not show "Background Items Added" to the user.
 *
 * Covers: the `Rules` array from `spec.loginItems` (RuleType, RuleValue, Comment). Does not add a `TeamIdentifier`
 * constraint: BTM takes a legacy job's team from the program it runs, and the enroll and bootstrap jobs run the
 * Apple-signed `/bin/sh` gate, so a team constraint would not match them (docs/decisions.md).
 */
import type { DeploymentSpec } from '../config/spec-types.js';
import { identifierRoot, payload, profile, renderProfile } from './mobileconfig.js';
import type { PlistDict } from '../formats/plist-serialize.js';

export function loginItemsProfile(spec: DeploymentSpec): PlistDict {
  const root = `${identifierRoot(spec)}.loginitems`;
  const rules: PlistDict[] = spec.loginItems.map((r) => {
    const rule: PlistDict = { RuleType: r.ruleType, RuleValue: r.ruleValue };
    if (r.comment !== undefined) rule.Comment = r.comment;
    return rule;
  });
  const what = spec.loginItems.map((r) => `${r.ruleType} ${r.ruleValue}`).join(', ');
  const sm = payload(
    {
      type: 'com.apple.servicemanagement',
      identifier: `${root}.servicemanagement`,
      displayName: `${spec.productTitle}: managed login items`,
      description: `Managed background items: ${what}`,
      organization: spec.organization,
    },
    { Rules: rules },
  );
  return profile(
    {
      identifier: root,
      displayName: `${spec.productTitle}: managed login items`,
      description:
        `Marks the launchd jobs matching ${what} as managed: macOS 13+ enables them and does not ask the user ` +
        'to allow them. Needs a user-approved MDM enrollment (device channel); install it before the package.',
      organization: spec.organization,
    },
    [sm],
  );
}

/** `com.runlayer.aiwatch.loginitems.mobileconfig`. */
export function renderLoginItemsProfile(spec: DeploymentSpec): string {
  return renderProfile(loginItemsProfile(spec));
}

/**
 * The MDM drivers, by kind: what `plan` and `apply` connect to for each target's `mdm`. One driver per MDM's API
 * (src/mdm/<name>/driver.ts, implementing src/rollout/model.ts MdmDriver): every kind the rollout schema knows has
 * one. A kind without an entry here would be refused at validation as "not supported yet", before any request.
 */
import type { DriverRegistry } from '../rollout/file.js';
import { fleetDriver } from './fleet/driver.js';
import { intuneDriver } from './intune/driver.js';
import { jamfDriver } from './jamf/driver.js';
import { kandjiDriver } from './kandji/driver.js';

export const MDM_DRIVERS: DriverRegistry = {
  jamf: jamfDriver,
  intune: intuneDriver,
  fleet: fleetDriver,
  kandji: kandjiDriver,
};

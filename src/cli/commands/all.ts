/**
 * Every CLI command loaded at once, in the order `--help` lists them (the tests and `--help` use this; a run loads only
 * the command it names, through ./index.ts). Add a command here and in ./index.ts (a test checks they match).
 */
import type { AiwatchCommand } from '../command.js';
import { applyCommand } from './apply.js';
import { buildCommand } from './build.js';
import { cleanupScriptCommand } from './cleanup-script.js';
import { fleetGitopsCommand } from './fleet-gitops.js';
import { inspectCommand } from './inspect.js';
import { intuneCommand } from './intune.js';
import { notarizeCommand } from './notarize.js';
import { planCommand } from './plan.js';
import { profilesCommand } from './profiles.js';
import { signBinaryCommand } from './sign-binary.js';
import { signPkgCommand } from './sign-pkg.js';
import { signProfileCommand } from './sign-profile.js';
import { stapleCommand } from './staple.js';
import { statusCommand } from './status.js';
import { tenantCommand } from './tenant.js';
import { tenantsCommand } from './tenants.js';
import { uninstallScriptCommand } from './uninstall-script.js';
import { verifyCommand } from './verify.js';

export const commands: AiwatchCommand[] = [buildCommand, profilesCommand, tenantCommand, tenantsCommand, verifyCommand, inspectCommand, intuneCommand, signPkgCommand, signProfileCommand, signBinaryCommand, notarizeCommand, stapleCommand, cleanupScriptCommand, uninstallScriptCommand, planCommand, applyCommand, statusCommand, fleetGitopsCommand];

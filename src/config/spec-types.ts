/**
 * The resolved deployment spec: the one source of truth every generator reads. It is loaded from the declarative
 * data in `profiles/` and `launchd/` (validated by `schemas/`), with `--spec FILE` overriding the top-level values.
 * Generators are pure functions of a DeploymentSpec (plus release/tenant input and an injected clock).
 */
import type { TenantKeyName, TenantValues } from './tenant-keys.js';

/** A launchd unit as it will be installed. */
export interface LaunchdUnit {
  /** launchd Label, e.g. `com.runlayer.aiwatch.enroll`; must start with `spec.labelPrefix`. */
  label: string;
  /** `agent`: /Library/LaunchAgents, bootstrapped in gui/<uid>; `daemon`: /Library/LaunchDaemons, in system. */
  kind: 'agent' | 'daemon';
  /** Absolute install path of the plist, e.g. `/Library/LaunchAgents/com.runlayer.aiwatch.plist`. */
  plistPath: string;
  /** The arguments given to the agent binary, e.g. `["scan"]`. */
  arguments: string[];
  /** Whether the unit runs through the `/bin/sh` EnrollmentKey gate (exits 0 when the key is absent). */
  enrollmentGate: boolean;
  /** The full launchd dictionary as it will be serialised (Label, ProgramArguments, RunAtLoad, …). */
  plist: Record<string, unknown>;
}

/** One TCC service entry of the PPPC profile. */
export interface PppcService {
  /** TCC service key, e.g. `SystemPolicyAllFiles`. */
  service: string;
  /** `Allowed: true/false` or `Authorization: Allow|Deny|AllowStandardUserToSetSystemService` — exactly one. */
  allowed?: boolean;
  authorization?: 'Allow' | 'Deny' | 'AllowStandardUserToSetSystemService';
  comment?: string;
}

/** A login-items (com.apple.servicemanagement) rule. */
export interface LoginItemRule {
  ruleType: 'LabelPrefix' | 'Label' | 'BundleIdentifier' | 'BundleIdentifierPrefix' | 'TeamIdentifier';
  ruleValue: string;
  comment?: string;
}

/** One key of the tenant-config managed-preference domain; the one definition CLI flags, Jamf schema etc. derive from. */
export interface TenantKeyDef {
  /** Preference key, e.g. `OrgApiKey` (loadSpec checks the names against src/config/tenant-keys.ts). */
  name: TenantKeyName;
  type: 'string' | 'boolean';
  required: boolean;
  default?: string | boolean;
  /** ECMAScript regex (anchored) for string keys. */
  pattern?: string;
  maxLength?: number;
  title: string;
  description: string;
  /** Secret keys are masked everywhere and force 0600 output. */
  secret: boolean;
  /** CLI flag stem, e.g. `org-api-key` (→ --org-api-key-file, AIWATCH_ORG_API_KEY). */
  flag: string;
}

/** The legacy script-based `runlayer-scan` deployment the cleanup script removes. */
export interface LegacySpec {
  wrapperPath: string; // /usr/local/bin/runlayer-scan
  signingIdentifier: string; // com.runlayer.scan
  label: string; // com.runlayer.scan
  logFiles: string[]; // /tmp/runlayer-scan.stdout.log, /tmp/runlayer-scan.stderr.log
}

/** Windows/Intune side: how the `runlayer` CLI is installed and given host and keys. */
export interface WindowsSpec {
  /** `uv tool install <package>`. */
  cliPackage: string; // runlayer
  /** How host and keys reach the CLI: environment of the child process (default) — never argv. */
  secretsVia: 'env';
  env: { host: string; orgApiKey: string; enrollmentKey: string; caBundle: string };
  /** Log folder, e.g. `%ProgramData%\Runlayer`. */
  logDir: string;
}

export interface DeploymentSpec {
  /** Code-signing identifier of the agent binary. Default `com.runlayer.aiwatch`. */
  identifier: string;
  /** Developer ID team. Default `AF2M8HC7A2`. */
  teamId: string;
  /** Absolute install path of the binary. Default `/usr/local/lib/runlayer/aiwatch/aiwatch`. */
  installPath: string;
  /** Managed-preference domain of the tenant config. Default `com.runlayer.aiwatch`. */
  domain: string;
  /** Every launchd label starts with this; the login-items LabelPrefix rule. Default `com.runlayer.aiwatch`. */
  labelPrefix: string;
  /** Component package identifier (receipt). Default `com.runlayer.aiwatch.pkg`. */
  packageIdentifier: string;
  /** Distribution title. Default `Runlayer aiwatch`. */
  productTitle: string;
  /** PayloadOrganization of profiles. Default `Runlayer`. */
  organization: string;
  /** Minimum macOS version for Distribution `allowed-os-versions`. Default `12.0`. */
  minimumMacOS: string;
  /**
   * Seconds Installer lets the pkg's preinstall and postinstall run (PackageInfo `timeout` of each script element).
   * Default 600, what modern pkgbuild writes.
   */
  scriptsTimeout: number;
  /** Log folder on macOS. Default `/var/log/runlayer`. */
  logDir: string;
  units: LaunchdUnit[];
  pppc: PppcService[];
  loginItems: LoginItemRule[];
  tenantKeys: TenantKeyDef[];
  legacy: LegacySpec;
  windows: WindowsSpec;
}

/** The tenant values an admin supplies, validated against `spec.tenantKeys`: the one map of src/config/tenant-keys.ts. */
export type TenantInput = TenantValues;

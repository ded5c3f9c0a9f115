/**
 * The shared vocabulary of `plan` / `apply` (issue 11): what a rollout file resolves to, what an MDM driver must do,
 * and what a plan is. The engine (rollout/engine.ts) is MDM-neutral; each MDM is a driver in src/mdm/<name>/ that
 * implements {@link MdmDriver}. Nothing here does I/O.
 *
 * Identity and drift: every object we make is found by its name and carries a marker (src/rollout/marker.ts) in a
 * free-text field (description / notes) holding the hash of the desired content it was made from. `plan` compares
 * the observed fields with the desired fields: equal → unchanged; different → update with a field diff (a field the
 * marker says we wrote but that differs now is drift made in the console; it is shown and repaired the same way).
 */
import type { DeploymentSpec } from '../config/spec-types.js';
import type { Secret } from '../secret.js';

export type MdmKind = 'jamf' | 'intune' | 'kandji' | 'fleet';

/** A credential or tenant secret by reference: exactly one of a file path (0600 advised) or an env var name. */
export type SecretRef = { file: string } | { env: string };

/** One target of the rollout file after validation; secrets are still references. */
export interface RolloutTarget {
  name: string;
  mdm: MdmKind;
  /** Base URL of the MDM (https; http only for 127.0.0.1/localhost/::1). */
  url: string;
  /** MDM-specific credential fields, each a literal non-secret (client id, username) or a SecretRef. */
  credentials: Record<string, string | SecretRef>;
  /** Tenant key values (TENANT_KEYS names: Host, OrgApiKey, …); secret keys must be SecretRefs. */
  tenant: Record<string, string | boolean | SecretRef>;
  /** Which Macs: a smart group we manage (name + criteria) or an existing group by name. */
  scope: TargetScope;
  /** A test server: allows a pkg that is not Developer ID signed, notarized and stapled. */
  testServer: boolean;
  /** MDM-specific options (e.g. jamf: categoryName), validated by the driver's schema fragment. */
  options: Record<string, unknown>;
}

export type TargetScope =
  | { smartGroup: { name: string; criteria: ScopeCriterion[] } }
  | { group: string };

export interface ScopeCriterion {
  name: string;
  searchType: string;
  value: string;
  andOr: 'and' | 'or';
}

/** A target with its secrets read (by the engine, before any request). */
export interface ResolvedTarget extends Omit<RolloutTarget, 'credentials' | 'tenant'> {
  credentials: Record<string, string | Secret>;
  tenant: Record<string, string | boolean | Secret>;
}

/** What a release contributes to every target (read once from the release zip, validated before any request). */
export interface ReleaseContent {
  version: string;
  /** The deployment spec the release is read with (`--spec`, else the default): tenant keys, profile domains. */
  spec: DeploymentSpec;
  /** The pkg file name, e.g. `aiwatch-1.2.0-macos-arm64.pkg`, its size, hashes and a random-access source. */
  pkg: {
    fileName: string;
    size: number;
    sha256: string;
    sha512: string;
    md5: string;
    /** A fresh stream of the pkg's bytes each call (an upload restarted after a reset reads it again). */
    read: () => AsyncIterable<Uint8Array>;
  };
  /** The unsigned profiles of the release (bytes of the .mobileconfig), by role. */
  profiles: { pppc: Uint8Array; loginItems: Uint8Array };
  /**
   * The device-side health scripts of the release (issue 13), as text, by manifest role: the Jamf extension attribute
   * (`jamf-extension-attribute`) and the Intune macOS custom attribute (`intune-attribute`). Absent in a release
   * made before they existed; a driver asked to deploy them then blocks those objects.
   */
  healthScripts?: { jamfExtensionAttribute?: string; intuneAttribute?: string };
  /** Trust facts about the pkg and its binary, established by our readers. */
  trust: {
    developerIdSigned: boolean;
    notarizedStapled: boolean;
    /**
     * The PPPC CodeRequirement and whether the binary inside the pkg satisfies it; problems if not. Precisely
     * (rollout/release.ts): every PPPC path rule for the agent pins the identifier and team the binary is signed
     * with. Whether its `anchor apple generic` holds on a Mac is `developerIdSigned` (a test server accepts a release
     * without that, never a pin mismatch). The demo release: true.
     */
    pppcMatchesBinary: boolean;
    /** Why a fact above is false, in words (for a `blocked` reason). */
    problems: string[];
  };
}

/** A field value as shown in a plan; a secret field is shown only as `sha256:<first 12 hex>`. */
export type FieldValue = string | number | boolean | null;

export interface FieldDiff {
  field: string;
  from: FieldValue;
  to: FieldValue;
  secret?: boolean;
}

export type ObjectKind = 'smart-group' | 'extension-attribute' | 'profile' | 'package' | 'policy' | 'app' | 'script' | 'assignment';

export type Action = 'create' | 'update' | 'unchanged' | 'blocked';

/** One object's line of a plan. */
export interface PlannedObject {
  kind: ObjectKind;
  /** The object's name in the MDM. */
  name: string;
  action: Action;
  /** For update: what differs (desired vs observed); for create: the desired fields. */
  diff: FieldDiff[];
  /** For blocked: why (names the object and what to do); for update: "drift" when the marker matches the desired hash. */
  reason?: string;
  /** The MDM's id when the object exists. */
  id?: string;
  /** The desired content hash (the marker's value). */
  hash: string;
  /**
   * What the MDM holds now, for `status` (issue 15): the hash in the existing object's marker (absent when the object
   * does not exist or carries no marker of ours) and, for a package / app, the aiwatch version it carries.
   */
  observed?: { hash?: string; version?: string };
}

export interface TargetPlan {
  target: string;
  mdm: MdmKind;
  objects: PlannedObject[];
  /** A target that could not be planned (credentials refused, server down): the others still are. */
  error?: { kind: string; exitCode: number; message: string };
}

/** Counters of what a driver did to a server; the report and tests use them ("second apply: 0 writes"). */
export interface RequestCounts {
  reads: number;
  writes: number;
  uploadedBytes: number;
}

export interface DriverContext {
  signal: AbortSignal;
  /** Progress of long work (an upload): called with bytes done/total. */
  onUploadProgress?: (objectName: string, done: number, total: number) => void;
  /** A retry or wait line ("jamf acme: package …: HTTP 503; retrying in 4 s"). */
  onNote?: (message: string) => void;
  /** HTTP retry tuning for tests (backoff, sleep). */
  http?: { backoffMs?: number; sleep?: (ms: number, signal?: AbortSignal) => Promise<void>; requestTimeoutMs?: number };
}

/** A connected driver for one target. `plan` never writes; `apply` performs one planned object. */
export interface MdmSession {
  /** Read the target's current state and compare it with what the release and target ask for. */
  plan(): Promise<PlannedObject[]>;
  /** Make one planned object (create/update) true. Called in plan order; the driver re-reads what it must. */
  apply(object: PlannedObject): Promise<void>;
  counts(): RequestCounts;
  close(): Promise<void>;
}

export interface MdmDriver {
  kind: MdmKind;
  /** Credential field names this MDM needs and which of them are secrets (checked at rollout validation). */
  credentialFields: { name: string; secret: boolean; required: boolean }[];
  /** Extra validation of `target.options` and scope; every problem at once, each naming the target. */
  validate(target: RolloutTarget): string[];
  connect(target: ResolvedTarget, release: ReleaseContent, ctx: DriverContext): Promise<MdmSession>;
}

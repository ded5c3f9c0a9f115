/**
 * The Fleet GitOps export (issue 15): for admins who manage Fleet from a git repository with `fleetctl gitops`
 * instead of letting `apply` call the API. Pure: from a release (read and verified by rollout/release.ts) and the
 * tenant's non-secret values to the files to write, under a repository root laid out as Fleet's GitOps template
 * (`default.yml`, `teams/<team>.yml`, `lib/…`):
 *
 *   lib/aiwatch/team-fragment.yml         the keys to merge into the team's file: controls.macos_settings.
 *                                          custom_settings (or controls.apple_settings.configuration_profiles),
 *                                          software.packages and a policy that installs the package where the
 *                                          installed version is not this release's
 *   lib/aiwatch/<id>.pppc.mobileconfig    the three profiles (the tenant one with $AIWATCH_ORG_API_KEY in place
 *   lib/aiwatch/<id>.loginitems.…         of the key: fleetctl gitops fills `$VAR` from its environment, so no key
 *   lib/aiwatch/<id>.tenant.mobileconfig  is ever written into the repository)
 *   lib/aiwatch/aiwatch.package.yml       the package: hash_sha256 of the release pkg (the pkg uploaded to Fleet
 *                                          once, by `apply` or the UI) and, when given, the URL Fleet downloads it
 *                                          from
 *
 * Paths inside the fragment are relative to a team file (`teams/x.yml` or `fleets/x.yml`: `../lib/aiwatch/…`), as
 * Fleet resolves them. Keys are Fleet's (test/fixtures/vendor-api/fleet/fleet.json `gitops`): the teams-era names by
 * default (read by every Fleet that has GitOps; the newest warn and map them), the fleets-era names with
 * `keys: 'fleets'`. Deterministic: the same release and values give the same bytes.
 */
import { stringify } from 'yaml';
import type { DeploymentSpec } from '../../config/spec-types.js';
import type { RawTenantValues, TenantValues } from '../../config/tenant-keys.js';
import { parseTenantInput } from '../../config/tenant.js';
import { UsageError } from '../../errors.js';
import { planTenant, profileFileNames, type Artifact } from '../../profiles/plan.js';
import type { ReleaseContent } from '../../rollout/model.js';
import { Secret } from '../../secret.js';

export type GitopsKeys = 'teams' | 'fleets';

export interface GitopsInput {
  release: ReleaseContent;
  /** The tenant's non-secret values (Host, Username, …); secrets are never taken here. */
  tenant: RawTenantValues;
  /** Label the profiles and package are limited to (labels_include_any); none: every host of the team. */
  label?: string;
  keys: GitopsKeys;
  /** Where Fleet downloads the pkg from (https); without it Fleet matches the pkg already uploaded by its hash. */
  pkgUrl?: string;
  /** Also fill EnrollmentKey from $AIWATCH_ENROLLMENT_KEY (auto-provisioning). */
  enrollmentKey: boolean;
}

/** The environment variables `fleetctl gitops` must have for the tenant profile. */
export const GITOPS_VARIABLES = { OrgApiKey: 'AIWATCH_ORG_API_KEY', EnrollmentKey: 'AIWATCH_ENROLLMENT_KEY' } as const;

const DIR = 'lib/aiwatch';
const FROM_TEAM = '../lib/aiwatch';
/** Stand-ins that pass the key patterns; replaced by `$VAR` in the rendered profile (each must appear). */
const PLACEHOLDER = { OrgApiKey: 'rl_org_AIWATCHDEPLOYGITOPSPLACEHOLDER', EnrollmentKey: 'rl_enroll_AIWATCHDEPLOYGITOPSPLACEHOLDER' } as const;

function file(path: string, text: string): Artifact {
  return { path, bytes: Buffer.from(text, 'utf8'), mode: 0o644, secret: false };
}

function yamlText(header: string[], value: unknown): string {
  return `${header.map((l) => `# ${l}`).join('\n')}\n${stringify(value, { lineWidth: 0, indent: 2 })}`;
}

/** Problems of the input, all at once (parse, then act). */
function inputProblems(i: Omit<GitopsInput, 'release'>): string[] {
  const problems: string[] = [];
  for (const name of Object.keys(GITOPS_VARIABLES)) {
    if (i.tenant[name as keyof RawTenantValues] !== undefined) problems.push(`tenant: ${name} is not taken by the GitOps export: the profile gets $${GITOPS_VARIABLES[name as keyof typeof GITOPS_VARIABLES]}, which fleetctl gitops fills from its environment (a secret of your CI)`);
  }
  if (i.label !== undefined && !/^[^\r\n]{1,255}$/.test(i.label)) problems.push(`--label must be a Fleet label name of 1–255 characters on one line, got ${JSON.stringify(i.label.slice(0, 80))}`);
  if (i.pkgUrl !== undefined) {
    const u = URL.canParse(i.pkgUrl) ? new URL(i.pkgUrl) : undefined;
    if (!(u?.protocol === 'https:' && !u.username && !u.password)) problems.push(`--pkg-url must be an https URL without credentials (Fleet downloads the pkg from it), got ${JSON.stringify(i.pkgUrl.slice(0, 120))}`);
  }
  return problems;
}

/** The tenant values with the stand-ins for the keys (validated: a UsageError names every problem). */
function tenantWithStandIns(spec: DeploymentSpec, i: Omit<GitopsInput, 'release'>): TenantValues {
  const raw: RawTenantValues = { ...i.tenant, OrgApiKey: new Secret(PLACEHOLDER.OrgApiKey, 'OrgApiKey') };
  if (i.enrollmentKey) raw.EnrollmentKey = new Secret(PLACEHOLDER.EnrollmentKey, 'EnrollmentKey');
  return parseTenantInput(spec, raw, 'tenant', (d) => `--${d.flag}`);
}

/** Every problem of the input at once, before the release is read (parse, then act). */
export function checkFleetGitops(spec: DeploymentSpec, i: Omit<GitopsInput, 'release'>): void {
  const problems = inputProblems(i);
  try {
    tenantWithStandIns(spec, i);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    problems.push(...e.problems);
  }
  if (problems.length > 0) throw new UsageError(problems);
}

/** The tenant profile with `$VAR` where the keys go. */
function tenantProfile(i: GitopsInput): string {
  const tenant = tenantWithStandIns(i.release.spec, i);
  let text = Buffer.from(planTenant(i.release.spec, tenant, 'mobileconfig').bytes).toString('utf8');
  for (const name of i.enrollmentKey ? (['OrgApiKey', 'EnrollmentKey'] as const) : (['OrgApiKey'] as const)) {
    if (!text.includes(PLACEHOLDER[name])) throw new Error(`fleet gitops: the tenant profile does not hold the ${name} stand-in`);
    text = text.split(PLACEHOLDER[name]).join(`$${GITOPS_VARIABLES[name]}`);
  }
  return text;
}

/** The installed-version policy's query: passes where the package receipt holds this release's version. */
function versionQuery(packageIdentifier: string, version: string): string {
  const q = (s: string): string => `'${s.replace(/'/g, "''")}'`;
  return `SELECT 1 FROM package_receipts WHERE package_id = ${q(packageIdentifier)} AND version = ${q(version)};`;
}

/** Every file of the export (see the module comment); throws UsageError with every input problem first. */
export function planFleetGitops(i: GitopsInput): Artifact[] {
  checkFleetGitops(i.release.spec, i);
  const { release } = i;
  const spec = release.spec;
  const names = profileFileNames(spec);
  const tenantName = names.pppc.replace(/\.pppc\.mobileconfig$/, '.tenant.mobileconfig');
  const labels = i.label ? { labels_include_any: [i.label] } : {};
  const profiles = [names.pppc, names.loginItems, tenantName].map((n) => ({ path: `${FROM_TEAM}/${n}`, ...labels }));
  const controls = i.keys === 'fleets' ? { apple_settings: { configuration_profiles: profiles } } : { macos_settings: { custom_settings: profiles } };
  const packageFile = 'aiwatch.package.yml';
  const fragment = {
    controls,
    software: { packages: [{ path: `${FROM_TEAM}/${packageFile}`, ...labels }] },
    policies: [
      {
        name: `aiwatch ${release.version} installed`,
        description: `Passes on Macs where the aiwatch package (${spec.packageIdentifier}) is at version ${release.version}; where it fails, Fleet installs the package.`,
        resolution: 'Fleet installs the aiwatch package on its own (install_software); nothing to do on the Mac.',
        query: versionQuery(spec.packageIdentifier, release.version),
        platform: 'darwin',
        critical: false,
        install_software: { package_path: `${FROM_TEAM}/${packageFile}` },
      },
    ],
  };
  const header = [
    `aiwatch-deploy: Fleet GitOps fragment for aiwatch ${release.version} (${release.pkg.fileName}).`,
    'Merge these keys into the team file (teams/<team>.yml or fleets/<team>.yml): paths are relative to it.',
    `The tenant profile reads $${GITOPS_VARIABLES.OrgApiKey}${i.enrollmentKey ? ` and $${GITOPS_VARIABLES.EnrollmentKey}` : ''} from fleetctl gitops' environment (a CI secret).`,
  ];
  const pkg = {
    ...(i.pkgUrl ? { url: i.pkgUrl } : {}),
    hash_sha256: release.pkg.sha256.toLowerCase(),
    self_service: false,
  };
  const pkgHeader = [
    `aiwatch-deploy: the aiwatch ${release.version} pkg (${release.pkg.fileName}, ${release.pkg.size} bytes).`,
    i.pkgUrl ? 'Fleet downloads it from url and checks hash_sha256.' : 'No url: Fleet uses the pkg of this hash uploaded before (aiwatch-deploy apply, or Software > Add software).',
  ];
  return [
    file(`${DIR}/team-fragment.yml`, yamlText(header, fragment)),
    file(`${DIR}/${packageFile}`, yamlText(pkgHeader, pkg)),
    { path: `${DIR}/${names.pppc}`, bytes: release.profiles.pppc, mode: 0o644, secret: false },
    { path: `${DIR}/${names.loginItems}`, bytes: release.profiles.loginItems, mode: 0o644, secret: false },
    file(`${DIR}/${tenantName}`, tenantProfile(i)),
  ];
}

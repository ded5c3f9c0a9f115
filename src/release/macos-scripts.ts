/**
 * The macOS shell scripts of an aiwatch rollout, rendered from the deployment spec (pure: spec in, text out):
 *  - `preinstall` / `postinstall` for the pkg's Scripts archive (the pkg builder calls {@link renderInstallScripts});
 *  - `cleanup-runlayer-scan.sh`, which removes the legacy runlayer-scan deployment (release zip, `cleanup-script`);
 *  - `uninstall-aiwatch.sh`, which removes exactly the package's payload (release zip, `uninstall-script`).
 *
 * The scripts are POSIX sh (macOS runs /bin/sh as bash 3.2 in POSIX mode); they come from `templates/*.sh.hbs`
 * and the shared `templates/partials/sh-*.hbs` (the legacy cleanup is one partial used by preinstall and the
 * cleanup script). Every spec value reaches a script through `{{sh …}}` quoting; values are never interpolated
 * into comments. This module also checks the spec rules the scripts rely on (the legacy deployment must not
 * overlap the aiwatch files), because a cleanup that could delete aiwatch's own files must never be rendered.
 * Not covered here: writing the files (src/io), putting them in the pkg or zip (the pkg and release builders).
 */
import path from 'node:path';
import type { DeploymentSpec } from '../config/spec-types.js';
import { UsageError } from '../errors.js';
import { renderTemplate } from '../render/templates.js';

/** Logs the per-user agents write into `spec.logDir` (DESIGN "Logs"); created root:staff 0664 by the scripts. */
export const AGENT_LOG_FILES: readonly string[] = ['ai_watch_detect.log', 'ai_watch_enforce.log', 'auto_provisioning.log'];
/** The install scripts' own log in `spec.logDir`. */
export const INSTALL_LOG = 'install.log';
/** The agent's fallback logs when the log folder is not writable (DESIGN "Logs"); removed by `uninstall --purge`. */
export const FALLBACK_LOG_FILES: readonly string[] = ['/tmp/runlayer-ai_watch_detect.log', '/tmp/runlayer-ai_watch_enforce.log'];
/** How many times postinstall tries `launchctl bootstrap` while launchd answers error 5 (1 s apart). */
export const BOOTSTRAP_ATTEMPTS = 10;

/**
 * Folders that are never the package's own, even when empty: the uninstaller's `rmdir` stops below them.
 * (rmdir only removes empty folders anyway; this keeps e.g. an empty /usr/local/lib in place.)
 */
const SHARED_DIRS = new Set([
  '/', '/Applications', '/Library', '/Library/Application Support', '/Library/LaunchAgents', '/Library/LaunchDaemons',
  '/Users', '/etc', '/opt', '/private', '/tmp', '/usr', '/usr/local', '/usr/local/bin', '/usr/local/etc',
  '/usr/local/lib', '/usr/local/libexec', '/usr/local/sbin', '/usr/local/share', '/var', '/var/log',
]);

export interface InstallScripts {
  preinstall: string;
  postinstall: string;
}

export interface MacosScripts extends InstallScripts {
  /** `cleanup-runlayer-scan.sh` */
  cleanup: string;
  /** `uninstall-aiwatch.sh` */
  uninstall: string;
}

/** File names of the standalone scripts in the release zip. */
export const CLEANUP_SCRIPT_NAME = 'cleanup-runlayer-scan.sh';
export const UNINSTALL_SCRIPT_NAME = 'uninstall-aiwatch.sh';

/** The files the package installs: the binary and every unit's plist (the uninstaller removes exactly these). */
export function payloadFiles(spec: DeploymentSpec): string[] {
  return [spec.installPath, ...spec.units.map((u) => u.plistPath)];
}

/** The package's own folders above the binary, deepest first, up to (not including) a shared system folder. */
export function payloadDirs(spec: DeploymentSpec): string[] {
  const dirs: string[] = [];
  for (let d = path.posix.dirname(spec.installPath); !SHARED_DIRS.has(d); d = path.posix.dirname(d)) dirs.push(d);
  return dirs;
}

/** The values every template reads; all strings reach the scripts through `{{sh}}`. */
function context(spec: DeploymentSpec, payload: string[] = payloadFiles(spec)): Record<string, unknown> {
  const unit = (u: DeploymentSpec['units'][number]) => ({ label: u.label, plistPath: u.plistPath });
  return {
    installPath: spec.installPath,
    logDir: spec.logDir,
    packageIdentifier: spec.packageIdentifier,
    legacy: spec.legacy,
    units: spec.units.map(unit),
    daemons: spec.units.filter((u) => u.kind === 'daemon').map(unit),
    agents: spec.units.filter((u) => u.kind === 'agent').map(unit),
    agentLogFiles: AGENT_LOG_FILES,
    installLog: INSTALL_LOG,
    bootstrapAttempts: BOOTSTRAP_ATTEMPTS,
    payloadFiles: payload,
    payloadDirs: payloadDirs(spec),
    purgeFiles: [...[...AGENT_LOG_FILES, INSTALL_LOG].map((f) => path.posix.join(spec.logDir, f)), ...FALLBACK_LOG_FILES],
  };
}

const inside = (dir: string, p: string): boolean => p === dir || p.startsWith(`${dir}/`);

/** Spec rules the scripts depend on: the legacy cleanup must not be able to reach any aiwatch file. */
export function scriptSpecProblems(spec: DeploymentSpec, subject = 'deployment spec'): string[] {
  const problems: string[] = [];
  const { legacy } = spec;
  if (legacy.label === spec.labelPrefix || legacy.label.startsWith(`${spec.labelPrefix}.`) || spec.units.some((u) => u.label === legacy.label)) {
    problems.push(`${subject}: /legacy/label: must be outside labelPrefix "${spec.labelPrefix}" (the cleanup removes its plists), got ${JSON.stringify(legacy.label)}`);
  }
  if (inside(path.posix.dirname(spec.installPath), legacy.wrapperPath) || payloadFiles(spec).includes(legacy.wrapperPath)) {
    problems.push(`${subject}: /legacy/wrapperPath: must not be an aiwatch file or inside the aiwatch folder, got ${JSON.stringify(legacy.wrapperPath)}`);
  }
  for (const f of legacy.logFiles) {
    if (inside(spec.logDir, f)) {
      problems.push(`${subject}: /legacy/logFiles: must not be inside the aiwatch log folder ${JSON.stringify(spec.logDir)} (it is kept), got ${JSON.stringify(f)}`);
    }
  }
  return problems;
}

function assertScriptSpec(spec: DeploymentSpec): void {
  const problems = scriptSpecProblems(spec);
  if (problems.length > 0) throw new UsageError(problems);
}

/** preinstall and postinstall for the pkg's Scripts archive (mode 0755, named exactly `preinstall`/`postinstall`). */
export function renderInstallScripts(spec: DeploymentSpec): InstallScripts {
  assertScriptSpec(spec);
  const ctx = context(spec);
  return { preinstall: renderTemplate('preinstall.sh.hbs', ctx), postinstall: renderTemplate('postinstall.sh.hbs', ctx) };
}

/** `cleanup-runlayer-scan.sh`: removes the legacy runlayer-scan deployment; same logic as the preinstall's. */
export function renderCleanupScript(spec: DeploymentSpec): string {
  assertScriptSpec(spec);
  return renderTemplate('cleanup-runlayer-scan.sh.hbs', context(spec));
}

function payloadProblems(spec: DeploymentSpec, files: string[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const f of files) {
    const normal = f.startsWith('/') && !/[\0-\x1f\x7f]/.test(f) && path.posix.normalize(f) === f && !f.endsWith('/');
    if (!normal) problems.push(`uninstall payload: ${JSON.stringify(f)} must be a normalised absolute file path without control characters`);
    else if (SHARED_DIRS.has(f) || f.startsWith('/System/')) problems.push(`uninstall payload: ${JSON.stringify(f)} is a system location, not a package file`);
    else if (inside(spec.logDir, f)) problems.push(`uninstall payload: ${JSON.stringify(f)} is inside the log folder (logs are removed only with --purge)`);
    if (seen.has(f)) problems.push(`uninstall payload: ${JSON.stringify(f)} is listed twice`);
    seen.add(f);
  }
  if (files.length === 0) problems.push('uninstall payload: the list of files is empty');
  return problems;
}

/**
 * `uninstall-aiwatch.sh`. `files` is the exact list of payload files to remove (default: the binary and the unit
 * plists from the spec); it is rendered into the script one by one, never as a pattern.
 */
export function renderUninstallScript(spec: DeploymentSpec, files: string[] = payloadFiles(spec)): string {
  const problems = [...scriptSpecProblems(spec), ...payloadProblems(spec, files)];
  if (problems.length > 0) throw new UsageError(problems);
  return renderTemplate('uninstall-aiwatch.sh.hbs', context(spec, files));
}

/** All four scripts. */
export function renderMacosScripts(spec: DeploymentSpec): MacosScripts {
  return { ...renderInstallScripts(spec), cleanup: renderCleanupScript(spec), uninstall: renderUninstallScript(spec) };
}

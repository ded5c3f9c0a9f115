/**
 * Load the deployment spec: the declarative data in `profiles/` and `launchd/` (ours, each checked against its JSON
 * Schema by test/config/spec.test.ts — not again at every start, which cost ajv and ~0.1 s, docs/decisions.md),
 * with `--spec FILE` (always checked) overriding the top-level values (and optionally the units). Every problem is collected and
 * reported at once as a UsageError (exit 2); an unreadable spec file is an InputFileError (exit 3).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { readInputText } from '../io/fs.js';
import { resolveUnit, type LaunchdUnitDef } from './launchd-units.js';
import { LAUNCHD_DIR, PROFILES_DIR } from './paths.js';
import type { DeploymentSpec, LoginItemRule, PppcService, TenantKeyDef } from './spec-types.js';
import { tenantKeyTableProblems } from './tenant-keys.js';
import { schemaProblems } from './validate.js';

type TopLevel = Omit<DeploymentSpec, 'units' | 'pppc' | 'loginItems' | 'tenantKeys'>;

function readData(file: string, problems: string[]): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (e) {
    problems.push(`${file}: not valid JSON (${(e as Error).message})`);
    return undefined;
  }
}

function rel(file: string): string {
  return path.relative(path.resolve(PROFILES_DIR, '..'), file);
}

function stripComment<T>(o: T): T {
  if (o && typeof o === 'object' && !Array.isArray(o)) {
    const { $comment: _c, ...rest } = o as Record<string, unknown>;
    return rest as T;
  }
  return o;
}

/**
 * Load the built-in data, then apply an override object (already parsed) from `--spec`, which is always checked.
 * `checkBundled` also checks the built-in files against their schemas (the tests do; a run trusts its own package).
 */
export function buildSpec(override?: { data: unknown; subject: string }, opts: { checkBundled?: boolean } = {}): DeploymentSpec {
  const problems: string[] = [];
  const bundledProblems = (ref: string, data: unknown, subject: string): string[] => (opts.checkBundled ? schemaProblems(ref, data, subject) : []);
  const deploymentFile = path.join(PROFILES_DIR, 'deployment.json');
  const base = readData(deploymentFile, problems);
  problems.push(...bundledProblems('deployment.schema.json', base, rel(deploymentFile)));
  let top = stripComment(base) as TopLevel & { units?: LaunchdUnitDef[] };
  if (override) {
    problems.push(...schemaProblems('deployment.schema.json', override.data, override.subject));
    top = { ...top, ...(stripComment(override.data) as object) };
  }
  let unitDefs = top.units;
  if (!unitDefs) {
    unitDefs = [];
    for (const f of readdirSync(LAUNCHD_DIR).filter((n) => n.endsWith('.json')).sort()) {
      const file = path.join(LAUNCHD_DIR, f);
      const def = readData(file, problems);
      problems.push(...bundledProblems('launchd-unit.schema.json', def, rel(file)));
      unitDefs.push(stripComment(def) as LaunchdUnitDef);
    }
  }
  const pppcFile = path.join(PROFILES_DIR, 'pppc.json');
  const pppc = readData(pppcFile, problems) as { services: PppcService[] };
  problems.push(...bundledProblems('profiles-data.schema.json#/definitions/pppc', pppc, rel(pppcFile)));
  const liFile = path.join(PROFILES_DIR, 'login-items.json');
  const li = readData(liFile, problems) as { rules: LoginItemRule[] };
  problems.push(...bundledProblems('profiles-data.schema.json#/definitions/loginItems', li, rel(liFile)));
  const keysFile = path.join(PROFILES_DIR, 'tenant-keys.json');
  const keys = readData(keysFile, problems) as { keys: TenantKeyDef[] };
  const keyProblems = bundledProblems('tenant-keys.schema.json', keys, rel(keysFile));
  problems.push(...(keyProblems.length > 0 || keys === undefined ? keyProblems : tenantKeyTableProblems(keys.keys, rel(keysFile))));
  if (problems.length > 0) throw new UsageError(problems);

  const { units: _u, ...values } = top;
  const spec: DeploymentSpec = {
    ...values,
    units: unitDefs.map((d) => resolveUnit(d, top)).sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0)),
    pppc: pppc.services.map((s) => stripComment({ ...s })),
    loginItems: li.rules.map((r) => ({ ...r, ruleValue: r.ruleValue.replace('{labelPrefix}', top.labelPrefix) })),
    tenantKeys: keys.keys,
  };
  problems.push(...specRuleProblems(spec, override?.subject ?? rel(deploymentFile)));
  if (problems.length > 0) throw new UsageError(problems);
  return spec;
}

/** Rules across values that a JSON Schema cannot express. */
export function specRuleProblems(spec: DeploymentSpec, subject: string): string[] {
  const problems: string[] = [];
  const labels = new Set<string>();
  for (const u of spec.units) {
    if (labels.has(u.label)) problems.push(`${subject}: launchd label "${u.label}" is used by two units`);
    labels.add(u.label);
    if (u.label !== spec.labelPrefix && !u.label.startsWith(`${spec.labelPrefix}.`)) {
      problems.push(`${subject}: launchd label "${u.label}" is outside labelPrefix "${spec.labelPrefix}" (the login-items rule would not cover it)`);
    }
  }
  const covered = (label: string): boolean =>
    spec.loginItems.some((r) => (r.ruleType === 'LabelPrefix' ? label.startsWith(r.ruleValue) : r.ruleType === 'Label' && r.ruleValue === label));
  for (const u of spec.units) {
    if (!covered(u.label)) problems.push(`${subject}: launchd label "${u.label}" is not covered by any login-items rule`);
  }
  const segments = spec.installPath.split('/');
  if (segments.some((s) => s === '..' || s === '.' || (s === '' && segments.indexOf(s) > 0))) {
    problems.push(`${subject}: /installPath: must be a normalised absolute path, got ${JSON.stringify(spec.installPath)}`);
  }
  if (spec.installPath.startsWith('/Library/Launch') || spec.installPath.startsWith('/System/')) {
    problems.push(`${subject}: /installPath: must not be under /System or a launchd folder, got ${JSON.stringify(spec.installPath)}`);
  }
  return problems;
}

let defaultSpec: DeploymentSpec | undefined;

/** The built-in aiwatch spec (cached). */
export function loadDefaultSpec(): DeploymentSpec {
  defaultSpec ??= buildSpec();
  return defaultSpec;
}

/** `--spec FILE`: a JSON file overriding top-level values; undefined → the built-in spec. */
export async function loadSpec(specFile?: string): Promise<DeploymentSpec> {
  if (!specFile) return loadDefaultSpec();
  const text = await readInputText(specFile, '--spec');
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new UsageError(`${specFile}: --spec must be a JSON object, but it does not parse (${(e as Error).message})`);
  }
  return buildSpec({ data, subject: specFile });
}

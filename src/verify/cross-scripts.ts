/**
 * The uninstall and cleanup scripts of a release, checked against what the package installs (cross.ts rules):
 * read as the POSIX sh our templates render — `remove_file "$VOL"'<path>'`, `remove_dir_if_empty "$VOL"'<dir>'`,
 * `unload "system/"'<label>'` / `unload "gui/$uid/"'<label>'`, `PACKAGE_ID='<id>'`, the `--purge` block — with
 * the shell's single-quote rules (`'\''` for a quote). Does not cover: running them (test/scripts/ does, under dash).
 */
import type { Problem } from '../errors.js';
import type { InstalledFacts, ReleaseArtifacts } from './cross-types.js';

interface UninstallPlan {
  files: string[];
  purgeFiles: string[];
  dirs: string[];
  unloads: Array<{ domain: 'system' | 'gui'; label: string }>;
  packageId?: string;
}

/** Concatenated shell words made of '…' and \x pieces (what our `{{sh}}` helper emits); undefined otherwise. */
export function shUnquote(s: string): string | undefined {
  let out = '';
  let i = 0;
  while (i < s.length) {
    if (s[i] === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) return undefined;
      out += s.slice(i + 1, end);
      i = end + 1;
    } else if (s[i] === '\\' && i + 1 < s.length) {
      out += s[i + 1];
      i += 2;
    } else return undefined;
  }
  return out;
}

function parseUninstall(text: string): UninstallPlan {
  const plan: UninstallPlan = { files: [], purgeFiles: [], dirs: [], unloads: [] };
  let depth = 0;
  let purgeDepth = -1;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (/^if\b/.test(line)) {
      depth += 1;
      if (/^if \[ "\$PURGE" = yes \]; then$/.test(line)) purgeDepth = depth;
    } else if (line === 'fi') {
      if (depth === purgeDepth) purgeDepth = -1;
      depth -= 1;
    } else if (line === 'else' && depth === purgeDepth) purgeDepth = -1;
    let m: RegExpExecArray | null;
    if ((m = /^remove_file "\$VOL"(.+)$/.exec(line))) {
      const p = shUnquote(m[1]!);
      if (p !== undefined) (purgeDepth > 0 ? plan.purgeFiles : plan.files).push(p);
    } else if ((m = /^remove_dir_if_empty "\$VOL"(.+)$/.exec(line))) {
      const p = shUnquote(m[1]!);
      if (p !== undefined) plan.dirs.push(p);
    } else if ((m = /^unload "(system\/|gui\/\$uid\/)"(.+)$/.exec(line))) {
      const label = shUnquote(m[2]!);
      if (label !== undefined) plan.unloads.push({ domain: m[1] === 'system/' ? 'system' : 'gui', label });
    } else if ((m = /^PACKAGE_ID=(.+)$/.exec(line))) {
      const id = shUnquote(m[1]!);
      if (id !== undefined) plan.packageId = id;
    }
  }
  return plan;
}

function uninstallProblems(where: string, text: string, f: InstalledFacts): Problem[] {
  const plan = parseUninstall(text);
  const fail = (message: string): Problem => ({ where, message });
  if (plan.files.length === 0 && plan.unloads.length === 0) return [fail('not recognised as the uninstall script aiwatch-deploy renders (no remove_file/unload lines): its effect cannot be checked')];
  const out: Problem[] = [];
  const removes = new Set(plan.files);
  for (const p of f.files) if (!removes.has(p)) out.push(fail(`does not remove ${p}, which the package installs`));
  for (const p of plan.files) if (!f.files.includes(p)) out.push(fail(`removes ${p}, which the package does not install`));
  for (const d of plan.dirs) if (!f.dirs.includes(d)) out.push(fail(`removes the folder ${d} (when empty), which the package does not install`));
  for (const l of f.labels) {
    const domain = l.daemon ? 'system' : 'gui';
    if (!plan.unloads.some((u) => u.label === l.label && u.domain === domain)) out.push(fail(`does not boot out the ${l.daemon ? 'daemon' : 'agent'} ${l.label} from the ${domain} domain`));
  }
  for (const u of plan.unloads) if (!f.labels.some((l) => l.label === u.label)) out.push(fail(`boots out ${u.label}, which the package does not install`));
  if (plan.packageId !== undefined && f.packageIdentifier !== undefined && plan.packageId !== f.packageIdentifier) {
    out.push(fail(`forgets the receipt "${plan.packageId}", but the package identifier is "${f.packageIdentifier}"`));
  }
  return out;
}

function cleanupProblems(where: string, text: string, f: InstalledFacts): Problem[] {
  const literals = new Set([...text.matchAll(/'([^'\n]*)'/g)].map((m) => m[1]!));
  const out: Problem[] = [];
  for (const p of f.files) if (literals.has(p)) out.push({ where, message: `names ${p}, which the aiwatch package installs: the legacy cleanup must never touch it` });
  for (const l of f.labels) if (literals.has(l.label)) out.push({ where, message: `names the launchd label ${l.label}, which the aiwatch package installs: the legacy cleanup must never touch it` });
  return out;
}

/** Problems of the uninstall and cleanup scripts against the package. */
export function checkScripts(a: ReleaseArtifacts, f: InstalledFacts): Problem[] {
  const out: Problem[] = [];
  if (a.uninstall) out.push(...uninstallProblems(`${a.zip}:${a.uninstall.name}`, a.uninstall.text, f));
  if (a.cleanup) out.push(...cleanupProblems(`${a.zip}:${a.cleanup.name}`, a.cleanup.text, f));
  return out;
}

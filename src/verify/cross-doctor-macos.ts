/**
 * The macOS doctor and its inventory scripts in a release (`aiwatch-doctor.sh`, `aiwatch-jamf-ea.sh`,
 * `aiwatch-intune-attribute.sh`), checked against what the package installs and what the profiles say (cross.ts
 * rules): a doctor that looks for another binary, receipt, signing identity, launchd job or profile than the
 * release ships would report healthy Macs as broken (or broken ones as healthy). Read as the POSIX sh our template
 * renders (templates/aiwatch-doctor.sh.hbs): the assignments `INSTALL_PATH='…'`, `IDENTIFIER='…'`, `TEAM_ID='…'`,
 * `PACKAGE_ID='…'`, `PPPC_PROFILE='…'`, `LOGIN_ITEMS_PROFILE='…'` and the `check_unit '<kind>' '<label>' '<plist>'`
 * lines, with the shell's single-quote rules. Does not cover: running them (test/doctor/ does, under dash).
 */
import type { Problem } from '../errors.js';
import type { PNode } from '../formats/plist-read.js';
import { shUnquote } from './cross-scripts.js';
import type { InstalledFacts, ReleaseArtifacts } from './cross-types.js';

interface DoctorFacts {
  vars: Map<string, string>;
  units: Array<{ kind: string; label: string; plistPath: string }>;
}

/** Split a line of shell words made of '…' and \x pieces (what `{{sh}}` emits) at unquoted spaces. */
function shWords(s: string): string[] | undefined {
  const words: string[] = [];
  let cur = '';
  let inQuote = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (inQuote) {
      if (c === "'") inQuote = false;
      cur += c;
    } else if (c === "'") {
      inQuote = true;
      cur += c;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += c + s[++i]!;
    } else if (c === ' ') {
      if (cur) words.push(cur);
      cur = '';
    } else cur += c;
  }
  if (inQuote) return undefined;
  if (cur) words.push(cur);
  const out = words.map(shUnquote);
  return out.every((w): w is string => w !== undefined) ? out : undefined;
}

const VARS = ['INSTALL_PATH', 'IDENTIFIER', 'TEAM_ID', 'PACKAGE_ID', 'PPPC_PROFILE', 'LOGIN_ITEMS_PROFILE'] as const;

function parseDoctor(text: string): DoctorFacts {
  const facts: DoctorFacts = { vars: new Map(), units: [] };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const assign = /^([A-Z_]+)=('.*)$/.exec(line);
    if (assign && (VARS as readonly string[]).includes(assign[1]!) && !facts.vars.has(assign[1]!)) {
      const v = shUnquote(assign[2]!);
      if (v !== undefined) facts.vars.set(assign[1]!, v);
      continue;
    }
    const unit = /^check_unit (.+)$/.exec(line);
    const words = unit ? shWords(unit[1]!) : undefined;
    if (words?.length === 3) facts.units.push({ kind: words[0]!, label: words[1]!, plistPath: words[2]! });
  }
  return facts;
}

const payloadIdentifier = (root: PNode | undefined): string | undefined => {
  const n = root?.type === 'dict' ? root.entries.get('PayloadIdentifier') : undefined;
  return n?.type === 'string' ? n.value : undefined;
};

function doctorProblems(where: string, text: string, a: ReleaseArtifacts, f: InstalledFacts): Problem[] {
  const d = parseDoctor(text);
  const fail = (message: string): Problem => ({ where, message });
  const missing = VARS.filter((v) => !d.vars.has(v));
  if (missing.length > 0 || d.units.length === 0) {
    return [fail(`not recognised as the doctor script aiwatch-deploy renders (no ${[...missing, ...(d.units.length === 0 ? ['check_unit lines'] : [])].join(', ')}): what it checks cannot be compared with the package`)];
  }
  const out: Problem[] = [];
  const v = (k: (typeof VARS)[number]): string => d.vars.get(k)!;
  if (!f.files.includes(v('INSTALL_PATH'))) out.push(fail(`checks the binary ${v('INSTALL_PATH')}, which the package does not install (${[...f.programs.keys()].join(', ') || 'no program'})`));
  if (f.packageIdentifier !== undefined && v('PACKAGE_ID') !== f.packageIdentifier) out.push(fail(`reads the receipt "${v('PACKAGE_ID')}", but the package identifier is "${f.packageIdentifier}"`));
  // Against the manifest only: a payload binary signed otherwise is already the PPPC and identifier rules' problem.
  const ids = a.manifest?.identifiers;
  for (const [what, mine, theirs] of [
    ['signing identifier', v('IDENTIFIER'), ids?.signingIdentifier],
    ['team', v('TEAM_ID'), ids?.teamId],
  ] as const) {
    if (theirs !== undefined && theirs !== mine) out.push(fail(`expects the ${what} ${mine}, the manifest says ${theirs}`));
  }
  for (const [name, key, profile] of [['PPPC', 'PPPC_PROFILE', a.pppc], ['login items', 'LOGIN_ITEMS_PROFILE', a.loginItems]] as const) {
    const id = payloadIdentifier(profile?.root);
    if (profile && id !== undefined && id !== v(key)) out.push(fail(`looks for the ${name} profile ${v(key)}, but ${profile.name} is ${id}`));
  }
  for (const l of f.labels) {
    const u = d.units.find((x) => x.label === l.label);
    const kind = l.daemon ? 'daemon' : 'agent';
    if (!u) out.push(fail(`does not check the launchd ${kind} ${l.label}, which the package installs`));
    else if (u.kind !== kind || u.plistPath !== l.plistPath) out.push(fail(`checks ${l.label} as ${u.kind} ${u.plistPath}; the package installs it as ${kind} ${l.plistPath}`));
  }
  for (const u of d.units) if (!f.labels.some((l) => l.label === u.label)) out.push(fail(`checks the launchd job ${u.label}, which the package does not install`));
  return out;
}

/**
 * Problems of every doctor script of the release against the package and the profiles. The inventory scripts are
 * the doctor with other defaults: a problem they share with the doctor is reported once, at the doctor.
 */
export function checkDoctorScripts(a: ReleaseArtifacts, f: InstalledFacts): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  for (const s of a.doctor ?? []) {
    for (const p of doctorProblems(`${a.zip}:${s.name}`, s.text, a, f)) {
      if (seen.has(p.message)) continue;
      seen.add(p.message);
      out.push(p);
    }
  }
  return out;
}

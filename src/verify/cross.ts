/**
 * Cross-artifact rules of a release zip: what the manifest, the package (PackageInfo, Distribution, payload binary,
 * payload launchd plists), the PPPC and login-items profiles and the uninstall/cleanup scripts say about the same
 * things must agree.
 *
 *  - PPPC: every path-type `Identifier` is a program the package installs; its `CodeRequirement` pins that
 *    program's signing identifier and team (else macOS does not grant Full Disk Access);
 *  - login items: every payload launchd Label is covered by a `Label`/`LabelPrefix` rule;
 *  - identifiers: manifest ↔ PackageInfo ↔ Distribution ↔ payload binary ↔ profiles (package id, version,
 *    signing identifier, team, install path, label prefix, architectures, signed/stapled state);
 *  - uninstall script: removes exactly the payload's files (outside its --purge block), only the package's own
 *    folders, boots out exactly the payload's launchd jobs in their domains, forgets the PackageInfo receipt;
 *  - cleanup script: never names a payload file or label;
 *  - doctor and inventory scripts: check the binary, receipt, signing identity, launchd jobs and profiles the
 *    release ships (cross-doctor-macos.ts);
 *  - the agent binary's signer: an Apple Developer ID unless the manifest says development build (cross-trust.ts).
 * The scripts are read as the text our templates render (src/release/macos-scripts.ts); a hand-written script with
 * another shape is reported as not recognised rather than guessed at.
 */
import type { PNode } from '../formats/plist-read.js';
import type { PkgContents } from '../read/pkg-read.js';
import { checkDoctorScripts } from './cross-doctor-macos.js';
import { checkScripts } from './cross-scripts.js';
import { releaseTrustRules } from './cross-trust.js';
import type { CrossResult, InstalledFacts, ReleaseArtifacts } from './cross-types.js';

export type { CrossResult, InstalledFacts, ReleaseArtifacts } from './cross-types.js';

type Dict = PNode & { type: 'dict' };
const get = (n: PNode | undefined, k: string): PNode | undefined => (n?.type === 'dict' ? n.entries.get(k) : undefined);
const str = (n: PNode | undefined): string | undefined => (n?.type === 'string' ? n.value : undefined);
const abs = (payloadPath: string): string => payloadPath.replace(/^\./, '') || '/';

function payloadsOfType(root: PNode, type: string): Array<[string, Dict]> {
  const pc = get(root, 'PayloadContent');
  if (pc?.type !== 'array') return [];
  return pc.items.flatMap((p, i): Array<[string, Dict]> => (p.type === 'dict' && str(get(p, 'PayloadType')) === type ? [[`PayloadContent[${i}]`, p]] : []));
}

/** Gather what the package installs from its (single or first) component. */
export function installedFacts(zip: string, pkg: { name: string; contents: PkgContents }): InstalledFacts {
  const c = pkg.contents.components[0];
  const facts: InstalledFacts = { files: [], dirs: [], programs: new Map(), labels: [] };
  if (!c) return facts;
  for (const e of c.payload?.entries ?? []) {
    if (e.path === '.') continue;
    (e.kind === 'dir' ? facts.dirs : facts.files).push(abs(e.path));
  }
  for (const p of c.programs) facts.programs.set(abs(p.path), p);
  for (const l of c.launchdPlists) {
    const label = /<key>\s*Label\s*<\/key>\s*<string>([^<]*)<\/string>/.exec(l.text)?.[1];
    if (label !== undefined) facts.labels.push({ label, plistPath: abs(l.path), daemon: l.path.includes('/LaunchDaemons/'), where: `${zip}:${pkg.name}:${c.prefix}Payload:${l.path}` });
  }
  const info = c.packageInfo?.info;
  if (info?.identifier !== undefined) facts.packageIdentifier = info.identifier;
  if (info?.version !== undefined) facts.version = info.version;
  return facts;
}

/** The identifier and team a designated requirement pins (`identifier "…"`, `certificate leaf[subject.OU] = …`). */
export function requirementPins(req: string): { identifier?: string; team?: string } {
  const unq = (m: RegExpExecArray | null): string | undefined => (m ? (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]) : undefined);
  const out: { identifier?: string; team?: string } = {};
  const id = unq(/\bidentifier\s+(?:"((?:[^"\\]|\\.)*)"|([A-Za-z0-9._-]+))/.exec(req));
  const team = unq(/certificate\s+leaf\s*\[\s*subject\.OU\s*\]\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([A-Za-z0-9]+))/.exec(req));
  if (id !== undefined) out.identifier = id;
  if (team !== undefined) out.team = team;
  return out;
}

function pppcRules(a: ReleaseArtifacts, f: InstalledFacts, r: CrossResult): void {
  if (!a.pppc) return;
  const base = `${a.zip}:${a.pppc.name}`;
  for (const [pw, p] of payloadsOfType(a.pppc.root, 'com.apple.TCC.configuration-profile-policy')) {
    const services = get(p, 'Services');
    for (const [svc, list] of services?.type === 'dict' ? services.entries : []) {
      (list.type === 'array' ? list.items : []).forEach((item, i) => {
        const at = `${base}:${pw}.Services.${svc}[${i}]`;
        if (str(get(item, 'IdentifierType')) !== 'path') return;
        const path = str(get(item, 'Identifier')) ?? '';
        const prog = f.programs.get(path);
        if (!prog) {
          const known = [...f.programs.keys()].join(', ') || 'none';
          r.problems.push({ where: `${at}.Identifier`, message: `"${path}" is not a program the package installs (payload programs: ${known}): the grant applies to nothing aiwatch runs` });
          return;
        }
        const pins = requirementPins(str(get(item, 'CodeRequirement')) ?? '');
        const ids = a.manifest?.identifiers;
        if (ids && pins.identifier !== ids.signingIdentifier) r.problems.push({ where: `${at}.CodeRequirement`, message: `pins identifier "${pins.identifier ?? '(none)'}", the manifest's signing identifier is "${ids.signingIdentifier}"` });
        if (ids && pins.team !== ids.teamId) r.problems.push({ where: `${at}.CodeRequirement`, message: `pins team ${pins.team ?? '(none)'}, the manifest's team is ${ids.teamId}` });
        const id = prog.identity;
        if (!id || id.signature !== 'signed') {
          r.notes.push(`${at}: the payload binary ${path} is ${id ? id.signature : 'unreadable'}, so the CodeRequirement cannot match it (development build)`);
          return;
        }
        if (pins.identifier !== id.identifier) r.problems.push({ where: `${at}.CodeRequirement`, message: `pins identifier "${pins.identifier ?? '(none)'}", but the payload binary ${path} is signed as "${id.identifier}": macOS will not grant it ${svc}` });
        if (pins.team !== id.teamId) r.problems.push({ where: `${at}.CodeRequirement`, message: `pins team ${pins.team ?? '(none)'}, but the payload binary ${path} is signed by team ${id.teamId ?? '(none)'}: macOS will not grant it ${svc}` });
      });
    }
  }
}

function loginItemRules(a: ReleaseArtifacts, f: InstalledFacts, r: CrossResult): void {
  if (!a.loginItems) return;
  const rules = payloadsOfType(a.loginItems.root, 'com.apple.servicemanagement').flatMap(([, p]) => {
    const list = get(p, 'Rules');
    return (list?.type === 'array' ? list.items : []).map((x) => ({ type: str(get(x, 'RuleType')), value: str(get(x, 'RuleValue')) ?? '' }));
  });
  const shown = rules.map((x) => `${x.type} ${x.value}`).join(', ') || 'none';
  for (const l of f.labels) {
    const covered = rules.some((x) => (x.type === 'LabelPrefix' && l.label.startsWith(x.value)) || (x.type === 'Label' && l.label === x.value));
    if (!covered) r.problems.push({ where: l.where, message: `launchd label "${l.label}" is not covered by ${a.loginItems.name} (rules: ${shown}): macOS 13+ announces it as a background item the user can turn off` });
  }
}

function same(r: CrossResult, where: string, what: string, pairs: Array<[string, string | undefined]>): void {
  const known = pairs.filter((p): p is [string, string] => p[1] !== undefined);
  const values = new Set(known.map(([, v]) => v));
  if (values.size > 1) r.problems.push({ where, message: `${what} differs: ${known.map(([k, v]) => `${k} "${v}"`).join(', ')}` });
}

function identifierRules(a: ReleaseArtifacts, f: InstalledFacts, r: CrossResult): void {
  const m = a.manifest;
  const where = `${a.zip}:manifest.json`;
  const dist = a.pkg?.contents.distribution?.info;
  const ref = dist?.pkgRefs[0];
  const progs = [...f.programs.entries()];
  const bin = progs.length === 1 ? progs[0] : undefined;
  same(r, where, 'package identifier', [['manifest', m?.identifiers?.packageIdentifier], ['PackageInfo', f.packageIdentifier], ['Distribution pkg-ref', ref?.id], ['Distribution product', dist?.product?.id]]);
  same(r, where, 'version', [['manifest', m?.version], ['PackageInfo', f.version], ['Distribution pkg-ref', ref?.version], ['Distribution product', dist?.product?.version]]);
  if (!m) return;
  const id = bin?.[1].identity;
  same(r, where, 'install path', [['manifest', m.installPath], ['payload binary', bin?.[0]]]);
  if (id?.signature === 'signed') {
    same(r, where, 'signing identifier', [['manifest identifiers', m.identifiers?.signingIdentifier], ['manifest binary', m.binary?.identifier], ['payload binary', id.identifier]]);
    same(r, where, 'team', [['manifest identifiers', m.identifiers?.teamId], ['manifest binary', m.binary?.teamId], ['payload binary', id.teamId]]);
  }
  if (id) {
    same(r, where, 'binary architectures', [['manifest', m.binary?.arches?.join(',')], ['payload binary', id.arches.join(',')]]);
    same(r, where, 'binary signature', [['manifest', m.binary?.signature], ['payload binary', id.signature]]);
  }
  const host = dist?.hostArchitectures.join(',');
  const expected = m.arch === 'universal' ? 'arm64,x86_64' : m.arch;
  if (host !== undefined && host !== expected) r.problems.push({ where, message: `arch "${m.arch}" means hostArchitectures "${expected}", the Distribution says "${host}"` });
  const prefix = m.identifiers?.labelPrefix;
  for (const l of f.labels) if (prefix !== undefined && !l.label.startsWith(prefix)) r.problems.push({ where: l.where, message: `launchd label "${l.label}" does not start with the manifest's labelPrefix "${prefix}"` });
  const sig = a.pkg?.signature;
  if (sig && m.pkg && m.pkg.signed !== sig.signed) r.problems.push({ where, message: `pkg.signed is ${m.pkg.signed}, but the package is ${sig.signed ? 'signed' : 'not signed'}` });
  const stapled = (a.pkg?.contents.archive.staples.length ?? 0) > 0;
  if (a.pkg && m.pkg && m.pkg.stapled !== stapled) r.problems.push({ where, message: `pkg.stapled is ${m.pkg.stapled}, but the package ${stapled ? 'has' : 'has no'} stapled ticket` });
  const root = m.identifiers?.signingIdentifier;
  for (const prof of [a.pppc, a.loginItems]) {
    const pid = prof ? str(get(prof.root, 'PayloadIdentifier')) : undefined;
    if (prof && root !== undefined && pid !== undefined && !pid.startsWith(`${root}.`)) {
      r.problems.push({ where: `${a.zip}:${prof.name}:PayloadIdentifier`, message: `"${pid}" is not under the manifest's signing identifier "${root}" (profiles are named <identifier>.<profile>, so a staging release does not replace production's)` });
    }
  }
}

/** Every cross-artifact problem of a release. */
export function crossProblems(a: ReleaseArtifacts): CrossResult {
  const r: CrossResult = { problems: [], notes: [] };
  const facts = a.pkg ? installedFacts(a.zip, a.pkg) : undefined;
  if (!facts) return r;
  pppcRules(a, facts, r);
  loginItemRules(a, facts, r);
  identifierRules(a, facts, r);
  r.problems.push(...checkScripts(a, facts));
  r.problems.push(...checkDoctorScripts(a, facts));
  releaseTrustRules(a, r);
  return r;
}


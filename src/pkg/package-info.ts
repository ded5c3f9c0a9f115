/**
 * PackageInfo: the XML at the root of a component package that tells Installer the receipt identifier, version,
 * install location, payload statistics and which scripts to run (reference §5.1).
 *
 * Covers: rendering the document pkgbuild writes for a bundle-less payload (attribute order and 4-space layout as
 * pkgbuild; empty `<bundle-version/>` … `<relocate/>`; `<scripts>` only when there are scripts, each script element
 * with modern pkgbuild's `timeout="600"` — seconds Installer lets the script run — unless the spec says otherwise),
 * and parsing any PackageInfo back into its fields with every problem found (for verify/inspect).
 * Does not cover: app-bundle entries (`<bundle path id CFBundleVersion>`; our payload is a bare binary), bundle
 * relocation, version normalisation (pkgbuild pads dotted versions; we write the version as given).
 * Rendered through xmlbuilder2; parsed with the strict reader of xml-tree.ts.
 */
import { lazyRequire } from '../formats/lazy.js';
import { UsageError, type Problem } from '../errors.js';
import { child, elements, parseDocument, type XmlElement } from '../formats/xml-tree.js';

const xmlbuilder2 = lazyRequire<typeof import('xmlbuilder2')>('xmlbuilder2');

export type PostinstallAction = 'none' | 'logout' | 'restart' | 'shutdown';
const POSTINSTALL_ACTIONS: readonly string[] = ['none', 'logout', 'restart', 'shutdown'];
const SCRIPT_NAMES = ['preinstall', 'postinstall'] as const;
/**
 * The `timeout` modern pkgbuild writes on `<preinstall>`/`<postinstall>` (seconds; pkgbuild-made PackageInfo files
 * and electron/osx-sign's parity-tested writer show `<postinstall file="./postinstall" timeout="600"/>`).
 */
export const PKGBUILD_SCRIPT_TIMEOUT = 600;
/** The largest script timeout we write or accept without a problem: a day. */
export const MAX_SCRIPT_TIMEOUT = 86_400;

export interface PackageInfoOptions {
  /** Receipt identifier (reverse DNS), e.g. `com.runlayer.aiwatch`. */
  identifier: string;
  /** Package version, written as given (e.g. `1.4.0`). */
  version: string;
  /** Free text naming the generator, e.g. `aiwatch-deploy 0.1.0`. */
  generatorVersion: string;
  /** Where the payload root lands. Default `/`. */
  installLocation?: string;
  /** `root` (default; Installer asks for an admin) or `none`. */
  auth?: 'root' | 'none';
  /** What Installer asks for after installing. Default `none`. */
  postinstallAction?: PostinstallAction;
  /** `<payload numberOfFiles installKBytes/>`; omit for a payload-free package. */
  payload?: { numberOfFiles: number; installKBytes: number };
  /** Scripts present in the Scripts archive (as `./preinstall`, `./postinstall`). */
  scripts?: { preinstall?: boolean; postinstall?: boolean };
  /** Seconds Installer lets each script run (`timeout` of the script elements). Default 600, as pkgbuild writes. */
  scriptsTimeout?: number;
}

/** A parsed PackageInfo (attributes as written; numbers parsed where they must be numbers). */
export interface PackageInfo {
  formatVersion?: string;
  identifier?: string;
  version?: string;
  installLocation?: string;
  auth?: string;
  generatorVersion?: string;
  postinstallAction?: string;
  relocatable?: string;
  overwritePermissions?: string;
  payload?: { numberOfFiles: number; installKBytes: number };
  /** Script name → its `file` attribute (e.g. `preinstall` → `./preinstall`). */
  scripts: Partial<Record<(typeof SCRIPT_NAMES)[number], string>>;
  /** Script name → its `timeout` attribute in seconds, where one is written. */
  scriptTimeouts: Partial<Record<(typeof SCRIPT_NAMES)[number], number>>;
  /** `id`s of `<bundle>` elements anywhere in the document (app bundles it knows about). */
  bundleIds: string[];
}

const IDENTIFIER_RE = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
const VERSION_RE = /^[0-9A-Za-z][0-9A-Za-z.+-]*$/;

const isCount = (n: unknown): boolean => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

function optionProblems(o: PackageInfoOptions): string[] {
  const out: string[] = [];
  if (!IDENTIFIER_RE.test(o.identifier)) out.push(`PackageInfo identifier: expected reverse-DNS like "com.runlayer.aiwatch", got "${o.identifier}"`);
  if (!VERSION_RE.test(o.version)) out.push(`PackageInfo version: expected letters, digits, ".", "+", "-" (e.g. "1.4.0"), got "${o.version}"`);
  if (o.generatorVersion.trim() === '') out.push('PackageInfo generator-version: must not be empty');
  const loc = o.installLocation ?? '/';
  if (!loc.startsWith('/') || loc.includes('\0')) out.push(`PackageInfo install-location: expected an absolute path, got "${loc}"`);
  if (o.payload && (!isCount(o.payload.numberOfFiles) || !isCount(o.payload.installKBytes))) {
    out.push(`PackageInfo payload: numberOfFiles and installKBytes must be non-negative integers, got ${o.payload.numberOfFiles} and ${o.payload.installKBytes}`);
  }
  const t = o.scriptsTimeout;
  if (t !== undefined && (!Number.isSafeInteger(t) || t < 1 || t > MAX_SCRIPT_TIMEOUT)) {
    out.push(`PackageInfo scripts timeout: expected whole seconds from 1 to ${MAX_SCRIPT_TIMEOUT} (pkgbuild writes ${PKGBUILD_SCRIPT_TIMEOUT}), got ${t}`);
  }
  if (o.postinstallAction !== undefined && !POSTINSTALL_ACTIONS.includes(o.postinstallAction)) {
    out.push(`PackageInfo postinstall-action: expected one of ${POSTINSTALL_ACTIONS.join(', ')}, got "${o.postinstallAction}"`);
  }
  return out;
}

/** Render PackageInfo the way pkgbuild writes it. Throws UsageError listing every bad option. */
export function renderPackageInfo(o: PackageInfoOptions): string {
  const problems = optionProblems(o);
  if (problems.length > 0) throw new UsageError(problems);
  const doc = xmlbuilder2().create({ version: '1.0', encoding: 'utf-8' });
  const root = doc.ele('pkg-info', {
    'overwrite-permissions': 'true',
    relocatable: 'false',
    identifier: o.identifier,
    'postinstall-action': o.postinstallAction ?? 'none',
    version: o.version,
    'format-version': '2',
    'generator-version': o.generatorVersion,
    'install-location': o.installLocation ?? '/',
    auth: o.auth ?? 'root',
  });
  if (o.payload) root.ele('payload', { numberOfFiles: String(o.payload.numberOfFiles), installKBytes: String(o.payload.installKBytes) });
  for (const name of ['bundle-version', 'upgrade-bundle', 'update-bundle', 'atomic-update-bundle', 'strict-identifier', 'relocate']) root.ele(name);
  const scripts = SCRIPT_NAMES.filter((s) => o.scripts?.[s]);
  if (scripts.length > 0) {
    const el = root.ele('scripts');
    for (const s of scripts) el.ele(s, { file: `./${s}`, timeout: String(o.scriptsTimeout ?? PKGBUILD_SCRIPT_TIMEOUT) });
  }
  return doc.end({ prettyPrint: true, indent: '    ' });
}

function parseCount(raw: string | undefined, what: string, problems: string[]): number | undefined {
  if (raw !== undefined && /^[0-9]+$/.test(raw) && Number.isSafeInteger(Number(raw))) return Number(raw);
  problems.push(`${what} is ${raw === undefined ? 'missing' : `"${raw}"`}, expected a non-negative integer`);
  return undefined;
}

function collectBundleIds(el: XmlElement, out: string[]): void {
  for (const c of elements(el)) {
    if (c.name === 'bundle' && c.attrs.id !== undefined) out.push(c.attrs.id);
    collectBundleIds(c, out);
  }
}

function readAttributes(root: XmlElement, info: PackageInfo, problems: string[]): void {
  const a = root.attrs;
  type TextField = Exclude<keyof PackageInfo, 'payload' | 'scripts' | 'bundleIds'>;
  const map: Array<[TextField, string]> = [
    ['formatVersion', 'format-version'], ['identifier', 'identifier'], ['version', 'version'], ['installLocation', 'install-location'],
    ['auth', 'auth'], ['generatorVersion', 'generator-version'], ['postinstallAction', 'postinstall-action'],
    ['relocatable', 'relocatable'], ['overwritePermissions', 'overwrite-permissions'],
  ];
  for (const [key, attr] of map) if (a[attr] !== undefined) info[key] = a[attr];
  if (a['format-version'] !== '2') problems.push(`format-version is ${a['format-version'] === undefined ? 'missing' : `"${a['format-version']}"`}, expected "2"`);
  if (a.identifier === undefined || a.identifier === '') problems.push('identifier is missing');
  else if (!IDENTIFIER_RE.test(a.identifier)) problems.push(`identifier "${a.identifier}" is not reverse-DNS`);
  if (a.version === undefined || a.version === '') problems.push('version is missing');
  if (a['install-location'] !== undefined && !a['install-location'].startsWith('/')) problems.push(`install-location "${a['install-location']}" is not an absolute path`);
  if (a.auth !== undefined && !['root', 'none'].includes(a.auth.toLowerCase())) problems.push(`auth is "${a.auth}", expected "root" or "none"`);
  if (a['postinstall-action'] !== undefined && !POSTINSTALL_ACTIONS.includes(a['postinstall-action'])) problems.push(`postinstall-action "${a['postinstall-action']}" is not one of ${POSTINSTALL_ACTIONS.join(', ')}`);
}

function readScripts(root: XmlElement, info: PackageInfo, problems: string[]): void {
  const scripts = child(root, 'scripts');
  if (!scripts) return;
  for (const s of elements(scripts)) {
    if (!(SCRIPT_NAMES as readonly string[]).includes(s.name)) continue;
    const file = s.attrs.file;
    const name = s.name as (typeof SCRIPT_NAMES)[number];
    if (file === undefined || file === '') problems.push(`<scripts><${s.name}> has no file attribute`);
    else info.scripts[name] = file;
    const timeout = s.attrs.timeout;
    if (timeout === undefined) continue;
    if (/^[0-9]{1,9}$/.test(timeout) && Number(timeout) >= 1) info.scriptTimeouts[name] = Number(timeout);
    else problems.push(`<scripts><${s.name}> timeout is "${timeout}", expected whole seconds (pkgbuild writes "${PKGBUILD_SCRIPT_TIMEOUT}")`);
  }
}

/**
 * Parse a PackageInfo document. `where` names it in problems (e.g. `out/x.pkg:aiwatch.pkg/PackageInfo`).
 * Never throws for bad content: a document that is not well-formed gives one problem and no info.
 */
export function parsePackageInfo(xml: string, where: string): { info?: PackageInfo; problems: Problem[] } {
  const doc = parseDocument(xml, 'pkg-info');
  if ('problem' in doc) return { problems: [{ where, message: doc.problem }] };
  const root = doc.root;
  const problems: string[] = [];
  const info: PackageInfo = { scripts: {}, scriptTimeouts: {}, bundleIds: [] };
  readAttributes(root, info, problems);
  const payload = child(root, 'payload');
  if (payload) {
    const numberOfFiles = parseCount(payload.attrs.numberOfFiles, '<payload> numberOfFiles', problems);
    const installKBytes = parseCount(payload.attrs.installKBytes, '<payload> installKBytes', problems);
    if (numberOfFiles !== undefined && installKBytes !== undefined) info.payload = { numberOfFiles, installKBytes };
  }
  readScripts(root, info, problems);
  collectBundleIds(root, info.bundleIds);
  return { info, problems: problems.map((message) => ({ where, message })) };
}

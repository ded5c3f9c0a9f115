/**
 * Distribution: the Installer script at the root of a product archive — title, options (architectures!), the
 * minimum macOS, the choices and the `pkg-ref`s naming each embedded component (reference §5.2, §7.2–7.3).
 *
 * Covers: rendering the document productbuild embeds in a product archive (`<pkg-ref><bundle-version/>` stubs,
 * `installKBytes`/`updateKBytes`, `#<component>.pkg` URL fragments percent-encoded as productbuild does, one hidden
 * choice per component), and parsing any Distribution back with the problems Installer would hit: a pkg-ref without
 * `#`, `hostArchitectures` without arm64 (Rosetta prompt), dangling choices.
 * Does not cover: JavaScript (`<script>`, `installation-check`), welcome/readme/license/background resources,
 * localisation, customLocation, domains. Rendered through xmlbuilder2; parsed with xml-tree.ts's strict reader.
 */
import { lazyRequire } from '../formats/lazy.js';
import { UsageError, type Problem } from '../errors.js';
import { child, childText, elements, parseDocument, textOf, type XmlElement } from '../formats/xml-tree.js';

const xmlbuilder2 = lazyRequire<typeof import('xmlbuilder2')>('xmlbuilder2');

export type HostArchitecture = 'arm64' | 'x86_64';
const ARCH_ORDER: readonly HostArchitecture[] = ['arm64', 'x86_64'];
export type OnConclusion = 'none' | 'RequireLogout' | 'RequireRestart' | 'RequireShutdown';
const ON_CONCLUSION: readonly string[] = ['none', 'RequireLogout', 'RequireRestart', 'RequireShutdown'];

export interface DistributionComponent {
  /** pkg-ref/choice id; should equal the component's PackageInfo identifier. */
  id: string;
  version: string;
  installKBytes: number;
  /** Name of the component directory inside the product archive, e.g. `aiwatch.pkg`. */
  pkgName: string;
  /** Default `none`. */
  onConclusion?: OnConclusion;
}

export interface DistributionOptions {
  /** Shown by Installer as the window title. */
  title: string;
  /** Written as `hostArchitectures`, always in the order arm64,x86_64. Must not be empty. */
  hostArchitectures: readonly HostArchitecture[];
  /** Minimum macOS, e.g. `12.0` → `<volume-check><allowed-os-versions><os-version min="12.0"/>`. */
  minimumMacOS: string;
  components: readonly DistributionComponent[];
  /** Optional `<product id version/>`. */
  product?: { id: string; version: string };
}

export interface DistributionPkgRef {
  id: string;
  version?: string;
  installKBytes?: number;
  onConclusion?: string;
  auth?: string;
  /** Element text as written, e.g. `#aiwatch.pkg`. */
  href: string;
  /** The component name the fragment decodes to (`aiwatch.pkg`), when href is a `#` fragment. */
  component?: string;
}

export interface DistributionInfo {
  minSpecVersion?: string;
  title?: string;
  product?: { id?: string; version?: string };
  options: Record<string, string>;
  hostArchitectures: string[];
  /** `min` of every `<os-version>` under allowed-os-versions (in volume-check or at the top). */
  minimumOSVersions: string[];
  /** Choice ids named by `<choices-outline>`, depth-first. */
  outline: string[];
  choices: Array<{ id: string; visible?: string; pkgRefs: string[] }>;
  /** pkg-refs that carry a package reference (text content). */
  pkgRefs: DistributionPkgRef[];
}

/** RFC 3986 fragment characters productbuild leaves as they are: unreserved, sub-delims, ":", "@", "/", "?". */
const FRAGMENT_SAFE = /[A-Za-z0-9\-._~!$&'()*+,;=:@/?]/;

/** Percent-encode a component name for a `#fragment` reference (UTF-8 bytes, upper-case hex), as productbuild does. */
export function percentEncodeFragment(name: string): string {
  let out = '';
  for (const ch of name) {
    if (FRAGMENT_SAFE.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const OS_VERSION_RE = /^[0-9]+(\.[0-9]+){0,2}$/;
const isCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

function optionProblems(o: DistributionOptions): string[] {
  const out: string[] = [];
  if (o.title.trim() === '') out.push('Distribution title: must not be empty');
  const badArch = o.hostArchitectures.filter((a) => !ARCH_ORDER.includes(a));
  if (o.hostArchitectures.length === 0 || badArch.length > 0) out.push(`Distribution hostArchitectures: expected arm64 and/or x86_64, got "${o.hostArchitectures.join(',')}"`);
  if (!OS_VERSION_RE.test(o.minimumMacOS)) out.push(`Distribution minimum macOS: expected a version like "12.0", got "${o.minimumMacOS}"`);
  if (o.components.length === 0) out.push('Distribution: needs at least one component package');
  const ids = new Set<string>();
  for (const c of o.components) {
    if (c.id === '' || ids.has(c.id)) out.push(`Distribution component "${c.id}": id must be non-empty and unique`);
    ids.add(c.id);
    if (!/^[^/\0]+\.pkg$/.test(c.pkgName)) out.push(`Distribution component "${c.id}": pkgName must be a name ending in .pkg, got "${c.pkgName}"`);
    if (!isCount(c.installKBytes)) out.push(`Distribution component "${c.id}": installKBytes must be a non-negative integer, got ${c.installKBytes}`);
    if (c.version === '') out.push(`Distribution component "${c.id}": version must not be empty`);
    if (c.onConclusion !== undefined && !ON_CONCLUSION.includes(c.onConclusion)) out.push(`Distribution component "${c.id}": onConclusion must be one of ${ON_CONCLUSION.join(', ')}`);
  }
  return out;
}

/** Render the Distribution productbuild embeds in a product archive. Throws UsageError listing every bad option. */
export function renderDistribution(o: DistributionOptions): string {
  const problems = optionProblems(o);
  if (problems.length > 0) throw new UsageError(problems);
  const doc = xmlbuilder2().create({ version: '1.0', encoding: 'utf-8', standalone: true });
  const root = doc.ele('installer-gui-script', { minSpecVersion: '2' });
  for (const c of o.components) root.ele('pkg-ref', { id: c.id }).ele('bundle-version');
  if (o.product) root.ele('product', { id: o.product.id, version: o.product.version });
  root.ele('title').txt(o.title);
  const archs = ARCH_ORDER.filter((a) => o.hostArchitectures.includes(a)).join(',');
  root.ele('options', { customize: 'never', 'require-scripts': 'false', hostArchitectures: archs });
  root.ele('volume-check').ele('allowed-os-versions').ele('os-version', { min: o.minimumMacOS });
  const outline = root.ele('choices-outline').ele('line', { choice: 'default' });
  for (const c of o.components) outline.ele('line', { choice: c.id });
  root.ele('choice', { id: 'default', title: o.title });
  for (const c of o.components) root.ele('choice', { id: c.id, visible: 'false' }).ele('pkg-ref', { id: c.id });
  for (const c of o.components) {
    root
      .ele('pkg-ref', { id: c.id, version: c.version, onConclusion: c.onConclusion ?? 'none', installKBytes: String(c.installKBytes), updateKBytes: '0' })
      .txt(`#${percentEncodeFragment(c.pkgName)}`);
  }
  return doc.end({ prettyPrint: true, indent: '    ' });
}

function readPkgRef(ref: XmlElement, problems: string[]): DistributionPkgRef | undefined {
  const href = textOf(ref).trim();
  if (href === '') return undefined;
  const id = ref.attrs.id ?? '';
  const out: DistributionPkgRef = { id, href };
  for (const key of ['version', 'onConclusion', 'auth'] as const) if (ref.attrs[key] !== undefined) out[key] = ref.attrs[key];
  const kb = ref.attrs.installKBytes;
  if (kb !== undefined) {
    if (/^[0-9]+$/.test(kb)) out.installKBytes = Number(kb);
    else problems.push(`pkg-ref "${id}": installKBytes is "${kb}", expected a non-negative integer`);
  }
  if (!href.startsWith('#')) {
    problems.push(`pkg-ref "${id}": "${href}" does not start with "#": Installer looks for it next to the .pkg ("does not have a valid path/URL") and notarization fails`);
  } else {
    try {
      out.component = decodeURIComponent(href.slice(1));
    } catch {
      problems.push(`pkg-ref "${id}": "${href}" is not valid percent-encoding`);
    }
  }
  if (id === '') problems.push(`pkg-ref "${href}": has no id`);
  return out;
}

function readOutline(el: XmlElement | undefined, out: string[]): void {
  for (const line of el ? elements(el, 'line') : []) {
    if (line.attrs.choice !== undefined) out.push(line.attrs.choice);
    readOutline(line, out);
  }
}

function readOsVersions(root: XmlElement): string[] {
  const lists = [child(child(root, 'volume-check') ?? root, 'allowed-os-versions'), child(root, 'allowed-os-versions')];
  const mins = new Set<string>();
  for (const l of lists) for (const v of l ? elements(l, 'os-version') : []) if (v.attrs.min !== undefined) mins.add(v.attrs.min);
  return [...mins];
}

function crossProblems(info: DistributionInfo): string[] {
  const out: string[] = [];
  const archs = info.hostArchitectures;
  if (archs.length === 0) out.push('<options> has no hostArchitectures: on Apple silicon Installer asks to install Rosetta');
  else if (!archs.includes('arm64')) out.push(`hostArchitectures "${archs.join(',')}" lacks arm64: on Apple silicon Installer asks to install Rosetta`);
  const choiceIds = new Set(info.choices.map((c) => c.id));
  for (const id of info.outline) if (!choiceIds.has(id)) out.push(`choices-outline names choice "${id}", which is not defined`);
  const refIds = new Set(info.pkgRefs.map((r) => r.id));
  for (const c of info.choices) for (const r of c.pkgRefs) if (!refIds.has(r)) out.push(`choice "${c.id}" names pkg-ref "${r}", which has no package reference`);
  if (info.pkgRefs.length === 0) out.push('no pkg-ref names a component package');
  return out;
}

/**
 * Parse a Distribution document. `where` names it in problems (e.g. `out/x.pkg:Distribution`).
 * Never throws for bad content: a document that is not well-formed gives one problem and no info.
 */
export function parseDistribution(xml: string, where: string): { info?: DistributionInfo; problems: Problem[] } {
  const doc = parseDocument(xml, 'installer-gui-script');
  if ('problem' in doc) return { problems: [{ where, message: doc.problem }] };
  const root = doc.root;
  const problems: string[] = [];
  const options = child(root, 'options')?.attrs ?? {};
  const info: DistributionInfo = {
    options: { ...options },
    hostArchitectures: (options.hostArchitectures ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''),
    minimumOSVersions: readOsVersions(root),
    outline: [],
    choices: elements(root, 'choice').map((c) => ({ id: c.attrs.id ?? '', ...(c.attrs.visible !== undefined ? { visible: c.attrs.visible } : {}), pkgRefs: elements(c, 'pkg-ref').map((r) => r.attrs.id ?? '') })),
    pkgRefs: elements(root, 'pkg-ref').flatMap((r) => readPkgRef(r, problems) ?? []),
  };
  if (root.attrs.minSpecVersion !== undefined) info.minSpecVersion = root.attrs.minSpecVersion;
  const title = childText(root, 'title');
  if (title !== undefined) info.title = title;
  const product = child(root, 'product');
  if (product) info.product = { ...(product.attrs.id !== undefined ? { id: product.attrs.id } : {}), ...(product.attrs.version !== undefined ? { version: product.attrs.version } : {}) };
  readOutline(child(root, 'choices-outline'), info.outline);
  problems.push(...crossProblems(info));
  return { info, problems: problems.map((message) => ({ where, message })) };
}

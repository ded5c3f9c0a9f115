/**
 * The Jamf Classic API's XML bodies for the two resources the driver keeps there — `os_x_configuration_profile`
 * and `policy` — plus the `<root><id>N</id></root>` answer of a create and a computer group's id and name.
 *
 * Reading goes through the project's bounded, strict XML reader (formats/xml-tree.ts: no entity expansion, depth and
 * node limits) and keeps only the fields we compare, normalised the way `plan` needs them: booleans from
 * `true`/`false` text, a list as sorted names (Jamf's order of a scope list is not ours), the payloads text
 * un-escaped by the reader and with line ends unified. A list element may carry Jamf's `<size>` sibling; it is
 * ignored. Writing builds a tree and serialises it with xmlbuilder2, which escapes the payloads text.
 *
 * Classic PUT merges: elements we do not send keep their value, so a body holds only the fields we own.
 */
import { child, childText, el, elements, parseXml, serializeXml, XmlSyntaxError, type XmlElement, type XmlNode } from '../../formats/xml-tree.js';

/** A Classic answer that is not the XML we asked for. */
export class ClassicXmlError extends Error {}

/** Parse a Classic answer whose root must be `root`. */
export function parseClassic(text: string, root: string): XmlElement {
  let doc: XmlElement;
  try {
    doc = parseXml(text);
  } catch (e) {
    if (e instanceof XmlSyntaxError) throw new ClassicXmlError(`the answer is not well-formed XML: ${e.message}`);
    throw e;
  }
  if (doc.name !== root) throw new ClassicXmlError(`the answer's root element is <${doc.name}>, expected <${root}>`);
  return doc;
}

function bool(text: string | undefined): boolean {
  return text?.trim().toLowerCase() === 'true';
}

/** The id of `<root><id>N</id></root>` (a create's answer) or of `<root><general><id>N</id>…`. */
export function readId(root: XmlElement): string | undefined {
  const id = childText(root, 'id') ?? (child(root, 'general') ? childText(child(root, 'general')!, 'id') : undefined);
  return id !== undefined && /^\d{1,18}$/.test(id) ? id : undefined;
}

/** Names of `<list><item><name>…` (e.g. scope/computer_groups/computer_group), sorted. */
function names(parent: XmlElement | undefined, list: string, item: string): string[] {
  const l = parent ? child(parent, list) : undefined;
  if (!l) return [];
  return elements(l, item)
    .map((e) => childText(e, 'name') ?? '')
    .sort();
}

export interface ObservedScope {
  allComputers: boolean;
  /** Names of the computer groups in scope, sorted. */
  groups: string[];
  /** Anything else in scope (computers, buildings, departments) or excluded: counted, shown as drift. */
  others: number;
}

function readScope(root: XmlElement): ObservedScope {
  const scope = child(root, 'scope');
  const count = (list: string, item: string): number => (scope && child(scope, list) ? elements(child(scope, list)!, item).length : 0);
  const ex = scope ? child(scope, 'exclusions') : undefined;
  const excluded = ex ? ex.children.filter((c): c is XmlElement => typeof c !== 'string').reduce((n, l) => n + elements(l).filter((e) => e.name !== 'size').length, 0) : 0;
  return {
    allComputers: bool(scope ? childText(scope, 'all_computers') : undefined),
    groups: names(scope, 'computer_groups', 'computer_group'),
    others: count('computers', 'computer') + count('buildings', 'building') + count('departments', 'department') + excluded,
  };
}

export interface ObservedProfile {
  id: string | undefined;
  name: string;
  description: string;
  level: string;
  distributionMethod: string;
  payloads: string;
  scope: ObservedScope;
}

export function readProfile(root: XmlElement): ObservedProfile {
  const g = child(root, 'general') ?? el('general');
  return {
    id: readId(root),
    name: childText(g, 'name') ?? '',
    description: child(g, 'description') ? textOfRaw(child(g, 'description')!) : '',
    level: (childText(g, 'level') ?? '').toLowerCase(),
    distributionMethod: childText(g, 'distribution_method') ?? '',
    payloads: child(g, 'payloads') ? textOfRaw(child(g, 'payloads')!) : '',
    scope: readScope(root),
  };
}

/** Text of a text-only element, untrimmed (a description's lines are the admin's). */
function textOfRaw(e: XmlElement): string {
  return e.children.filter((c): c is string => typeof c === 'string').join('');
}

function scopeXml(group: { id: string; name: string }): XmlElement {
  return el('scope', {}, [
    el('all_computers', {}, 'false'),
    el('computer_groups', {}, [el('computer_group', {}, [el('id', {}, group.id), el('name', {}, group.name)])]),
  ]);
}

export interface ProfileBody {
  name: string;
  description: string;
  payloads: string;
  scopeGroup: { id: string; name: string };
}

/** The body of a profile create or update (computer level, installed automatically, scoped to one group). */
export function profileXml(p: ProfileBody): string {
  return serializeXml(
    el('os_x_configuration_profile', {}, [
      el('general', {}, [
        el('name', {}, p.name),
        el('description', {}, p.description),
        el('level', {}, 'computer'),
        el('distribution_method', {}, 'Install Automatically'),
        // A changed payload (a rotated key, a new PPPC rule) must reach the Macs that have the old one, not only new ones.
        el('redeploy_on_update', {}, 'All'),
        el('payloads', {}, p.payloads),
      ]),
      scopeXml(p.scopeGroup),
    ]),
  );
}

export interface ObservedPolicy {
  id: string | undefined;
  name: string;
  enabled: boolean;
  frequency: string;
  triggerCheckin: boolean;
  /** `<name>: <action>` of each package, sorted. */
  packages: string[];
  recon: boolean;
  scope: ObservedScope;
  /** The self-service description, where our marker is kept (a policy has no description field). */
  selfServiceDescription: string;
}

export function readPolicy(root: XmlElement): ObservedPolicy {
  const g = child(root, 'general') ?? el('general');
  const pc = child(root, 'package_configuration');
  const pk = pc ? child(pc, 'packages') : undefined;
  const ss = child(root, 'self_service');
  const m = child(root, 'maintenance');
  return {
    id: readId(root),
    name: childText(g, 'name') ?? '',
    enabled: bool(childText(g, 'enabled')),
    frequency: childText(g, 'frequency') ?? '',
    triggerCheckin: bool(childText(g, 'trigger_checkin')),
    packages: (pk ? elements(pk, 'package') : []).map((p) => `${childText(p, 'name') ?? ''}: ${childText(p, 'action') ?? ''}`).sort(),
    recon: bool(m ? childText(m, 'recon') : undefined),
    scope: readScope(root),
    selfServiceDescription: ss && child(ss, 'self_service_description') ? textOfRaw(child(ss, 'self_service_description')!) : '',
  };
}

export interface PolicyBody {
  name: string;
  package: { id: string; name: string };
  scopeGroup: { id: string; name: string };
  marker: string;
}

/**
 * The body of the policy create or update: enabled, recurring check-in, Ongoing (the version-aware group ends it per
 * Mac), the package installed, inventory updated after, not in Self Service (whose description holds our marker).
 */
export function policyXml(p: PolicyBody): string {
  const content: XmlNode[] = [
    el('general', {}, [
      el('name', {}, p.name),
      el('enabled', {}, 'true'),
      el('trigger_checkin', {}, 'true'),
      el('frequency', {}, 'Ongoing'),
    ]),
    scopeXml(p.scopeGroup),
    el('self_service', {}, [el('use_for_self_service', {}, 'false'), el('self_service_description', {}, p.marker)]),
    el('package_configuration', {}, [
      el('packages', {}, [el('package', {}, [el('id', {}, p.package.id), el('name', {}, p.package.name), el('action', {}, 'Install')])]),
    ]),
    el('maintenance', {}, [el('recon', {}, 'true')]),
  ];
  return serializeXml(el('policy', {}, content));
}

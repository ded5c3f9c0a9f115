/**
 * The state of one local Jamf Pro instance: the objects a rollout makes (packages, computer groups, extension
 * attributes, categories, configuration profiles, policies) and a tiny fleet of Macs, so a test can ask which Macs
 * a policy targets now.
 *
 * Computer groups are one store seen by two APIs, as in Jamf Pro: the Jamf Pro API's smart groups (v2) and the
 * Classic API's computergroups (smart or static). Names are unique per kind (packages also by file name).
 *
 * The Macs: each has a name, extension-attribute values (e.g. the installed aiwatch version) and the policies it has
 * run. Smart-group membership is evaluated from the group's criteria: "Computer Group" member of / not member of
 * another group, an extension attribute (or "Computer Name") is / is not / like / not like a value; `and` binds
 * tighter than `or`, parentheses are honoured. A policy targets a Mac when it is enabled, runs at check-in, the Mac is
 * in its scope (all computers, listed computers, or a member of a listed group) and not excluded, and — for "Once per
 * computer" — the Mac has not run it since its logs were flushed.
 */
import type { Json } from './classic-xml.js';

export interface Criterion {
  name: string;
  priority: number;
  andOr: string;
  searchType: string;
  value: string;
  openingParen: boolean;
  closingParen: boolean;
}

export interface GroupRecord {
  id: number;
  name: string;
  smart: boolean;
  description: string;
  siteId: string | null;
  criteria: Criterion[];
  /** Static members (computer ids). */
  members: number[];
}

export interface PackageRecord {
  id: number;
  /** The Package fields as stored (what the client sent, plus the read-only fields the server owns). */
  fields: Record<string, Json>;
  /** The last upload as received (before distribution-point convergence). */
  uploaded?: { fileName: string; size: number; sha256: string };
}

export interface ClassicRecord {
  id: number;
  name: string;
  /** The object under its root element (`general`, `scope`, …), as validated. */
  body: Record<string, Json>;
}

export interface Mac {
  id: number;
  name: string;
  /** Extension attribute name → value (as inventory reports it). */
  eas: Record<string, string>;
  /** Policy id → times run since the policy's logs were last flushed. */
  runs: Map<number, number>;
}

export class JamfStore {
  nextId = 1;
  packages = new Map<number, PackageRecord>();
  groups = new Map<number, GroupRecord>();
  eas = new Map<number, Record<string, Json> & { name: string }>();
  categories = new Map<number, Record<string, Json> & { name: string }>();
  profiles = new Map<number, ClassicRecord>();
  policies = new Map<number, ClassicRecord>();
  macs: Mac[] = [];

  id(): number {
    return this.nextId++;
  }

  groupByName(name: string): GroupRecord | undefined {
    return [...this.groups.values()].find((g) => g.name === name);
  }

  /** Add a Mac with extension-attribute values; returns it. */
  addMac(name: string, eas: Record<string, string> = {}): Mac {
    const mac: Mac = { id: 1000 + this.macs.length + 1, name, eas: { ...eas }, runs: new Map() };
    this.macs.push(mac);
    return mac;
  }

  /** Ids of the Macs in group `g` (smart: evaluated now; static: its members). */
  members(g: GroupRecord, seen: Set<number> = new Set()): number[] {
    if (!g.smart) return [...g.members];
    if (seen.has(g.id)) return [];
    const inner = new Set(seen).add(g.id);
    return this.macs.filter((m) => this.matches(m, g.criteria, inner)).map((m) => m.id);
  }

  private criterionHolds(mac: Mac, c: Criterion, seen: Set<number>): boolean {
    const st = c.searchType.toLowerCase();
    if (c.name === 'Computer Group') {
      const g = this.groupByName(c.value);
      const isMember = g !== undefined && this.members(g, seen).includes(mac.id);
      if (st === 'member of') return isMember;
      if (st === 'not member of') return !isMember;
      throw new Error(`jamf test server: criterion "Computer Group" ${c.searchType} is not modelled`);
    }
    const ea = [...this.eas.values()].find((e) => e.name === c.name);
    let actual: string;
    if (c.name === 'Computer Name') actual = mac.name;
    else if (ea) actual = mac.eas[c.name] ?? '';
    else throw new Error(`jamf test server: criterion "${c.name}" names no extension attribute (and is not modelled)`);
    switch (st) {
      case 'is':
        return actual === c.value;
      case 'is not':
        return actual !== c.value;
      case 'like':
        return actual.includes(c.value);
      case 'not like':
        return !actual.includes(c.value);
      default:
        throw new Error(`jamf test server: search type "${c.searchType}" is not modelled`);
    }
  }

  /** Evaluate criteria in priority order: parentheses first, then `and` before `or` (Jamf's smart-group logic). */
  matches(mac: Mac, criteria: Criterion[], seen: Set<number>): boolean {
    const sorted = [...criteria].sort((a, b) => a.priority - b.priority);
    if (sorted.length === 0) return true;
    // The criteria as a token stream: [op] ['('] value [')'] …, then a recursive-descent evaluation.
    const toks: (boolean | 'and' | 'or' | '(' | ')')[] = [];
    sorted.forEach((c, i) => {
      if (i > 0) toks.push(c.andOr.toLowerCase() === 'or' ? 'or' : 'and');
      if (c.openingParen) toks.push('(');
      toks.push(this.criterionHolds(mac, c, seen));
      if (c.closingParen) toks.push(')');
    });
    let pos = 0;
    const factor = (): boolean => {
      const t = toks[pos++];
      if (t === '(') {
        const v = expr();
        if (toks[pos] === ')') pos++;
        return v;
      }
      if (typeof t !== 'boolean') throw new Error(`jamf test server: smart-group criteria out of order at token ${pos}`);
      return t;
    };
    const term = (): boolean => {
      let v = factor();
      while (toks[pos] === 'and') {
        pos++;
        v = factor() && v;
      }
      return v;
    };
    const expr = (): boolean => {
      let v = term();
      while (toks[pos] === 'or') {
        pos++;
        v = term() || v;
      }
      return v;
    };
    return expr();
  }

  /** The Macs (names, sorted) that `policy` would run on at their next check-in. */
  policyTargets(policyName: string): string[] {
    const p = [...this.policies.values()].find((x) => x.name === policyName);
    if (!p) throw new Error(`jamf test server: no policy named "${policyName}"`);
    return this.macs.filter((m) => this.policyApplies(p, m)).map((m) => m.name).sort();
  }

  /** The Macs (names, sorted) a configuration profile is scoped to. */
  profileTargets(profileName: string): string[] {
    const p = [...this.profiles.values()].find((x) => x.name === profileName);
    if (!p) throw new Error(`jamf test server: no configuration profile named "${profileName}"`);
    return this.macs.filter((m) => this.inScope(p.body.scope, m)).map((m) => m.name).sort();
  }

  private inScope(scope: Json | undefined, mac: Mac): boolean {
    const s = (scope ?? {}) as Record<string, Json>;
    const groupNames = (list: Json | undefined): string[] =>
      Array.isArray(list) ? list.map((i) => ((i as Record<string, Json>).computer_group as Record<string, Json> | undefined)).filter(Boolean).map((g) => this.groupName(g!)).filter((n): n is string => n !== undefined) : [];
    const computerIds = (list: Json | undefined): number[] =>
      Array.isArray(list) ? list.map((i) => Number(((i as Record<string, Json>).computer as Record<string, Json> | undefined)?.id)) : [];
    const inGroups = (names: string[]): boolean => names.some((n) => {
      const g = this.groupByName(n);
      return g !== undefined && this.members(g).includes(mac.id);
    });
    const included = s.all_computers === true || computerIds(s.computers).includes(mac.id) || inGroups(groupNames(s.computer_groups));
    const ex = (s.exclusions ?? {}) as Record<string, Json>;
    const excluded = computerIds(ex.computers).includes(mac.id) || inGroups(groupNames(ex.computer_groups));
    return included && !excluded;
  }

  /** A scope entry names its group by id or name; Jamf resolves the id first. */
  private groupName(g: Record<string, Json>): string | undefined {
    if (typeof g.id === 'number' && this.groups.has(g.id)) return this.groups.get(g.id)!.name;
    return typeof g.name === 'string' ? g.name : undefined;
  }

  private policyApplies(p: ClassicRecord, mac: Mac): boolean {
    const general = (p.body.general ?? {}) as Record<string, Json>;
    if (general.enabled === false) return false;
    if (general.trigger_checkin !== true) return false;
    if (!this.inScope(p.body.scope, mac)) return false;
    if (general.frequency === 'Once per computer' && (mac.runs.get(p.id) ?? 0) > 0) return false;
    return true;
  }

  /**
   * A Mac checks in: every policy that targets it runs; each package it installs sets the extension attribute
   * `versionEa` to the version `versionOf(fileName)` reads from the package (an inventory update after install).
   */
  checkIn(macName: string, o: { versionEa?: string; versionOf?: (fileName: string) => string | undefined } = {}): string[] {
    const mac = this.macs.find((m) => m.name === macName);
    if (!mac) throw new Error(`jamf test server: no Mac named "${macName}"`);
    const ran: string[] = [];
    for (const p of this.policies.values()) {
      if (!this.policyApplies(p, mac)) continue;
      mac.runs.set(p.id, (mac.runs.get(p.id) ?? 0) + 1);
      ran.push(p.name);
      const pkgs = ((p.body.package_configuration as Record<string, Json> | undefined)?.packages ?? []) as Json[];
      for (const item of pkgs) {
        const ref = (item as Record<string, Json>).package as Record<string, Json> | undefined;
        const rec = ref && typeof ref.id === 'number' ? this.packages.get(ref.id) : undefined;
        const fileName = rec ? String(rec.fields.fileName) : undefined;
        const version = fileName ? (o.versionOf ?? defaultVersionOf)(fileName) : undefined;
        if (o.versionEa && version) mac.eas[o.versionEa] = version;
      }
    }
    return ran;
  }

  /** Flush a policy's logs (Jamf: Policy → Logs → Flush All): "Once per computer" runs again everywhere. */
  flushPolicyLogs(policyId: number): void {
    for (const m of this.macs) m.runs.delete(policyId);
  }
}

/** `aiwatch-1.2.0-macos-arm64.pkg` → `1.2.0`. */
export function defaultVersionOf(fileName: string): string | undefined {
  return /-(\d+\.\d+(?:\.\d+)?)-/.exec(fileName)?.[1];
}

/**
 * A Kandji custom profile is a .mobileconfig file and nothing else: no description field of its own. So our marker
 * goes into the profile's top-level `PayloadDescription` (the one free-text field a profile has; an admin sees it in
 * System Settings → Profiles), and what `plan` compares is the profile's content, read as a typed plist:
 *
 *  - the top-level keys Kandji may rewrite are left out of the comparison: `PayloadDisplayName` (Kandji's own
 *    example answer to a rename is "XML of profile, including new name"), `PayloadIdentifier` and `PayloadUUID`
 *    (Kandji reports `mdm_identifier: com.kandji.profile.custom.<id>`, which suggests it sets the identifier), and
 *    `PayloadDescription` (our marker);
 *  - everything else — every payload with every key, value and plist type — is hashed (canonical JSON, types kept:
 *    `<integer>1</integer>` and `<string>1</string>` differ), so formatting and key order do not matter.
 *
 * The text we upload is the release's profile parsed and serialized again (src/formats/plist-serialize.ts) with the
 * marker set: what plan compares is computed from that same text.
 */
import { canonicalJson, type Hashable } from '../../rollout/marker.js';
import { readPlist, type PNode } from '../../formats/plist-read.js';
import { serializePlist, type PlistData, type PlistDict } from '../../formats/plist-serialize.js';

/** Top-level keys not compared (see the header). */
export const NOT_COMPARED = ['PayloadDescription', 'PayloadDisplayName', 'PayloadIdentifier', 'PayloadUUID'] as const;

export class ProfileTextError extends Error {}

/** The top-level dict of a profile's text; throws ProfileTextError (naming `what`, never the text). */
export function profileRoot(text: string, what: string): PNode & { type: 'dict' } {
  const r = readPlist(text, what);
  if (!r.root || r.problems.length > 0) throw new ProfileTextError(`${what}: not a readable XML property list (${r.problems[0]?.message ?? 'empty'})`);
  if (r.root.type !== 'dict') throw new ProfileTextError(`${what}: the property list is not a dictionary`);
  return r.root;
}

function canon(node: PNode): Hashable {
  switch (node.type) {
    case 'dict': {
      const o: Record<string, Hashable> = {};
      for (const [k, v] of node.entries) o[k] = canon(v);
      return o;
    }
    case 'array':
      return node.items.map(canon);
    case 'string':
      return node.value;
    case 'boolean':
      return node.value;
    case 'integer':
      return { integer: node.value.toString() };
    case 'real':
      return { real: Number.isFinite(node.value) ? node.value : String(node.value) };
    case 'date':
      return { date: node.value };
    case 'data':
      return node.value;
  }
}

/** The compared content of a profile (canonical JSON, the keys of {@link NOT_COMPARED} left out). */
export function profileContent(root: PNode & { type: 'dict' }): string {
  const o: Record<string, Hashable> = {};
  for (const [k, v] of root.entries) if (!(NOT_COMPARED as readonly string[]).includes(k)) o[k] = canon(v);
  return canonicalJson(o);
}

/** Its PayloadDescription (where our marker is), if a string. */
export function profileDescription(root: PNode & { type: 'dict' }): string | undefined {
  const d = root.entries.get('PayloadDescription');
  return d?.type === 'string' ? d.value : undefined;
}

function plain(node: PNode, what: string): PlistData {
  switch (node.type) {
    case 'dict': {
      const o: PlistDict = {};
      for (const [k, v] of node.entries) o[k] = plain(v, what);
      return o;
    }
    case 'array':
      return node.items.map((v) => plain(v, what));
    case 'integer':
      if (!Number.isSafeInteger(Number(node.value))) throw new ProfileTextError(`${what}: an integer beyond ±2^53 cannot be written back`);
      return Number(node.value);
    case 'real':
      if (Number.isInteger(node.value)) throw new ProfileTextError(`${what}: a whole-number <real> would be written back as <integer>`);
      return node.value;
    case 'date':
      return new Date(node.value);
    default:
      return node.value;
  }
}

/** The profile's text with `PayloadDescription` set to `description` (key order kept; serialized by our writer). */
export function withDescription(root: PNode & { type: 'dict' }, description: string, what: string): string {
  const o = plain(root, what) as PlistDict;
  const out: PlistDict = {};
  let set = false;
  for (const [k, v] of Object.entries(o)) {
    if (k === 'PayloadDescription') {
      out[k] = description;
      set = true;
    } else out[k] = v;
  }
  if (!set) out.PayloadDescription = description;
  return serializePlist(out);
}

/**
 * Code requirements (CSMAGIC_REQUIREMENT blobs) turned back into Apple's requirement language, in the canonical
 * form `codesign -d -r-` prints, e.g. `identifier "com.runlayer.aiwatch" and anchor apple generic and certificate
 * 1[field.1.2.840.113635.100.6.2.6] /* exists *\/ and … and certificate leaf[subject.OU] = AF2M8HC7A2`.
 *
 * Covers: expression-form requirements with the operators of Security's requirement.h (identifier, anchors, cert
 * fields / generic OIDs / policies, info and entitlement keys, cdhash, and/or/not, platform, notarized, legacy);
 * values printed bare when they are simple words, quoted otherwise, hex when binary (reference mdm-payloads.md §2.1).
 * `exists` is printed as the un-parser does, as the comment `/* exists *\/` (reference §2.1).
 * Does not cover: evaluating a requirement, or compiling text into a blob.
 * A malformed or unknown operator ends the text with `<unreadable: …>` rather than throwing: this is display text.
 */

import { requirementConstant } from './requirement-text.js';

const OP = {
  false: 0, true: 1, ident: 2, appleAnchor: 3, anchorHash: 4, infoKeyValue: 5, and: 6, or: 7, cdHash: 8, not: 9,
  infoKeyField: 10, certField: 11, trustedCert: 12, trustedCerts: 13, certGeneric: 14, appleGenericAnchor: 15,
  entitlementField: 16, certPolicy: 17, namedAnchor: 18, namedCode: 19, platform: 20, notarized: 21,
  certFieldDate: 22, legacyDevID: 23,
} as const;
const OP_FLAG_MASK = 0xff000000;

/** Match suffixes: operator text, and whether a value follows. */
const MATCH: Record<number, [string, boolean]> = {
  0: ['/* exists */', false], 1: ['=', true], 2: ['~', true], 3: ['= *', true], 4: ['= *', true], 5: ['<', true],
  6: ['>', true], 7: ['<=', true], 8: ['>=', true], 9: ['=', true], 10: ['<', true], 11: ['>', true],
  12: ['<=', true], 13: ['>=', true], 14: ['absent', false],
};
const MATCH_ON = 9;
const MATCH_BEGINS_WITH = 3;
const MATCH_ENDS_WITH = 4;


class Unreadable extends Error {}

/** Deepest nesting of and/or/not we follow (a hostile blob could otherwise exhaust the stack). */
const MAX_DEPTH = 200;

class Cursor {
  private dv: DataView;
  depth = 0;
  constructor(
    private readonly b: Uint8Array,
    public pos: number,
  ) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  u32(): number {
    if (this.pos + 4 > this.b.length) throw new Unreadable('truncated');
    const v = this.dv.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  i32(): number {
    return this.u32() | 0;
  }
  data(): Uint8Array {
    const len = this.u32();
    if (this.pos + len > this.b.length) throw new Unreadable(`data of ${len} bytes runs past the end`);
    const out = this.b.subarray(this.pos, this.pos + len);
    this.pos += (len + 3) & ~3;
    return out;
  }
}

/** A value of a requirement blob as the un-parser prints it (see src/macho/requirement-text.ts). */
export function requirementValue(b: Uint8Array, dotsOk = false): string {
  return requirementConstant(b, { dotsOk });
}

const key = (c: Cursor): string => requirementValue(c.data(), true);

/** Dotted decimal of DER OID content bytes. */
function oidText(b: Uint8Array): string {
  if (!b.length) throw new Unreadable('empty OID');
  const parts: number[] = [];
  let acc = 0;
  for (const byte of b) {
    acc = acc * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(acc);
      acc = 0;
    }
  }
  const first = parts.shift() ?? 0;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...parts].join('.');
}

function certSlot(n: number): string {
  return n === 0 ? 'leaf' : n === -1 ? 'root' : String(n);
}

function match(c: Cursor): string {
  const op = c.u32();
  const m = MATCH[op];
  if (!m) throw new Unreadable(`unknown match operator ${op}`);
  if (!m[1]) return ` ${m[0]}`;
  if (op >= MATCH_ON) return ` ${m[0]} <${(BigInt(c.u32()) << 32n) | BigInt(c.u32())}>`; // 8-byte absolute time
  const raw = c.data();
  if (op === MATCH_BEGINS_WITH) return ` = ${requirementValue(raw)}*`;
  if (op === MATCH_ENDS_WITH) return ` = *${requirementValue(raw)}`;
  return ` ${m[0]} ${requirementValue(raw)}`;
}

type Level = 0 | 1 | 2 | 3; // primary, and, or, top

function expr(c: Cursor, level: Level): string {
  if (++c.depth > MAX_DEPTH) throw new Unreadable(`nested deeper than ${MAX_DEPTH} levels`);
  try {
    return term(c, level);
  } finally {
    c.depth--;
  }
}

function term(c: Cursor, level: Level): string {
  const op = (c.u32() & ~OP_FLAG_MASK) >>> 0;
  switch (op) {
    case OP.false: return 'never';
    case OP.true: return 'always';
    case OP.ident: return `identifier ${requirementValue(c.data())}`;
    case OP.appleAnchor: return 'anchor apple';
    case OP.appleGenericAnchor: return 'anchor apple generic';
    case OP.trustedCerts: return 'anchor trusted';
    case OP.notarized: return 'notarized';
    case OP.legacyDevID: return 'legacy';
    case OP.anchorHash: return `certificate ${certSlot(c.i32())} = H"${Buffer.from(c.data()).toString('hex')}"`;
    case OP.cdHash: return `cdhash H"${Buffer.from(c.data()).toString('hex')}"`;
    case OP.trustedCert: return `certificate ${certSlot(c.i32())} trusted`;
    case OP.infoKeyValue: return `info[${key(c)}] = ${requirementValue(c.data())}`;
    case OP.infoKeyField: return `info[${key(c)}]${match(c)}`;
    case OP.entitlementField: return `entitlement[${key(c)}]${match(c)}`;
    case OP.certField: return `certificate ${certSlot(c.i32())}[${key(c)}]${match(c)}`;
    case OP.certGeneric: return `certificate ${certSlot(c.i32())}[field.${oidText(c.data())}]${match(c)}`;
    case OP.certPolicy: return `certificate ${certSlot(c.i32())}[policy.${oidText(c.data())}]${match(c)}`;
    case OP.certFieldDate: return `certificate ${certSlot(c.i32())}[timestamp.${oidText(c.data())}]${match(c)}`;
    case OP.namedAnchor: return `anchor apple ${requirementValue(c.data())}`;
    case OP.namedCode: return `(${requirementValue(c.data())})`;
    case OP.platform: return `platform = ${c.i32()}`;
    case OP.not: return `! ${expr(c, 0)}`;
    case OP.and: return binary(c, level, 1, 'and');
    case OP.or: return binary(c, level, 2, 'or');
    default: throw new Unreadable(`unknown operator ${op}`);
  }
}

function binary(c: Cursor, level: Level, own: 1 | 2, word: string): string {
  const left = expr(c, own);
  const right = expr(c, own);
  const text = `${left} ${word} ${right}`;
  return level < own ? `(${text})` : text;
}

/** Text of one requirement blob (magic 0xfade0c00, length, kind, expression). Never throws. */
export function decompileRequirement(blob: Uint8Array): string {
  const c = new Cursor(blob, 8);
  try {
    const kind = c.u32();
    if (kind !== 1) return `<unreadable: requirement kind ${kind}, expected 1 (expression)>`;
    return expr(c, 3);
  } catch (e) {
    if (e instanceof Unreadable) return `<unreadable: ${e.message}>`;
    throw e;
  }
}

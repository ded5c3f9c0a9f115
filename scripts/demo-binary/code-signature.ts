/**
 * Code-signature blobs for the demo binaries, laid out as xnu's cs_blobs.h describes them (all big-endian):
 * CodeDirectory v0x20500 (identifier, team, flags, SHA-256 page hashes of 4 KiB pages, exec segment, hardened
 * runtime version), a requirements set holding the Developer ID designated requirement of identifier + team
 * (reference mdm-payloads.md §2.1), an optional XML entitlements blob, the CMS wrapper, and the SuperBlob that
 * indexes them. Erasable TypeScript: node runs it directly.
 */
import { createHash } from 'node:crypto';
// @ts-expect-error TS5097: node runs these scripts directly (type stripping), so imports name the .ts file.
import { oidContent } from './der.ts';

export const CSMAGIC_REQUIREMENT = 0xfade0c00;
export const CSMAGIC_REQUIREMENTS = 0xfade0c01;
export const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
export const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
export const CSMAGIC_EMBEDDED_ENTITLEMENTS = 0xfade7171;
export const CSMAGIC_BLOBWRAPPER = 0xfade0b01;
export const CS_ADHOC = 0x2;
export const CS_RUNTIME = 0x10000;
export const CS_LINKER_SIGNED = 0x20000;
export const CS_EXECSEG_MAIN_BINARY = 0x1;
const CS_HASHTYPE_SHA256 = 2;
const PAGE_LOG = 12;
const HASH_SIZE = 32;
/** Header length of a version 0x20500 CodeDirectory (through runtime + preEncryptOffset). */
const CD_HEADER = 96;

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/** A generic blob: magic, total length, payload. */
export function blob(magic: number, payload: Uint8Array): Buffer {
  return Buffer.concat([u32(magic), u32(payload.length + 8), payload]);
}

export interface CodeDirectoryInput {
  identifier: string;
  teamId?: string;
  flags: number;
  /** The bytes the signature covers: the image from 0 to the code signature (codeLimit). */
  code: Uint8Array;
  /** Special slots: slot number → the blob whose hash goes there (1 Info.plist … 5 entitlements). */
  special: Map<number, Buffer>;
  execSeg: { base: number; limit: number; flags: number };
  /** Hardened-runtime version, packed like an SDK version (0x000e0000 = 14.0). */
  runtimeVersion: number;
}

const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

/** A version 0x20500 CodeDirectory with SHA-256 hashes of 4 KiB pages (codesign's defaults). */
export function codeDirectory(input: CodeDirectoryInput): Buffer {
  const page = 2 ** PAGE_LOG;
  const nCode = Math.ceil(input.code.length / page);
  const nSpecial = Math.max(0, ...input.special.keys());
  const ident = Buffer.from(`${input.identifier}\0`, 'utf8');
  const team = input.teamId ? Buffer.from(`${input.teamId}\0`, 'utf8') : Buffer.alloc(0);
  const identOffset = CD_HEADER;
  const teamOffset = input.teamId ? identOffset + ident.length : 0;
  const hashOffset = identOffset + ident.length + team.length + nSpecial * HASH_SIZE;
  const specials: Buffer[] = [];
  for (let slot = nSpecial; slot >= 1; slot--) {
    const b = input.special.get(slot);
    specials.push(b ? sha256(b) : Buffer.alloc(HASH_SIZE));
  }
  const pages: Buffer[] = [];
  for (let i = 0; i < nCode; i++) pages.push(sha256(input.code.subarray(i * page, (i + 1) * page)));
  const length = hashOffset + nCode * HASH_SIZE;
  const header = Buffer.concat([
    u32(CSMAGIC_CODEDIRECTORY), u32(length), u32(0x20500), u32(input.flags), u32(hashOffset), u32(identOffset),
    u32(nSpecial), u32(nCode), u32(input.code.length),
    Buffer.from([HASH_SIZE, CS_HASHTYPE_SHA256, 0, PAGE_LOG]), u32(0), // hashSize, hashType, platform, pageSize, spare2
    u32(0), u32(teamOffset), // scatterOffset, teamOffset
    u32(0), u64(0), // spare3, codeLimit64
    u64(input.execSeg.base), u64(input.execSeg.limit), u64(input.execSeg.flags),
    u32(input.runtimeVersion), u32(0), // runtime, preEncryptOffset
  ]);
  return Buffer.concat([header, ident, team, ...specials, ...pages]);
}

/** Length-prefixed data padded to 4 bytes, as requirement expressions store strings and OIDs. */
function data(b: Buffer): Buffer {
  return Buffer.concat([u32(b.length), b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
}

const OP = { ident: 2, and: 6, certField: 11, certGeneric: 14, appleGenericAnchor: 15 };
const MATCH_EXISTS = 0;
const MATCH_EQUAL = 1;
const LEAF = 0;

/**
 * The Developer ID designated requirement (reference mdm-payloads.md §2.1), compiled:
 * identifier "<id>" and anchor apple generic and certificate 1[field.1.2.840.113635.100.6.2.6] exists
 * and certificate leaf[field.1.2.840.113635.100.6.1.13] exists and certificate leaf[subject.OU] = <team>.
 * "and" is a binary prefix operator and the grammar is left-associative, hence four leading ANDs.
 */
export function developerIdRequirement(identifier: string, teamId: string): Buffer {
  const expr = Buffer.concat([
    u32(OP.and), u32(OP.and), u32(OP.and), u32(OP.and),
    u32(OP.ident), data(Buffer.from(identifier, 'utf8')),
    u32(OP.appleGenericAnchor),
    u32(OP.certGeneric), u32(1), data(oidContent('1.2.840.113635.100.6.2.6')), u32(MATCH_EXISTS),
    u32(OP.certGeneric), u32(LEAF), data(oidContent('1.2.840.113635.100.6.1.13')), u32(MATCH_EXISTS),
    u32(OP.certField), u32(LEAF), data(Buffer.from('subject.OU')), u32(MATCH_EQUAL), data(Buffer.from(teamId, 'utf8')),
  ]);
  return blob(CSMAGIC_REQUIREMENT, Buffer.concat([u32(1), expr])); // kind 1: expression form
}

/** A requirements set; `designated` absent gives the empty set ad-hoc signatures carry. */
export function requirementsSet(designated?: Buffer): Buffer {
  if (!designated) return blob(CSMAGIC_REQUIREMENTS, u32(0));
  return blob(CSMAGIC_REQUIREMENTS, Buffer.concat([u32(1), u32(3), u32(20), designated])); // type 3 = designated, at 20
}

/** The embedded-signature SuperBlob: an index of (slot, offset) sorted by slot, then the blobs in that order. */
export function superBlob(blobs: Map<number, Buffer>): Buffer {
  const slots = [...blobs.keys()].sort((a, b) => a - b);
  let offset = 12 + slots.length * 8;
  const index: Buffer[] = [];
  for (const slot of slots) {
    index.push(u32(slot), u32(offset));
    offset += blobs.get(slot)!.length;
  }
  return Buffer.concat([u32(CSMAGIC_EMBEDDED_SIGNATURE), u32(offset), u32(slots.length), ...index, ...slots.map((s) => blobs.get(s)!)]);
}

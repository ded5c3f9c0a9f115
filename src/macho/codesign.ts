/**
 * Embedded code signatures (what LC_CODE_SIGNATURE points at): the SuperBlob, its CodeDirectories, requirements,
 * entitlements and CMS blob; and the check that the CodeDirectory's hashes match the image they sign.
 *
 * Covers: CSMAGIC_EMBEDDED_SIGNATURE super-blobs (index of typed blobs, all big-endian whatever the image's byte
 * order), CodeDirectory versions up to 0x20600 (identifier, team ID ≥ 0x20200, flags, hash type/size, page size,
 * code limit incl. 64-bit, exec segment ≥ 0x20400, hardened-runtime version ≥ 0x20500), the cdhash (the CD's hash
 * truncated to 20 bytes), XML and DER entitlements, the requirements set (decompiled by macho-requirement.ts), and the
 * CMS blob (presence, size; summarised by macho-cms.ts). Every offset inside a blob is bounds-checked.
 * Does not cover: validating the CMS signature or the certificate chain (that takes Apple's roots and, for
 * notarization, Apple's servers), scatter vectors, detached signatures.
 *
 * Hand-written: there is no JavaScript reader of Apple's code-signature format on npm we could depend on; the layout
 * is that of xnu's public osfmk/kern/cs_blobs.h.
 */
import { createHash } from 'node:crypto';
import { ByteView, hex, type ReadContext } from './bytes.js';
import { summarizeCms, type CmsSummary } from './cms.js';
import {
  codeDirectoryFlagNames,
  CS_ADHOC,
  CS_CDHASH_LEN,
  CS_SUPPORTSCODELIMIT64,
  CS_SUPPORTSEXECSEG,
  CS_SUPPORTSRUNTIME,
  CS_SUPPORTSTEAMID,
  CSMAGIC_BLOBWRAPPER,
  CSMAGIC_CODEDIRECTORY,
  CSMAGIC_EMBEDDED_DER_ENTITLEMENTS,
  CSMAGIC_EMBEDDED_ENTITLEMENTS,
  CSMAGIC_EMBEDDED_SIGNATURE,
  CSMAGIC_REQUIREMENTS,
  CSSLOT_ALTERNATE_CODEDIRECTORIES,
  CSSLOT_CODEDIRECTORY,
  CSSLOT_DER_ENTITLEMENTS,
  CSSLOT_ENTITLEMENTS,
  CSSLOT_REQUIREMENTS,
  CSSLOT_SIGNATURESLOT,
  HASH_TYPES,
  REQUIREMENT_TYPES,
  slotName,
} from './constants.js';
import { decompileRequirement } from './requirement.js';

export interface SignatureBlob {
  slot: number;
  slotName: string;
  magic: number;
  /** Offset of the blob inside the super-blob. */
  offset: number;
  length: number;
}

export interface CodeDirectoryInfo {
  slot: number;
  version: number;
  flags: number;
  flagNames: string[];
  hashType: number;
  hashTypeName: string;
  hashSize: number;
  /** Page size in bytes; 0 means the whole image is one page. */
  pageSize: number;
  identifier: string;
  teamId?: string;
  nSpecialSlots: number;
  nCodeSlots: number;
  codeLimit: number;
  platform: number;
  execSeg?: { base: number; limit: number; flags: number };
  /** Hardened-runtime version (CodeDirectory ≥ 0x20500), packed like an SDK version. */
  runtimeVersion?: number;
  /** Hex cdhash: the CodeDirectory's hash with its own hash type, truncated to 20 bytes. */
  cdhash?: string;
  /** Offset and length of the CodeDirectory blob inside the super-blob, and of slot 0's hash inside it. */
  offset: number;
  length: number;
  hashOffset: number;
}

export interface RequirementInfo {
  type: number;
  typeName: string;
  /** Requirement language text, as `codesign -d -r-` would print it. */
  text: string;
}

export interface CodeSignatureInfo {
  /** Offset and size of the signature data inside the image (LC_CODE_SIGNATURE). */
  dataoff: number;
  datasize: number;
  /** Length the super-blob declares (≤ datasize; the rest is padding). */
  length: number;
  blobs: SignatureBlob[];
  /** The CodeDirectory in slot 0 (codesign's primary one). */
  codeDirectory?: CodeDirectoryInfo;
  alternateCodeDirectories: CodeDirectoryInfo[];
  requirements?: RequirementInfo[];
  /** XML entitlements plist text, when the signature carries one. */
  entitlements?: string;
  /** Size of the DER entitlements blob, when present. */
  derEntitlementsSize?: number;
  /**
   * The CMS blob: `size` is its payload length (0 = an empty placeholder, as ad-hoc signatures carry), `der` its bytes;
   * `digestMatches` says whether its signed message digest is that of the primary CodeDirectory (undefined when
   * either is missing or unreadable).
   */
  cms?: { size: number; summary?: CmsSummary; digestMatches?: boolean; der?: Uint8Array };
  /** true when the CodeDirectory says ad-hoc or there is no non-empty CMS blob. */
  adhoc: boolean;
}

/** Decode the signature bytes `sig` (exactly LC_CODE_SIGNATURE's dataoff..+datasize range). */
export function decodeCodeSignature(sig: Uint8Array, dataoff: number, ctx: ReadContext): CodeSignatureInfo {
  const v = new ByteView(sig, false, ctx, 'the code signature');
  const magic = v.u32(0, 'code signature magic');
  if (magic !== CSMAGIC_EMBEDDED_SIGNATURE) {
    v.fail(`code signature at ${hex(dataoff)} starts with ${hex(magic)}, expected the embedded-signature magic 0xfade0cc0`);
  }
  const length = v.u32(4, 'super-blob length');
  const count = v.u32(8, 'super-blob count');
  if (length < 12 + count * 8 || length > sig.length) {
    v.fail(`super-blob declares ${length} bytes and ${count} blobs, but the signature area holds ${sig.length} bytes`);
  }
  const info: CodeSignatureInfo = { dataoff, datasize: sig.length, length, blobs: [], alternateCodeDirectories: [], adhoc: false };
  const sb = new ByteView(sig.subarray(0, length), false, ctx, 'the code signature super-blob');
  for (let i = 0; i < count; i++) info.blobs.push(readIndexEntry(sb, i));
  for (const blob of info.blobs) decodeBlob(sb, blob, info, ctx);
  const md = info.cms?.summary?.messageDigest;
  const cd = info.codeDirectory;
  if (info.cms && md && cd) {
    info.cms.digestMatches = createHash(md.algorithm).update(sig.subarray(cd.offset, cd.offset + cd.length)).digest('hex') === md.hex;
  }
  const cdFlags = info.codeDirectory?.flags ?? 0;
  info.adhoc = (cdFlags & CS_ADHOC) !== 0 || !info.cms || info.cms.size === 0;
  return info;
}

function readIndexEntry(sb: ByteView, i: number): SignatureBlob {
  const slot = sb.u32(12 + i * 8, `blob index ${i} type`);
  const offset = sb.u32(16 + i * 8, `blob index ${i} offset`);
  const magic = sb.u32(offset, `${slotName(slot)} blob magic`);
  const length = sb.u32(offset + 4, `${slotName(slot)} blob length`);
  if (length < 8) sb.fail(`${slotName(slot)} blob at ${hex(offset)} has length ${length}, less than its 8-byte header`);
  sb.need(offset, length, `${slotName(slot)} blob`);
  return { slot, slotName: slotName(slot), magic, offset, length };
}

function expectMagic(sb: ByteView, blob: SignatureBlob, magic: number): void {
  if (blob.magic !== magic) sb.fail(`${blob.slotName} blob has magic ${hex(blob.magic)}, expected ${hex(magic)}`);
}

function decodeBlob(sb: ByteView, blob: SignatureBlob, info: CodeSignatureInfo, ctx: ReadContext): void {
  const body = new ByteView(sb.sub(blob.offset, blob.length, blob.slotName), false, ctx, `the ${blob.slotName} blob`);
  if (blob.slot === CSSLOT_CODEDIRECTORY || (blob.slot >= CSSLOT_ALTERNATE_CODEDIRECTORIES && blob.slot < CSSLOT_ALTERNATE_CODEDIRECTORIES + 5)) {
    expectMagic(sb, blob, CSMAGIC_CODEDIRECTORY);
    const cd = readCodeDirectory(body, blob);
    if (blob.slot === CSSLOT_CODEDIRECTORY) info.codeDirectory = cd;
    else info.alternateCodeDirectories.push(cd);
  } else if (blob.slot === CSSLOT_REQUIREMENTS) {
    expectMagic(sb, blob, CSMAGIC_REQUIREMENTS);
    info.requirements = readRequirements(body);
  } else if (blob.slot === CSSLOT_ENTITLEMENTS) {
    expectMagic(sb, blob, CSMAGIC_EMBEDDED_ENTITLEMENTS);
    info.entitlements = Buffer.from(body.sub(8, blob.length - 8, 'entitlements')).toString('utf8');
  } else if (blob.slot === CSSLOT_DER_ENTITLEMENTS) {
    expectMagic(sb, blob, CSMAGIC_EMBEDDED_DER_ENTITLEMENTS);
    info.derEntitlementsSize = blob.length - 8;
  } else if (blob.slot === CSSLOT_SIGNATURESLOT) {
    expectMagic(sb, blob, CSMAGIC_BLOBWRAPPER);
    const payload = body.sub(8, blob.length - 8, 'CMS signature');
    // `der`: a copy of the blob (a few KiB) for the signer trust check (src/sign/binary-trust.ts).
    info.cms = { size: payload.length, summary: payload.length ? summarizeCms(payload) : undefined, ...(payload.length ? { der: new Uint8Array(payload) } : {}) };
  }
}

function readCodeDirectory(v: ByteView, blob: SignatureBlob): CodeDirectoryInfo {
  const version = v.u32(8, 'CodeDirectory version');
  const hashType = v.u8(37, 'CodeDirectory hashType');
  const hashSize = v.u8(36, 'CodeDirectory hashSize');
  const pageLog = v.u8(39, 'CodeDirectory pageSize');
  if (pageLog > 30) v.fail(`CodeDirectory page size 2^${pageLog} is not plausible`);
  const cd: CodeDirectoryInfo = {
    slot: blob.slot,
    version,
    flags: v.u32(12, 'CodeDirectory flags'),
    flagNames: [],
    hashType,
    hashTypeName: HASH_TYPES[hashType]?.name ?? `hash type ${hashType}`,
    hashSize,
    pageSize: pageLog ? 2 ** pageLog : 0,
    identifier: v.cstr(v.u32(20, 'CodeDirectory identOffset'), v.length, 'CodeDirectory identifier'),
    nSpecialSlots: v.u32(24, 'CodeDirectory nSpecialSlots'),
    nCodeSlots: v.u32(28, 'CodeDirectory nCodeSlots'),
    codeLimit: v.u32(32, 'CodeDirectory codeLimit'),
    platform: v.u8(38, 'CodeDirectory platform'),
    hashOffset: v.u32(16, 'CodeDirectory hashOffset'),
    offset: blob.offset,
    length: blob.length,
  };
  cd.flagNames = codeDirectoryFlagNames(cd.flags);
  readVersionedFields(v, cd);
  const slotsStart = cd.hashOffset - cd.nSpecialSlots * hashSize;
  v.need(slotsStart, (cd.nSpecialSlots + cd.nCodeSlots) * hashSize, 'CodeDirectory hash slots');
  const algo = HASH_TYPES[hashType];
  if (algo) cd.cdhash = createHash(algo.algorithm).update(v.bytes).digest().subarray(0, CS_CDHASH_LEN).toString('hex');
  return cd;
}

/** Fields that exist only from some CodeDirectory version on. */
function readVersionedFields(v: ByteView, cd: CodeDirectoryInfo): void {
  if (cd.version >= CS_SUPPORTSTEAMID) {
    const teamOffset = v.u32(48, 'CodeDirectory teamOffset');
    if (teamOffset) cd.teamId = v.cstr(teamOffset, v.length, 'CodeDirectory team ID');
  }
  if (cd.version >= CS_SUPPORTSCODELIMIT64) {
    const limit64 = v.u64n(56, 'CodeDirectory codeLimit64');
    if (limit64) cd.codeLimit = limit64;
  }
  if (cd.version >= CS_SUPPORTSEXECSEG) {
    cd.execSeg = { base: v.u64n(64, 'execSegBase'), limit: v.u64n(72, 'execSegLimit'), flags: v.u64n(80, 'execSegFlags') };
  }
  if (cd.version >= CS_SUPPORTSRUNTIME) cd.runtimeVersion = v.u32(88, 'CodeDirectory runtime');
}

function readRequirements(v: ByteView): RequirementInfo[] {
  const count = v.u32(8, 'requirements count');
  if (12 + count * 8 > v.length) v.fail(`requirements set claims ${count} entries, more than its ${v.length} bytes hold`);
  const out: RequirementInfo[] = [];
  for (let i = 0; i < count; i++) {
    const type = v.u32(12 + i * 8, 'requirement type');
    const offset = v.u32(16 + i * 8, 'requirement offset');
    const length = v.u32(offset + 4, 'requirement length');
    const bytes = v.sub(offset, length, `requirement ${i}`);
    out.push({ type, typeName: REQUIREMENT_TYPES[type] ?? `type ${type}`, text: decompileRequirement(bytes) });
  }
  return out;
}

/** One hash in a CodeDirectory that does not match what it covers. */
export interface HashMismatch {
  /** "page 3" or "special slot 2 (Requirements)". */
  what: string;
  expected: string;
  actual: string;
}

/**
 * Recompute every code-page hash of `cd` over `image` (the thin image the signature belongs to) and every special
 * slot whose blob is present in `sig`; return the mismatches (empty = the signature covers exactly these bytes).
 */
export function verifyCodeDirectory(image: Uint8Array, sig: Uint8Array, info: CodeSignatureInfo, cd: CodeDirectoryInfo): HashMismatch[] {
  const algo = HASH_TYPES[cd.hashType];
  if (!algo) return [{ what: 'hash type', expected: 'a known hash type', actual: cd.hashTypeName }];
  const cdBytes = sig.subarray(cd.offset, cd.offset + cd.length);
  const slot = (i: number): string => Buffer.from(cdBytes.subarray(cd.hashOffset + i * cd.hashSize, cd.hashOffset + (i + 1) * cd.hashSize)).toString('hex');
  const digest = (b: Uint8Array): string => createHash(algo.algorithm).update(b).digest().subarray(0, cd.hashSize).toString('hex');
  const out: HashMismatch[] = [];
  const limit = Math.min(cd.codeLimit, image.length);
  const page = cd.pageSize || Math.max(limit, 1);
  const expectedSlots = Math.ceil(cd.codeLimit / page);
  if (cd.codeLimit > image.length || expectedSlots !== cd.nCodeSlots) {
    out.push({ what: 'code limit', expected: `${cd.nCodeSlots} pages within ${image.length} bytes`, actual: `codeLimit ${cd.codeLimit}` });
  }
  for (let i = 0; i < cd.nCodeSlots && i * page < limit; i++) {
    const actual = digest(image.subarray(i * page, Math.min(limit, (i + 1) * page)));
    if (actual !== slot(i)) out.push({ what: `page ${i}`, expected: slot(i), actual });
  }
  for (const blob of info.blobs) {
    if (blob.slot < 1 || blob.slot > cd.nSpecialSlots) continue;
    const actual = digest(sig.subarray(blob.offset, blob.offset + blob.length));
    if (actual !== slot(-blob.slot)) out.push({ what: `special slot ${blob.slot} (${blob.slotName})`, expected: slot(-blob.slot), actual });
  }
  return out;
}

/**
 * Numbers of the Mach-O and code-signing formats, and the names tools print for them.
 *
 * Covers: the magic numbers of <mach-o/loader.h> and <mach-o/fat.h>, CPU types/subtypes with the architecture names
 * lipo(1) and `file` print (arm64, arm64e, x86_64, x86_64h, i386, armv7 …), file types, load command names, header
 * flags, and the code-signing constants of xnu's cs_blobs.h (blob magics, slot numbers, CodeDirectory flags and hash
 * types). Does not cover: CPU types nobody ships for macOS any more beyond their bare names (m68k, hppa, sparc …).
 *
 * Values were read from Apple's public headers (loader.h, fat.h, machine.h, cs_blobs.h) and cctools' arch table;
 * the tables here are written for this project.
 */

export const FAT_MAGIC = 0xcafebabe;
export const FAT_MAGIC_64 = 0xcafebabf;
export const MH_MAGIC = 0xfeedface;
export const MH_CIGAM = 0xcefaedfe;
export const MH_MAGIC_64 = 0xfeedfacf;
export const MH_CIGAM_64 = 0xcffaedfe;

export const CPU_ARCH_ABI64 = 0x01000000;
export const CPU_ARCH_ABI64_32 = 0x02000000;
/** High byte of cpusubtype: capability bits (CPU_SUBTYPE_LIB64, arm64e's pointer-authentication ABI version). */
export const CPU_SUBTYPE_MASK = 0xff000000;

export const CPU_TYPE_X86 = 7;
export const CPU_TYPE_X86_64 = CPU_TYPE_X86 | CPU_ARCH_ABI64;
export const CPU_TYPE_ARM = 12;
export const CPU_TYPE_ARM64 = CPU_TYPE_ARM | CPU_ARCH_ABI64;
export const CPU_TYPE_ARM64_32 = CPU_TYPE_ARM | CPU_ARCH_ABI64_32;
export const CPU_TYPE_POWERPC = 18;
export const CPU_TYPE_POWERPC64 = CPU_TYPE_POWERPC | CPU_ARCH_ABI64;

/** [cputype, cpusubtype without capability bits, name] — the names lipo and `file` print. */
const ARCHES: readonly (readonly [number, number, string])[] = [
  [CPU_TYPE_ARM64, 0, 'arm64'],
  [CPU_TYPE_ARM64, 1, 'arm64v8'],
  [CPU_TYPE_ARM64, 2, 'arm64e'],
  [CPU_TYPE_X86_64, 3, 'x86_64'],
  [CPU_TYPE_X86_64, 8, 'x86_64h'],
  [CPU_TYPE_X86, 3, 'i386'],
  [CPU_TYPE_ARM64_32, 1, 'arm64_32'],
  [CPU_TYPE_ARM, 0, 'arm'],
  [CPU_TYPE_ARM, 5, 'armv4t'],
  [CPU_TYPE_ARM, 6, 'armv6'],
  [CPU_TYPE_ARM, 7, 'armv5'],
  [CPU_TYPE_ARM, 8, 'xscale'],
  [CPU_TYPE_ARM, 9, 'armv7'],
  [CPU_TYPE_ARM, 10, 'armv7f'],
  [CPU_TYPE_ARM, 11, 'armv7s'],
  [CPU_TYPE_ARM, 12, 'armv7k'],
  [CPU_TYPE_ARM, 13, 'armv8'],
  [CPU_TYPE_ARM, 14, 'armv6m'],
  [CPU_TYPE_ARM, 15, 'armv7m'],
  [CPU_TYPE_ARM, 16, 'armv7em'],
  [CPU_TYPE_POWERPC, 0, 'ppc'],
  [CPU_TYPE_POWERPC64, 0, 'ppc64'],
];

/** lipo's architecture name for a CPU type/subtype pair, or `cputype N subtype M` when it has none. */
export function archName(cputype: number, cpusubtype: number): string {
  const sub = (cpusubtype & ~CPU_SUBTYPE_MASK) >>> 0;
  const hit = ARCHES.find(([t, s]) => t === cputype && s === sub);
  return hit ? hit[2] : `cputype ${cputype} subtype ${sub}`;
}

/** The CPU type/subtype of a named architecture (as written by lipo), or undefined. */
export function archFromName(name: string): { cputype: number; cpusubtype: number } | undefined {
  const hit = ARCHES.find(([, , n]) => n === name);
  return hit ? { cputype: hit[0], cpusubtype: hit[1] } : undefined;
}

export const MH_OBJECT = 1;
export const MH_EXECUTE = 2;
export const MH_DYLIB = 6;
export const MH_BUNDLE = 8;

const FILE_TYPES: Record<number, string> = {
  1: 'object',
  2: 'executable',
  3: 'fixed VM shared library',
  4: 'core',
  5: 'preload executable',
  6: 'dynamically linked shared library',
  7: 'dynamic linker',
  8: 'bundle',
  9: 'shared library stub',
  10: 'dSYM companion',
  11: 'kext bundle',
  12: 'file set',
};
const FILE_TYPE_CONSTANTS: Record<number, string> = {
  1: 'MH_OBJECT', 2: 'MH_EXECUTE', 3: 'MH_FVMLIB', 4: 'MH_CORE', 5: 'MH_PRELOAD', 6: 'MH_DYLIB',
  7: 'MH_DYLINKER', 8: 'MH_BUNDLE', 9: 'MH_DYLIB_STUB', 10: 'MH_DSYM', 11: 'MH_KEXT_BUNDLE', 12: 'MH_FILESET',
};

/** `file`-style description of a Mach-O file type ("executable", "bundle" …). */
export function fileTypeDescription(filetype: number): string {
  return FILE_TYPES[filetype] ?? `file type ${filetype}`;
}
/** The loader.h constant of a file type (MH_EXECUTE …). */
export function fileTypeConstant(filetype: number): string {
  return FILE_TYPE_CONSTANTS[filetype] ?? `0x${filetype.toString(16)}`;
}

export const LC_REQ_DYLD = 0x80000000;
export const LC_SEGMENT = 0x1;
export const LC_SYMTAB = 0x2;
export const LC_UNIXTHREAD = 0x5;
export const LC_DYSYMTAB = 0xb;
export const LC_LOAD_DYLIB = 0xc;
export const LC_ID_DYLIB = 0xd;
export const LC_LOAD_DYLINKER = 0xe;
export const LC_LOAD_WEAK_DYLIB = (0x18 | LC_REQ_DYLD) >>> 0;
export const LC_SEGMENT_64 = 0x19;
export const LC_UUID = 0x1b;
export const LC_RPATH = (0x1c | LC_REQ_DYLD) >>> 0;
export const LC_CODE_SIGNATURE = 0x1d;
export const LC_REEXPORT_DYLIB = (0x1f | LC_REQ_DYLD) >>> 0;
export const LC_VERSION_MIN_MACOSX = 0x24;
export const LC_MAIN = (0x28 | LC_REQ_DYLD) >>> 0;
export const LC_SOURCE_VERSION = 0x2a;
export const LC_BUILD_VERSION = 0x32;

const LOAD_COMMANDS: Record<number, string> = {
  0x1: 'LC_SEGMENT', 0x2: 'LC_SYMTAB', 0x3: 'LC_SYMSEG', 0x4: 'LC_THREAD', 0x5: 'LC_UNIXTHREAD',
  0x6: 'LC_LOADFVMLIB', 0x7: 'LC_IDFVMLIB', 0x8: 'LC_IDENT', 0x9: 'LC_FVMFILE', 0xa: 'LC_PREPAGE',
  0xb: 'LC_DYSYMTAB', 0xc: 'LC_LOAD_DYLIB', 0xd: 'LC_ID_DYLIB', 0xe: 'LC_LOAD_DYLINKER', 0xf: 'LC_ID_DYLINKER',
  0x10: 'LC_PREBOUND_DYLIB', 0x11: 'LC_ROUTINES', 0x12: 'LC_SUB_FRAMEWORK', 0x13: 'LC_SUB_UMBRELLA',
  0x14: 'LC_SUB_CLIENT', 0x15: 'LC_SUB_LIBRARY', 0x16: 'LC_TWOLEVEL_HINTS', 0x17: 'LC_PREBIND_CKSUM',
  0x80000018: 'LC_LOAD_WEAK_DYLIB', 0x19: 'LC_SEGMENT_64', 0x1a: 'LC_ROUTINES_64', 0x1b: 'LC_UUID',
  0x8000001c: 'LC_RPATH', 0x1d: 'LC_CODE_SIGNATURE', 0x1e: 'LC_SEGMENT_SPLIT_INFO', 0x8000001f: 'LC_REEXPORT_DYLIB',
  0x20: 'LC_LAZY_LOAD_DYLIB', 0x21: 'LC_ENCRYPTION_INFO', 0x22: 'LC_DYLD_INFO', 0x80000022: 'LC_DYLD_INFO_ONLY',
  0x80000023: 'LC_LOAD_UPWARD_DYLIB', 0x24: 'LC_VERSION_MIN_MACOSX', 0x25: 'LC_VERSION_MIN_IPHONEOS',
  0x26: 'LC_FUNCTION_STARTS', 0x27: 'LC_DYLD_ENVIRONMENT', 0x80000028: 'LC_MAIN', 0x29: 'LC_DATA_IN_CODE',
  0x2a: 'LC_SOURCE_VERSION', 0x2b: 'LC_DYLIB_CODE_SIGN_DRS', 0x2c: 'LC_ENCRYPTION_INFO_64', 0x2d: 'LC_LINKER_OPTION',
  0x2e: 'LC_LINKER_OPTIMIZATION_HINT', 0x2f: 'LC_VERSION_MIN_TVOS', 0x30: 'LC_VERSION_MIN_WATCHOS', 0x31: 'LC_NOTE',
  0x32: 'LC_BUILD_VERSION', 0x80000033: 'LC_DYLD_EXPORTS_TRIE', 0x80000034: 'LC_DYLD_CHAINED_FIXUPS',
  0x80000035: 'LC_FILESET_ENTRY', 0x36: 'LC_ATOM_INFO', 0x37: 'LC_FUNCTION_VARIANTS',
  0x38: 'LC_FUNCTION_VARIANT_FIXUPS', 0x39: 'LC_TARGET_TRIPLE',
};

export function loadCommandName(cmd: number): string {
  return LOAD_COMMANDS[cmd] ?? `LC_0x${cmd.toString(16)}`;
}

/** mach_header flags, in bit order, named as `file` and otool print them (without the MH_ prefix). */
const HEADER_FLAGS: readonly string[] = [
  'NOUNDEFS', 'INCRLINK', 'DYLDLINK', 'BINDATLOAD', 'PREBOUND', 'SPLIT_SEGS', 'LAZY_INIT', 'TWOLEVEL',
  'FORCE_FLAT', 'NOMULTIDEFS', 'NOFIXPREBINDING', 'PREBINDABLE', 'ALLMODSBOUND', 'SUBSECTIONS_VIA_SYMBOLS',
  'CANONICAL', 'WEAK_DEFINES', 'BINDS_TO_WEAK', 'ALLOW_STACK_EXECUTION', 'ROOT_SAFE', 'SETUID_SAFE',
  'NO_REEXPORTED_DYLIBS', 'PIE', 'DEAD_STRIPPABLE_DYLIB', 'HAS_TLV_DESCRIPTORS', 'NO_HEAP_EXECUTION',
  'APP_EXTENSION_SAFE', 'NLIST_OUTOFSYNC_WITH_DYLDINFO', 'SIM_SUPPORT', '', '', '', 'DYLIB_IN_CACHE',
];
export const MH_NOUNDEFS = 0x1;
export const MH_DYLDLINK = 0x4;
export const MH_TWOLEVEL = 0x80;
export const MH_PIE = 0x200000;

/** Names of the set bits of `flags` per `table` (bit i ↔ table[i]); unnamed bits as hex. */
function bitNames(flags: number, table: readonly string[]): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    const mask = 2 ** bit;
    if (Math.floor(flags / mask) % 2 === 1) out.push(table[bit] || `0x${mask.toString(16)}`);
  }
  return out;
}

export function headerFlagNames(flags: number): string[] {
  return bitNames(flags >>> 0, HEADER_FLAGS);
}

export const PLATFORMS: Record<number, string> = {
  1: 'macos', 2: 'ios', 3: 'tvos', 4: 'watchos', 5: 'bridgeos', 6: 'maccatalyst', 7: 'iossimulator',
  8: 'tvossimulator', 9: 'watchossimulator', 10: 'driverkit', 11: 'visionos', 12: 'visionossimulator',
};
export const PLATFORM_MACOS = 1;

// ---- code signing (xnu osfmk/kern/cs_blobs.h) ----

export const CSMAGIC_REQUIREMENT = 0xfade0c00;
export const CSMAGIC_REQUIREMENTS = 0xfade0c01;
export const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
export const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
export const CSMAGIC_EMBEDDED_ENTITLEMENTS = 0xfade7171;
export const CSMAGIC_EMBEDDED_DER_ENTITLEMENTS = 0xfade7172;
export const CSMAGIC_BLOBWRAPPER = 0xfade0b01;

export const CSSLOT_CODEDIRECTORY = 0;
export const CSSLOT_INFOSLOT = 1;
export const CSSLOT_REQUIREMENTS = 2;
export const CSSLOT_RESOURCEDIR = 3;
export const CSSLOT_APPLICATION = 4;
export const CSSLOT_ENTITLEMENTS = 5;
export const CSSLOT_DER_ENTITLEMENTS = 7;
export const CSSLOT_ALTERNATE_CODEDIRECTORIES = 0x1000;
export const CSSLOT_SIGNATURESLOT = 0x10000;

const SLOT_NAMES: Record<number, string> = {
  0: 'CodeDirectory', 1: 'Info.plist', 2: 'Requirements', 3: 'ResourceDirectory', 4: 'Application',
  5: 'Entitlements', 7: 'DER entitlements', 8: 'Launch constraint (self)', 9: 'Launch constraint (parent)',
  10: 'Launch constraint (responsible)', 11: 'Library constraint', 0x10000: 'CMS signature',
  0x10001: 'Identification', 0x10002: 'Ticket',
};
export function slotName(slot: number): string {
  if (slot >= CSSLOT_ALTERNATE_CODEDIRECTORIES && slot < CSSLOT_ALTERNATE_CODEDIRECTORIES + 5) {
    return `Alternate CodeDirectory ${slot - CSSLOT_ALTERNATE_CODEDIRECTORIES}`;
  }
  return SLOT_NAMES[slot] ?? `slot 0x${slot.toString(16)}`;
}

export const CS_SUPPORTSSCATTER = 0x20100;
export const CS_SUPPORTSTEAMID = 0x20200;
export const CS_SUPPORTSCODELIMIT64 = 0x20300;
export const CS_SUPPORTSEXECSEG = 0x20400;
export const CS_SUPPORTSRUNTIME = 0x20500;

export const CS_ADHOC = 0x2;
export const CS_RUNTIME = 0x10000;
export const CS_LINKER_SIGNED = 0x20000;
export const CS_EXECSEG_MAIN_BINARY = 0x1;

/** CodeDirectory flag bits as codesign -dv prints them. */
const CD_FLAGS: readonly string[] = [
  'valid', 'adhoc', 'get-task-allow', 'installer', 'forced-lv', 'invalid-allowed', '', '', 'hard', 'kill',
  'expires', 'restrict', 'enforcement', 'library-validation', 'entitlements-validated', 'nvram-unrestricted',
  'runtime', 'linker-signed',
];
export function codeDirectoryFlagNames(flags: number): string[] {
  return bitNames(flags >>> 0, CD_FLAGS);
}

export const CS_HASHTYPE_SHA1 = 1;
export const CS_HASHTYPE_SHA256 = 2;
export const CS_HASHTYPE_SHA256_TRUNCATED = 3;
export const CS_HASHTYPE_SHA384 = 4;
export const CS_HASHTYPE_SHA512 = 5;

/** Hash types: codesign's name, the node:crypto algorithm, and the digest length stored in the slots. */
export const HASH_TYPES: Record<number, { name: string; algorithm: string; size: number }> = {
  1: { name: 'sha1', algorithm: 'sha1', size: 20 },
  2: { name: 'sha256', algorithm: 'sha256', size: 32 },
  3: { name: 'sha256-truncated', algorithm: 'sha256', size: 20 },
  4: { name: 'sha384', algorithm: 'sha384', size: 48 },
  5: { name: 'sha512', algorithm: 'sha512', size: 64 },
};
/** A cdhash is the CodeDirectory's hash truncated to this many bytes (CS_CDHASH_LEN). */
export const CS_CDHASH_LEN = 20;

/** Requirement types inside a requirements set (kSec…RequirementType). */
export const REQUIREMENT_TYPES: Record<number, string> = { 1: 'host', 2: 'guest', 3: 'designated', 4: 'library', 5: 'plugin' };
export const DESIGNATED_REQUIREMENT = 3;

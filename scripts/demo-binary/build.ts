/**
 * Builds the demo aiwatch binaries: tiny, valid, deterministic Mach-O executables signed like a Developer ID release
 * (identifier, team, hardened runtime, designated requirement) but with a DEMO CMS signature that no Mac trusts.
 * Variants (ad-hoc, linker-signed, unsigned, other identity, entitlements) exist for tests of the release check.
 * Erasable TypeScript: `node scripts/make-demo-binary.ts` runs it directly.
 */
import { createHash } from 'node:crypto';
// @ts-expect-error TS5097: node runs these scripts directly (type stripping), so imports name the .ts file.
import { layoutImage, type DemoArch, type ImageLayout } from './macho-image.ts';
import {
  blob,
  codeDirectory,
  CS_ADHOC,
  CS_EXECSEG_MAIN_BINARY,
  CS_LINKER_SIGNED,
  CS_RUNTIME,
  CSMAGIC_BLOBWRAPPER,
  CSMAGIC_EMBEDDED_ENTITLEMENTS,
  developerIdRequirement,
  requirementsSet,
  superBlob,
  // @ts-expect-error TS5097: see above.
} from './code-signature.ts';
// @ts-expect-error TS5097: see above.
import { demoCms, demoSigner, type DemoSigner } from './demo-cms.ts';

export type { DemoArch } from './macho-image.js';

export const DEMO_IDENTIFIER = 'com.runlayer.aiwatch';
export const DEMO_TEAM_ID = 'AF2M8HC7A2';
/** SDK 14.0, the hardened-runtime version codesign records for a binary built with that SDK. */
const RUNTIME_VERSION = 0x000e0000;

export interface DemoBinaryOptions {
  arch: DemoArch;
  /** Signing identifier; default com.runlayer.aiwatch. */
  identifier?: string;
  /** Team ID (CodeDirectory and the demo certificate's OU); default AF2M8HC7A2. Ignored for ad-hoc kinds. */
  teamId?: string;
  /**
   * `demo-cms` (default): CodeDirectory + designated requirement + DEMO CMS signature, like a Developer ID build.
   * `adhoc`: `codesign -s -` style (CS_ADHOC, empty requirements, empty CMS wrapper).
   * `linker-signed`: what ld64 leaves on arm64 (CS_ADHOC|CS_LINKER_SIGNED, CodeDirectory only).
   * `none`: no LC_CODE_SIGNATURE at all.
   */
  signature?: 'demo-cms' | 'adhoc' | 'linker-signed' | 'none';
  /** Hardened runtime flag (CS_RUNTIME); default true for demo-cms, false otherwise. */
  hardenedRuntime?: boolean;
  /** XML entitlements plist to embed (slot 5); default none. */
  entitlements?: string;
  /** OU of the demo certificate, when a test needs it to differ from the CodeDirectory's team; default teamId. */
  certificateTeamId?: string;
  /** Who makes the CMS signature (`demo-cms`); default the DEMO signer. Tests pass a throwaway Developer ID. */
  signer?: DemoSigner;
}

type Resolved = Required<Omit<DemoBinaryOptions, 'entitlements' | 'signer'>> & { entitlements?: string; signer?: DemoSigner };

function uuidFor(o: Resolved): Buffer {
  const h = createHash('sha256').update(`aiwatch demo binary ${o.arch} ${o.identifier} ${o.teamId} ${o.signature}`).digest().subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x40; // version 4 layout, so tools show a well-formed UUID
  h[8] = (h[8]! & 0x3f) | 0x80;
  return h;
}

/** The signature blobs for an image whose code (bytes before the signature) is `code`. */
function signatureFor(o: Resolved, image: ImageLayout): Buffer {
  const code = image.bytes.subarray(0, image.sigOffset);
  const kind = o.signature;
  const adhoc = kind !== 'demo-cms';
  const flags = (adhoc ? CS_ADHOC : 0) | (kind === 'linker-signed' ? CS_LINKER_SIGNED : 0) | (o.hardenedRuntime ? CS_RUNTIME : 0);
  const blobs = new Map<number, Buffer>();
  if (kind !== 'linker-signed') blobs.set(2, requirementsSet(adhoc ? undefined : developerIdRequirement(o.identifier, o.teamId)));
  if (o.entitlements !== undefined) blobs.set(5, blob(CSMAGIC_EMBEDDED_ENTITLEMENTS, Buffer.from(o.entitlements, 'utf8')));
  const cd = codeDirectory({
    identifier: o.identifier,
    teamId: adhoc ? undefined : o.teamId,
    flags,
    code,
    special: blobs,
    execSeg: { base: 0, limit: image.textFileSize, flags: CS_EXECSEG_MAIN_BINARY },
    runtimeVersion: o.hardenedRuntime ? RUNTIME_VERSION : 0,
  });
  const all = new Map(blobs);
  all.set(0, cd);
  if (kind === 'adhoc') all.set(0x10000, blob(CSMAGIC_BLOBWRAPPER, Buffer.alloc(0)));
  if (kind === 'demo-cms') {
    const cdhash = createHash('sha256').update(cd).digest().subarray(0, 20);
    all.set(0x10000, blob(CSMAGIC_BLOBWRAPPER, demoCms(cd, [cdhash], o.signer ?? demoSigner(o.certificateTeamId))));
  }
  return superBlob(all);
}

/** Build one demo binary. Same options → same bytes. */
export function buildDemoBinary(options: DemoBinaryOptions): Buffer {
  const signature = options.signature ?? 'demo-cms';
  const teamId = options.teamId ?? DEMO_TEAM_ID;
  const o: Resolved = {
    arch: options.arch,
    identifier: options.identifier ?? DEMO_IDENTIFIER,
    teamId,
    certificateTeamId: options.certificateTeamId ?? teamId,
    signature,
    hardenedRuntime: options.hardenedRuntime ?? signature === 'demo-cms',
    entitlements: options.entitlements,
    signer: options.signer,
  };
  const uuid = uuidFor(o);
  if (signature === 'none') return layoutImage(o.arch, 0, uuid).bytes;
  // Pass 1 measures the signature (its size does not depend on the hashes it holds); pass 2 builds it for real.
  const size = Math.ceil(signatureFor(o, layoutImage(o.arch, 16, uuid)).length / 16) * 16;
  const image = layoutImage(o.arch, size, uuid);
  const sig = signatureFor(o, image);
  if (sig.length > size) throw new Error(`demo signature grew from ${size} to ${sig.length} bytes between passes`);
  sig.copy(image.bytes, image.sigOffset);
  return image.bytes;
}

/** The committed fixtures: file name under fixtures/demo/ → bytes. */
export function demoFixtures(): Map<string, Buffer> {
  return new Map([
    ['aiwatch-arm64', buildDemoBinary({ arch: 'arm64' })],
    ['aiwatch-x86_64', buildDemoBinary({ arch: 'x86_64' })],
  ]);
}

/**
 * The release a rollout publishes, read from a release zip made by `aiwatch-deploy build` (issue 11) into a
 * {@link ReleaseContent}: version, the pkg (name, size, SHA-256/512, MD5 and a fresh stream of its bytes per call),
 * the two unsigned profiles, and trust facts. Everything is checked before any target is contacted:
 *
 *  1. the zip is verified as `verify` does (src/verify/zip.ts: manifest, SHA256SUMS, the pkg, the profiles, the
 *     cross-artifact rules). A problem there means the release is damaged or not ours: InputFileError (exit 3),
 *     listing every problem. The one kind kept as a trust fact instead is a PPPC CodeRequirement that does not match
 *     the binary — the driver reports it as `blocked`, as the issue asks;
 *  2. the pkg must be stored in the zip (as `build` writes it): it is then read in place, a window of the zip, and
 *     streamed from there on every `read()` — bounded memory whatever its size. A re-packed zip that deflated the pkg
 *     is refused (say so, rather than inflate a copy to disk behind the user's back);
 *  3. trust facts, from our readers (src/pkg/xar-reader.ts, read/signature.ts) and from the manifest where step 1
 *     has proven it true (verify refuses a manifest whose developmentBuild, binary identity or signature kind, or
 *     pkg signed/stapled state differs from what the pkg holds) — so the payload is not read a second time:
 *     - developerIdSigned: the pkg carries a signature that verifies and chains to Apple's Developer ID Installer CA,
 *       and the agent binary is signed by an Apple Developer ID Application (not a development build);
 *     - notarizedStapled: the manifest says notarized and the pkg carries a stapled ticket (the ticket's match to
 *       Apple's records cannot be checked offline);
 *     - pppcMatchesBinary: every path rule of the PPPC profile for the agent names the install path, and its
 *       CodeRequirement pins the identifier and team the binary is signed with. Whether its `anchor apple generic`
 *       holds on a Mac is the Developer ID fact above (a test server accepts a release without it, not a pin mismatch).
 */
import { createHash } from 'node:crypto';
import type { DeploymentSpec } from '../config/spec-types.js';
import { InputFileError } from '../errors.js';
import { readPlist, dictGet, dictString, type PNode } from '../formats/plist-read.js';
import { readZip, type ZipReadEntry } from '../formats/zip.js';
import { checkInputFile } from '../io/fs.js';
import type { BinaryIdentitySummary, ReleaseManifest } from '../release/release-docs.js';
import { openXar } from '../pkg/xar-reader.js';
import { analyzeXarSignature } from '../read/signature.js';
import { requirementPins } from '../verify/cross.js';
import { verifyReleaseZip } from '../verify/zip.js';
import type { ReleaseContent } from './model.js';

/** Entries read into memory: the manifest and the profiles (a release's are a few KiB). */
const SMALL_ENTRY_MAX = 1 << 20;

export interface ReleaseLoadOptions {
  spec: DeploymentSpec;
  env: NodeJS.ProcessEnv;
  /** How messages name the zip (default: its path). */
  shown?: string;
  /** What verify says that is not a problem (development build, unsigned pkg …). */
  note?: (message: string) => void;
  signal?: AbortSignal;
}

/** Read, verify and describe the release zip at `zip` (see the module comment). */
export async function loadRelease(zip: string, o: ReleaseLoadOptions): Promise<ReleaseContent> {
  const shown = o.shown ?? zip;
  await checkInputFile(zip, 'release zip');
  const verifyProblems = await verifyReleaseZip(zip, { spec: o.spec, env: o.env, note: o.note ?? (() => undefined), signal: o.signal });
  const isTrust = (where: string): boolean => where.endsWith('.CodeRequirement');
  const damage = verifyProblems.filter((p) => !isTrust(p.where));
  if (damage.length > 0) {
    const lines = damage.map((p) => `  ${p.where.startsWith(zip) ? shown + p.where.slice(zip.length) : p.where}: ${p.message}`);
    throw new InputFileError(shown, `not a sound release zip (aiwatch-deploy verify says the same):\n${lines.join('\n')}`);
  }
  const { manifest, entries } = await readEntries(zip, shown);
  const pkgFile = manifest.files.find((f) => f.role === 'pkg')!;
  const pkgEntry = entries.find((e) => e.name === pkgFile.name);
  const source = pkgEntry?.source;
  if (!pkgEntry || !source) {
    throw new InputFileError(shown, `${pkgFile.name} is compressed in the zip: a release zip from \`aiwatch-deploy build\` stores it as is (it is then read in place); use the zip as built, not a re-packed one`);
  }
  const profile = (role: string): Buffer => {
    const f = manifest.files.find((x) => x.role === role);
    const e = f && entries.find((x) => x.name === f.name);
    if (!e?.data) throw new InputFileError(shown, `the release has no ${role} (manifest.json files[] role "${role}")`);
    return e.data;
  };
  const text = (role: string): string | undefined => {
    const f = manifest.files.find((x) => x.role === role);
    const e = f && entries.find((x) => x.name === f.name);
    return e?.data ? e.data.toString('utf8') : undefined;
  };
  const pppc = profile('pppc-profile');
  const loginItems = profile('login-items-profile');
  const hashes = await hashStream(source.stream(0, source.size));
  if (hashes.sha256 !== pkgFile.sha256) throw new InputFileError(shown, `${pkgFile.name} hashes to ${hashes.sha256}, the manifest says ${pkgFile.sha256} (changed while being read?)`);
  const trust = await trustFacts(shown, pkgFile.name, source, manifest, pppc);
  for (const p of verifyProblems.filter((x) => isTrust(x.where))) {
    trust.problems.push(`${p.where.startsWith(zip) ? shown + p.where.slice(zip.length) : p.where}: ${p.message}`);
    trust.pppcMatchesBinary = false;
  }
  return {
    version: manifest.version,
    spec: o.spec,
    pkg: {
      fileName: pkgFile.name,
      size: source.size,
      ...hashes,
      read: () => source.stream(0, source.size),
    },
    profiles: { pppc: new Uint8Array(pppc), loginItems: new Uint8Array(loginItems) },
    healthScripts: { jamfExtensionAttribute: text('jamf-extension-attribute'), intuneAttribute: text('intune-attribute') },
    trust,
  };
}

async function readEntries(zip: string, shown: string): Promise<{ manifest: ReleaseManifest; entries: ZipReadEntry[] }> {
  let entries: ZipReadEntry[];
  try {
    entries = await readZip(zip, {
      take: (e) => (e.name.endsWith('.pkg') ? { window: true, otherwise: 'skip' } : e.size <= SMALL_ENTRY_MAX && !e.name.endsWith('/') ? 'memory' : 'skip'),
    });
  } catch (e) {
    throw new InputFileError(shown, `not a readable zip archive (${(e as Error).message})`, { cause: e });
  }
  const m = entries.find((e) => e.name === 'manifest.json')?.data;
  // verify has checked the manifest's shape and that it lists exactly one pkg.
  const manifest = JSON.parse(m!.toString('utf8')) as ReleaseManifest;
  return { manifest, entries };
}

/** SHA-256, SHA-512 and MD5 of a stream in one pass (Jamf's package record takes SHA-512 or MD5). */
export async function hashStream(chunks: AsyncIterable<Uint8Array>): Promise<{ sha256: string; sha512: string; md5: string }> {
  const h = { sha256: createHash('sha256'), sha512: createHash('sha512'), md5: createHash('md5') };
  for await (const c of chunks) for (const x of Object.values(h)) x.update(c);
  return { sha256: h.sha256.digest('hex'), sha512: h.sha512.digest('hex'), md5: h.md5.digest('hex') };
}

async function trustFacts(
  shown: string,
  pkgName: string,
  source: NonNullable<ZipReadEntry['source']>,
  manifest: ReleaseManifest,
  pppc: Buffer,
): Promise<ReleaseContent['trust']> {
  const problems: string[] = [];
  // The TOC and signature only (no payload): what the binary is has been read by verify, which refuses a manifest
  // that does not tell the truth about it (developmentBuild, binary identity and signature kind, pkg signed/stapled).
  const archive = await openXar({ name: `${shown}:${pkgName}`, source });
  const sig = await analyzeXarSignature(archive);
  const pkgDevId = sig.signed && sig.chainsToApple && sig.developerIdInstaller && sig.problems.length === 0;
  if (!pkgDevId) problems.push(`${pkgName} is ${sig.signed ? `signed, but not by a valid Apple Developer ID Installer (${sig.status})` : 'not signed'}`);
  const bin = manifest.binary;
  const binDevId = manifest.developmentBuild !== true;
  if (!binDevId) problems.push(`the agent binary ${manifest.installPath} is ${bin.signature === 'signed' ? `signed by "${bin.signer ?? 'unknown'}", ` : `${bin.signature}, `}not by an Apple Developer ID (a development build)`);
  const stapled = archive.staples.length > 0;
  const notarizedStapled = manifest.pkg?.notarized === true && stapled;
  if (!notarizedStapled) problems.push(`${pkgName} is ${manifest.pkg?.notarized === true ? 'notarized but has no stapled ticket' : 'not notarized and stapled'}`);
  const pppcProblems = pppcPinProblems(pppc, manifest.installPath, bin);
  problems.push(...pppcProblems);
  return { developerIdSigned: pkgDevId && binDevId, notarizedStapled, pppcMatchesBinary: pppcProblems.length === 0, problems };
}

/** The PPPC path rules for the agent: each must pin the identifier and team the binary is signed with. */
function pppcPinProblems(pppc: Buffer, installPath: string, id: BinaryIdentitySummary): string[] {
  if (id.signature !== 'signed') return [`the agent binary ${installPath} is ${id.signature}: no PPPC CodeRequirement can match it`];
  let root: PNode | undefined;
  try {
    root = readPlist(pppc, 'pppc-profile').root;
  } catch {
    return ['the PPPC profile cannot be read as a property list'];
  }
  const out: string[] = [];
  let rules = 0;
  const content = dictGet(root, 'PayloadContent');
  for (const p of content?.type === 'array' ? content.items : []) {
    const services = dictGet(p, 'Services');
    for (const [svc, list] of services?.type === 'dict' ? services.entries : []) {
      for (const item of list.type === 'array' ? list.items : []) {
        if (dictString(item, 'IdentifierType') !== 'path' || dictString(item, 'Identifier') !== installPath) continue;
        rules++;
        const pins = requirementPins(dictString(item, 'CodeRequirement') ?? '');
        if (pins.identifier !== id.identifier || pins.team !== id.teamId) {
          out.push(`PPPC ${svc}: the CodeRequirement pins identifier "${pins.identifier ?? '(none)'}" team ${pins.team ?? '(none)'}, the agent binary is signed as "${id.identifier ?? '(none)'}" team ${id.teamId ?? '(none)'}`);
        }
      }
    }
  }
  if (rules === 0) out.push(`the PPPC profile has no rule for the agent binary ${installPath}`);
  return out;
}

/**
 * What the cross-artifact rules of a release zip work on and return: the artifacts read from the zip, the facts of
 * what the package installs, the problems and notes. Types only; cross.ts, cross-scripts.ts and cross-trust.ts all
 * import them from here, so the rule files do not import each other in a loop.
 */
import type { Problem } from '../errors.js';
import type { ReleaseManifest } from '../release/release-docs.js';
import type { PNode } from '../formats/plist-read.js';
import type { PkgContents, PayloadProgram } from '../read/pkg-read.js';
import type { XarSignatureReport } from '../read/signature.js';

export interface ReleaseArtifacts {
  /** How the zip is named in problems. */
  zip: string;
  manifest?: ReleaseManifest;
  pkg?: { name: string; contents: PkgContents; signature?: XarSignatureReport };
  pppc?: { name: string; root: PNode };
  loginItems?: { name: string; root: PNode };
  uninstall?: { name: string; text: string };
  cleanup?: { name: string; text: string };
  /** The macOS doctor and its inventory scripts (roles doctor-script, jamf-extension-attribute, intune-attribute). */
  doctor?: Array<{ name: string; text: string }>;
}

export interface CrossResult {
  problems: Problem[];
  notes: string[];
}

/** What the package installs, as the other artifacts refer to it (absolute paths, labels). */
export interface InstalledFacts {
  /** Absolute paths of payload files (not directories). */
  files: string[];
  /** Absolute paths of payload directories (no `/`). */
  dirs: string[];
  /** Program path (absolute) → the payload program. */
  programs: Map<string, PayloadProgram>;
  /** launchd jobs: label, absolute plist path, where to report. */
  labels: Array<{ label: string; plistPath: string; daemon: boolean; where: string }>;
  packageIdentifier?: string;
  version?: string;
}

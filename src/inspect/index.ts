/**
 * `inspect FILE`: tells the kind of file from its first bytes (the detection table of src/read/kinds.ts, shared
 * with verify) — a flat package (xar), a zip (release zip, or a
 * `.intunewin` when its first entry is under IntuneWinPackage/), a Mach-O binary, or a configuration profile (XML
 * plist or CMS) — or from its name (`.ps1`, `.intunewin`), and returns both the text and the JSON description.
 */
import { InputFileError } from '../errors.js';
import { checkInputFile } from '../io/fs.js';
import { readInputFileWithin } from '../formats/limits.js';
import { detectKind, readHead, type FileKind } from '../read/kinds.js';
import { jsonSafe } from './format.js';
import { inspectBinary } from './macho.js';
import { inspectPkg } from './pkg.js';
import { formatPkgReport } from './pkg-text.js';
import { formatProfileReport, inspectProfileBytes } from './profile.js';
import { formatIntuneWinReport, formatPs1Report, inspectIntuneWin, inspectPs1 } from './windows.js';
import { formatZipReport, inspectZip } from './zip.js';

export type InspectKind = 'pkg' | 'zip' | 'intunewin' | 'macho' | 'profile' | 'ps1';

export interface InspectOptions {
  /** How the file is named in the output (default: its path). */
  name?: string;
  /** Show package scripts in full. */
  scripts?: boolean;
  /** Preference keys whose values are secrets (masked). */
  secretKeys?: readonly string[];
}

export interface Inspection {
  kind: InspectKind;
  text: string;
  json: unknown;
}

/** The kinds of src/read/kinds.ts that inspect describes, and what it calls them. */
const INSPECT_KINDS = { 'powershell-script': 'ps1', pkg: 'pkg', intunewin: 'intunewin', zip: 'zip', macho: 'macho', profile: 'profile' } as const satisfies Partial<Record<FileKind, InspectKind>>;

/** The kind of file `inspect` sees in these first bytes (and, for scripts, this name), or undefined. */
export function detectInspectKind(first: Uint8Array, file = ''): InspectKind | undefined {
  const kind = detectKind(first, file, Object.keys(INSPECT_KINDS) as Array<keyof typeof INSPECT_KINDS>);
  return kind && INSPECT_KINDS[kind];
}

/** Describe `file`. InputFileError (exit 3) when it is missing or of a kind inspect does not know. */
export async function inspectFile(file: string, opts: InspectOptions = {}): Promise<Inspection> {
  await checkInputFile(file, 'inspect');
  const name = opts.name ?? file;
  const kind = detectInspectKind(await readHead(file), file);
  switch (kind) {
    case 'pkg': {
      const r = await inspectPkg(file, { name, scripts: opts.scripts });
      return { kind, text: formatPkgReport(r), json: jsonSafe(r) };
    }
    case 'zip': {
      const r = await inspectZip(file, { name, scripts: opts.scripts, secretKeys: opts.secretKeys });
      return { kind, text: formatZipReport(r), json: jsonSafe(r) };
    }
    case 'intunewin': {
      const r = await inspectIntuneWin(file, name);
      return { kind, text: formatIntuneWinReport(r), json: jsonSafe(r) };
    }
    case 'ps1': {
      const r = await inspectPs1(file, name);
      return { kind, text: formatPs1Report(r), json: jsonSafe(r) };
    }
    case 'macho': {
      const r = await inspectBinary(file, name);
      return { kind, text: r.text, json: r.json };
    }
    case 'profile': {
      const r = await inspectProfileBytes(await readInputFileWithin(file, 'inspect', 'plist.bytes'), { name, secretKeys: opts.secretKeys });
      return { kind, text: formatProfileReport(r), json: jsonSafe(r) };
    }
    default:
      throw new InputFileError(file, 'inspect: not a kind of file inspect knows (expected a .pkg, a release .zip, a Mach-O binary, a configuration profile, a .ps1 script or a .intunewin)');
  }
}

/**
 * `inspect FILE`: tells the kind of file from its first bytes — a flat package (xar), a zip (release zip, or a
 * `.intunewin` when its first entry is under IntuneWinPackage/), a Mach-O binary, or a configuration profile (XML
 * plist or CMS) — or from its name (`.ps1`, `.intunewin`), and returns both the text and the JSON description.
 */
import { open } from 'node:fs/promises';
import { InputFileError } from '../errors.js';
import { checkInputFile } from '../io/fs.js';
import { readInputFileWithin } from '../formats/limits.js';
import { describeNonMachO } from '../macho/binary-check.js';
import { profileEncoding } from '../sign/profile-sign.js';
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

async function head(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(64);
    const { bytesRead } = await fh.read(buf, 0, 64, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** The kind of file `inspect` sees in these first bytes (and, for scripts, this name), or undefined. */
export function detectInspectKind(first: Uint8Array, file = ''): InspectKind | undefined {
  const b = Buffer.from(first);
  if (/\.ps1$/i.test(file)) return 'ps1';
  if (/\.intunewin$/i.test(file)) return 'intunewin';
  if (b.toString('latin1', 0, 4) === 'xar!') return 'pkg';
  if (b.toString('latin1', 0, 4) === 'PK\x03\x04') return b.toString('latin1', 30, 47) === 'IntuneWinPackage/' ? 'intunewin' : 'zip';
  if (b.length > 0 && describeNonMachO(b) === undefined) return 'macho';
  const enc = profileEncoding(b);
  return enc === 'xml' || enc === 'cms' ? 'profile' : undefined;
}

/** Describe `file`. InputFileError (exit 3) when it is missing or of a kind inspect does not know. */
export async function inspectFile(file: string, opts: InspectOptions = {}): Promise<Inspection> {
  await checkInputFile(file, 'inspect');
  const name = opts.name ?? file;
  const kind = detectInspectKind(await head(file), file);
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

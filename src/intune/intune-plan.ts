/**
 * The plan of `aiwatch-deploy intune`: the files to write (name, bytes, mode) for the scripts, optionally signed,
 * and optionally the `.intunewin` built from them, plus a printable summary that never holds a secret. Writing the
 * plan is the caller's job (src/io); signing is injected (src/sign/authenticode.ts).
 */
import { createHash } from 'node:crypto';
import { buildWindowsDoctorScripts } from '../doctor/doctor-windows.js';
import { buildIntuneScripts, WIN32_APP, withProvisioning, type IntuneFile, type IntuneInput, type ScriptSigner } from './intune.js';
import { buildIntuneWin, type IntuneWinKeys, type IntuneWinPackage } from './intunewin.js';

export interface IntuneArtifact {
  name: string;
  bytes: Uint8Array;
  /** 0o600 when it holds a key (a script, or the package that carries them), else 0o644. */
  mode: number;
  holdsSecret: boolean;
  purpose: string;
}

export interface IntunePlanOptions {
  /** Authenticode signer; unsigned when absent. */
  signer?: ScriptSigner;
  /** Also build the Win32 app package. */
  intunewin?: boolean;
  /** Time stamp of the package's zip entries (SOURCE_DATE_EPOCH). */
  mtime?: Date;
  /** Package keys; random when absent. */
  keys?: IntuneWinKeys;
}

export interface IntunePlan {
  scripts: IntuneFile[];
  artifacts: IntuneArtifact[];
  intunewin?: IntuneWinPackage;
  signed: boolean;
}

function artifact(f: IntuneFile): IntuneArtifact {
  return { name: f.name, bytes: Buffer.from(f.text, 'ascii'), mode: f.holdsSecret ? 0o600 : 0o644, holdsSecret: f.holdsSecret, purpose: f.purpose };
}

/**
 * The install scripts, then the doctor scripts (src/doctor/doctor-windows.ts: Test-Aiwatch.ps1 and the health
 * Remediation pair), all signed alike; the Win32 app package holds the install scripts only.
 */
export async function planIntune(input: IntuneInput, opts: IntunePlanOptions = {}): Promise<IntunePlan> {
  const install = await buildIntuneScripts(input, opts.signer);
  const doctor = await buildWindowsDoctorScripts(input, opts.signer);
  const scripts = [...install, ...doctor];
  const artifacts = scripts.map(artifact);
  let intunewin: IntuneWinPackage | undefined;
  if (opts.intunewin) {
    intunewin = await buildIntuneWin({
      files: install.map(artifact).map((a) => ({ name: a.name, data: a.bytes })),
      setupFile: WIN32_APP.setupFile,
      mtime: opts.mtime,
      keys: opts.keys,
    });
    artifacts.push({
      name: intunewin.fileName,
      bytes: intunewin.bytes,
      mode: 0o600,
      holdsSecret: true,
      purpose: 'Win32 app package (encrypted, but its key is inside it: treat it like the scripts)',
    });
  }
  return { scripts, artifacts, intunewin, signed: opts.signer !== undefined };
}

/** What `--json` prints: names, sizes, modes, purposes; the SHA-256 only of files without a secret. */
export function planSummary(plan: IntunePlan, input: IntuneInput): Record<string, unknown> {
  return {
    files: plan.artifacts.map((a) => ({
      name: a.name,
      bytes: a.bytes.length,
      mode: `0${a.mode.toString(8)}`,
      holdsSecret: a.holdsSecret,
      purpose: a.purpose,
      sha256: a.holdsSecret ? undefined : createHash('sha256').update(a.bytes).digest('hex'),
    })),
    signed: plan.signed,
    tenant: {
      host: input.tenant.Host,
      enforcement: input.tenant.Enforcement,
      sessions: input.tenant.Sessions,
      provisioning: withProvisioning(input.tenant),
      caBundle: input.options?.caBundlePem !== undefined,
    },
    win32App: plan.intunewin
      ? {
          file: plan.intunewin.fileName,
          setupFile: WIN32_APP.setupFile,
          installCommand: WIN32_APP.installCommand,
          uninstallCommand: WIN32_APP.uninstallCommand,
          detection: WIN32_APP.detection,
          returnCodes: WIN32_APP.returnCodes,
        }
      : undefined,
  };
}

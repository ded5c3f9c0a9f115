/**
 * Authenticode signatures for the Intune PowerShell scripts, made with osslsigncode (src/tools/osslsigncode.ts)
 * from a PKCS#12 (.pfx) file, and verified right after signing.
 *
 * Before anything runs, the PFX is opened here (src/sign/pkcs12.ts) so that a wrong password, a missing key, a
 * certificate without the Code Signing EKU or an expired one is reported as such, not as a tool failure. The
 * password reaches osslsigncode on its stdin, never a file or argv. Each script and its signed copy (they hold the
 * keys) live in a private 0700 folder (`aiwatch-deploy-authenticode-<pid>-…`, swept by the next run if we are
 * killed), 0600, and only while osslsigncode needs them.
 *
 * The check after signing runs `osslsigncode verify` against trust anchors: `caFile` when given, else the PFX's
 * own certificates plus the system roots (/etc/ssl/certs/ca-certificates.crt when present). It proves the
 * signature covers the script and chains to a known certificate; whether Windows trusts the publisher is decided
 * on the device (Trusted Publishers store), which no check here can stand in for.
 * Not covered: timestamp validation (`-ts` is passed through), catalog signing, other script types.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { InputFileError, ToolError } from '../errors.js';
import { readInputFile, readInputText, removeFile, withTempDir, writeFileAtomic } from '../io/fs.js';
import { Secret } from '../secret.js';
import { osslsigncodeSign, osslsigncodeVerify, osslsigncodeVersion } from '../tools/osslsigncode.js';
import { certificatePem, extendedKeyUsages, parseCertificate, summarize, validityProblem, type Certificate, type CertificateSummary } from './certificate.js';
import { OID } from './oids.js';
import { decodePkcs12 } from './pkcs12.js';
import { timestampCauseOf } from './timestamp.js';

export const SYSTEM_CA_FILE = '/etc/ssl/certs/ca-certificates.crt';

/** A script to sign: its file name and text. Any other fields (Intune's purpose, holdsSecret) pass through unchanged. */
export interface SignableScript {
  name: string;
  text: string;
}

/** Signs scripts and returns them signed, same names, order and other fields. */
export type ScriptSigner = <T extends SignableScript>(files: T[]) => Promise<T[]>;

export interface AuthenticodeOptions {
  /** The .pfx / .p12 file (`--sign-pfx`). */
  pfxFile: string;
  /** Its password; undefined for a PFX without one. */
  password?: Secret;
  /** PEM trust anchors for the check after signing (`--sign-ca-file`). Default: the PFX's certificates + system roots. */
  caFile?: string;
  /** RFC 3161 timestamp server; needs network. Default: none. */
  timestampUrl?: string;
  /** Signed description, e.g. the product title. */
  description?: string;
  /** The signing certificate's validity is checked at this time. Default: now. */
  now?: Date;
  signal?: AbortSignal;
}

export interface SigningPfx {
  signer: CertificateSummary;
  /** Every certificate in the PFX, as PEM. */
  certificatesPem: string;
}

function publicDer(key: KeyObject): string {
  const pub = key.type === 'public' ? key : createPublicKey(key);
  return pub.export({ type: 'spki', format: 'der' }).toString('base64');
}

/** Open the PFX and check it can sign code now: one key, its certificate, Code Signing EKU, validity. */
export async function checkSigningPfx(opts: AuthenticodeOptions): Promise<SigningPfx> {
  const what = '--sign-pfx';
  const bytes = await readInputFile(opts.pfxFile, what);
  const password = opts.password ?? new Secret('', 'no password');
  const contents = decodePkcs12(bytes, password, opts.pfxFile);
  if (contents.keys.length !== 1) {
    throw new InputFileError(opts.pfxFile, `${what}: expected one private key, found ${contents.keys.length}`);
  }
  const keyId = publicDer(contents.keys[0]!);
  const certs: Certificate[] = contents.certificates.map((d) => parseCertificate(d));
  const leaf = certs.find((c) => publicDer(c.node.publicKey) === keyId);
  if (!leaf) throw new InputFileError(opts.pfxFile, `${what}: no certificate in it matches its private key`);
  const problems: string[] = [];
  const ekus = extendedKeyUsages(leaf);
  if (!ekus.includes(OID.ekuCodeSigning)) {
    problems.push(`${what}: certificate "${summarize(leaf).commonName}" lacks the Code Signing extended key usage (${OID.ekuCodeSigning}); it has ${ekus.length > 0 ? ekus.join(', ') : 'none'}`);
  }
  const validity = validityProblem(leaf, opts.now ?? new Date());
  if (validity) problems.push(`${what}: certificate "${summarize(leaf).commonName}" ${validity}`);
  // The PFX is the wrong kind of file for signing code (README "Exit codes": certificate problems are exit 3).
  if (problems.length > 0) throw new InputFileError(opts.pfxFile, problems.join('; '));
  return { signer: summarize(leaf), certificatesPem: certs.map((c) => certificatePem(c.der)).join('') };
}

async function trustAnchors(opts: AuthenticodeOptions, pfx: SigningPfx): Promise<string> {
  if (opts.caFile) return readInputText(opts.caFile, '--sign-ca-file');
  const system = existsSync(SYSTEM_CA_FILE) ? await readInputText(SYSTEM_CA_FILE, 'system CA bundle') : '';
  return `${pfx.certificatesPem}${system}`;
}

/** Sign one script: its text and signed copy (both hold keys) exist on disk only while osslsigncode needs them. */
async function signOne<T extends SignableScript>(dir: string, file: T, opts: AuthenticodeOptions, caFile: string): Promise<T> {
  const input = path.join(dir, `in-${file.name}`);
  const output = path.join(dir, file.name);
  const secrets = opts.password ? [opts.password] : [];
  await writeFileAtomic(input, file.text, { mode: 0o600 });
  try {
    await osslsigncodeSign(
      { input, output, pkcs12: opts.pfxFile, password: opts.password, description: opts.description, timestampUrl: opts.timestampUrl },
      { secrets, signal: opts.signal },
    );
  } catch (e) {
    // A failure with a time-stamp server that is unreachable (exit 5) or refusing (exit 6) is reported as that.
    throw await timestampCauseOf(e, opts.timestampUrl, { signal: opts.signal });
  } finally {
    await removeFile(input);
  }
  try {
    const check = await osslsigncodeVerify(output, caFile, { secrets, signal: opts.signal });
    if (!check.ok) {
      const hint = opts.caFile ? '' : ' (if the chain ends at a private root, give it with --sign-ca-file)';
      throw new ToolError('osslsigncode', `verify failed for ${file.name} right after signing${hint}`, check.output.trim().split('\n').slice(-12).join('\n'));
    }
    const text = (await readInputFile(output, 'signed script')).toString('latin1');
    return { ...file, text };
  } finally {
    await removeFile(output);
  }
}

/**
 * A {@link ScriptSigner} that signs with osslsigncode and verifies each result. The PFX is checked once, on first
 * use; the temporary folder (trust anchors, the script being signed) is removed after each batch.
 */
export function authenticodeSigner(opts: AuthenticodeOptions): ScriptSigner & { pfx: () => Promise<SigningPfx> } {
  let checked: Promise<SigningPfx> | undefined;
  const pfx = (): Promise<SigningPfx> => (checked ??= checkSigningPfx(opts));
  const signer = async <T extends SignableScript>(files: T[]): Promise<T[]> => {
    const info = await pfx();
    await osslsigncodeVersion({ signal: opts.signal });
    return withTempDir('authenticode', async (dir) => {
      const caFile = path.join(dir, 'trust-anchors.pem');
      await writeFileAtomic(caFile, await trustAnchors(opts, info), { mode: 0o600 });
      const out: T[] = [];
      for (const f of files) out.push(await signOne(dir, f, opts, caFile));
      return out;
    });
  };
  return Object.assign(signer, { pfx });
}

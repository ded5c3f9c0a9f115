/**
 * Signing an existing flat package (`sign-pkg`): what productsign does, two ways.
 *   - builtin: src/pkg/xar-resign.ts re-writes the xar with the RSA + CMS signatures of an {@link XarSigner}, member
 *     bytes copied unchanged, straight into `writeStreamAtomic(out)`;
 *   - apple: Apple's `productsign` (macOS, keychain identity) writes into a private temporary folder.
 * Either way the result is read back (xar opens, TOC checksum matches, both signatures present) before it replaces
 * `out`, and `out` may be the input itself: the input is read to the end before the rename, so it is intact until
 * the signed file takes its place in one step.
 *
 * A stapled ticket on the input is dropped: it is bound to the old TOC checksum, which signing changes (reported).
 * Not covered: checking the identity (src/sign/identity.ts does that before a signer exists).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { InputFileError } from '../errors.js';
import { moveIntoPlace, withTempDir, writeStreamAtomic } from '../io/fs.js';
import { openXar, type XarArchive } from '../pkg/xar-reader.js';
import type { XarSigner, XarWriteResult } from '../pkg/xar.js';
import { resignXar } from '../pkg/xar.js';
import { productsign, type ProductsignArgs } from '../tools/productsign.js';
import { commonName, parseCertificate } from './certificate.js';

export interface SignPkgResult {
  input: string;
  out: string;
  /** SHA-1 of the new compressed TOC (hex): what a notarization ticket will be keyed by. */
  tocChecksum: string;
  /** Common name of the signing certificate, as embedded. */
  signer: string;
  /** The input was signed already; its signature was replaced. */
  replacedSignature: boolean;
  /** The input carried a stapled ticket, which was dropped. */
  droppedTicket: boolean;
}

function signerName(a: XarArchive): string {
  const leaf = a.signature?.certificates[0] ?? a.xSignature?.certificates[0];
  return leaf ? commonName(parseCertificate(leaf)) : '(no certificate)';
}

/** Open the signed result and insist on what a signed product archive has. */
async function readBack(file: string, name: string): Promise<XarArchive> {
  const a = await openXar(file);
  if (!a.signature || !a.xSignature) {
    throw new InputFileError(name, `the signed output lacks ${!a.signature ? 'the RSA <signature>' : 'the CMS <x-signature>'}; expected both, as productsign writes them`);
  }
  return a;
}

function resultOf(input: XarArchive, out: string, signed: XarArchive): SignPkgResult {
  return {
    input: input.file,
    out,
    tocChecksum: signed.checksum?.stored.toString('hex') ?? '',
    signer: signerName(signed),
    replacedSignature: Boolean(input.signature || input.xSignature),
    droppedTicket: input.staples.length > 0,
  };
}

/** Sign `input` with our xar writer into `out` (which may be `input`). */
export async function signPkgFile(input: string, out: string, signer: XarSigner): Promise<SignPkgResult> {
  const before = await openXar(input);
  const mode = (await stat(input)).mode & 0o777;
  let written: XarWriteResult | undefined;
  await writeStreamAtomic(out, async (s) => {
    written = await resignXar(input, s, signer);
  }, { mode });
  const after = await readBack(out, out);
  if (!after.checksum || !after.checksum.stored.equals(written!.tocChecksum)) throw new InputFileError(out, 'changed while it was written (its TOC checksum is not the one just signed)');
  return resultOf(before, out, after);
}

/** Sign `input` with Apple's productsign into `out` (which may be `input`). */
export async function productsignPkgFile(input: string, out: string, a: Omit<ProductsignArgs, 'input' | 'output'>, signal?: AbortSignal): Promise<SignPkgResult> {
  const before = await openXar(input);
  const mode = (await stat(input)).mode & 0o777;
  return withTempDir('productsign', async (tmp) => {
    const signed = path.join(tmp, path.basename(out));
    await productsign({ ...a, input, output: signed }, { signal });
    const after = await readBack(signed, 'productsign output');
    await moveIntoPlace(signed, out, { mode });
    return resultOf(before, out, after);
  });
}

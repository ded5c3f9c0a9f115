/**
 * What `notarize` checks locally before anything is uploaded: the file is a flat package (a xar archive whose TOC
 * and checksum read back, src/pkg/xar-reader.ts) and it is signed, with signatures that verify over the TOC
 * checksum (src/read/signature.ts). Apple notarizes only signed packages, so an unsigned or damaged one would
 * cost an upload and a wait to learn it; here it is an input-file error (exit 3) with no request sent. A signature
 * that does not chain to Apple through a Developer ID Installer certificate is a warning (the notary will say
 * Invalid), not a refusal: a test PKI must still reach a local notary.
 */
import { InputFileError } from '../errors.js';
import { analyzeXarSignature } from '../read/signature.js';
import { openXar } from '../pkg/xar-reader.js';

/** Check `file` (see the module comment); resolves with warnings for the user. */
export async function checkNotarizablePkg(file: string): Promise<{ warnings: string[] }> {
  let archive;
  try {
    archive = await openXar(file);
  } catch (e) {
    if (!(e instanceof InputFileError) || e.file !== file) throw e;
    const detail = e.message.slice(file.length + 2);
    throw new InputFileError(file, `package: ${detail}; expected a signed flat package (.pkg), nothing was uploaded`, { cause: e });
  }
  const sig = await analyzeXarSignature(archive);
  if (!sig.signed) {
    throw new InputFileError(file, 'package: is not signed; Apple notarizes only packages signed with a Developer ID Installer identity (aiwatch-deploy sign-pkg, or build --sign); nothing was uploaded');
  }
  if (sig.problems.length) {
    throw new InputFileError(file, `package: its signature does not verify (${sig.problems.join('; ')}); sign it again; nothing was uploaded`);
  }
  if (sig.chainsToApple && sig.developerIdInstaller) return { warnings: [] };
  return { warnings: [`${file}: the package is ${sig.status}: Apple's notary accepts only Developer ID Installer signatures and will answer Invalid`] };
}

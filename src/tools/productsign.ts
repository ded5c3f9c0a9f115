/**
 * Apple's `productsign` (macOS only), for `sign-pkg --signer apple`, through runTool:
 *   productsign --sign NAME [--keychain K] [--timestamp | --timestamp=none] INPUT OUTPUT
 * The identity lives in a keychain (its common name or SHA-1 hash); productsign embeds the chain it finds there
 * and, for Developer ID identities, an Apple timestamp. It cannot use another time-stamp server: the caller
 * refuses `--timestamp-url` for this signer. Covers signing only; `pkgutil --check-signature` is for the reader.
 */
import { runTool } from './run.js';

export const PRODUCTSIGN = 'productsign';

export interface ProductsignArgs {
  input: string;
  output: string;
  identity: string;
  keychain?: string;
  /** true: `--timestamp` (Apple's server); false: `--timestamp=none`. */
  timestamp: boolean;
}

export function productsignArgs(a: ProductsignArgs): string[] {
  const args = ['--sign', a.identity];
  if (a.keychain) args.push('--keychain', a.keychain);
  args.push(a.timestamp ? '--timestamp' : '--timestamp=none', a.input, a.output);
  return args;
}

export async function productsign(a: ProductsignArgs, opts: { signal?: AbortSignal } = {}): Promise<string[]> {
  const argv = productsignArgs(a);
  await runTool(PRODUCTSIGN, argv, { signal: opts.signal, input: '' });
  return argv;
}

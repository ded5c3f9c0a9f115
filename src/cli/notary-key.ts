/**
 * The App Store Connect API key for notarization, from flags or the environment — shared by `notarize` and
 * `build --notarize`. Every missing value is named at once; the key file itself is read by src/notary/jwt.ts.
 */
import path from 'node:path';
import { UsageError } from '../errors.js';
import { loadApiKey, type ApiKey } from '../notary/jwt.js';
import type { CliContext } from './command.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** `context` prefixes each message, e.g. `--notarize: ` when the key serves a build. */
export async function notaryKeyFromArgs(args: Record<string, unknown>, ctx: CliContext, context = ''): Promise<ApiKey> {
  const file = str(args['api-key']) ?? str(ctx.env.AIWATCH_NOTARY_KEY_FILE);
  const keyId = str(args['api-key-id']) ?? str(ctx.env.AIWATCH_NOTARY_KEY_ID);
  const issuerId = str(args['api-issuer']) ?? str(ctx.env.AIWATCH_NOTARY_ISSUER);
  const missing = [
    file ? '' : `${context}--api-key: the App Store Connect API key file (.p8) is required (or AIWATCH_NOTARY_KEY_FILE)`,
    keyId ? '' : `${context}--api-key-id: the API key ID is required (or AIWATCH_NOTARY_KEY_ID)`,
    issuerId ? '' : `${context}--api-issuer: the issuer ID is required (or AIWATCH_NOTARY_ISSUER)`,
  ].filter(Boolean);
  if (missing.length > 0) throw new UsageError(missing);
  return loadApiKey({ file: path.resolve(ctx.cwd, file!), keyId: keyId!, issuerId: issuerId! });
}

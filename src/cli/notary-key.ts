/**
 * The App Store Connect API key for notarization, from flags or the environment — shared by `notarize` and
 * `build --notarize`. Every missing value is named at once; the key file itself is read by src/notary/jwt.ts.
 */
import path from 'node:path';
import { UsageError } from '../errors.js';
import { loadApiKey, type ApiKey } from '../notary/jwt.js';
import type { CliContext } from './command.js';
import type { InferOptions, OptionDefs } from './options.js';

/** The key's flags, shared by `notarize` and `build`. */
export const NOTARY_KEY_OPTIONS = {
  'api-key': { type: 'string', describe: 'App Store Connect Team API key file, AuthKey_<ID>.p8 (env AIWATCH_NOTARY_KEY_FILE)' },
  'api-key-id': { type: 'string', describe: 'Its key ID (env AIWATCH_NOTARY_KEY_ID)' },
  'api-issuer': { type: 'string', describe: 'Issuer ID, a UUID (env AIWATCH_NOTARY_ISSUER)' },
} as const satisfies OptionDefs;

const nonEmpty = (v: string | undefined): string | undefined => (v === '' ? undefined : v);

/** `context` prefixes each message, e.g. `--notarize: ` when the key serves a build. */
export async function notaryKeyFromArgs(args: InferOptions<typeof NOTARY_KEY_OPTIONS>, ctx: CliContext, context = ''): Promise<ApiKey> {
  const file = args['api-key'] ?? nonEmpty(ctx.env.AIWATCH_NOTARY_KEY_FILE);
  const keyId = args['api-key-id'] ?? nonEmpty(ctx.env.AIWATCH_NOTARY_KEY_ID);
  const issuerId = args['api-issuer'] ?? nonEmpty(ctx.env.AIWATCH_NOTARY_ISSUER);
  const missing = [
    file ? '' : `${context}--api-key: the App Store Connect API key file (.p8) is required (or AIWATCH_NOTARY_KEY_FILE)`,
    keyId ? '' : `${context}--api-key-id: the API key ID is required (or AIWATCH_NOTARY_KEY_ID)`,
    issuerId ? '' : `${context}--api-issuer: the issuer ID is required (or AIWATCH_NOTARY_ISSUER)`,
  ].filter(Boolean);
  if (missing.length > 0) throw new UsageError(missing);
  return loadApiKey({ file: path.resolve(ctx.cwd, file!), keyId: keyId!, issuerId: issuerId! });
}

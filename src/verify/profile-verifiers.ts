/**
 * The checks of the profile artifacts (their kinds are detected by src/read/kinds.ts): configuration profiles (XML, and CMS-signed ones unwrapped with
 * src/sign/profile-sign.ts: signature integrity plus the same content checks), launchd plists, the Intune preference fragment, other XML plists, the
 * Jamf custom schema and the Jamf values JSON.
 */
import { InputFileError, type Problem } from '../errors.js';
import { APPLE_DM_ENV, resolveAppleSchemas } from '../profiles/apple-yaml.js';
import { wrapFragment } from '../profiles/intune-fragment.js';
import { readPlist, type PNode } from '../formats/plist-read.js';
import { tenantValueProblems, type FoundValue } from '../profiles/tenant-check.js';
import { verifyProfileText } from '../profiles/verify-profile.js';
import { unwrapSignedProfile } from '../sign/profile-sign.js';
import { jamfSchemaProblems, jamfValuesProblems } from './jamf-schema.js';
import { launchdPlistProblems } from './launchd-plist.js';
import type { FileKind } from '../read/kinds.js';
import { inputName, readCheckInput, type Check, type CheckInput, type VerifyContext } from './context.js';

/** Apple's schemas: the shipped data, or (with a note) the checkout $AIWATCH_APPLE_DM_DIR names; InputFileError when it names none. */
export function appleSchemasFor(ctx: Pick<VerifyContext, 'env' | 'note'>) {
  const apple = resolveAppleSchemas(ctx.env);
  if (apple.fromEnv) ctx.note(`Apple's payload schemas read from ${apple.source} (${APPLE_DM_ENV})`);
  return apple;
}

async function readText(input: CheckInput): Promise<string> {
  return (await readCheckInput(input, 'verify', 'plist.bytes')).toString('utf8');
}

function dictValues(node: PNode & { type: 'dict' }): Map<string, FoundValue> {
  const m = new Map<string, FoundValue>();
  for (const [k, v] of node.entries) m.set(k, { type: v.type, value: v.type === 'string' || v.type === 'boolean' ? v.value : undefined });
  return m;
}

/** A signed profile: the signature must verify over the content, and the content must pass the profile checks. */
async function checkSignedProfile(input: CheckInput, ctx: VerifyContext): Promise<Problem[]> {
  const file = inputName(input);
  let signed;
  try {
    signed = await unwrapSignedProfile(await readCheckInput(input, 'verify', 'cms.bytes'), file);
  } catch (e) {
    if (e instanceof InputFileError) return [{ where: file, message: e.message.startsWith(`${file}: `) ? e.message.slice(file.length + 2) : e.message }];
    throw e;
  }
  const problems: Problem[] = [];
  if (!signed.signatureValid) problems.push({ where: file, message: `the CMS signature does not verify: ${signed.problem ?? 'unknown reason'}` });
  const who = signed.signer ? `signed by "${signed.signer.commonName || signed.signer.subject}"` : 'signer certificate not embedded';
  ctx.note(`${who}; ${signed.chainsToApple ? 'the chain ends at Apple Root CA' : "the chain does not end at Apple's root: Macs show it as Verified only if they trust the signer's CA"}`);
  const r = verifyProfileText(signed.content, file, { spec: ctx.spec, apple: appleSchemasFor(ctx) });
  r.notes.forEach(ctx.note);
  return [...problems, ...r.problems];
}

async function checkMobileconfig(input: CheckInput, ctx: VerifyContext): Promise<Problem[]> {
  const r = verifyProfileText(await readText(input), inputName(input), { spec: ctx.spec, apple: appleSchemasFor(ctx) });
  r.notes.forEach(ctx.note);
  return r.problems;
}

async function checkPreferenceFile(input: CheckInput, ctx: VerifyContext): Promise<Problem[]> {
  const file = inputName(input);
  const { root, problems } = readPlist(wrapFragment(await readText(input)), file);
  if (root?.type === 'dict') problems.push(...tenantValueProblems(ctx.spec, dictValues(root), file));
  return problems;
}

/** The checks of the profile artifacts, by their kind in src/read/kinds.ts. */
export const PROFILE_CHECKS = {
  'signed-profile': checkSignedProfile,
  mobileconfig: checkMobileconfig,
  'launchd-plist': async (input, ctx) => launchdPlistProblems(await readText(input), inputName(input), ctx),
  'intune-preference-file': checkPreferenceFile,
  plist: async (input) => readPlist(await readText(input), inputName(input)).problems,
  'jamf-schema': async (input, ctx) => jamfSchemaProblems(await readText(input), inputName(input), ctx.spec),
  'jamf-values': async (input, ctx) => jamfValuesProblems(await readText(input), inputName(input), ctx.spec),
} satisfies Partial<Record<FileKind, Check>>;

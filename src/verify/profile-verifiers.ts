/**
 * Registers the verifiers of the profile artifacts: configuration profiles (XML, and CMS-signed ones unwrapped with
 * src/sign/profile-sign.ts: signature integrity plus the same content checks), launchd plists, the Intune preference fragment, other XML plists, the
 * Jamf custom schema and the Jamf values JSON.
 */
import { HOST_KEY, SECRET_KEY_NAMES } from '../config/tenant-keys.js';
import { InputFileError, type Problem } from '../errors.js';
import { readInputFileWithin } from '../formats/limits.js';
import { APPLE_DM_ENV, resolveAppleSchemas } from '../profiles/apple-yaml.js';
import { wrapFragment } from '../profiles/intune-fragment.js';
import { readPlist, type PNode } from '../formats/plist-read.js';
import { tenantValueProblems, type FoundValue } from '../profiles/tenant-check.js';
import { verifyProfileText } from '../profiles/verify-profile.js';
import { unwrapSignedProfile } from '../sign/profile-sign.js';
import { jamfSchemaProblems, jamfValuesProblems } from './jamf-schema.js';
import { launchdPlistProblems } from './launchd-plist.js';
import { headText, registerVerifier, type VerifyContext } from './registry.js';

const XML_PLIST = /^(?:<\?xml[^>]*\?>\s*)?(?:<!--[\s\S]*?-->\s*)*(?:<!DOCTYPE\s+plist\b|<plist\b)/;
const PAYLOAD_KEY = /<key>\s*Payload(?:Content|Type|Identifier|UUID|Version)\s*<\/key>/;
const LAUNCHD_KEY = /<key>\s*(?:Label|ProgramArguments|Program)\s*<\/key>/;
/** A JSON member naming the Host or a secret key (src/config/tenant-keys.ts): the mark of Jamf tenant values. */
const JAMF_VALUES_KEY = new RegExp(`"(?:${[HOST_KEY, ...SECRET_KEY_NAMES].join('|')})"\\s*:`);
/** DER of the pkcs7-signedData OID 1.2.840.113549.1.7.2. */
const SIGNED_DATA_OID = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]);

/** Apple's schemas: the shipped data, or (with a note) the checkout $AIWATCH_APPLE_DM_DIR names; InputFileError when it names none. */
export function appleSchemasFor(ctx: Pick<VerifyContext, 'env' | 'note'>) {
  const apple = resolveAppleSchemas(ctx.env);
  if (apple.fromEnv) ctx.note(`Apple's payload schemas read from ${apple.source} (${APPLE_DM_ENV})`);
  return apple;
}

async function readText(file: string): Promise<string> {
  return (await readInputFileWithin(file, 'verify', 'plist.bytes')).toString('utf8');
}

function dictValues(node: PNode & { type: 'dict' }): Map<string, FoundValue> {
  const m = new Map<string, FoundValue>();
  for (const [k, v] of node.entries) m.set(k, { type: v.type, value: v.type === 'string' || v.type === 'boolean' ? v.value : undefined });
  return m;
}

/** A signed profile: the signature must verify over the content, and the content must pass the profile checks. */
async function checkSignedProfile(file: string, ctx: VerifyContext): Promise<Problem[]> {
  let signed;
  try {
    signed = await unwrapSignedProfile(await readInputFileWithin(file, 'verify', 'cms.bytes'), file);
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

export function registerProfileVerifiers(): void {
  registerVerifier({
    kind: 'signed-profile',
    describe: 'CMS-signed configuration profile',
    priority: 10,
    detect: (head) => head[0] === 0x30 && Buffer.from(head.subarray(0, 64)).includes(SIGNED_DATA_OID),
    check: async (file, ctx) => checkSignedProfile(file, ctx),
  });
  registerVerifier({
    kind: 'mobileconfig',
    describe: 'configuration profile',
    priority: 5,
    detect: (head) => {
      const t = headText(head);
      return XML_PLIST.test(t) && PAYLOAD_KEY.test(t);
    },
    check: async (file, ctx) => {
      const r = verifyProfileText(await readText(file), file, { spec: ctx.spec, apple: appleSchemasFor(ctx) });
      r.notes.forEach(ctx.note);
      return r.problems;
    },
  });
  registerVerifier({
    kind: 'launchd-plist',
    describe: 'launchd job plist',
    priority: 4,
    detect: (head) => {
      const t = headText(head);
      return XML_PLIST.test(t) && LAUNCHD_KEY.test(t);
    },
    check: async (file, ctx) => launchdPlistProblems(await readText(file), file, ctx),
  });
  registerVerifier({
    kind: 'intune-preference-file',
    describe: 'Intune preference file (bare key/value pairs)',
    priority: 3,
    detect: (head) => headText(head).startsWith('<key>'),
    check: async (file, ctx) => {
      const { root, problems } = readPlist(wrapFragment(await readText(file)), file);
      if (root?.type === 'dict') problems.push(...tenantValueProblems(ctx.spec, dictValues(root), file));
      return problems;
    },
  });
  registerVerifier({
    kind: 'plist',
    describe: 'XML property list',
    priority: -10,
    detect: (head) => XML_PLIST.test(headText(head)),
    check: async (file) => readPlist(await readText(file), file).problems,
  });
  registerVerifier({
    kind: 'jamf-schema',
    describe: 'Jamf custom schema',
    priority: 2,
    detect: (head) => {
      const t = headText(head);
      return t.startsWith('{') && /"properties"\s*:\s*\{/.test(t) && /"(?:title|type)"\s*:/.test(t);
    },
    check: async (file, ctx) => jamfSchemaProblems(await readText(file), file, ctx.spec),
  });
  registerVerifier({
    kind: 'jamf-values',
    describe: 'Jamf tenant values (JSON)',
    priority: 1,
    // Only JSON that names the Host or a secret key: other JSON (manifest.json, …) belongs to other verifiers or none.
    detect: (head) => {
      const t = headText(head);
      return t.startsWith('{') && JAMF_VALUES_KEY.test(t);
    },
    check: async (file, ctx) => jamfValuesProblems(await readText(file), file, ctx.spec),
  });
}

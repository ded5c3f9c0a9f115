/**
 * `inspect` of a configuration profile (.mobileconfig, XML or CMS-signed): the signature when signed (signer,
 * chain, signing time, whether it verifies — src/sign/profile-sign.ts), the envelope (display name, identifier,
 * UUID, scope …) and each payload with what matters for our deployment: PPPC services (identifier, type,
 * authorization, code requirement), login-item rules, managed-preference values (MCX and domain payloads).
 *
 * Secrets are never printed: values of keys the spec marks secret (OrgApiKey, EnrollmentKey), and of any key whose
 * name says key/secret/password/token, are shown as `<set, N characters>`.
 * Does not cover: binary plists (reported), encrypted payloads.
 */
import { InputLimitError } from '../formats/limits.js';
import { InputFileError } from '../errors.js';
import { readPlist, toPlain, type PNode } from '../formats/plist-read.js';
import { profileEncoding, unwrapSignedProfile, type SignedProfile } from '../sign/profile-sign.js';
import { heading, rows, text } from './format.js';

const TCC = 'com.apple.TCC.configuration-profile-policy';
const SERVICE_MANAGEMENT = 'com.apple.servicemanagement';
const MCX = 'com.apple.ManagedClient.preferences';
const ENVELOPE_KEYS = ['PayloadDisplayName', 'PayloadIdentifier', 'PayloadUUID', 'PayloadType', 'PayloadVersion', 'PayloadScope', 'PayloadOrganization', 'PayloadDescription', 'PayloadRemovalDisallowed', 'TargetDeviceType'];
const SECRET_NAME = /key|secret|password|token/i;

export interface ProfilePayloadReport {
  type?: string;
  identifier?: string;
  uuid?: string;
  displayName?: string;
  /** Human lines describing the payload's content (secrets masked). */
  details: string[];
}

export interface ProfileReport {
  kind: 'profile';
  file: string;
  encoding: 'xml' | 'cms' | 'binary-plist' | 'unknown';
  signature?: Omit<SignedProfile, 'content'>;
  envelope: Record<string, string>;
  payloads: ProfilePayloadReport[];
  problems: string[];
}

export interface InspectProfileOptions {
  name?: string;
  /** Preference keys whose values must be masked (the spec's secret tenant keys). */
  secretKeys?: readonly string[];
}

function scalar(n: PNode | undefined): string | undefined {
  if (!n) return undefined;
  if (n.type === 'dict' || n.type === 'array') return JSON.stringify(toPlain(n));
  if (n.type === 'data') return `<${n.value.length} bytes of data>`;
  return String(n.value);
}

function masked(key: string, n: PNode, secrets: ReadonlySet<string>): string {
  if ((secrets.has(key) || SECRET_NAME.test(key)) && n.type === 'string') return `<set, ${[...n.value].length} characters>`;
  return scalar(n)!;
}

function get(d: PNode | undefined, key: string): PNode | undefined {
  return d?.type === 'dict' ? d.entries.get(key) : undefined;
}

function tccLines(p: PNode): string[] {
  const services = get(p, 'Services');
  if (services?.type !== 'dict') return ['no Services'];
  const out: string[] = [];
  for (const [service, list] of services.entries) {
    for (const item of list.type === 'array' ? list.items : []) {
      const grant = scalar(get(item, 'Authorization')) ?? (get(item, 'Allowed') ? `Allowed=${scalar(get(item, 'Allowed'))}` : '?');
      out.push(`${service}: ${scalar(get(item, 'IdentifierType')) ?? '?'} ${scalar(get(item, 'Identifier')) ?? '?'} → ${grant}`);
      out.push(`  CodeRequirement: ${scalar(get(item, 'CodeRequirement')) ?? '(none)'}`);
    }
  }
  return out;
}

function ruleLines(p: PNode): string[] {
  const rules = get(p, 'Rules');
  if (rules?.type !== 'array') return ['no Rules'];
  return rules.items.map((r) => `rule ${scalar(get(r, 'RuleType')) ?? '?'} ${scalar(get(r, 'RuleValue')) ?? '?'}${get(r, 'TeamIdentifier') ? ` (team ${scalar(get(r, 'TeamIdentifier'))})` : ''}`);
}

function settingLines(d: PNode, secrets: ReadonlySet<string>, skipPayloadKeys: boolean): string[] {
  if (d.type !== 'dict') return [];
  return [...d.entries].filter(([k]) => !(skipPayloadKeys && k.startsWith('Payload'))).map(([k, v]) => `${k} = ${masked(k, v, secrets)}`);
}

function mcxLines(p: PNode, secrets: ReadonlySet<string>): string[] {
  const pc = get(p, 'PayloadContent');
  if (pc?.type !== 'dict') return ['no PayloadContent'];
  const out: string[] = [];
  for (const [domain, d] of pc.entries) {
    for (const mode of ['Forced', 'Set-Once']) {
      const list = get(d, mode);
      for (const item of list?.type === 'array' ? list.items : []) {
        out.push(`${domain} (${mode}):`, ...settingLines(get(item, 'mcx_preference_settings') ?? item, secrets, false).map((l) => `  ${l}`));
      }
    }
  }
  return out;
}

function payloadReport(p: PNode, secrets: ReadonlySet<string>): ProfilePayloadReport {
  const type = scalar(get(p, 'PayloadType'));
  const r: ProfilePayloadReport = { details: [] };
  if (type !== undefined) r.type = type;
  const id = scalar(get(p, 'PayloadIdentifier'));
  const uuid = scalar(get(p, 'PayloadUUID'));
  const name = scalar(get(p, 'PayloadDisplayName'));
  if (id !== undefined) r.identifier = id;
  if (uuid !== undefined) r.uuid = uuid;
  if (name !== undefined) r.displayName = name;
  r.details = type === TCC ? tccLines(p) : type === SERVICE_MANAGEMENT ? ruleLines(p) : type === MCX ? mcxLines(p, secrets) : settingLines(p, secrets, true);
  return r;
}

/** Describe a profile given its bytes. Throws InputFileError only for a CMS blob that is not a signed profile. */
export async function profileReport(bytes: Uint8Array, opts: InspectProfileOptions & { name: string }): Promise<ProfileReport> {
  const secrets = new Set(opts.secretKeys ?? []);
  const encoding = profileEncoding(bytes);
  const report: ProfileReport = { kind: 'profile', file: opts.name, encoding, envelope: {}, payloads: [], problems: [] };
  let content = bytes;
  if (encoding === 'cms') {
    const { content: inner, ...signature } = await unwrapSignedProfile(bytes, opts.name);
    report.signature = signature;
    content = inner;
  }
  const { root, problems, limit } = readPlist(content, opts.name);
  // A profile past a reader limit is not described: refused like any hostile input (exit 3).
  if (limit) throw new InputLimitError(opts.name, limit, problems[0]?.message ?? 'over a reader limit');
  report.problems = problems.map((p) => (p.at?.path === undefined ? p.message : `${p.at.path}: ${p.message}`));
  if (root?.type !== 'dict') return report;
  for (const k of ENVELOPE_KEYS) {
    const v = scalar(root.entries.get(k));
    if (v !== undefined) report.envelope[k] = v;
  }
  const pc = root.entries.get('PayloadContent');
  const payloads = pc?.type === 'array' ? pc.items : [];
  report.payloads = payloads.map((p) => payloadReport(p, secrets));
  return report;
}

/** The text `inspect` prints for a profile. */
export function formatProfileReport(r: ProfileReport): string {
  const lines = [`${r.file}: configuration profile (${r.encoding === 'cms' ? 'CMS-signed' : r.encoding}), ${r.payloads.length} payload(s)`];
  const s = r.signature;
  if (s) {
    lines.push('', heading('signature'), `  ${s.signatureValid ? 'verifies over the profile' : `DOES NOT VERIFY: ${s.problem}`}`);
    lines.push(...rows([['signer', s.signer?.commonName ?? '(not embedded)'], ['signing time', s.signingTime], ['chain', s.chain.map((c) => c.commonName).join(' → ')], ['Apple root', s.chainsToApple ? 'yes' : 'no']]));
  }
  lines.push('', heading('profile'), ...rows(Object.entries(r.envelope)));
  r.payloads.forEach((p, i) => {
    lines.push('', heading(`payload ${i + 1}: ${p.type ?? '(no PayloadType)'}`), ...rows([['identifier', p.identifier], ['UUID', p.uuid], ['name', p.displayName]]), ...p.details.map((d) => `  ${d}`));
  });
  if (r.problems.length > 0) lines.push('', ...r.problems.map((p) => `PROBLEM: ${p}`));
  return text(lines);
}

/** `inspect` of a profile file's bytes; bytes that are not a plist or CMS are refused. */
export async function inspectProfileBytes(bytes: Uint8Array, opts: InspectProfileOptions & { name: string }): Promise<ProfileReport> {
  const kind = profileEncoding(bytes);
  if (kind === 'unknown') throw new InputFileError(opts.name, 'is not a configuration profile (expected an XML plist or a CMS-signed profile)');
  return profileReport(bytes, opts);
}

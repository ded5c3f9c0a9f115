/**
 * `verify` for configuration profiles (.mobileconfig XML): every problem at once, from two sources —
 *  1. Apple's payload schemas (apple-yaml.ts: the derived data the package ships, or a checkout it is pointed at);
 *  2. our own rules, which need no external data: the envelope (when Apple's schemas are absent), unique
 *     PayloadIdentifiers and UUID-shaped unique PayloadUUIDs, device-channel-only payloads not in User scope,
 *     PPPC identities (path vs bundle ID, the CodeRequirement form and — for our binary — the exact designated
 *     requirement, deny-only services, AppleEvents receivers), and the tenant-config values of our domain in
 *     both encodings.
 * Does not cover: CMS-signed profiles (unwrap them first), encrypted payloads.
 */
import type { DeploymentSpec } from '../config/spec-types.js';
import type { Problem } from '../errors.js';
import { checkProfileAgainstApple, type AppleSchemas } from './apple-yaml.js';
import { MCX_PAYLOAD_TYPE } from './mcx.js';
import { childPath, dictGet, dictString, readPlist, type PNode } from '../formats/plist-read.js';
import { designatedRequirement, requirementConstant } from './pppc.js';
import { tenantValueProblems, type FoundValue } from './tenant-check.js';
import { isUuid } from './uuid.js';

export interface VerifyProfileOptions {
  spec: DeploymentSpec;
  /** Apple's schemas; undefined: our own rules only (the caller notes it). */
  apple?: AppleSchemas;
}

export interface CheckResult {
  problems: Problem[];
  notes: string[];
}

const TCC = 'com.apple.TCC.configuration-profile-policy';
/** Payload types that only exist on the device channel (used when Apple's schemas are absent). */
const DEVICE_ONLY = new Set([TCC, 'com.apple.servicemanagement']);
/** TCC services a profile can only deny. */
const DENY_ONLY = new Set(['Camera', 'Microphone', 'ListenEvent', 'ScreenCapture']);
const AE_KEYS = ['AEReceiverIdentifier', 'AEReceiverIdentifierType', 'AEReceiverCodeRequirement'];

type Dict = PNode & { type: 'dict' };
const isDict = (n: PNode | undefined): n is Dict => n?.type === 'dict';

class Rules {
  readonly problems: Problem[] = [];
  readonly notes: string[] = [];
  constructor(
    readonly file: string,
    readonly opts: VerifyProfileOptions,
  ) {}

  fail(where: string, message: string): void {
    this.problems.push({ where: where ? `${this.file}:${where}` : this.file, message });
  }

  payloads(root: Dict): Array<[string, Dict]> {
    const pc = root.entries.get('PayloadContent');
    if (pc?.type !== 'array') return [];
    return pc.items.flatMap((p, i): Array<[string, Dict]> => (isDict(p) ? [[childPath('PayloadContent', i), p]] : []));
  }

  /** Minimal envelope rules, only when Apple's schemas (which check all of this and more) are absent. */
  envelope(root: Dict): void {
    const need = (d: Dict, where: string, key: string, type: PNode['type'], value?: string | bigint): void => {
      const v = d.entries.get(key);
      if (!v) this.fail(where, `missing required key ${key}`);
      else if (v.type !== type) this.fail(childPath(where, key), `expected <${type}>, found <${v.type}>`);
      else if (value !== undefined && 'value' in v && v.value !== value) this.fail(childPath(where, key), `must be ${String(value)}`);
    };
    for (const k of ['PayloadIdentifier', 'PayloadUUID']) need(root, '', k, 'string');
    need(root, '', 'PayloadType', 'string', 'Configuration');
    need(root, '', 'PayloadVersion', 'integer', 1n);
    need(root, '', 'PayloadContent', 'array');
    for (const [where, p] of this.payloads(root)) {
      for (const k of ['PayloadIdentifier', 'PayloadUUID', 'PayloadType']) need(p, where, k, 'string');
      need(p, where, 'PayloadVersion', 'integer', 1n);
    }
  }

  identities(root: Dict): void {
    const ids = new Map<string, string>();
    const uuids = new Map<string, string>();
    for (const [where, d] of [['', root] as [string, Dict], ...this.payloads(root)]) {
      const id = dictString(d, 'PayloadIdentifier');
      const uuid = dictString(d, 'PayloadUUID');
      if (id !== undefined) {
        if (id.trim() === '') this.fail(childPath(where, 'PayloadIdentifier'), 'is empty');
        const seen = ids.get(id);
        if (seen !== undefined) this.fail(childPath(where, 'PayloadIdentifier'), `${JSON.stringify(id)} is also used at ${seen || 'the top level'}; identifiers must be unique within a profile`);
        else ids.set(id, where);
      }
      if (uuid !== undefined) {
        if (!isUuid(uuid)) this.fail(childPath(where, 'PayloadUUID'), `${JSON.stringify(uuid)} is not a UUID (8-4-4-4-12 hex digits)`);
        const seen = uuids.get(uuid.toUpperCase());
        if (seen !== undefined) this.fail(childPath(where, 'PayloadUUID'), `${uuid} is also used at ${seen || 'the top level'}; UUIDs must be unique`);
        else uuids.set(uuid.toUpperCase(), where);
      }
    }
  }

  scope(root: Dict): void {
    if (dictString(root, 'PayloadScope') !== 'User') return;
    for (const [where, p] of this.payloads(root)) {
      const type = dictString(p, 'PayloadType') ?? '';
      const schema = this.opts.apple?.payloads.get(type);
      const deviceOnly = schema ? schema.deviceChannelOnly === true : DEVICE_ONLY.has(type);
      if (deviceOnly) this.fail(where, `${type} is device-channel only, but the profile's PayloadScope is User`);
    }
  }

  tcc(where: string, p: Dict): void {
    const services = p.entries.get('Services');
    if (!isDict(services)) return;
    for (const [service, list] of services.entries) {
      if (list.type !== 'array') continue;
      list.items.forEach((entry, i) => {
        if (isDict(entry)) this.identity(childPath(childPath(childPath(where, 'Services'), service), i), service, entry);
      });
    }
  }

  identity(where: string, service: string, e: Dict): void {
    const id = dictString(e, 'Identifier');
    const idType = dictString(e, 'IdentifierType');
    if (id !== undefined && idType === 'path' && !id.startsWith('/')) this.fail(where, `IdentifierType path needs an absolute path, got ${JSON.stringify(id)}`);
    if (id !== undefined && idType === 'bundleID' && id.includes('/')) this.fail(where, `IdentifierType bundleID needs a bundle identifier, got the path ${JSON.stringify(id)}`);
    this.codeRequirement(where, id, dictString(e, 'CodeRequirement'));
    const auth = dictString(e, 'Authorization');
    const allowed = dictGet(e, 'Allowed');
    if (auth === 'AllowStandardUserToSetSystemService' && service !== 'ListenEvent' && service !== 'ScreenCapture') {
      this.fail(where, `Authorization AllowStandardUserToSetSystemService is only valid for ListenEvent and ScreenCapture, not ${service}`);
    }
    if (DENY_ONLY.has(service) && (auth === 'Allow' || (allowed?.type === 'boolean' && allowed.value))) {
      this.fail(where, `${service} can only be denied by a profile, not allowed`);
    }
    const ae = AE_KEYS.filter((k) => e.entries.has(k));
    if (service === 'AppleEvents') {
      for (const k of AE_KEYS) if (!ae.includes(k)) this.fail(where, `AppleEvents entries need ${k}`);
    } else if (ae.length > 0) {
      this.fail(where, `${ae.join(', ')} only apply to the AppleEvents service, not ${service}`);
    }
  }

  codeRequirement(where: string, id: string | undefined, req: string | undefined): void {
    if (req === undefined) return;
    const at = childPath(where, 'CodeRequirement');
    if (/^\s*designated\s*=>/.test(req)) {
      this.fail(at, 'starts with "designated =>": give the requirement only (MDMs reject this as an invalid value)');
      return;
    }
    if (req.trim() === '') this.fail(at, 'is empty');
    const { spec } = this.opts;
    if (id !== spec.installPath) return;
    const expected = designatedRequirement(spec.identifier, spec.teamId);
    const quotedTeam = expected.replace(/= [^ ]+$/, `= "${spec.teamId.replace(/[\\"]/g, (c) => `\\${c}`)}"`);
    if (req !== expected && req !== quotedTeam) {
      this.fail(at, `does not pin ${spec.installPath} to identifier ${requirementConstant(spec.identifier)} and team ${spec.teamId}; expected: ${expected}`);
    }
  }

  tenantValues(where: string, settings: Dict): void {
    const values = new Map<string, FoundValue>();
    for (const [k, v] of settings.entries) {
      values.set(k, { type: v.type, value: v.type === 'boolean' || v.type === 'string' ? v.value : undefined });
    }
    this.problems.push(...tenantValueProblems(this.opts.spec, values, `${this.file}:${where}`));
  }

  mcx(where: string, p: Dict): void {
    const pc = p.entries.get('PayloadContent');
    if (!isDict(pc)) return;
    for (const [domain, d] of pc.entries) {
      const dw = childPath(childPath(where, 'PayloadContent'), domain);
      if (!isDict(d)) continue;
      if (!d.entries.has('Forced') && !d.entries.has('Set-Once')) this.fail(dw, 'needs Forced or Set-Once settings');
      if (domain !== this.opts.spec.domain) continue;
      const forced = d.entries.get('Forced');
      if (forced?.type !== 'array') continue;
      forced.items.forEach((f, i) => {
        const s = dictGet(f, 'mcx_preference_settings');
        if (isDict(s)) this.tenantValues(childPath(childPath(childPath(dw, 'Forced'), i), 'mcx_preference_settings'), s);
      });
    }
  }

  payloadRules(root: Dict): void {
    for (const [where, p] of this.payloads(root)) {
      const type = dictString(p, 'PayloadType');
      if (type === TCC) this.tcc(where, p);
      else if (type === MCX_PAYLOAD_TYPE) this.mcx(where, p);
      else if (type === this.opts.spec.domain) this.tenantValues(where, p);
    }
  }
}

/** Check a parsed profile. */
export function verifyProfileNode(root: PNode, file: string, opts: VerifyProfileOptions): CheckResult {
  const r = new Rules(file, opts);
  if (!isDict(root)) {
    r.fail('', `a profile's root must be a dictionary, found <${root.type}>`);
    return { problems: r.problems, notes: r.notes };
  }
  if (opts.apple) {
    const apple = checkProfileAgainstApple(root, opts.apple, file);
    r.problems.push(...apple.problems);
    for (const t of apple.unknownTypes) {
      if (t !== opts.spec.domain) r.notes.push(`payload type ${t} has no Apple schema: only its common payload keys were checked`);
    }
  } else {
    r.envelope(root);
  }
  r.identities(root);
  r.scope(root);
  r.payloadRules(root);
  return { problems: r.problems, notes: r.notes };
}

/** Read and check a profile's XML. */
export function verifyProfileText(source: string | Uint8Array, file: string, opts: VerifyProfileOptions): CheckResult {
  const { root, problems } = readPlist(source, file);
  if (!root) return { problems, notes: [] };
  const r = verifyProfileNode(root, file, opts);
  return { problems: [...problems, ...r.problems], notes: r.notes };
}

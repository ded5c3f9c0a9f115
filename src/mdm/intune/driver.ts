/**
 * The Microsoft Intune driver of `plan` / `apply` (issue 12): {@link intuneDriver} implements the MDM-neutral
 * contract (rollout/model.ts) over Microsoft Graph (beta). `connect` checks everything it can without a request
 * (tenant values, credentials, the certificate), `plan` only reads (GET), `apply` writes one planned object:
 *
 *   PPPC profile → login-items profile → tenant preference file → macOS pkg app (metadata, content upload, assignment)
 *   [→ macOS health custom attribute script — with `options.healthInventory: true`]
 *   [→ Windows Remediations: install pair, health pair — with `options.windows: true`]
 *
 * The target's `url` is the Graph service root (https://graph.microsoft.com/beta; national clouds and a test server
 * give theirs) and `options.authority` the Entra sign-in host (default https://login.microsoftonline.com). Objects
 * are found by displayName (and type); each carries our marker (rollout/marker.ts) in `description` (profiles, scripts) or
 * `notes` (the app: written with committedContentVersion once the content is committed). `plan` compares fields,
 * payloads as hashes (the tenant one is secret), and the assignments; an object that matches and carries the desired
 * hash is unchanged, so a second apply sends no write.
 *
 * Scope: `scope.group` is an Entra group object id (a GUID); smart groups are a Jamf concept and refused at validation.
 */
import { parseTenantInput, type RawTenantValues } from '../../config/tenant.js';
import { NetworkError, UsageError } from '../../errors.js';
import { block } from '../../rollout/blocks.js';
import { sleepFor } from '../../net/retry.js';
import { applyReleaseBlocks } from '../../rollout/blocks.js';
import { readMarker, writeMarker, type Marker } from '../../rollout/marker.js';
import type { DriverContext, FieldDiff, FieldValue, MdmDriver, MdmSession, PlannedObject, ReleaseContent, ResolvedTarget, RolloutTarget } from '../../rollout/model.js';
import { isSecret, type Secret } from '../../secret.js';
import { PlannedSession } from '../session.js';
import { namePrefixOf, optionProblems } from '../options.js';
import { IntuneAuth, type IntuneCredential } from './auth.js';
import { GraphClient, GraphGaveUp } from './client.js';
import { appAssignBody, assignmentShown, ATTRIBUTE_SCRIPT, desiredIntune, HEALTH_ATTRIBUTE_FILE, normalText, profileAssignBody, remediationAssignBody, scriptAssignBody, type DesiredIntune } from './desired.js';
import { ContentUpload } from './upload.js';
import { secretShown } from '../../rollout/marker.js';

export const DEFAULT_AUTHORITY = 'https://login.microsoftonline.com';
const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const TENANT_RE = /^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[A-Za-z0-9][A-Za-z0-9.-]{0,252}\.[A-Za-z]{2,63})$/;
const OPTIONS: Record<string, string> = {
  namePrefix: 'the prefix of every object name we make (default "aiwatch")',
  windows: 'true to also publish the Windows Remediations (install pair and health pair; default false)',
  healthInventory: 'true to also publish the macOS health custom attribute script (default false)',
  authority: 'the Entra sign-in host (default https://login.microsoftonline.com; US Gov https://login.microsoftonline.us, China https://login.chinacloudapi.cn)',
};
const CREDENTIALS = ['tenantId', 'clientId', 'clientSecret', 'certificate', 'certificatePassword', 'federatedToken', 'federated'];

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}

function credentialProblems(target: RolloutTarget): string[] {
  const c = target.credentials;
  const where = `target ${target.name}: credentials`;
  const p: string[] = [];
  for (const n of Object.keys(c)) if (!CREDENTIALS.includes(n)) p.push(`${where}: unknown field "${n}"; expected tenantId, clientId and one of clientSecret, certificate (+ certificatePassword), federatedToken, federated: github-actions`);
  for (const n of ['tenantId', 'clientId', 'federated']) if (c[n] !== undefined && typeof c[n] !== 'string') p.push(`${where}: ${n} is not secret: give it as text, not a file or env reference`);
  for (const n of ['clientSecret', 'certificate', 'certificatePassword', 'federatedToken']) if (typeof c[n] === 'string') p.push(`${where}: ${n} is a secret: give it by reference ({file: …} or {env: …}), never as text`);
  if (typeof c.tenantId === 'string' && !TENANT_RE.test(c.tenantId)) p.push(`${where}: tenantId ${JSON.stringify(c.tenantId.slice(0, 80))} is neither a GUID nor a domain (expected the Entra directory id)`);
  if (c.tenantId === undefined) p.push(`${where}: tenantId is missing (the Entra directory (tenant) id)`);
  if (typeof c.clientId === 'string' && !GUID_RE.test(c.clientId)) p.push(`${where}: clientId ${JSON.stringify(c.clientId.slice(0, 80))} is not a GUID (expected the app registration's application (client) id)`);
  if (c.clientId === undefined) p.push(`${where}: clientId is missing (the app registration's application (client) id)`);
  if (typeof c.federated === 'string' && c.federated !== 'github-actions') p.push(`${where}: federated must be "github-actions", got ${JSON.stringify(c.federated.slice(0, 40))} (a token from a file is federatedToken: {file: …})`);
  const ways = ['clientSecret', 'certificate', 'federatedToken', 'federated'].filter((n) => c[n] !== undefined);
  if (ways.length !== 1) p.push(`${where}: give exactly one of clientSecret, certificate, federatedToken or federated: github-actions${ways.length > 1 ? `, not ${ways.join(' and ')}` : ''}`);
  if (c.certificatePassword !== undefined && c.certificate === undefined) p.push(`${where}: certificatePassword goes with certificate`);
  return p;
}

function credentialOf(target: ResolvedTarget): IntuneCredential {
  const c = target.credentials;
  const secret = (n: string): Secret | undefined => (isSecret(c[n]) ? (c[n] as Secret) : undefined);
  const clientSecret = secret('clientSecret');
  if (clientSecret) return { kind: 'secret', clientSecret };
  const certificate = secret('certificate');
  if (certificate) return { kind: 'certificate', certificate, password: secret('certificatePassword') };
  const token = secret('federatedToken');
  if (token) return { kind: 'federated-file', token };
  if (c.federated === 'github-actions') return { kind: 'github-actions' };
  throw new UsageError(`target ${target.name}: credentials: give one of clientSecret, certificate, federatedToken or federated: github-actions`);
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const b64text = (v: unknown): string => (typeof v === 'string' ? normalText(Buffer.from(v, 'base64').toString('utf8')) : '');
const odataQuote = (s: string): string => `'${s.replace(/'/g, "''")}'`;

interface Observed {
  id: string;
  marker: string;
  fields: Record<string, FieldValue>;
  raw: Record<string, unknown>;
}

function markerShown(hash: string | undefined): FieldValue {
  return hash === undefined ? null : `sha256=${hash.slice(0, 12)}`;
}

/**
 * What an existing object holds now, for `status`: its marker's hash (none: not made by us) and, for the macOS app,
 * the version of its committed content — the marker's (written together with committedContentVersion), else, for an
 * app with committed content but no marker of ours, the primaryBundleVersion it declares.
 */
function observedOf(d: DesiredIntune, o: Observed, marker: Marker | undefined): NonNullable<PlannedObject['observed']> {
  const out: NonNullable<PlannedObject['observed']> = marker ? { hash: marker.sha256 } : {};
  if (d.role !== 'app-macos') return out;
  const committed = typeof o.raw.committedContentVersion === 'string' && o.raw.committedContentVersion !== '';
  const declared = o.fields.primaryBundleVersion;
  const version = marker?.version ?? (committed && typeof declared === 'string' && declared !== '' ? declared : undefined);
  return version === undefined ? out : { ...out, version };
}

/** Compare one desired object with what was found → its planned line (as the Jamf driver's plan does). */
export function compareIntune(d: DesiredIntune, o: Observed | undefined): PlannedObject {
  const base = { kind: d.kind, name: d.name, hash: d.hash };
  const secret = (f: string): boolean => d.secretFields?.includes(f) === true;
  if (!o) {
    const diff: FieldDiff[] = Object.entries(d.fields).map(([field, to]) => (secret(field) ? { field, from: null, to, secret: true } : { field, from: null, to }));
    diff.push({ field: 'marker', from: null, to: markerShown(d.hash) });
    return { ...base, action: 'create', diff };
  }
  const diff: FieldDiff[] = [];
  for (const [field, to] of Object.entries(d.fields)) {
    const from = o.fields[field] ?? null;
    if (from !== to) diff.push(secret(field) ? { field, from, to, secret: true } : { field, from, to });
  }
  const marker = readMarker(o.marker);
  const markerDiffers = marker?.sha256 !== d.hash;
  const observed = observedOf(d, o, marker);
  if (diff.length === 0 && !markerDiffers) return { ...base, action: 'unchanged', diff: [], id: o.id, observed };
  if (markerDiffers) diff.push({ field: 'marker', from: markerShown(marker?.sha256), to: markerShown(d.hash) });
  const reason = !markerDiffers ? 'drift' : marker === undefined ? 'not made by aiwatch-deploy: adopted (marker added)' : undefined;
  return { ...base, action: 'update', diff, ...(reason ? { reason } : {}), id: o.id, observed };
}

interface Entry {
  desired: DesiredIntune;
  observed: Observed | undefined;
  planned: PlannedObject;
}

/** The compared fields only a Windows (Win32 LOB) app has. */
function win32AppFields(full: Record<string, unknown>): Record<string, FieldValue> {
  const rules = Array.isArray(full.rules) ? (full.rules as Record<string, unknown>[]) : [];
  const detect = rules.find((r) => r?.['@odata.type'] === '#microsoft.graph.win32LobAppPowerShellScriptRule' && r.ruleType === 'detection');
  const codes = Array.isArray(full.returnCodes) ? (full.returnCodes as { returnCode?: unknown; type?: unknown }[]).map((c) => `${String(c?.returnCode)}:${String(c?.type)}`) : [];
  return {
    setupFilePath: str(full.setupFilePath),
    installCommandLine: str(full.installCommandLine),
    uninstallCommandLine: str(full.uninstallCommandLine),
    detection: detect && typeof detect.scriptContent === 'string' ? secretShown(Buffer.from(detect.scriptContent, 'base64').toString('utf8')) : null,
    returnCodes: JSON.stringify(codes),
  };
}

/** The compared fields only a macOS pkg app has. */
function pkgAppFields(full: Record<string, unknown>): Record<string, FieldValue> {
  const included = Array.isArray(full.includedApps) ? full.includedApps.map((a: { bundleId?: unknown; bundleVersion?: unknown }) => ({ bundleId: a?.bundleId, bundleVersion: a?.bundleVersion })) : [];
  return {
    primaryBundleId: str(full.primaryBundleId),
    primaryBundleVersion: str(full.primaryBundleVersion),
    includedApps: JSON.stringify(included),
    ignoreVersionDetection: full.ignoreVersionDetection === true,
  };
}

class IntuneSession extends PlannedSession<Entry> {
  /** Collections that refused `$filter` on displayName (asked whole from then on). */
  readonly #noFilter = new Set<string>();

  constructor(
    readonly client: GraphClient,
    readonly target: ResolvedTarget,
    readonly release: ReleaseContent,
    readonly ctx: DriverContext,
    readonly desired: DesiredIntune[],
  ) {
    super();
  }

  async #groupsOf(path: string, object: string): Promise<string[]> {
    const list = await this.client.all({ object, action: 'read assignments', path });
    const out: string[] = [];
    for (const a of list) {
      const t = a.target as Record<string, unknown> | undefined;
      const intent = str(a.intent);
      if (t && typeof t.groupId === 'string' && t['@odata.type'] !== '#microsoft.graph.exclusionGroupAssignmentTarget') out.push(intent ? `${intent}:${t.groupId}` : t.groupId);
    }
    return out;
  }

  /**
   * The items of a collection named `name`: asked with `$filter=displayName eq '…'`; a server that refuses that
   * filter on this collection (HTTP 400) is asked for the whole list, which is then filtered here.
   */
  async #byName(object: string, collection: string, name: string): Promise<Record<string, unknown>[]> {
    if (!this.#noFilter.has(collection)) {
      const hit = await this.client.list({ object, action: 'find by name', path: `${collection}?$filter=${encodeURIComponent(`displayName eq ${odataQuote(name)}`)}` }, true);
      if (hit) return hit;
      this.#noFilter.add(collection);
      this.ctx.onNote?.(`${this.client.where(object, 'find by name')}: ${collection} refuses $filter on displayName (HTTP 400): reading the whole list`);
    }
    return this.client.all({ object, action: 'find by name', path: collection });
  }

  /** The item of `collection` named `name` (and passing `also`), read whole; undefined when there is none. */
  async #readByName(object: string, collection: string, name: string, also: (v: Record<string, unknown>) => boolean = () => true): Promise<{ id: string; full: Record<string, unknown> } | undefined> {
    const list = await this.#byName(object, collection, name);
    const hit = list.find((v) => v.displayName === name && also(v));
    if (!hit || (typeof hit.id !== 'string' && typeof hit.id !== 'number')) return undefined;
    const id = String(hit.id);
    const full = await this.client.json({ object, action: 'read', method: 'GET', path: `${collection}/${encodeURIComponent(id)}` });
    return { id, full };
  }

  async #observeProfile(d: DesiredIntune): Promise<Observed | undefined> {
    const object = `profile "${d.name}"`;
    const read = await this.#readByName(object, '/deviceManagement/deviceConfigurations', d.name);
    if (!read) return undefined;
    const { id, full } = read;
    const groups = await this.#groupsOf(`/deviceManagement/deviceConfigurations/${encodeURIComponent(id)}/assignments`, object);
    const type = str(full['@odata.type']);
    const fields: Record<string, FieldValue> =
      d.role === 'profile-tenant'
        ? { type, configurationXml: secretShown(b64text(full.configurationXml)), bundleId: str(full.bundleId), fileName: str(full.fileName), assignments: assignmentShown(groups.map((g) => g.replace(/^[a-z]+:/, ''))) }
        : { type, payload: secretShown(b64text(full.payload)), payloadName: str(full.payloadName), payloadFileName: str(full.payloadFileName), deploymentChannel: str(full.deploymentChannel), assignments: assignmentShown(groups.map((g) => g.replace(/^[a-z]+:/, ''))) };
    return { id, marker: str(full.description) ?? '', fields, raw: full };
  }

  async #observeApp(d: DesiredIntune): Promise<Observed | undefined> {
    const object = `app "${d.name}"`;
    const read = await this.#readByName(object, '/deviceAppManagement/mobileApps', d.name, (v) => v['@odata.type'] === d.fields.type);
    if (!read) return undefined;
    const { id, full } = read;
    const groups = await this.#groupsOf(`/deviceAppManagement/mobileApps/${encodeURIComponent(id)}/assignments`, object);
    const notes = str(full.notes) ?? '';
    const committed = typeof full.committedContentVersion === 'string' && full.committedContentVersion !== '';
    // The content is this release's pkg when the marker (written with committedContentVersion) holds the desired hash.
    const content = committed && readMarker(notes)?.sha256 === d.hash ? d.fields.content! : committed ? 'another content version' : null;
    const common = { type: str(full['@odata.type']), fileName: str(full.fileName), content, assignments: assignmentShown(groups) };
    const own = d.role === 'app-windows' ? win32AppFields(full) : pkgAppFields(full);
    return { id, marker: notes, raw: full, fields: { ...common, ...own } };
  }

  async #observeRemediation(d: DesiredIntune): Promise<Observed | undefined> {
    const object = `remediation "${d.name}"`;
    const read = await this.#readByName(object, '/deviceManagement/deviceHealthScripts', d.name);
    if (!read) return undefined;
    const { id, full } = read;
    const path = `/deviceManagement/deviceHealthScripts/${encodeURIComponent(id)}`;
    const assigned = await this.client.all({ object, action: 'read assignments', path: `${path}/assignments` });
    const groups: string[] = [];
    for (const a of assigned) {
      const t = a.target as Record<string, unknown> | undefined;
      const sched = a.runSchedule as Record<string, unknown> | undefined;
      if (!t || typeof t.groupId !== 'string' || t['@odata.type'] === '#microsoft.graph.exclusionGroupAssignmentTarget') continue;
      const hourly = sched?.['@odata.type'] === '#microsoft.graph.deviceHealthScriptHourlySchedule' && typeof sched.interval === 'number';
      groups.push(`${a.runRemediationScript === true && hourly ? `every ${String(sched.interval)} h` : 'other schedule'}:${t.groupId}`);
    }
    const text = (v: unknown): string => (typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : '');
    return {
      id,
      marker: str(full.description) ?? '',
      raw: full,
      fields: {
        type: str(full['@odata.type']) ?? '#microsoft.graph.deviceHealthScript',
        detectionScript: secretShown(text(full.detectionScriptContent)),
        remediationScript: secretShown(text(full.remediationScriptContent)),
        runAsAccount: str(full.runAsAccount),
        runAs32Bit: full.runAs32Bit === true,
        enforceSignatureCheck: full.enforceSignatureCheck === true,
        assignments: assignmentShown(groups),
      },
    };
  }

  async #observeAttribute(d: DesiredIntune): Promise<Observed | undefined> {
    const object = `custom attribute "${d.name}"`;
    const read = await this.#readByName(object, '/deviceManagement/deviceCustomAttributeShellScripts', d.name);
    if (!read) return undefined;
    const { id, full } = read;
    const groups = await this.#groupsOf(`/deviceManagement/deviceCustomAttributeShellScripts/${encodeURIComponent(id)}/assignments`, object);
    const text = typeof full.scriptContent === 'string' ? Buffer.from(full.scriptContent, 'base64').toString('utf8').replace(/\r\n?/g, '\n') : '';
    return {
      id,
      marker: str(full.description) ?? '',
      raw: full,
      fields: {
        type: str(full['@odata.type']) ?? ATTRIBUTE_SCRIPT,
        scriptContent: secretShown(text),
        customAttributeName: str(full.customAttributeName),
        customAttributeType: str(full.customAttributeType),
        fileName: str(full.fileName),
        runAsAccount: str(full.runAsAccount),
        assignments: assignmentShown(groups),
      },
    };
  }

  #observe(d: DesiredIntune): Promise<Observed | undefined> {
    if (d.kind === 'app') return this.#observeApp(d);
    if (d.role === 'attribute-health') return this.#observeAttribute(d);
    if (d.kind === 'script') return this.#observeRemediation(d);
    return this.#observeProfile(d);
  }

  async plan(): Promise<PlannedObject[]> {
    const entries: Entry[] = [];
    for (const d of this.desired) {
      const observed = await this.#observe(d);
      entries.push({ desired: d, observed, planned: compareIntune(d, observed) });
    }
    this.#blocks(entries);
    this.entries = entries;
    return entries.map((e) => e.planned);
  }

  #blocks(entries: Entry[]): void {
    const attribute = entries.find((e) => e.desired.role === 'attribute-health');
    if (attribute && !this.release.healthScripts?.intuneAttribute) {
      block(attribute, `release ${this.release.version} carries no ${HEALTH_ATTRIBUTE_FILE} (it was built before the health scripts): build it again with this version of aiwatch-deploy, or drop options.healthInventory`);
    }
    applyReleaseBlocks(entries, this.release, this.target.testServer, {
      isPackage: (e) => e.desired.role === 'app-macos',
      forMac: (e) => !['app-windows', 'remediation-install', 'remediation-health'].includes(e.desired.role),
      testTarget: 'tenant',
    });
  }

  #marker(d: DesiredIntune, old: string): string {
    return writeMarker(old, { kind: d.role, sha256: d.hash, version: this.release.version });
  }

  async apply(object: PlannedObject): Promise<void> {
    const entry = await this.entryToApply(object);
    if (!entry) return;
    if (entry.planned.action === 'unchanged') return;
    if (entry.desired.kind === 'app') return this.#applyApp(entry);
    if (entry.desired.role === 'attribute-health') return this.#applyAttribute(entry);
    if (entry.desired.kind === 'script') return this.#applyRemediation(entry);
    return this.#applyProfile(entry);
  }

  /** The id of a just-created object. */
  #idOf(v: Record<string, unknown>, object: string): string {
    if (typeof v.id === 'string' && /^[0-9A-Za-z_.-]{1,128}$/.test(v.id)) return v.id;
    throw new NetworkError(`${this.client.where(object, 'create')}: the answer carries no id of the new object`);
  }

  #sleep(ms: number): Promise<void> {
    return (this.ctx.http?.sleep ?? sleepFor)(ms, this.ctx.signal);
  }

  /**
   * Create without the blind retry: Graph does not refuse a second object of the same name, so a POST re-sent after
   * a lost answer would make a duplicate. One attempt; after a failure that is not a refusal (a reset, a time-out,
   * 429, 5xx) the object is looked up by name — there: the attempt made it, it is used; not there: tried again, at
   * most 5 attempts, backing off.
   */
  async #create(object: string, path: string, json: unknown, find: () => Promise<Observed | undefined>): Promise<string> {
    let wait = this.ctx.http?.backoffMs ?? 1000;
    for (let n = 1; ; n += 1) {
      try {
        return this.#idOf(await this.client.json({ object, action: 'create', method: 'POST', path, json, retries: 0 }, [200, 201]), object);
      } catch (e) {
        if (!(e instanceof NetworkError) || n >= 5 || this.ctx.signal.aborted) throw e;
        const why = /HTTP \d{3}|connection[^;)]*\)?|no answer[^;]*/.exec(e.message)?.[0] ?? 'no answer';
        const found = await find();
        if (found) {
          this.ctx.onNote?.(`${this.client.where(object, 'create')}: ${why}, but it was made: using it`);
          return found.id;
        }
        // Graph's Retry-After (a throttled create) is honoured as the retry of any other request honours it.
        const pause = Math.max(wait, e instanceof GraphGaveUp ? (e.retryAfterMs ?? 0) : 0);
        this.ctx.onNote?.(`${this.client.where(object, 'create')}: ${why}; it was not made: trying again in ${Math.round(pause / 1000)} s`);
        await this.#sleep(pause);
        wait *= 2;
      }
    }
  }

  #applyProfile(e: Entry): Promise<void> {
    return this.#applyAssigned(e, `profile "${e.desired.name}"`, '/deviceManagement/deviceConfigurations', () => this.#observeProfile(e.desired), profileAssignBody(e.desired.groupId));
  }

  #applyRemediation(e: Entry): Promise<void> {
    return this.#applyAssigned(e, `remediation "${e.desired.name}"`, '/deviceManagement/deviceHealthScripts', () => this.#observeRemediation(e.desired), remediationAssignBody(e.desired.groupId));
  }

  #applyAttribute(e: Entry): Promise<void> {
    return this.#applyAssigned(e, `custom attribute "${e.desired.name}"`, '/deviceManagement/deviceCustomAttributeShellScripts', () => this.#observeAttribute(e.desired), scriptAssignBody(e.desired.groupId));
  }

  /**
   * A profile, remediation or custom attribute script: its fields updated (PATCH) when any but the assignments differ, or it is created; then
   * assigned when it is new or its assignments differ.
   */
  async #applyAssigned(e: Entry, object: string, collection: string, observe: () => Promise<Observed | undefined>, assignBody: Record<string, unknown>): Promise<void> {
    const d = e.desired;
    // Re-read by name: an earlier attempt whose answer was lost may have made it.
    const found = e.observed ?? (await observe());
    let id: string;
    if (found) {
      id = found.id;
      const diff = compareIntune(d, found).diff.map((x) => x.field);
      if (diff.some((f) => f !== 'assignments')) {
        await this.client.expect({ object, action: 'update', method: 'PATCH', path: `${collection}/${encodeURIComponent(id)}`, json: { ...d.body, description: this.#marker(d, found.marker) } }, [200, 204]);
      }
      if (!diff.includes('assignments')) return;
    } else {
      id = await this.#create(object, collection, { ...d.body, description: this.#marker(d, '') }, observe);
    }
    await this.client.expect({ object, action: 'assign', method: 'POST', path: `${collection}/${encodeURIComponent(id)}/assign`, json: assignBody }, [200, 204]);
  }

  async #applyApp(e: Entry): Promise<void> {
    const d = e.desired;
    const object = `app "${d.name}"`;
    const found = e.observed ?? (await this.#observeApp(d));
    let id: string;
    // Every compared field but the content, the assignments and the marker is metadata, set by PATCH.
    const meta = Object.keys(d.fields).filter((f) => f !== 'content' && f !== 'assignments');
    let notes = '';
    if (found) {
      id = found.id;
      notes = found.marker;
      const diff = compareIntune(d, found).diff.map((x) => x.field);
      if (diff.some((f) => meta.includes(f))) {
        await this.client.expect({ object, action: 'update', method: 'PATCH', path: `/deviceAppManagement/mobileApps/${encodeURIComponent(id)}`, json: d.body }, [200, 204]);
      }
    } else {
      id = await this.#create(object, '/deviceAppManagement/mobileApps', { ...d.body, notes: '' }, () => this.#observeApp(d));
    }
    const contentThere = found?.fields.content === d.fields.content;
    if (!contentThere) {
      const sleep = (ms: number): Promise<void> => this.#sleep(ms);
      const c = d.content!;
      const bytes = await c.load();
      const cv = await new ContentUpload({ client: this.client, ctx: this.ctx, object, appId: id, cast: c.cast, fileName: c.fileName, size: bytes.size, read: bytes.read, sleep, after: str(found?.raw.committedContentVersion) ?? undefined }).run();
      await this.client.expect(
        { object, action: 'set committed content version', method: 'PATCH', path: `/deviceAppManagement/mobileApps/${encodeURIComponent(id)}`, json: { '@odata.type': d.body['@odata.type'], committedContentVersion: cv, notes: this.#marker(d, notes) } },
        [200, 204],
      );
    } else if (readMarker(notes)?.sha256 !== d.hash) {
      await this.client.expect({ object, action: 'write marker', method: 'PATCH', path: `/deviceAppManagement/mobileApps/${encodeURIComponent(id)}`, json: { '@odata.type': d.body['@odata.type'], notes: this.#marker(d, notes) } }, [200, 204]);
    }
    if (found?.fields.assignments !== d.fields.assignments) {
      await this.client.expect({ object, action: 'assign', method: 'POST', path: `/deviceAppManagement/mobileApps/${encodeURIComponent(id)}/assign`, json: appAssignBody(d.groupId) }, [200, 204]);
    }
  }
}

/** A problem of one of Intune's own options (undefined: fine). */
function intuneOptionProblem(targetName: string, k: string, v: unknown): string | undefined {
  if ((k === 'windows' || k === 'healthInventory') && typeof v !== 'boolean') return `target ${targetName}: options.${k} must be true or false, got ${JSON.stringify(v)}`;
  if (k !== 'authority') return undefined;
  let u: URL | undefined;
  try {
    u = typeof v === 'string' ? new URL(v) : undefined;
  } catch {
    u = undefined;
  }
  if (!u || !(u.protocol === 'https:' || (u.protocol === 'http:' && isLoopback(u.hostname))) || u.search || u.username) {
    return `target ${targetName}: options.authority must be an https URL (http only for 127.0.0.1), got ${JSON.stringify(typeof v === 'string' ? v.slice(0, 80) : v)}`;
  }
  return undefined;
}

export const intuneDriver: MdmDriver = {
  kind: 'intune',
  credentialFields: [
    { name: 'tenantId', secret: false, required: true },
    { name: 'clientId', secret: false, required: true },
    { name: 'clientSecret', secret: true, required: false },
    { name: 'certificate', secret: true, required: false },
    { name: 'certificatePassword', secret: true, required: false },
    { name: 'federatedToken', secret: true, required: false },
    { name: 'federated', secret: false, required: false },
  ],

  validate(target: RolloutTarget): string[] {
    const problems = [...credentialProblems(target), ...optionProblems(target, OPTIONS, (k, v) => intuneOptionProblem(target.name, k, v))];
    if ('smartGroup' in target.scope) {
      problems.push(`target ${target.name}: scope.smartGroup is a Jamf concept; for Intune give scope.group: the object id (GUID) of an Entra group (a dynamic group does what a smart group does)`);
    } else if (!GUID_RE.test(target.scope.group)) {
      problems.push(`target ${target.name}: scope.group must be an Entra group object id (a GUID, Entra → Groups → Object ID), got ${JSON.stringify(target.scope.group.slice(0, 80))}`);
    }
    return problems;
  },

  async connect(target: ResolvedTarget, release: ReleaseContent, ctx: DriverContext): Promise<MdmSession> {
    const spec = release.spec;
    const tenant = parseTenantInput(spec, target.tenant as RawTenantValues, `target ${target.name}: tenant`);
    const secrets = [...Object.values(target.credentials), ...Object.values(target.tenant)].filter(isSecret);
    const who = `intune ${target.name}`;
    const http = { signal: ctx.signal, backoffMs: ctx.http?.backoffMs, sleep: ctx.http?.sleep, requestTimeoutMs: ctx.http?.requestTimeoutMs, onRetry: ctx.onNote };
    const counter = { reads: 0 };
    const authority = typeof target.options.authority === 'string' ? target.options.authority : DEFAULT_AUTHORITY;
    const auth = new IntuneAuth(
      { tenantId: String(target.credentials.tenantId), clientId: String(target.credentials.clientId), credential: credentialOf(target), authority, graphUrl: target.url },
      { ...http, onRequest: () => (counter.reads += 1) },
      who,
    );
    const client = new GraphClient(target.url, auth, { ...http, secrets }, who, counter);
    const prefix = namePrefixOf(target);
    const groupId = 'group' in target.scope ? target.scope.group : '';
    return new IntuneSession(client, target, release, ctx, desiredIntune({ spec, release, tenant, prefix, groupId, windows: target.options.windows === true, healthInventory: target.options.healthInventory === true }));
  },
};

/**
 * The Kandji (Iru) driver of `plan` / `apply` (issue 15): {@link kandjiDriver} implements the MDM-neutral contract
 * (rollout/model.ts). `connect` checks everything it can without a request (the tenant values against the spec, the
 * token, the release's profiles), `plan` reads (plan.ts: four GETs), `apply` writes one planned object:
 *
 *   PPPC, login-items, tenant custom profiles (each made, then assigned to the blueprint) → custom app (upload,
 *   record, then assigned)
 *
 * so a Mac in the blueprint gets the profiles before the pkg. Every object is found by name: `apply` acts on the plan
 * this session read (it plans first if it has not), a create is never re-sent blindly (a lost answer → looked up by
 * name), and a run killed at any point leaves items the next run's plan finds by name and completes.
 *
 * Target: `url` is the tenant's API URL (Settings → Access: `https://<sub>.api.kandji.io`, `…api.eu.kandji.io`, or
 * Iru's `…api.iru.com`; http only to 127.0.0.1 for a test server); `credentials.apiToken` the API token by
 * reference; `scope: {group: <blueprint name>}` — the blueprint the items are assigned to (docs/decisions.md);
 * options `namePrefix` and `assignmentNodeId` (for an assignment-map blueprint with conditional logic).
 */
import { parseTenantInput, type RawTenantValues } from '../../config/tenant.js';
import { InterruptedError, NetworkError, UsageError } from '../../errors.js';
import type { HttpAnswer } from '../../net/http.js';
import { multipartFileBody } from '../../net/multipart.js';
import { sleepFor } from '../../net/retry.js';
import { isSecret, Secret } from '../../secret.js';
import { writeMarker } from '../../rollout/marker.js';
import type { DriverContext, MdmDriver, MdmSession, PlannedObject, ReleaseContent, ResolvedTarget, RolloutTarget } from '../../rollout/model.js';
import { PlannedSession } from '../session.js';
import { namePrefixOf, optionProblems } from '../options.js';
import { KandjiClient, KandjiUnavailable } from './client.js';
import { desiredObjects, RUNS_ON, type DesiredApp, type DesiredObject, type DesiredProfile } from './desired.js';
import { ProfileTextError } from './mobileconfig.js';
import { findBlueprint, findProfileIn, listApps, listProfiles, observeApp, observeProfile, planTarget, type Blueprint, type ObservedApp, type ObservedProfile, type PlanEntry } from './plan.js';
import { appForm, checkUploaded, sendApp, uploadPkg } from './upload.js';

/** Target options this driver reads. */
const OPTIONS: Record<string, string> = {
  namePrefix: 'the prefix of every library item name we make (default "aiwatch"): letters, digits, space, . _ -',
  assignmentNodeId: 'for an assignment-map blueprint with conditional logic: the node the items are assigned to',
};
const NODE_RE = /^[0-9A-Za-z-]{1,64}$/;
/** The API hosts Kandji and Iru publish (Settings → Access). */
const HOST_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.api\.(?:kandji\.io|eu\.kandji\.io|iru\.com)$/;

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}

/** Why `url` is not a Kandji API URL, or undefined. */
export function kandjiUrlProblem(name: string, url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined; // the rollout file's own rule reports it
  }
  const expected = 'the tenant\'s API URL from Settings → Access: https://<sub>.api.kandji.io, https://<sub>.api.eu.kandji.io or https://<sub>.api.iru.com';
  if (isLoopback(u.hostname)) return undefined;
  if (u.protocol !== 'https:' || !HOST_RE.test(u.hostname) || u.port !== '' || (u.pathname !== '/' && u.pathname !== '')) {
    return `target ${name}: url ${JSON.stringify(url.slice(0, 120))} is not a Kandji API URL; expected ${expected}`;
  }
  return undefined;
}

function blueprintName(target: { scope: RolloutTarget['scope'] }): string {
  return 'group' in target.scope ? target.scope.group : '';
}

class KandjiSession extends PlannedSession<PlanEntry> {
  #blueprint: Blueprint | undefined;

  constructor(
    readonly client: KandjiClient,
    readonly target: ResolvedTarget,
    readonly release: ReleaseContent,
    readonly ctx: DriverContext,
    readonly desired: DesiredObject[],
  ) {
    super();
  }

  async plan(): Promise<PlannedObject[]> {
    const state = await planTarget(this.client, this.desired, this.release, this.target.testServer, blueprintName(this.target));
    this.entries = state.entries;
    this.#blueprint = state.blueprint;
    return state.entries.map((e) => e.planned);
  }

  async apply(object: PlannedObject): Promise<void> {
    const entry = await this.entryToApply(object);
    if (!entry) return;
    const d = entry.desired;
    const id = d.kind === 'profile' ? await this.#applyProfile(d, entry) : await this.#applyApp(d, entry);
    if (!entry.assigned) await this.#assign(d, id);
  }

  /** Which fields differ besides the blueprint (those need the item written; the blueprint needs an assignment). */
  #itemDiffers(entry: PlanEntry): boolean {
    return entry.planned.diff.some((f) => f.field !== 'blueprint');
  }

  async #applyProfile(d: DesiredProfile, entry: PlanEntry): Promise<string> {
    const object = `custom profile "${d.name}"`;
    const text = Buffer.from(d.text(this.release.version), 'utf8');
    const form = (): ReturnType<typeof multipartFileBody> =>
      multipartFileBody(
        { field: 'file', fileName: d.fileName, contentType: 'application/x-apple-aspen-config', size: text.length, read: async function* () { yield text; } },
        { name: d.name, active: 'true', ...Object.fromEntries(Object.entries(RUNS_ON).map(([k, v]) => [k, String(v)])) },
      );
    const observed = entry.observed as ObservedProfile | undefined;
    if (observed) {
      if (this.#itemDiffers(entry)) {
        const f = form();
        await this.client.expect({ object, action: 'update', method: 'PATCH', path: `/api/v1/library/custom-profiles/${encodeURIComponent(observed.id)}`, headers: { 'content-type': f.contentType }, body: f.body }, [200]);
      }
      return observed.id;
    }
    return this.#create(object, async () => {
      const f = form();
      return this.client.send({ object, action: 'create', method: 'POST', path: '/api/v1/library/custom-profiles', headers: { 'content-type': f.contentType }, body: f.body, retries: 0 });
    }, async () => {
      const found = findProfileIn(await listProfiles(this.client), d);
      return found && found.description !== undefined && found.description.includes(d.hash) ? found.id : undefined;
    }, (item) => observeProfile(this.client, item).id);
  }

  /**
   * A create without the blind retry: one attempt; after a failure that is not a refusal (a reset, a time-out, 429,
   * 5xx) the item is looked up by name — there with our content: the attempt made it, it is used; not there: tried
   * again, at most 5 attempts, backing off (Retry-After honoured).
   */
  async #create(object: string, send: () => Promise<HttpAnswer>, find: () => Promise<string | undefined>, idOf: (item: Record<string, unknown>) => string): Promise<string> {
    let wait = this.ctx.http?.backoffMs ?? 1000;
    for (let n = 1; ; n += 1) {
      try {
        const answer = await send();
        if (answer.status !== 201 && answer.status !== 200) throw this.client.refused({ object, action: 'create' }, answer);
        return idOf(this.client.parse(answer, { object, action: 'create' }));
      } catch (e) {
        if (!(e instanceof KandjiUnavailable) || n >= 5 || this.ctx.signal.aborted) throw e;
        const why = e.status ? `HTTP ${e.status}` : 'no answer';
        const found = await find();
        if (found) {
          this.ctx.onNote?.(`${this.client.where(object, 'create')}: ${why}, but it was made: using it`);
          return found;
        }
        const delay = Math.max(wait, e.retryAfterMs ?? 0);
        this.ctx.onNote?.(`${this.client.where(object, 'create')}: ${why}; it was not made: trying again in ${Math.round(delay / 1000)} s`);
        await (this.ctx.http?.sleep ?? sleepFor)(delay, this.ctx.signal);
        if (this.ctx.signal.aborted) throw new InterruptedError();
        wait *= 2;
      }
    }
  }

  async #applyApp(d: DesiredApp, entry: PlanEntry): Promise<string> {
    const step = { client: this.client, desired: d, release: this.release, ctx: this.ctx };
    const observed = entry.observed as ObservedApp | undefined;
    // The file is sent again when it differs, or when our marker does and the record cannot show it is the same file
    // (Kandji's GET gives no sha256 in its documented answers; a rebuilt pkg of the same name and size differs there).
    const sha = typeof observed?.record.sha256 === 'string' ? observed.record.sha256.toLowerCase() : undefined;
    const fileDiffers = !observed || entry.planned.diff.some((f) => f.field === 'file') || (entry.planned.diff.some((f) => f.field === 'marker') && sha !== d.sha256);
    const script = writeMarker(d.auditScript, { kind: d.role, sha256: d.hash, version: this.release.version });
    const form = appForm(d, script);
    if (observed && !this.#itemDiffers(entry)) return observed.id;
    if (fileDiffers) form.file_key = await uploadPkg(step);
    const item = await sendApp({
      step,
      ...(observed ? { id: observed.id } : {}),
      form,
      find: async () => (await listApps(this.client)).find((a) => a.name === d.name && a.fileKey === form.file_key)?.record,
    });
    if (form.file_key) checkUploaded(step, item);
    return observed?.id ?? observeApp(this.client, item).id;
  }

  async #assign(d: DesiredObject, id: string): Promise<void> {
    const bp = this.#blueprint ?? (await findBlueprint(this.client, blueprintName(this.target)));
    const object = `${d.kind === 'app' ? 'custom app' : 'custom profile'} "${d.name}"`;
    if (!bp) throw new NetworkError(`${this.client.where(object, 'assign')}: the blueprint "${blueprintName(this.target)}" no longer exists`);
    const node = typeof this.target.options.assignmentNodeId === 'string' ? this.target.options.assignmentNodeId : undefined;
    const answer = await this.client.send({
      object,
      action: `assign to blueprint "${bp.name}"`,
      method: 'POST',
      path: `/api/v1/blueprints/${encodeURIComponent(bp.id)}/assign-library-item`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ library_item_id: id, ...(node ? { assignment_node_id: node } : {}) }),
    });
    if (answer.status === 200 || answer.status === 201) return;
    const text = Buffer.from(answer.body.subarray(0, 2048)).toString('utf8');
    // Assigned already (a retried request whose first answer was lost): the goal holds.
    if (answer.status === 400 && /already exists (on Blueprint|in Assignment Node)/i.test(text)) return;
    const err = this.client.refused({ object, action: `assign to blueprint "${bp.name}"` }, answer);
    if (/Must provide assignment_node_id/i.test(text)) err.message += ' (an assignment-map blueprint: set options.assignmentNodeId to the node the items go to)';
    throw err;
  }
}

export const kandjiDriver: MdmDriver = {
  kind: 'kandji',
  credentialFields: [{ name: 'apiToken', secret: true, required: true }],

  validate(target: RolloutTarget): string[] {
    const problems: string[] = [];
    const urlProblem = kandjiUrlProblem(target.name, target.url);
    if (urlProblem) problems.push(urlProblem);
    problems.push(
      ...optionProblems(target, OPTIONS, (k, v) =>
        k === 'assignmentNodeId' && (typeof v !== 'string' || !NODE_RE.test(v)) ? `target ${target.name}: options.assignmentNodeId must be a node id (letters, digits, -), got ${JSON.stringify(typeof v === 'string' ? v.slice(0, 80) : v)}` : undefined,
      ),
    );
    if ('smartGroup' in target.scope) {
      problems.push(`target ${target.name}: scope.smartGroup is a Jamf concept; for Kandji give scope.group: the name of the blueprint the items are assigned to`);
    } else if (target.scope.group.trim() === '' || target.scope.group.length > 200) {
      problems.push(`target ${target.name}: scope.group must be a blueprint name (1 to 200 characters)`);
    }
    return problems;
  },

  async connect(target: ResolvedTarget, release: ReleaseContent, ctx: DriverContext): Promise<MdmSession> {
    const spec = release.spec;
    const tenant = parseTenantInput(spec, target.tenant as RawTenantValues, `target ${target.name}: tenant`);
    const token = target.credentials.apiToken;
    if (!isSecret(token)) throw new UsageError(`target ${target.name}: credentials.apiToken is a secret: give it by reference ({file: …} or {env: …})`);
    if (token.reveal().trim() === '' || /[\s]/.test(token.reveal().trim())) throw new UsageError(`target ${target.name}: credentials.apiToken: the token read is empty or holds white space`);
    const secrets = [...Object.values(target.credentials), ...Object.values(target.tenant)].filter(isSecret);
    const who = `kandji ${target.name}`;
    const http = { signal: ctx.signal, backoffMs: ctx.http?.backoffMs, sleep: ctx.http?.sleep, requestTimeoutMs: ctx.http?.requestTimeoutMs, onRetry: ctx.onNote, secrets };
    const clean = new Secret(token.reveal().trim(), token.label);
    const client = new KandjiClient(target.url, clean, { ...http, secrets: [...secrets, clean] }, who);
    const prefix = namePrefixOf(target);
    let desired: DesiredObject[];
    try {
      desired = desiredObjects({ spec, release, tenant, prefix, blueprint: blueprintName(target) });
    } catch (e) {
      if (e instanceof ProfileTextError) throw new UsageError(`${who}: ${e.message}`);
      throw e;
    }
    return new KandjiSession(client, target, release, ctx, desired);
  },
};

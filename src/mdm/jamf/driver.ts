/**
 * The Jamf Pro driver of `plan` / `apply` (issue 11): {@link jamfDriver} implements the MDM-neutral contract
 * (rollout/model.ts). `connect` checks everything it can without a request (the tenant values against the spec, the
 * credentials), `plan` reads (plan.ts), `apply` writes one planned object:
 *
 *   smart group → extension attribute → version-aware smart group → PPPC, login-items, tenant profiles → package
 *   (record, upload, distribution point) → policy [→ health extension attribute → unhealthy smart group, with the
 *   target option `healthInventory: true`]
 *
 * Every object is found by name first: `apply` acts on the plan this session just read (it plans first if it has
 * not), and a run killed at any point leaves objects that the next run's plan finds by name and completes (a package
 * record made but not uploaded is uploaded), so running `apply` again finishes the job without duplicates (the server
 * also refuses a second object of the same name). Ids learned while applying (a group just created) are used by the
 * objects after it.
 *
 * Where our marker goes: smart groups, the extension attribute and profiles have a description; the package has
 * notes; a policy has neither, so the marker is the Self Service description of a policy not offered in Self Service
 * (docs/decisions.md).
 */
import { parseTenantInput, type RawTenantValues } from '../../config/tenant.js';
import { NetworkError, UsageError } from '../../errors.js';
import type { HttpAnswer } from '../../net/http.js';
import { isSecret, type Secret } from '../../secret.js';
import { writeMarker } from '../../rollout/marker.js';
import type { DriverContext, MdmDriver, MdmSession, PlannedObject, ReleaseContent, ResolvedTarget, RolloutTarget } from '../../rollout/model.js';
import { PlannedSession } from '../session.js';
import { namePrefixOf, optionProblems } from '../options.js';
import { JamfAuth, type JamfCredentials } from './auth.js';
import { parseClassic, profileXml, policyXml, readId, ClassicXmlError } from './classic-xml.js';
import { JamfClient } from './client.js';
import { desiredObjects, objectNames, type DesiredObject, type DesiredPolicy, type DesiredProfile, type DesiredSmartGroup, type DesiredExtensionAttribute } from './desired.js';
import { findComputerGroup, findExtensionAttribute, findPackage, findPolicy, findProfile, listSmartGroups, type ObservedPackage } from './observe.js';
import { applyPackage } from './package.js';
import { planTarget, type PlanEntry } from './plan.js';

/** Target options this driver reads. */
const OPTIONS: Record<string, string> = {
  namePrefix: 'the prefix of every object name we make (default "aiwatch"): letters, digits, space, . _ -',
  healthInventory: 'true: also the extension attribute "aiwatch health" and the smart group "<scope> — aiwatch unhealthy" (default false)',
};

function optionProblem(target: RolloutTarget): (name: string, value: unknown) => string | undefined {
  return (name, value) => (name === 'healthInventory' && typeof value !== 'boolean' ? `target ${target.name}: options.healthInventory must be true or false, got ${JSON.stringify(value)}` : undefined);
}

function credentialsOf(target: ResolvedTarget): JamfCredentials {
  const c = target.credentials;
  const secret = (name: string): Secret | undefined => (isSecret(c[name]) ? (c[name] as Secret) : undefined);
  const literal = (name: string): string | undefined => (typeof c[name] === 'string' ? (c[name] as string) : undefined);
  const clientId = literal('clientId');
  const clientSecret = secret('clientSecret');
  if (clientId && clientSecret) return { kind: 'client', clientId, clientSecret };
  const username = literal('username');
  const password = secret('password');
  if (username && password) return { kind: 'user', username, password };
  throw new UsageError(`target ${target.name}: credentials: give clientId and clientSecret (an API client), or username and password`);
}

function credentialProblems(target: RolloutTarget): string[] {
  const c = target.credentials;
  const has = (n: string): boolean => c[n] !== undefined;
  const where = `target ${target.name}: credentials`;
  const problems: string[] = [];
  for (const n of Object.keys(c)) {
    if (!['clientId', 'clientSecret', 'username', 'password'].includes(n)) problems.push(`${where}: unknown field "${n}"; expected clientId + clientSecret, or username + password`);
  }
  const client = has('clientId') || has('clientSecret');
  const user = has('username') || has('password');
  if (client && user) problems.push(`${where}: give either clientId + clientSecret or username + password, not both`);
  else if (client && !(has('clientId') && has('clientSecret'))) problems.push(`${where}: clientId and clientSecret go together`);
  else if (user && !(has('username') && has('password'))) problems.push(`${where}: username and password go together`);
  else if (!client && !user) problems.push(`${where}: give clientId + clientSecret (an API client, Jamf Pro ≥ 10.49) or username + password`);
  for (const n of ['clientId', 'username']) if (has(n) && typeof c[n] !== 'string') problems.push(`${where}: ${n} is not secret: give it as text, not a file or env reference`);
  for (const n of ['clientSecret', 'password']) if (has(n) && typeof c[n] === 'string') problems.push(`${where}: ${n} is a secret: give it by reference ({file: …} or {env: …}), never as text`);
  return problems;
}

class JamfSession extends PlannedSession<PlanEntry> {
  /** Ids learned by name: `role` → id and name, for the objects after it. */
  readonly #ids = new Map<string, { id: string; name: string }>();
  readonly #desired: DesiredObject[];
  readonly #versionGroupPrefix: string;

  constructor(
    readonly client: JamfClient,
    readonly target: ResolvedTarget,
    readonly release: ReleaseContent,
    readonly ctx: DriverContext,
    desired: DesiredObject[],
    versionGroupPrefix: string,
  ) {
    super();
    this.#desired = desired;
    this.#versionGroupPrefix = versionGroupPrefix;
  }

  async plan(): Promise<PlannedObject[]> {
    const entries = await planTarget(this.client, this.#desired, this.release, this.target.testServer, this.#versionGroupPrefix);
    this.entries = entries;
    this.#ids.clear();
    for (const e of entries) {
      const id = (e.observed as { id?: string } | undefined)?.id;
      if (id) this.#ids.set(e.desired.role, { id, name: e.desired.name });
    }
    return entries.map((e) => e.planned);
  }

  #marker(d: DesiredObject, old: string): string {
    return writeMarker(old, { kind: d.role, sha256: d.hash, version: this.release.version });
  }

  async apply(object: PlannedObject): Promise<void> {
    const entry = await this.entryToApply(object);
    if (!entry) return;
    const d = entry.desired;
    switch (d.role) {
      case 'smart-group':
      case 'smart-group-version':
      case 'smart-group-health':
        return this.#applySmartGroup(d, entry);
      case 'extension-attribute':
      case 'extension-attribute-health':
        return this.#applyExtensionAttribute(d, entry);
      case 'profile-pppc':
      case 'profile-loginitems':
      case 'profile-tenant':
        return this.#applyProfile(d, entry);
      case 'package': {
        const id = await applyPackage({ client: this.client, desired: d, observed: entry.observed as ObservedPackage | undefined, notes: (old) => this.#marker(d, old), release: this.release, ctx: this.ctx });
        this.#ids.set('package', { id, name: d.name });
        return;
      }
      case 'policy':
        return this.#applyPolicy(d, entry);
      case 'existing-group':
        return;
    }
  }

  /** An id learned earlier in this run, or found by name now (an object the plan had not seen yet). */
  async #idOf(role: string, name: string, find: () => Promise<{ id?: string } | undefined>): Promise<{ id: string; name: string }> {
    const known = this.#ids.get(role);
    if (known) return known;
    const found = await find();
    if (!found?.id) throw new NetworkError(`${this.client.who}: ${role} "${name}" was expected to exist by now (an earlier step did not finish): run apply again`);
    const hit = { id: found.id, name };
    this.#ids.set(role, hit);
    return hit;
  }

  #scopeGroup(): Promise<{ id: string; name: string }> {
    const scope = this.#desired[0]!;
    if (scope.role === 'existing-group') return this.#idOf('existing-group', scope.name, () => findComputerGroup(this.client, scope.name));
    return this.#idOf('smart-group', scope.name, async () => (await listSmartGroups(this.client)).find((g) => g.name === scope.name));
  }

  /** The id of a just-created object from a JSON `{id}` answer. */
  #jsonId(body: Uint8Array, object: string, action: string): string {
    try {
      const v = JSON.parse(Buffer.from(body).toString('utf8')) as { id?: unknown };
      const id = typeof v.id === 'number' ? String(v.id) : v.id;
      if (typeof id === 'string' && /^[0-9A-Za-z_-]{1,64}$/.test(id)) return id;
    } catch {
      // fall through
    }
    throw new NetworkError(`${this.client.where(object, action)}: the answer carries no id of the new object`);
  }

  /** The id of a Classic create's `<root><id>N</id></root>` answer. */
  #classicId(body: Uint8Array, root: string, object: string, action: string): string {
    try {
      const id = readId(parseClassic(Buffer.from(body).toString('utf8'), root));
      if (id) return id;
    } catch (e) {
      if (!(e instanceof ClassicXmlError)) throw e;
    }
    throw new NetworkError(`${this.client.where(object, action)}: the answer carries no <id> of the new object`);
  }

  /**
   * Create, or update what exists. A create refused as a duplicate name (Pro API 400, Classic 409) means the object
   * exists after all — a create whose answer was lost to a reset and that the retry policy sent again, or a run in
   * parallel: it is looked up by name and updated instead.
   */
  async #upsert<T extends { id?: string }>(
    object: string,
    existing: T | undefined,
    find: () => Promise<T | undefined>,
    update: (found: T & { id: string }) => Promise<void>,
    create: () => Promise<HttpAnswer>,
    createdId: (answer: HttpAnswer) => string,
  ): Promise<string> {
    if (existing?.id) {
      await update(existing as T & { id: string });
      return existing.id;
    }
    const answer = await create();
    if (answer.status === 200 || answer.status === 201) return createdId(answer);
    if (answer.status === 400 || answer.status === 409) {
      const found = await find();
      if (found?.id) {
        this.ctx.onNote?.(`${this.client.where(object, 'create')}: HTTP ${answer.status}, it exists already (an earlier attempt made it): updating it`);
        await update(found as T & { id: string });
        return found.id;
      }
    }
    throw this.client.refused({ object, action: 'create' }, answer);
  }

  async #applySmartGroup(d: DesiredSmartGroup, entry: PlanEntry): Promise<void> {
    const object = `smart group "${d.name}"`;
    const headers = { 'content-type': 'application/json', accept: 'application/json' };
    const body = (description: string): string => JSON.stringify({ name: d.name, description: this.#marker(d, description), criteria: d.criteria });
    const id = await this.#upsert(
      object,
      entry.observed as { id: string; description: string } | undefined,
      async () => (await listSmartGroups(this.client)).find((g) => g.name === d.name),
      async (g) => {
        await this.client.expect({ object, action: 'update', method: 'PUT', path: `/api/v2/computer-groups/smart-groups/${encodeURIComponent(g.id)}`, headers, body: body(g.description) }, [200, 202]);
      },
      () => this.client.send({ object, action: 'create', method: 'POST', path: '/api/v2/computer-groups/smart-groups', headers, body: body('') }),
      (answer) => this.#jsonId(answer.body, object, 'create'),
    );
    this.#ids.set(d.role, { id, name: d.name });
  }

  async #applyExtensionAttribute(d: DesiredExtensionAttribute, entry: PlanEntry): Promise<void> {
    const object = `extension attribute "${d.name}"`;
    const headers = { 'content-type': 'application/json', accept: 'application/json' };
    const body = (description: string): string =>
      JSON.stringify({
        name: d.name,
        description: this.#marker(d, description),
        dataType: 'STRING',
        inputType: 'SCRIPT',
        inventoryDisplayType: 'EXTENSION_ATTRIBUTES',
        enabled: true,
        scriptContents: d.scriptContents,
      });
    await this.#upsert(
      object,
      entry.observed as { id: string; description: string } | undefined,
      () => findExtensionAttribute(this.client, d.name),
      async (a) => {
        await this.client.expect({ object, action: 'update', method: 'PUT', path: `/api/v1/computer-extension-attributes/${encodeURIComponent(a.id)}`, headers, body: body(a.description) }, [200, 202]);
      },
      () => this.client.send({ object, action: 'create', method: 'POST', path: '/api/v1/computer-extension-attributes', headers, body: body('') }),
      (answer) => this.#jsonId(answer.body, object, 'create'),
    );
  }

  async #applyProfile(d: DesiredProfile, entry: PlanEntry): Promise<void> {
    const object = `profile "${d.name}"`;
    const scopeGroup = await this.#scopeGroup();
    const body = (description: string): string => profileXml({ name: d.name, description: this.#marker(d, description), payloads: d.payloads, scopeGroup });
    const headers = { 'content-type': 'application/xml', accept: 'application/xml' };
    await this.#upsert(
      object,
      entry.observed as { id?: string; description: string } | undefined,
      () => findProfile(this.client, d.name),
      async (p) => {
        await this.client.expect({ object, action: 'update', method: 'PUT', path: `/JSSResource/osxconfigurationprofiles/id/${encodeURIComponent(p.id)}`, headers, body: body(p.description) }, [200, 201]);
      },
      () => this.client.send({ object, action: 'create', method: 'POST', path: '/JSSResource/osxconfigurationprofiles/id/0', headers, body: body('') }),
      (answer) => this.#classicId(answer.body, 'os_x_configuration_profile', object, 'create'),
    );
  }

  async #applyPolicy(d: DesiredPolicy, entry: PlanEntry): Promise<void> {
    const object = `policy "${d.name}"`;
    const pkg = await this.#idOf('package', d.packageName, () => findPackage(this.client, d.packageName));
    const group = await this.#idOf('smart-group-version', d.scopeGroup, async () => (await listSmartGroups(this.client)).find((g) => g.name === d.scopeGroup));
    const body = (description: string): string => policyXml({ name: d.name, package: pkg, scopeGroup: group, marker: this.#marker(d, description) });
    const headers = { 'content-type': 'application/xml', accept: 'application/xml' };
    await this.#upsert(
      object,
      entry.observed as { id?: string; selfServiceDescription: string } | undefined,
      () => findPolicy(this.client, d.name),
      async (p) => {
        await this.client.expect({ object, action: 'update', method: 'PUT', path: `/JSSResource/policies/id/${encodeURIComponent(p.id)}`, headers, body: body(p.selfServiceDescription) }, [200, 201]);
      },
      () => this.client.send({ object, action: 'create', method: 'POST', path: '/JSSResource/policies/id/0', headers, body: body('') }),
      (answer) => this.#classicId(answer.body, 'policy', object, 'create'),
    );
  }
}

export const jamfDriver: MdmDriver = {
  kind: 'jamf',
  credentialFields: [
    { name: 'clientId', secret: false, required: false },
    { name: 'clientSecret', secret: true, required: false },
    { name: 'username', secret: false, required: false },
    { name: 'password', secret: true, required: false },
  ],

  validate(target: RolloutTarget): string[] {
    const problems = [...credentialProblems(target), ...optionProblems(target, OPTIONS, optionProblem(target))];
    if ('smartGroup' in target.scope) {
      const g = target.scope.smartGroup;
      if (g.criteria.length === 0) problems.push(`target ${target.name}: scope.smartGroup "${g.name}" has no criteria: it would hold no Mac (give at least one criterion)`);
      g.criteria.forEach((c, i) => {
        for (const f of ['name', 'searchType'] as const) if (c[f].trim() === '') problems.push(`target ${target.name}: scope.smartGroup.criteria[${i}].${f} is empty`);
      });
    }
    const scopeName = 'smartGroup' in target.scope ? target.scope.smartGroup.name : target.scope.group;
    if (scopeName.trim() === '' || scopeName.length > 200) problems.push(`target ${target.name}: the scope group name must be 1–200 characters, got ${JSON.stringify(scopeName.slice(0, 40))}`);
    return problems;
  },

  async connect(target: ResolvedTarget, release: ReleaseContent, ctx: DriverContext): Promise<MdmSession> {
    const spec = release.spec;
    // Parse, then act: tenant values and credentials are checked before the first request.
    const tenant = parseTenantInput(spec, target.tenant as RawTenantValues, `target ${target.name}: tenant`);
    const creds = credentialsOf(target);
    const secrets = [...Object.values(target.credentials), ...Object.values(target.tenant)].filter(isSecret);
    const who = `jamf ${target.name}`;
    const http = { signal: ctx.signal, backoffMs: ctx.http?.backoffMs, sleep: ctx.http?.sleep, requestTimeoutMs: ctx.http?.requestTimeoutMs, onRetry: ctx.onNote };
    // Token requests change nothing on the server: they count as reads (a second apply makes 0 writes).
    const counter = { reads: 0 };
    const auth = new JamfAuth(target.url, creds, { ...http, onRequest: () => (counter.reads += 1) }, who);
    const client = new JamfClient(target.url, auth, { ...http, secrets }, who, counter);
    const prefix = namePrefixOf(target);
    const scopeName = 'smartGroup' in target.scope ? target.scope.smartGroup.name : target.scope.group;
    const names = objectNames(prefix, scopeName, release.version);
    const desired = desiredObjects({ spec, release, target, tenant, prefix, health: target.options.healthInventory === true });
    return new JamfSession(client, target, release, ctx, desired, names.versionGroupPrefix);
  },
};

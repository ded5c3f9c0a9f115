/**
 * A small MDM for the engine tests: an in-memory server (objects by name, each with the content hash it was made
 * from, request counters) and a driver for it that implements the MdmDriver contract of src/rollout/model.ts the way
 * a real driver must — plan reads and never writes, apply performs one object, objects are found by name, a pkg that
 * is not trusted is blocked unless the target is a test server. It is a test double of an MDM (the thing across the
 * network), not of our engine: the engine under test is the real one. Faults: refuse a connection, fail one object's
 * apply, hold connections open until released (to observe the concurrency bound without timing anything).
 */
import { NetworkError, RemoteRejection } from '../../src/errors.js';
import { contentHash, secretShown } from '../../src/rollout/marker.js';
import type { MdmDriver, MdmSession, PlannedObject, ReleaseContent, RequestCounts, ResolvedTarget } from '../../src/rollout/model.js';
import { isSecret } from '../../src/secret.js';

export interface FakeObject {
  kind: PlannedObject['kind'];
  hash: string;
  fields: Record<string, string>;
}

/** One MDM server's state. */
export class FakeServer {
  readonly objects = new Map<string, FakeObject>();
  readonly counts: RequestCounts = { reads: 0, writes: 0, uploadedBytes: 0 };
}

export interface FakeFaults {
  /** Target names whose connection is refused (a network error, exit 5). */
  refuse?: Set<string>;
  /** Target names whose credentials are refused (exit 6). */
  unauthorized?: Set<string>;
  /** `target/kind` pairs whose apply fails with a network error whose message holds the target's client secret. */
  failApply?: Set<string>;
  /** When set, every connect waits for this promise (a gate the test opens). */
  gate?: Promise<void>;
  /** Called on every connect and close (in-flight accounting). */
  onConnect?: (target: string) => void;
  onClose?: (target: string) => void;
}

interface Desired {
  kind: PlannedObject['kind'];
  name: string;
  fields: Record<string, string>;
  secretFields?: string[];
}

function desiredObjects(t: ResolvedTarget, r: ReleaseContent): Desired[] {
  const scope = 'smartGroup' in t.scope ? t.scope.smartGroup.name : t.scope.group;
  const tenantFields = Object.fromEntries(Object.entries(t.tenant).map(([k, v]) => [k, isSecret(v) ? secretShown(v) : String(v)]));
  return [
    { kind: 'smart-group', name: scope, fields: { criteria: 'smartGroup' in t.scope ? JSON.stringify(t.scope.smartGroup.criteria) : '' } },
    { kind: 'profile', name: 'AI Watch PPPC', fields: { payload: contentHash(r.profiles.pppc), scope } },
    { kind: 'profile', name: 'AI Watch Login Items', fields: { payload: contentHash(r.profiles.loginItems), scope } },
    { kind: 'profile', name: 'AI Watch Tenant', fields: { ...tenantFields, scope }, secretFields: Object.keys(t.tenant).filter((k) => isSecret(t.tenant[k])) },
    { kind: 'package', name: r.pkg.fileName, fields: { sha512: r.pkg.sha512, size: String(r.pkg.size) } },
    { kind: 'policy', name: `AI Watch ${r.version}`, fields: { package: r.pkg.fileName, scope } },
  ];
}

class FakeSession implements MdmSession {
  constructor(
    private readonly server: FakeServer,
    private readonly target: ResolvedTarget,
    private readonly release: ReleaseContent,
    private readonly faults: FakeFaults,
    private readonly signal: AbortSignal,
    private readonly upload?: (name: string, done: number, total: number) => void,
  ) {}

  async plan(): Promise<PlannedObject[]> {
    const untrusted = !this.release.trust.developerIdSigned || !this.release.trust.notarizedStapled;
    return desiredObjects(this.target, this.release).map((d) => {
      this.server.counts.reads++;
      const hash = contentHash(d.fields);
      const have = this.server.objects.get(d.name);
      const base = { kind: d.kind, name: d.name, hash };
      if (d.kind === 'package' && untrusted && !this.target.testServer) {
        return { ...base, action: 'blocked', diff: [], reason: `the pkg is not trusted (${this.release.trust.problems.join('; ')}); a test server would accept it` };
      }
      if (!have) return { ...base, action: 'create', diff: Object.entries(d.fields).map(([field, to]) => ({ field, from: null, to, ...(d.secretFields?.includes(field) ? { secret: true } : {}) })) };
      if (have.hash === hash) return { ...base, action: 'unchanged', diff: [], id: d.name };
      const diff = Object.entries(d.fields)
        .filter(([k, v]) => have.fields[k] !== v)
        .map(([field, to]) => ({ field, from: have.fields[field] ?? null, to, ...(d.secretFields?.includes(field) ? { secret: true } : {}) }));
      return { ...base, action: 'update', diff, id: d.name };
    });
  }

  async apply(o: PlannedObject): Promise<void> {
    if (this.signal.aborted) throw new Error('aborted');
    if (this.faults.failApply?.has(`${this.target.name}/${o.kind}`)) {
      const secret = this.target.credentials.clientSecret;
      throw new NetworkError(`${this.target.name}: ${o.kind} "${o.name}": HTTP 503 after retries (token ${isSecret(secret) ? secret.reveal() : ''})`);
    }
    const d = desiredObjects(this.target, this.release).find((x) => x.name === o.name)!;
    if (o.kind === 'package') {
      let done = 0;
      for await (const c of this.release.pkg.read()) {
        done += c.length;
        this.upload?.(o.name, done, this.release.pkg.size);
      }
      this.server.counts.uploadedBytes += done;
    }
    this.server.counts.writes++;
    this.server.objects.set(o.name, { kind: o.kind, hash: o.hash, fields: { ...d.fields } });
  }

  counts(): RequestCounts {
    return { ...this.server.counts };
  }

  async close(): Promise<void> {
    this.faults.onClose?.(this.target.name);
  }
}

/** A driver over `servers` (by target URL), with `faults`. */
export function fakeDriver(servers: Map<string, FakeServer>, faults: FakeFaults = {}): MdmDriver {
  return {
    kind: 'jamf',
    credentialFields: [
      { name: 'clientId', secret: false, required: true },
      { name: 'clientSecret', secret: true, required: true },
    ],
    validate: (t) => (typeof t.options.category === 'number' ? [`options.category: expected a name, got ${t.options.category}`] : []),
    async connect(target, release, ctx) {
      faults.onConnect?.(target.name);
      if (faults.gate) await faults.gate;
      if (faults.refuse?.has(target.name)) {
        faults.onClose?.(target.name);
        throw new NetworkError(`${target.name}: connect ${target.url}: ECONNREFUSED`);
      }
      if (faults.unauthorized?.has(target.name)) {
        faults.onClose?.(target.name);
        throw new RemoteRejection(`${target.name}: POST /api/oauth/token: HTTP 401: credentials refused`);
      }
      let server = servers.get(target.url);
      if (!server) servers.set(target.url, (server = new FakeServer()));
      // Each session counts its own requests from zero, as a real client would.
      const own = new FakeServer();
      for (const [k, v] of server.objects) own.objects.set(k, v);
      const session = new FakeSession(own, target, release, faults, ctx.signal, ctx.onUploadProgress);
      // Writes go to the shared server state too.
      const apply = session.apply.bind(session);
      session.apply = async (o) => {
        await apply(o);
        server.objects.set(o.name, own.objects.get(o.name)!);
      };
      return session;
    },
  };
}

/**
 * Azurite (Microsoft's Azure Storage emulator, npm `azurite`) for the local Intune server: {@link startAzurite} runs
 * its Blob service in a child process (azurite-child.mjs: 127.0.0.1, a free port, in-memory), and {@link BlobAccount}
 * talks to it as the storage account owner — Shared Key requests to create containers, set a container's stored
 * access policies, read and delete blobs — and signs the service SAS URIs the Graph server hands out.
 *
 * The account is Azurite's well-known development account (`devstoreaccount1` and its published key, the same in
 * every Azurite install and in Microsoft's docs: it guards nothing). The signatures follow Microsoft's Shared Key and
 * service SAS (version 2020-12-06 and later) rules; Azurite checks them, so a URI we sign wrongly is a 403 in a test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEV_ACCOUNT = 'devstoreaccount1';
/** Azurite's published development-account key (not a secret: it is in Azurite's README and Microsoft's docs). */
export const DEV_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
/** The storage service version of our requests and SAS URIs (the Blob spec version azure-blob.md describes). */
export const STORAGE_VERSION = '2021-10-04';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'azurite-child.mjs');

export interface Azurite {
  /** `http://127.0.0.1:port/devstoreaccount1` (path-style, as Azurite serves it). */
  accountUrl: string;
  port: number;
  pid: number;
  /** Milliseconds from spawn to listening. */
  startMs: number;
  stop(): Promise<void>;
}

/** Start Azurite's Blob service; `memoryLimitMiB` bounds its in-memory blob store (default 2 GiB). */
export async function startAzurite(o: { memoryLimitMiB?: number } = {}): Promise<Azurite> {
  const t0 = Date.now();
  const child: ChildProcess = spawn(process.execPath, [CHILD, String(o.memoryLimitMiB ?? 2048)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => void (err = (err + d.toString()).slice(-4000)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`Azurite did not start within 30 s: ${err}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = /\{"port":(\d+)\}/.exec(out);
      if (line) {
        clearTimeout(timer);
        resolve(Number(line[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited (${code}) before listening: ${err}`));
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    accountUrl: `http://127.0.0.1:${port}/${DEV_ACCOUNT}`,
    port,
    pid: child.pid!,
    startMs: Date.now() - t0,
    // In-memory: nothing to save, so no graceful close (Azurite's takes ~1.5 s).
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

const hmac = (text: string): string => createHmac('sha256', Buffer.from(DEV_ACCOUNT_KEY, 'base64')).update(text, 'utf8').digest('base64');

/** An ISO 8601 UTC time without milliseconds, as SAS and access policies write it. */
export function sasTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface SasOptions {
  container: string;
  blob: string;
  /** A stored access policy id on the container (its start, expiry and permissions apply), or… */
  policyId?: string;
  /** …permissions and expiry in the URI itself. */
  permissions?: string;
  expiresAt?: number;
}

export class BlobAccount {
  constructor(readonly accountUrl: string) {}

  /** A service SAS URI for one blob (signed resource `b`), in the form Intune's `azureStorageUri` has. */
  sasUri(o: SasOptions): string {
    const se = o.expiresAt !== undefined ? sasTime(o.expiresAt) : '';
    const sp = o.permissions ?? '';
    const si = o.policyId ?? '';
    // Service SAS string-to-sign, version 2020-12-06 and later: sp st se canonicalizedResource si sip spr sv sr
    // snapshot-time ses rscc rscd rsce rscl rsct.
    const canonical = `/blob/${DEV_ACCOUNT}/${o.container}/${o.blob}`;
    const toSign = [sp, '', se, canonical, si, '', 'http', STORAGE_VERSION, 'b', '', '', '', '', '', '', ''].join('\n');
    const q = new URLSearchParams();
    q.set('sv', STORAGE_VERSION);
    q.set('spr', 'http');
    if (se) q.set('se', se);
    q.set('sr', 'b');
    if (sp) q.set('sp', sp);
    if (si) q.set('si', si);
    q.set('sig', hmac(toSign));
    return `${this.accountUrl}/${o.container}/${encodeURIComponent(o.blob)}?${q.toString()}`;
  }

  /** A Shared Key request as the account owner. */
  async request(method: string, resource: string, query: Record<string, string>, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Response> {
    const date = new Date().toUTCString();
    const length = body === undefined ? 0 : Buffer.byteLength(body);
    const h: Record<string, string> = { 'x-ms-date': date, 'x-ms-version': STORAGE_VERSION, ...headers };
    const msHeaders = Object.keys(h)
      .filter((k) => k.toLowerCase().startsWith('x-ms-'))
      .sort()
      .map((k) => `${k.toLowerCase()}:${h[k]}\n`)
      .join('');
    const params = Object.keys(query)
      .sort()
      .map((k) => `\n${k.toLowerCase()}:${query[k]}`)
      .join('');
    // Path-style URIs (Azurite): the canonical resource names the account, then the path, which starts with it too.
    const canonical = `/${DEV_ACCOUNT}/${DEV_ACCOUNT}/${resource}${params}`;
    const contentType = h['content-type'] ?? '';
    const toSign = [method, '', '', length > 0 ? String(length) : '', '', contentType, '', '', '', '', '', ''].join('\n') + '\n' + msHeaders + canonical;
    const qs = new URLSearchParams(query).toString();
    return fetch(`${this.accountUrl}/${resource}${qs ? `?${qs}` : ''}`, {
      method,
      headers: { ...h, authorization: `SharedKey ${DEV_ACCOUNT}:${hmac(toSign)}` },
      body: body === undefined ? undefined : typeof body === 'string' ? body : new Uint8Array(body),
    });
  }

  async createContainer(name: string): Promise<void> {
    const r = await this.request('PUT', name, { restype: 'container' });
    if (r.status !== 201 && r.status !== 409) throw new Error(`Azurite: create container ${name}: HTTP ${r.status} ${await r.text()}`);
  }

  /** Replace the container's stored access policies (Set Container ACL; at most 5, as in Azure). */
  async setPolicies(container: string, policies: { id: string; expiresAt: number; permissions: string }[]): Promise<void> {
    const xml =
      '<?xml version="1.0" encoding="utf-8"?><SignedIdentifiers>' +
      policies.map((p) => `<SignedIdentifier><Id>${p.id}</Id><AccessPolicy><Start>${sasTime(Date.now() - 300_000)}</Start><Expiry>${sasTime(p.expiresAt)}</Expiry><Permission>${p.permissions}</Permission></AccessPolicy></SignedIdentifier>`).join('') +
      '</SignedIdentifiers>';
    const r = await this.request('PUT', container, { comp: 'acl', restype: 'container' }, xml, { 'content-type': 'application/xml' });
    if (r.status !== 200) throw new Error(`Azurite: set container ACL ${container}: HTTP ${r.status} ${await r.text()}`);
  }

  /** Get Blob, as a stream (bounded memory whatever its size); undefined when there is no committed blob. */
  async read(container: string, blob: string): Promise<{ size: number; body: AsyncIterable<Uint8Array> } | undefined> {
    const r = await this.request('GET', `${container}/${encodeURIComponent(blob)}`, {});
    if (r.status === 404) {
      await r.body?.cancel();
      return undefined;
    }
    if (r.status !== 200 || !r.body) throw new Error(`Azurite: get blob ${container}/${blob}: HTTP ${r.status} ${await r.text()}`);
    return { size: Number(r.headers.get('content-length')), body: r.body as unknown as AsyncIterable<Uint8Array> };
  }

  async deleteContainer(name: string): Promise<void> {
    const r = await this.request('DELETE', name, { restype: 'container' });
    await r.body?.cancel();
  }
}

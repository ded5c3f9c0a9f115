/**
 * The content upload of an Intune line-of-business app (macOSPkgApp here; the same flow serves win32LobApp), in the
 * order Microsoft documents (graph-intune.json; powershell-intune-samples Win32_Application_Add.ps1):
 *
 *   contentVersions (POST {}) → files (POST {name, size, sizeEncrypted, manifest null, isDependency false})
 *   → poll the file until uploadState azureStorageUriRequestSuccess → Put Block × n, Put Block List to the SAS URI
 *   → POST …/commit {fileEncryptionInfo} (204) → poll until commitFileSuccess → PATCH the app's
 *   committedContentVersion (with our marker in `notes`, so the next plan knows the content is there).
 *
 * Resumable: before making a content version, the app's existing ones newer than its committed one are read (an
 * interrupted upload is always newer; older ones hold earlier contents); a file of the same name and size
 * that is committed (`commitFileSuccess`) is only pointed at (the PATCH was what was missing), one whose commit is
 * pending is waited for, one that has a SAS but no commit is uploaded again into the same file entry (fresh keys:
 * the commit carries them), so an interrupted apply never leaves a second content version behind it. A content
 * version whose commit failed is left alone and a new one made.
 *
 * Encryption (encrypt.ts) is two streamed passes; blocks of {@link BLOCK_BYTES} are held one at a time (bounded
 * memory whatever the pkg size). The SAS is renewed (`renewUpload`, then poll for azureStorageUriRenewalSuccess) when
 * it has less than two minutes left before a block, or when a block is refused with 403 (AuthenticationFailed: the
 * SAS expired mid-upload); the block is then sent again.
 */
import { NetworkError, RemoteRejection } from '../../errors.js';
import type { DriverContext } from '../../rollout/model.js';
import type { GraphClient } from './client.js';
import { blockId, blocksOf, encryptedSize, encryptedStream, measure, newContentKeys } from './encrypt.js';

/** Blocks of 8 MiB: Microsoft's sample uses 6 MiB; any size ≤ 100 MiB is valid for every service version. */
export const BLOCK_BYTES = 8 * 1024 * 1024;
/** How often and how long a file's state is polled (Microsoft's sample: every 10 s, 600 times). */
export const POLL_MS = 2_000;
export const POLL_LIMIT = 300;
/** A SAS with less than this left is renewed before the next block. */
const SAS_MARGIN_MS = 120_000;

export interface UploadInput {
  client: GraphClient;
  ctx: DriverContext;
  /** `app "aiwatch agent (macOS)"`. */
  object: string;
  appId: string;
  /** `microsoft.graph.macOSPkgApp`. */
  cast: string;
  fileName: string;
  size: number;
  read: () => AsyncIterable<Uint8Array>;
  /** Wait between polls (tests: none); default ctx.http.sleep or a timer. */
  sleep: (ms: number) => Promise<void>;
  now?: () => number;
  /** The app's committed content version now: only versions made after it are candidates for resuming. */
  after?: string;
}

interface FileState {
  id: string;
  name?: string;
  size?: number;
  uploadState?: string;
  azureStorageUri?: string;
  azureStorageUriExpirationDateTime?: string;
  isCommitted?: boolean;
}

function fileState(v: Record<string, unknown>): FileState {
  return {
    id: String(v.id),
    name: typeof v.name === 'string' ? v.name : undefined,
    size: typeof v.size === 'number' ? v.size : typeof v.size === 'string' ? Number(v.size) : undefined,
    uploadState: typeof v.uploadState === 'string' ? v.uploadState : undefined,
    azureStorageUri: typeof v.azureStorageUri === 'string' ? v.azureStorageUri : undefined,
    azureStorageUriExpirationDateTime: typeof v.azureStorageUriExpirationDateTime === 'string' ? v.azureStorageUriExpirationDateTime : undefined,
    isCommitted: v.isCommitted === true,
  };
}

const enc = encodeURIComponent;

export class ContentUpload {
  readonly #in: UploadInput;
  readonly #app: string;

  constructor(input: UploadInput) {
    this.#in = input;
    this.#app = `/deviceAppManagement/mobileApps/${enc(input.appId)}/${input.cast}`;
  }

  #filePath(cv: string, file: string): string {
    return `${this.#app}/contentVersions/${enc(cv)}/files/${enc(file)}`;
  }

  /** Upload (or finish an earlier upload of) the content; resolves to the committed content version's id. */
  async run(): Promise<string> {
    const { client, object } = this.#in;
    const found = await this.#findResumable();
    if (found?.file.uploadState === 'commitFileSuccess') {
      this.#in.ctx.onNote?.(`${client.who}: ${object}: content version ${found.cv} already committed (an earlier apply was interrupted after it): using it`);
      return found.cv;
    }
    if (found?.file.uploadState === 'commitFilePending') {
      this.#in.ctx.onNote?.(`${client.who}: ${object}: content version ${found.cv} is being committed (an earlier apply): waiting for it`);
      await this.#poll(found.cv, found.file.id, 'commit', ['commitFileSuccess'], ['commitFilePending']);
      return found.cv;
    }
    let cv: string;
    let file: FileState;
    if (found) {
      ({ cv, file } = found);
      this.#in.ctx.onNote?.(`${client.who}: ${object}: content version ${cv} was not committed (an earlier apply was interrupted): uploading into it again`);
      if (!file.azureStorageUri || file.uploadState !== 'azureStorageUriRequestSuccess') file = await this.#renew(cv, file.id);
    } else {
      const v = await client.json({ object, action: 'create content version', method: 'POST', path: `${this.#app}/contentVersions`, json: {} }, [200, 201]);
      if (typeof v.id !== 'string' && typeof v.id !== 'number') throw new RemoteRejection(`${client.where(object, 'create content version')}: the answer carries no id`);
      cv = String(v.id);
      const f = await client.json(
        {
          object,
          action: 'create content file',
          method: 'POST',
          path: `${this.#app}/contentVersions/${enc(cv)}/files`,
          json: { '@odata.type': '#microsoft.graph.mobileAppContentFile', name: this.#in.fileName, size: this.#in.size, sizeEncrypted: encryptedSize(this.#in.size), manifest: null, isDependency: false },
        },
        [200, 201],
      );
      if (typeof f.id !== 'string' && typeof f.id !== 'number') throw new RemoteRejection(`${client.where(object, 'create content file')}: the answer carries no id`);
      file = await this.#poll(cv, String(f.id), 'storage URI', ['azureStorageUriRequestSuccess'], ['azureStorageUriRequestPending', 'success', 'unknown']);
    }
    const info = await this.#uploadBlob(cv, file);
    await client.expect({ object, action: 'commit', method: 'POST', path: `${this.#filePath(cv, file.id)}/commit`, json: { fileEncryptionInfo: info } }, [200, 204]);
    await this.#poll(cv, file.id, 'commit', ['commitFileSuccess'], ['commitFilePending', 'azureStorageUriRequestSuccess', 'azureStorageUriRenewalSuccess']);
    return cv;
  }

  /** The newest content version holding a file of our name and size that is not a failed commit. */
  async #findResumable(): Promise<{ cv: string; file: FileState } | undefined> {
    const { client, object } = this.#in;
    const versions = await client.all({ object, action: 'read content versions', path: `${this.#app}/contentVersions` });
    const after = this.#in.after !== undefined && /^\d+$/.test(this.#in.after) ? Number(this.#in.after) : undefined;
    const ids = versions
      .map((v) => String(v.id))
      // An interrupted upload is always newer than what the app points at; older versions are earlier contents.
      .filter((v) => after === undefined || !/^\d+$/.test(v) || Number(v) > after)
      .sort((a, b) => (Number(b) || 0) - (Number(a) || 0) || b.localeCompare(a));
    for (const cv of ids.slice(0, 10)) {
      const files = (await client.all({ object, action: `read content version ${cv} files`, path: `${this.#app}/contentVersions/${enc(cv)}/files` })).map(fileState);
      const ours = files.find((f) => f.name === this.#in.fileName && f.size === this.#in.size);
      if (ours && !/Failed|TimedOut|^error$/.test(ours.uploadState ?? '')) return { cv, file: ours };
    }
    return undefined;
  }

  async #read(cv: string, fileId: string, what: string): Promise<FileState> {
    return fileState(await this.#in.client.json({ object: this.#in.object, action: `read content file (${what})`, method: 'GET', path: this.#filePath(cv, fileId) }));
  }

  /** Poll the file until its uploadState is one of `done`; one of `waiting` goes on; anything else fails clearly. */
  async #poll(cv: string, fileId: string, what: string, done: string[], waiting: string[]): Promise<FileState> {
    const { client, object } = this.#in;
    for (let n = 0; n < POLL_LIMIT; n += 1) {
      const f = await this.#read(cv, fileId, what);
      const state = f.uploadState ?? 'unknown';
      if (done.includes(state)) return f;
      if (!waiting.includes(state)) {
        const hint = state === 'commitFileFailed' ? ': Intune could not decrypt or verify the uploaded content (run apply again: a new content version is made)' : '';
        throw new RemoteRejection(`${client.where(object, what)}: content version ${cv} file ${fileId}: uploadState ${state}${hint}`);
      }
      await this.#in.sleep(POLL_MS);
      if (this.#in.ctx.signal.aborted) break;
    }
    throw new NetworkError(`${client.where(object, what)}: content version ${cv} file ${fileId} still not ${done.join('/')} after ${POLL_LIMIT} polls: run apply again to resume`);
  }

  async #renew(cv: string, fileId: string): Promise<FileState> {
    const { client, object } = this.#in;
    await client.expect({ object, action: 'renew upload', method: 'POST', path: `${this.#filePath(cv, fileId)}/renewUpload`, json: {} }, [200, 204]);
    return this.#poll(cv, fileId, 'storage URI renewal', ['azureStorageUriRenewalSuccess', 'azureStorageUriRequestSuccess'], ['azureStorageUriRenewalPending']);
  }

  #sasAging(f: FileState): boolean {
    const at = f.azureStorageUriExpirationDateTime ? Date.parse(f.azureStorageUriExpirationDateTime) : NaN;
    return Number.isFinite(at) && at - (this.#in.now ?? Date.now)() < SAS_MARGIN_MS;
  }

  async #uploadBlob(cv: string, start: FileState): Promise<Record<string, string>> {
    const { client, object, ctx } = this.#in;
    let file = start;
    const keys = newContentKeys();
    const { info, mac, size } = await measure(this.#in.read, keys);
    if (size !== this.#in.size) throw new NetworkError(`${client.where(object, 'encrypt')}: the pkg gave ${size} bytes, expected ${this.#in.size}`);
    const total = encryptedSize(size);
    const ids: string[] = [];
    let done = 0;
    for await (const block of blocksOf(encryptedStream(this.#in.read, keys, mac), BLOCK_BYTES)) {
      const id = blockId(ids.length);
      for (let attempt = 0; ; attempt += 1) {
        if (this.#sasAging(file) || !file.azureStorageUri) file = await this.#renew(cv, file.id);
        const answer = await client.blob({ object, action: `upload block ${ids.length}`, url: `${file.azureStorageUri}&comp=block&blockid=${enc(id)}`, body: block, headers: { 'x-ms-blob-type': 'BlockBlob', 'content-type': 'application/octet-stream' } });
        if (answer.status === 201) break;
        if (answer.status === 403 && attempt === 0) {
          ctx.onNote?.(`${client.where(object, `upload block ${ids.length}`)}: HTTP 403 (the storage URI expired): renewing it`);
          file = await this.#renew(cv, file.id);
          continue;
        }
        throw client.refused({ object, action: `upload block ${ids.length}` }, answer);
      }
      ids.push(id);
      done += block.length;
      client.counts.uploadedBytes += block.length;
      ctx.onUploadProgress?.(object, done, total);
    }
    const xml = `<?xml version="1.0" encoding="utf-8"?><BlockList>${ids.map((i) => `<Latest>${i}</Latest>`).join('')}</BlockList>`;
    for (let attempt = 0; ; attempt += 1) {
      if (this.#sasAging(file)) file = await this.#renew(cv, file.id);
      const answer = await client.blob({ object, action: 'commit block list', url: `${file.azureStorageUri}&comp=blocklist`, body: xml, headers: { 'content-type': 'application/xml' } });
      if (answer.status === 201) break;
      if (answer.status === 403 && attempt === 0) {
        file = await this.#renew(cv, file.id);
        continue;
      }
      throw client.refused({ object, action: 'commit block list' }, answer);
    }
    return info as unknown as Record<string, string>;
  }
}

/**
 * A small pool of worker threads that raw-deflate independent segments (for the parallel gzip writer in gzip.ts).
 *
 * Covers: running `zlib.deflateRawSync(input, {level, dictionary, finishFlush})` off the main thread, jobs handed to
 * the least busy worker, input buffers transferred (not copied), failures of a job or of a worker turned into
 * rejected promises; `size: 0` runs the same call on libuv's thread pool instead (no worker threads).
 * Does not cover: ordering (callers keep their own queue), inflating.
 *
 * The worker body is a short CommonJS script passed with `eval: true`, so it runs the same from src/ under vitest
 * (TypeScript) and from dist/ (compiled JavaScript) without resolving a separate worker file.
 */
import { Worker } from 'node:worker_threads';
import zlib from 'node:zlib';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const zlib = require('node:zlib');
parentPort.on('message', (job) => {
  try {
    const opts = { level: job.level, finishFlush: job.last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH };
    if (job.dictionary) opts.dictionary = job.dictionary;
    const out = zlib.deflateRawSync(job.input, opts);
    const own = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : new Uint8Array(out);
    parentPort.postMessage({ id: job.id, out: own }, [own.buffer]);
  } catch (e) {
    parentPort.postMessage({ id: job.id, error: String((e && e.message) || e) });
  }
});
`;

export interface DeflateJob {
  /** Segment bytes; its ArrayBuffer is transferred to the worker (detached here) when it owns it whole. */
  input: Uint8Array;
  /** Preset dictionary: the 32 KiB of input preceding this segment. */
  dictionary?: Uint8Array;
  level: number;
  /** Z_FINISH (final block) instead of Z_SYNC_FLUSH. */
  last: boolean;
}

interface Pending {
  resolve: (out: Buffer) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

function ownsBuffer(b: Uint8Array): boolean {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer;
}

export class DeflatePool {
  readonly #size: number;
  readonly #slots: Slot[] = [];
  #nextId = 0;
  #closed = false;

  /** `size` worker threads, started lazily; 0 = use libuv's thread pool in this thread. */
  constructor(size: number) {
    this.#size = size;
  }

  deflate(job: DeflateJob): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new Error('deflate pool is closed'));
    if (this.#size === 0) return deflateHere(job);
    const slot = this.#pick();
    const id = this.#nextId++;
    return new Promise<Buffer>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      const transfer = [job.input, job.dictionary].filter((b): b is Uint8Array => b !== undefined && ownsBuffer(b)).map((b) => b.buffer as ArrayBuffer);
      slot.worker.postMessage({ id, input: job.input, dictionary: job.dictionary, level: job.level, last: job.last }, transfer);
    });
  }

  /** Stop every worker; outstanding jobs reject. */
  async close(): Promise<void> {
    this.#closed = true;
    const slots = this.#slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
    for (const s of slots) this.#fail(s, new Error('deflate pool closed before the job finished'));
  }

  #pick(): Slot {
    if (this.#slots.length < this.#size && this.#slots.every((s) => s.pending.size > 0)) return this.#spawn();
    return this.#slots.reduce((best, s) => (s.pending.size < best.pending.size ? s : best));
  }

  #spawn(): Slot {
    const slot: Slot = { worker: new Worker(WORKER_SOURCE, { eval: true }), pending: new Map() };
    slot.worker.on('message', (msg: { id: number; out?: Uint8Array; error?: string }) => {
      const p = slot.pending.get(msg.id);
      if (!p) return;
      slot.pending.delete(msg.id);
      if (msg.error !== undefined || !msg.out) p.reject(new Error(`deflate worker: ${msg.error ?? 'no output'}`));
      else p.resolve(Buffer.from(msg.out.buffer, msg.out.byteOffset, msg.out.byteLength));
    });
    slot.worker.on('error', (e: unknown) => this.#fail(slot, e instanceof Error ? e : new Error(String(e))));
    slot.worker.on('exit', (code) => this.#fail(slot, new Error(`deflate worker exited (code ${code})`)));
    this.#slots.push(slot);
    return slot;
  }

  #fail(slot: Slot, e: Error): void {
    for (const p of slot.pending.values()) p.reject(e);
    slot.pending.clear();
    const at = this.#slots.indexOf(slot);
    if (at >= 0) this.#slots.splice(at, 1);
  }
}

/**
 * zlib's output chunk for a segment deflated on the thread pool: 128 KiB instead of zlib's 16 KiB. Every chunk is a
 * trip to the pool answered on the main thread (processCallback, then Buffer.concat of the pieces): a 512 KiB segment
 * deflated to ~100–250 KiB, so 1–2 trips instead of ~13 (1 MiB segments since, gzip.ts: 1–3). Measured at 256 MiB
 * with 512 KiB segments (build, 3 runs each, this machine):
 * 16 KiB 5.35 s / 8.6 CPU-s, 64 KiB 4.93 / 8.3, 128 KiB 4.86 / 8.2, 256 KiB 4.97 / 8.5, one chunk holding the whole
 * segment 4.97 / 8.5 (a fresh 520 KiB buffer per segment costs more in allocation and GC than the trips it saves).
 */
export const DEFLATE_OUTPUT_CHUNK = 128 * 1024;

function deflateHere(job: DeflateJob): Promise<Buffer> {
  const opts: zlib.ZlibOptions = {
    level: job.level,
    finishFlush: job.last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
    chunkSize: DEFLATE_OUTPUT_CHUNK,
  };
  if (job.dictionary) opts.dictionary = job.dictionary;
  return new Promise((resolve, reject) => zlib.deflateRaw(job.input, opts, (err, out) => (err ? reject(err) : resolve(out))));
}

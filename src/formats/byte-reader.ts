/**
 * Sequential reader over a byte stream (an async iterable of chunks, or one buffer): exact reads for headers and
 * chunked pass-through for bodies, so archive readers (cpio) never hold more than one source chunk plus a header.
 * Does not cover seeking or writing.
 */

type Source = Uint8Array | AsyncIterable<Uint8Array>;

async function* single(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

export class ByteReader {
  readonly #it: AsyncIterator<Uint8Array>;
  #buf: Buffer = Buffer.alloc(0);
  #ended = false;
  #offset = 0;
  readonly #onShort: (needed: number, got: number, at: number) => never;

  /** `onShort` is called (and must throw) when the stream ends inside a read. */
  constructor(source: Source, onShort: (needed: number, got: number, at: number) => never) {
    const iterable = source instanceof Uint8Array ? single(source) : source;
    this.#it = iterable[Symbol.asyncIterator]();
    this.#onShort = onShort;
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.#offset;
  }

  async #fill(): Promise<boolean> {
    while (this.#buf.length === 0 && !this.#ended) {
      const next = await this.#it.next();
      if (next.done) this.#ended = true;
      else this.#buf = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    }
    return this.#buf.length > 0;
  }

  /** True when no byte is left. */
  async atEnd(): Promise<boolean> {
    return !(await this.#fill());
  }

  /** Exactly `n` bytes (copied), or `onShort`. */
  async readExact(n: number): Promise<Buffer> {
    const out = Buffer.alloc(n);
    let got = 0;
    while (got < n) {
      if (!(await this.#fill())) this.#onShort(n - got, got, this.#offset);
      const take = Math.min(n - got, this.#buf.length);
      this.#buf.copy(out, got, 0, take);
      this.#buf = this.#buf.subarray(take);
      got += take;
      this.#offset += take;
    }
    return out;
  }

  /** Pass the next `n` bytes to `sink` in source-sized pieces (views, valid only during the call; an async sink is awaited). */
  async consume(n: number, sink: (chunk: Buffer) => void | Promise<void>): Promise<void> {
    let left = n;
    while (left > 0) {
      if (!(await this.#fill())) this.#onShort(left, n - left, this.#offset);
      const take = Math.min(left, this.#buf.length);
      await sink(this.#buf.subarray(0, take));
      this.#buf = this.#buf.subarray(take);
      left -= take;
      this.#offset += take;
    }
  }
}

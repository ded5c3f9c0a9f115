/**
 * The scan of src/macho/file-scan.ts for a thin Mach-O that streams past once and is never on disk (a program
 * inside a Payload being read by `verify` and `inspect`): its SHA-256, its headers and load commands (from its first
 * 64 KiB), its code signature (captured as it passes: the load commands say where), and every code-page hash —
 * computed before the CodeDirectory that lists them arrives, since the signature comes last. The pages are hashed
 * the way codesign writes them (SHA-256, 4 KiB pages up to the signature) and kept, 32 bytes a page (2 MiB for a
 * 256 MiB binary), then compared once the CodeDirectory is read.
 *
 * When the bytes do not allow that — a universal file, a CodeDirectory with another hash, page size or code limit,
 * load commands past 64 KiB, or any format error (whose message must be the file reader's) — {@link finish} says
 * so and the caller scans the program from a file as before: the verdict is never guessed.
 */
import { createHash, hash } from 'node:crypto';
import { CodeDirectoryHasher, type StreamVerdict } from './hash-stream.js';
import { decodeThinSignature, isFatMagic, isMachOFormatError, parseThinHead, thinMagic } from './macho.js';
import type { MachOFile, MachOSlice } from './model.js';

const HEAD = 64 * 1024;
const PAGE = 4096;

export interface StreamedScan {
  size: number;
  sha256: string;
  parsed: MachOFile;
  /** The CodeDirectory's verdict, or undefined when the binary has none (as file-scan.ts gives it). */
  verdict?: StreamVerdict;
}

export class StreamedMachOScan {
  readonly #name: string;
  readonly #size: number;
  readonly #sha = createHash('sha256');
  readonly #head: Buffer;
  #at = 0;
  /** Set once the head is parsed; false = cannot be done from the stream. */
  #slice: MachOSlice | false | undefined;
  #notMachO = false;
  #sig: Buffer | undefined;
  #sigAt = 0;
  /** Where the page hashes stop (the signature's offset, or the file's end when unsigned). */
  #limit = 0;
  #pages: Buffer | undefined;
  #page: Buffer | undefined;
  #pageFill = 0;
  #pageIndex = 0;

  /** `name` is used in messages; `size` is the program's size (its cpio header's). */
  constructor(name: string, size: number) {
    this.#name = name;
    this.#size = size;
    this.#head = Buffer.allocUnsafe(Math.min(size, HEAD));
  }

  /** The next bytes of the program, in order from offset 0 (consumed before this returns). */
  update(chunk: Uint8Array): void {
    this.#sha.update(chunk);
    const at = this.#at;
    this.#at += chunk.length;
    if (this.#slice === false) return;
    if (at < this.#head.length) {
      const n = Math.min(chunk.length, this.#head.length - at);
      this.#head.set(chunk.subarray(0, n), at);
      if (at + n === this.#head.length) this.#parseHead();
    }
    if (!this.#slice) return;
    this.#hashPages(chunk, at);
    this.#captureSignature(chunk, at);
  }

  /**
   * After the whole program: the scan; 'not Mach-O' when its first bytes are no Mach-O or universal magic (as the
   * file scan decides); undefined when it must be scanned from a file (see the module comment).
   */
  finish(): StreamedScan | 'not Mach-O' | undefined {
    const sha256 = this.#sha.digest('hex');
    if (this.#at !== this.#size) return undefined;
    if (this.#notMachO) return 'not Mach-O';
    if (!this.#slice) return undefined;
    const slice = this.#slice;
    try {
      if (this.#sig) decodeThinSignature(slice, this.#sig, this.#name);
    } catch (e) {
      if (isMachOFormatError(e)) return undefined;
      throw e;
    }
    if (this.#pageFill > 0) this.#flushPage();
    const parsed: MachOFile = { name: this.#name, size: this.#size, kind: 'thin', slices: [slice] };
    const cs = slice.codeSignature;
    if (!cs?.codeDirectory) return { size: this.#size, sha256, parsed };
    const hasher = new CodeDirectoryHasher(this.#sig!, cs, cs.codeDirectory, slice.size);
    if (!hasher.checkPageDigests(this.#pages!.subarray(0, this.#pageIndex * 32), 'sha256', PAGE, this.#limit)) return undefined;
    return { size: this.#size, sha256, parsed, verdict: hasher.finish() };
  }

  #parseHead(): void {
    const head = this.#head;
    if (isFatMagic(head) || !thinMagic(head)) {
      this.#notMachO = !isFatMagic(head);
      this.#slice = false; // a universal file is scanned from a file
      return;
    }
    try {
      this.#slice = parseThinHead(head, this.#size, this.#name) ?? false;
    } catch (e) {
      if (!isMachOFormatError(e)) throw e;
      this.#slice = false;
      return;
    }
    if (!this.#slice) return;
    const r = this.#slice.codeSignatureRange;
    // Unsigned: no pages to hash. Signed: the pages up to the signature, where codesign puts the code limit.
    this.#limit = r ? r.dataoff : 0;
    if (r) {
      this.#sig = Buffer.allocUnsafe(r.datasize);
      this.#sigAt = r.dataoff;
    }
    this.#pages = Buffer.allocUnsafe(Math.ceil(this.#limit / PAGE) * 32);
    this.#page = Buffer.allocUnsafe(PAGE);
    // The head holds every byte seen so far (it is parsed when it fills up); the chunk that filled it is only hashed
    // past the head (#hashPages starts where the pages got to).
    this.#hashPages(head, 0);
    this.#captureSignature(head, 0);
  }

  /** Page hashes of the bytes of `chunk` (at `at` in the program) not hashed yet, up to the limit. */
  #hashPages(chunk: Uint8Array, at: number): void {
    const from = Math.max(at, this.#pageIndex * PAGE + this.#pageFill);
    const to = Math.min(at + chunk.length, this.#limit);
    let i = from - at;
    const end = to - at;
    while (i < end) {
      if (this.#pageFill === 0 && end - i >= PAGE) {
        hash('sha256', chunk.subarray(i, i + PAGE), 'buffer').copy(this.#pages!, this.#pageIndex * 32);
        this.#pageIndex += 1;
        i += PAGE;
        continue;
      }
      const n = Math.min(end - i, PAGE - this.#pageFill);
      this.#page!.set(chunk.subarray(i, i + n), this.#pageFill);
      this.#pageFill += n;
      i += n;
      if (this.#pageFill === PAGE) this.#flushPage();
    }
  }

  #flushPage(): void {
    hash('sha256', this.#page!.subarray(0, this.#pageFill), 'buffer').copy(this.#pages!, this.#pageIndex * 32);
    this.#pageIndex += 1;
    this.#pageFill = 0;
  }

  #captureSignature(chunk: Uint8Array, at: number): void {
    const sig = this.#sig;
    if (!sig) return;
    const from = Math.max(at, this.#sigAt);
    const to = Math.min(at + chunk.length, this.#sigAt + sig.length);
    if (from < to) sig.set(chunk.subarray(from - at, to - at), from - this.#sigAt);
  }
}

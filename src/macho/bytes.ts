/**
 * Bounds-checked reading of binary structures for the Mach-O reader, and its one error type.
 *
 * Covers: unsigned 8/16/32/64-bit fields in either byte order, NUL-terminated strings, sub-ranges — every access
 * checked against the buffer, so a truncated or hostile file becomes a {@link MachOFormatError} that says which
 * structure ran past the end, never a RangeError or a silently wrong value.
 * Does not cover: any format knowledge (see macho.ts, macho-codesign.ts).
 */
import { InputFileError } from '../errors.js';

/** The input is not a well-formed Mach-O (or universal) file: exit 3, with what was wrong and where. */
export class MachOFormatError extends InputFileError {
  constructor(
    file: string,
    /** The message without the file name in front. */
    readonly detail: string,
  ) {
    super(file, detail);
  }
}

/** Where in the input we are reading, for error messages: the input's name and a place ("slice arm64"). */
export interface ReadContext {
  name: string;
  where?: string;
}

export function fail(ctx: ReadContext, message: string): never {
  throw new MachOFormatError(ctx.name, ctx.where ? `${ctx.where}: ${message}` : message);
}

export function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

export class ByteView {
  private readonly dv: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly littleEndian: boolean,
    private readonly ctx: ReadContext,
    /** What these bytes are, for messages ("the load commands", "the code signature"). */
    readonly label: string,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  fail(message: string): never {
    return fail(this.ctx, message);
  }

  /** Throw unless [off, off+len) lies inside the view. */
  need(off: number, len: number, what: string): void {
    if (!Number.isSafeInteger(off) || !Number.isSafeInteger(len) || off < 0 || len < 0 || off + len > this.length) {
      this.fail(`${what} at offset ${hex(off)} (${len} bytes) runs past the end of ${this.label} (${this.length} bytes)`);
    }
  }

  u8(off: number, what: string): number {
    this.need(off, 1, what);
    return this.dv.getUint8(off);
  }

  u16(off: number, what: string): number {
    this.need(off, 2, what);
    return this.dv.getUint16(off, this.littleEndian);
  }

  u32(off: number, what: string): number {
    this.need(off, 4, what);
    return this.dv.getUint32(off, this.littleEndian);
  }

  i32(off: number, what: string): number {
    this.need(off, 4, what);
    return this.dv.getInt32(off, this.littleEndian);
  }

  u64(off: number, what: string): bigint {
    this.need(off, 8, what);
    return this.dv.getBigUint64(off, this.littleEndian);
  }

  /** A 64-bit field that must fit a JS number (file offsets and sizes). */
  u64n(off: number, what: string): number {
    const v = this.u64(off, what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} is ${hex(v)}, larger than any file this tool reads`);
    return Number(v);
  }

  sub(off: number, len: number, what: string): Uint8Array {
    this.need(off, len, what);
    return this.bytes.subarray(off, off + len);
  }

  /** A NUL-terminated UTF-8 string starting at `off` and ending before `end` (exclusive). */
  cstr(off: number, end: number, what: string): string {
    this.need(off, Math.max(0, end - off), what);
    const nul = this.bytes.indexOf(0, off);
    if (nul < 0 || nul >= end) this.fail(`${what} at offset ${hex(off)} is not NUL-terminated`);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + off, nul - off).toString('utf8');
  }

  /** A fixed-width, NUL-padded name (segment and section names: 16 bytes). */
  fixedName(off: number, len: number, what: string): string {
    const raw = this.sub(off, len, what);
    const nul = raw.indexOf(0);
    return Buffer.from(raw.buffer, raw.byteOffset, nul < 0 ? len : nul).toString('latin1');
  }
}

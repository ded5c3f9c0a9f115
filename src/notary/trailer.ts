/**
 * The stapled-ticket trailer of a .pkg (reference §6.4): appended after the xar, untouched by signatures,
 * `[terminator][ticket bytes][ticket trailer]`, each trailer 16 bytes little-endian:
 * magic "t8lr", u16 version = 1, u16 type (1 = terminator, 2 = ticket), u32 length (0, or the ticket length), u32 0.
 * A reader looks at the last 16 bytes, then steps back `length` bytes to the ticket and 16 more to the terminator.
 *
 * Covers: encoding the trailer and reading a stapled ticket back (for staple, inspect and verify). Does not cover:
 * checking the ticket's Apple signature (the ticket format `s8ch…` is Apple-private); it only checks the magic.
 */
import { open } from 'node:fs/promises';
import { InputFileError } from '../errors.js';

export const TRAILER_MAGIC = Buffer.from('t8lr', 'latin1');
export const TRAILER_SIZE = 16;
export const TRAILER_VERSION = 1;
export const TRAILER_TERMINATOR = 1;
export const TRAILER_TICKET = 2;
/** Every notarization ticket Apple serves starts with these bytes. */
export const TICKET_MAGIC = Buffer.from('s8ch', 'latin1');

function trailer(type: number, length: number): Buffer {
  const b = Buffer.alloc(TRAILER_SIZE);
  TRAILER_MAGIC.copy(b, 0);
  b.writeUInt16LE(TRAILER_VERSION, 4);
  b.writeUInt16LE(type, 6);
  b.writeUInt32LE(length, 8);
  return b;
}

/** The bytes to append to a xar to staple `ticket`. */
export function encodeTicketTrailer(ticket: Uint8Array): Buffer {
  return Buffer.concat([trailer(TRAILER_TERMINATOR, 0), ticket, trailer(TRAILER_TICKET, ticket.length)]);
}

export interface StapledTicket {
  ticket: Buffer;
  /** Length of the file without the stapled trailer: where the terminator starts. */
  xarLength: number;
}

interface Trailer {
  version: number;
  type: number;
  length: number;
}

function decode(b: Buffer): Trailer | undefined {
  if (!b.subarray(0, 4).equals(TRAILER_MAGIC)) return undefined;
  return { version: b.readUInt16LE(4), type: b.readUInt16LE(6), length: b.readUInt32LE(8) };
}

/**
 * The ticket stapled to the .pkg at `file`, or undefined when it carries none (its last 16 bytes are not a
 * `t8lr` trailer). A trailer that is there but inconsistent is an InputFileError (exit 3).
 */
export async function readStapledTicket(file: string): Promise<StapledTicket | undefined> {
  const fh = await open(file, 'r').catch((e: unknown) => {
    throw new InputFileError(file, `package: cannot open (${(e as Error).message})`, { cause: e });
  });
  try {
    const size = (await fh.stat()).size;
    if (size < 2 * TRAILER_SIZE) return undefined;
    const last = Buffer.alloc(TRAILER_SIZE);
    await fh.read(last, 0, TRAILER_SIZE, size - TRAILER_SIZE);
    const t = decode(last);
    if (!t) return undefined;
    const bad = (why: string): InputFileError => new InputFileError(file, `package: damaged notarization trailer: ${why}`);
    if (t.version !== TRAILER_VERSION || t.type !== TRAILER_TICKET) throw bad(`last trailer has version ${t.version}, type ${t.type}; expected version 1, type 2 (ticket)`);
    const ticketStart = size - TRAILER_SIZE - t.length;
    if (ticketStart - TRAILER_SIZE < 0) throw bad(`ticket length ${t.length} is larger than the file`);
    const head = Buffer.alloc(TRAILER_SIZE);
    await fh.read(head, 0, TRAILER_SIZE, ticketStart - TRAILER_SIZE);
    const term = decode(head);
    if (!term || term.type !== TRAILER_TERMINATOR || term.length !== 0) throw bad('no terminator trailer before the ticket');
    const ticket = Buffer.alloc(t.length);
    await fh.read(ticket, 0, t.length, ticketStart);
    return { ticket, xarLength: ticketStart - TRAILER_SIZE };
  } finally {
    await fh.close();
  }
}

/**
 * The stapled-ticket trailer of a .pkg (reference §6.4): appended after the xar, untouched by signatures,
 * `[terminator][ticket bytes][ticket trailer]`, each trailer 16 bytes little-endian:
 * magic "t8lr", u16 version = 1, u16 type (1 = terminator, 2 = ticket), u32 length (0, or the ticket length), u32 0.
 * A reader looks at the last 16 bytes, then steps back `length` bytes to the ticket and 16 more to the terminator.
 *
 * Covers: the bytes to append, and reading the stapled ticket back (for staple, inspect and verify). The trailer
 * codec and the trailer scan live with the xar format (src/pkg/xar-header.ts, xar-reader.ts); this module adds what
 * stapling means on top. Does not cover: checking the ticket's Apple signature (the `s8ch…` format is private).
 */
import { encodeStapleTrailer, STAPLE_TRAILER_SIZE } from '../pkg/xar-header.js';
import { openXar, readStapledTicket as readTicketBytes, type XarArchive } from '../pkg/xar-reader.js';

/** Every notarization ticket Apple serves starts with these bytes. */
export const TICKET_MAGIC = Buffer.from('s8ch', 'latin1');

/** The bytes to append to a xar to staple `ticket`. */
export function encodeTicketTrailer(ticket: Uint8Array): Buffer {
  return Buffer.concat([encodeStapleTrailer(1, 0), ticket, encodeStapleTrailer(2, ticket.length)]);
}

export interface StapledTicket {
  /** The last stapled ticket (the one Apple's reader, looking at the end of the file, uses). */
  ticket: Buffer;
  /** Length of the file without any stapled trailer: where the first terminator starts. */
  xarLength: number;
  /** How many tickets are stapled (other tools append a second one when restapling; we never do). */
  count: number;
}

/** The ticket stapled to an opened xar, or undefined when it carries none. */
export async function stapledTicketOf(archive: XarArchive): Promise<StapledTicket | undefined> {
  const first = archive.staples[0];
  const last = archive.staples[archive.staples.length - 1];
  if (!first || !last) return undefined;
  return { ticket: await readTicketBytes(archive, last), xarLength: first.offset - STAPLE_TRAILER_SIZE, count: archive.staples.length };
}

/**
 * The ticket stapled to the .pkg at `file`, or undefined when it carries none. InputFileError (exit 3) when the
 * file is missing or not a xar; TOC problems do not stop it (verify reports those).
 */
export async function readStapledTicket(file: string): Promise<StapledTicket | undefined> {
  return stapledTicketOf(await openXar(file, { strict: false }));
}

/**
 * Staple a notarization ticket to a .pkg, as named steps: check the input → find an existing trailer →
 * compute the ticket record name from the TOC checksum → look the ticket up → write `[xar][trailer]` atomically.
 *
 * The output is always a new file written through src/io/fs.ts (temporary sibling, then rename): the input is
 * intact until the rename, even when the output replaces it (the default). A package that already carries a
 * ticket is refused (exit 3) unless `replace` is set, in which case the old trailer is dropped — the exact
 * signed bytes are kept — and the new one appended, so a file never holds two tickets.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { InputFileError } from '../errors.js';
import { checkInputFile, writeStreamAtomic } from '../io/fs.js';
import type { HttpOptions } from './http.js';
import { lookupTicket } from './ticket.js';
import { encodeTicketTrailer, readStapledTicket } from './trailer.js';
import { readXarTocDigest, ticketRecordName } from './xar-digest.js';

export interface StapleOptions {
  pkg: string;
  /** Default: replace `pkg` itself (atomically). */
  out?: string;
  /** Default Apple's CloudKit lookup URL. */
  ticketUrl?: string;
  /** Replace a ticket already stapled instead of refusing. */
  replace?: boolean;
  http?: HttpOptions;
  progress?: (line: string) => void;
}

export interface StapleResult {
  pkg: string;
  out: string;
  recordName: string;
  ticketBytes: number;
  /** A previous ticket was dropped. */
  replaced: boolean;
}

export async function staplePkg(opts: StapleOptions): Promise<StapleResult> {
  const say = opts.progress ?? (() => undefined);
  const out = opts.out ?? opts.pkg;
  await checkInputFile(opts.pkg, 'package');
  const existing = await readStapledTicket(opts.pkg);
  if (existing && !opts.replace) {
    throw new InputFileError(opts.pkg, `package: already carries a stapled notarization ticket (${existing.ticket.length} bytes); pass --replace to replace it`);
  }
  const digest = await readXarTocDigest(opts.pkg);
  const recordName = ticketRecordName(digest);
  say(`staple: looking up ticket ${recordName}`);
  const ticket = await lookupTicket(recordName, { url: opts.ticketUrl, http: opts.http });
  const st = await stat(opts.pkg);
  const xarLength = existing?.xarLength ?? st.size;
  await writeStreamAtomic(
    out,
    async (ws) => {
      if (xarLength > 0) await pipeline(createReadStream(opts.pkg, { start: 0, end: xarLength - 1 }), ws, { end: false });
      ws.write(encodeTicketTrailer(ticket));
    },
    { mode: st.mode & 0o777 },
  );
  say(`staple: ${out}: stapled a ${ticket.length}-byte ticket${existing ? ' (replacing the previous one)' : ''}`);
  return { pkg: opts.pkg, out, recordName, ticketBytes: ticket.length, replaced: Boolean(existing) };
}

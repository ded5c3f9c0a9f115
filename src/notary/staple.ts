/**
 * Staple a notarization ticket to a .pkg, as named steps: open the xar (header, TOC and TOC checksum checked) →
 * find an existing ticket → name the ticket record from the TOC checksum → look the ticket up → write
 * `[xar][trailer]` atomically.
 *
 * The output is always a new file written through src/io/fs.ts (temporary sibling, then rename): the input is
 * intact until the rename, even when the output replaces it (the default). A package that already carries a
 * ticket is refused (exit 3) unless `replace` is set, in which case every old trailer is dropped — the exact
 * signed bytes are kept — and the new one appended, so a file never holds two tickets. Other bytes after the heap
 * (libarchive's xar writer leaves 20; a damaged trailer) are kept and reported: like Apple's stapler and rcodesign
 * we append at the end of the file, which is where every reader looks for the ticket.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { InputFileError } from '../errors.js';
import { writeStreamAtomic } from '../io/fs.js';
import { checkServiceUrls } from './url.js';
import { openXar } from '../pkg/xar-reader.js';
import type { HttpOptions } from '../net/http.js';
import { lookupTicket, ticketRecordName } from './ticket.js';
import { encodeTicketTrailer, stapledTicketOf } from './trailer.js';

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
  checkServiceUrls({ '--ticket-url': opts.ticketUrl });
  const out = opts.out ?? opts.pkg;
  const archive = await openXar(opts.pkg);
  const existing = await stapledTicketOf(archive);
  if (existing && !opts.replace) {
    throw new InputFileError(opts.pkg, `package: already carries a stapled notarization ticket (${existing.ticket.length} bytes); pass --replace to replace it`);
  }
  if (archive.trailing) {
    say(`staple: note: ${archive.trailing.length} bytes after the xar heap (offset ${archive.trailing.offset}) are not a ticket; kept as they are`);
  }
  const recordName = ticketRecordName(archive);
  say(`staple: looking up ticket ${recordName}`);
  const ticket = await lookupTicket(recordName, { url: opts.ticketUrl, http: opts.http });
  const mode = (await stat(opts.pkg)).mode & 0o777;
  const xarLength = existing?.xarLength ?? archive.fileSize;
  await writeStreamAtomic(
    out,
    async (ws) => {
      await pipeline(createReadStream(opts.pkg, { start: 0, end: xarLength - 1 }), ws, { end: false });
      ws.write(encodeTicketTrailer(ticket));
    },
    { mode },
  );
  say(`staple: ${out}: stapled a ${ticket.length}-byte ticket${existing ? ' (replacing the previous one)' : ''}`);
  return { pkg: opts.pkg, out, recordName, ticketBytes: ticket.length, replaced: Boolean(existing) };
}

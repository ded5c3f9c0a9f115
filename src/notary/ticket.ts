/**
 * Notarization ticket lookup: Apple publishes tickets in a public CloudKit database (no authentication).
 * `POST …/com.apple.gk.ticket-delivery/production/public/records/lookup` with `{records: [{recordName}]}`;
 * a found record is `{recordName, recordType: "DeveloperIDTicket", fields: {signedTicket: {type: "BYTES",
 * value: <base64>}}, …}`, a missing one `{recordName, reason, serverErrorCode}` (e.g. NOT_FOUND), both with HTTP 200.
 *
 * "Not found" is a RemoteRejection (exit 6), not a NetworkError: the service answered, and retrying at once will
 * not change its answer (the package was not notarized, was rejected, or the ticket is minutes from published).
 * Transport failures follow the shared retry policy (http.ts) and end as NetworkError (exit 5).
 */
import { InputFileError, NetworkError, RemoteRejection } from '../errors.js';
import type { XarArchive } from '../pkg/xar-reader.js';
import { printableUrl, requestJson, type HttpOptions } from '../net/http.js';
import { TICKET_MAGIC } from './trailer.js';

export const DEFAULT_TICKET_URL = 'https://api.apple-cloudkit.com/database/1/com.apple.gk.ticket-delivery/production/public/records/lookup';

type Json = Record<string, unknown>;

/** TOC checksum style → code-signature digest type, as used in ticket record names. */
const DIGEST_TYPES: Readonly<Record<string, number>> = { sha1: 1, sha256: 2 };

/**
 * The CloudKit record name of a package's ticket: `2/<digest type>/<hex of the first 20 bytes of the TOC
 * checksum>` — `2/1/<40 hex>` for the usual SHA-1 TOC (reference §6.3; rcodesign `lookup_ticket_for_xar`).
 * The checksum is the one stored in the heap, which the xar reader has checked against the TOC.
 */
export function ticketRecordName(archive: Pick<XarArchive, 'file' | 'checksum'>): string {
  const c = archive.checksum;
  if (!c) throw new InputFileError(archive.file, 'package: the xar has no TOC checksum, so no notarization ticket can name it');
  const type = DIGEST_TYPES[c.style];
  if (type === undefined) throw new InputFileError(archive.file, `package: a ${c.style} TOC checksum cannot be stapled (expected sha1 or sha256)`);
  return `2/${type}/${c.stored.subarray(0, 20).toString('hex')}`;
}

function recordFor(res: unknown, recordName: string): Json | undefined {
  const records = (res as Json | null)?.records;
  if (!Array.isArray(records)) return undefined;
  return records.find((r): r is Json => Boolean(r) && typeof r === 'object' && (r as Json).recordName === recordName);
}

/** Fetch the signed ticket for `recordName` (`2/<digest type>/<hex>`). */
export async function lookupTicket(recordName: string, opts: { url?: string; http?: HttpOptions } = {}): Promise<Buffer> {
  const url = opts.url ?? DEFAULT_TICKET_URL;
  const what = 'ticket lookup';
  const res = await requestJson({ what, url, method: 'POST', body: { records: [{ recordName }] } }, opts.http);
  const record = recordFor(res, recordName);
  if (!record) throw new NetworkError(`${what} (${printableUrl(url)}): unexpected answer, no record named ${recordName}`);
  if (typeof record.serverErrorCode === 'string') {
    const why = `${record.serverErrorCode}${typeof record.reason === 'string' ? `: ${record.reason}` : ''}`;
    throw new RemoteRejection(
      `${what}: Apple has no notarization ticket for this package (record ${recordName}, ${why}). ` +
        'Notarize it first (aiwatch-deploy notarize); right after "Accepted" the ticket can take a few minutes to appear.',
    );
  }
  const field = (record.fields as Json | undefined)?.signedTicket as Json | undefined;
  if (field?.type !== 'BYTES' || typeof field.value !== 'string') {
    throw new NetworkError(`${what} (${printableUrl(url)}): record ${recordName} has no signedTicket BYTES field`);
  }
  const ticket = Buffer.from(field.value, 'base64');
  if (!ticket.subarray(0, 4).equals(TICKET_MAGIC)) {
    throw new NetworkError(`${what} (${printableUrl(url)}): record ${recordName} holds ${ticket.length} bytes that are not a notarization ticket (no "s8ch" magic)`);
  }
  return ticket;
}

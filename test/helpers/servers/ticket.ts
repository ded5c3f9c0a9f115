/**
 * A local stand-in for Apple's public CloudKit ticket-delivery lookup
 * (`POST /database/1/com.apple.gk.ticket-delivery/production/public/records/lookup`, no authentication):
 * `{records: [{recordName}]}` → per record either a `DeveloperIDTicket` with `fields.signedTicket` `{type: "BYTES",
 * value: base64}` or `{recordName, reason, serverErrorCode: "NOT_FOUND"}`, both with HTTP 200 (CloudKit's shapes).
 * Fault injection: 500 for the first N requests.
 */
import { sendJson, startLocalServer, type LocalServer } from './listen.js';

export const TICKET_LOOKUP_PATH = '/database/1/com.apple.gk.ticket-delivery/production/public/records/lookup';

export interface TicketServer extends LocalServer {
  /** Full lookup URL (for --ticket-url). */
  lookupUrl: string;
  /** recordName → ticket bytes. Add to it at any time. */
  tickets: Map<string, Buffer>;
  /** Record names asked for, in order. */
  asked: string[];
  log: { status: number }[];
}

/** A fake ticket: Apple's tickets start with "s8ch"; the rest is opaque to us. */
export function fakeTicket(seed: string, length = 700): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i += 1) b[i] = (seed.charCodeAt(i % seed.length) * 31 + i) & 0xff;
  b.write('s8ch', 0, 'latin1');
  return b;
}

export async function startTicketServer(opts: { failFirst?: number } = {}): Promise<TicketServer> {
  const tickets = new Map<string, Buffer>();
  const asked: string[] = [];
  const log: TicketServer['log'] = [];
  let failures = opts.failFirst ?? 0;
  const server = await startLocalServer((req, res, body) => {
    const reply = (status: number, value: unknown): void => {
      log.push({ status });
      sendJson(res, status, value);
    };
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== TICKET_LOOKUP_PATH) return reply(404, { serverErrorCode: 'NOT_FOUND' });
    if (failures > 0) {
      failures -= 1;
      return reply(500, { serverErrorCode: 'INTERNAL_ERROR', reason: 'injected' });
    }
    const json = JSON.parse(body.toString('utf8')) as { records?: { recordName?: string }[] };
    const records = (json.records ?? []).map(({ recordName = '' }) => {
      asked.push(recordName);
      const t = tickets.get(recordName);
      if (!t) return { recordName, reason: 'Record not found', serverErrorCode: 'NOT_FOUND' };
      const event = { timestamp: 1700000000000, userRecordName: '_1b2c3d', deviceID: '2' };
      return { recordName, recordType: 'DeveloperIDTicket', fields: { signedTicket: { type: 'BYTES', value: t.toString('base64') } }, pluginFields: {}, recordChangeTag: 'lr3f6xyz', created: event, modified: event, deleted: false };
    });
    return reply(200, { records });
  });
  return { ...server, lookupUrl: `${server.url}${TICKET_LOOKUP_PATH}`, tickets, asked, log };
}

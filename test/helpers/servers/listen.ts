/**
 * Start a local HTTP server for a protocol test: bound to 127.0.0.1 only, on a free port (port 0), and stopped
 * by itself when the current test finishes (vitest `onTestFinished`), open keep-alive sockets included.
 * Outside a test (e.g. a quick probe script) pass `autoStop: false` and call `close()` yourself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { onTestFinished } from 'vitest';
import { listenLocal, type LocalServer } from './local-http.js';

export type { LocalServer } from './local-http.js';

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Start `handler` on 127.0.0.1:0. A handler that throws answers 500 with the message (a test bug shows up). */
export async function startLocalServer(handler: Handler, opts: { autoStop?: boolean } = {}): Promise<LocalServer> {
  const local = await listenLocal((req, res) => {
    readBody(req)
      .then((body) => handler(req, res, body))
      .catch((e: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: `test server bug: ${String(e)}` });
        else res.destroy();
      });
  });
  if (opts.autoStop !== false) onTestFinished(local.close);
  return local;
}

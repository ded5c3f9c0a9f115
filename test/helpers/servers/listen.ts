/**
 * Start a local HTTP server for a protocol test: bound to 127.0.0.1 only, on a free port (port 0), and stopped
 * by itself when the current test finishes (vitest `onTestFinished`), open keep-alive sockets included.
 * Outside a test (e.g. a quick probe script) pass `autoStop: false` and call `close()` yourself.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { onTestFinished } from 'vitest';

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

export interface LocalServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  url: string;
  port: number;
  close: () => Promise<void>;
}

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
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    readBody(req)
      .then((body) => handler(req, res, body))
      .catch((e: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: `test server bug: ${String(e)}` });
        else res.destroy();
      });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
    return closed;
  };
  if (opts.autoStop !== false) onTestFinished(close);
  return { url: `http://127.0.0.1:${port}`, port, close };
}

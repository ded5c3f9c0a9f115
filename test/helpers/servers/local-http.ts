/**
 * An HTTP listener on 127.0.0.1 and a free port, without vitest (the upload benches start the local MDM servers
 * from plain node): what listen.ts's startLocalServer and the local Jamf, Intune, Kandji and Fleet servers share.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface LocalServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  url: string;
  port: number;
  close: () => Promise<void>;
}

/**
 * Listen with `listener` on 127.0.0.1 and a free port; `close()` (idempotent) stops listening and drops every open
 * socket, keep-alive ones included. The local MDM servers (jamf/, intune/, kandji/, fleet/) and startLocalServer
 * stand on this.
 */
export async function listenLocal(listener: RequestListener): Promise<LocalServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer(listener);
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
  return { url: `http://127.0.0.1:${port}`, port, close };
}


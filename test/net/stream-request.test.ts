/**
 * Streamed request bodies (src/net/stream-request.ts through requestBytes) against raw local servers: the exact bytes
 * and Content-Length arrive with progress; a source that gives fewer bytes than announced fails the attempt; an
 * answer sent before the body is read (a 401) is returned, not a write error; a server that stops reading hits the
 * idle limit and is retried; a reset mid-body restarts the whole body.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { requestBytes, type StreamBody } from '../../src/net/http.js';

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function body(size: number, give = size): StreamBody & { opened: number } {
  const b = {
    length: size,
    opened: 0,
    async *open() {
      b.opened += 1;
      const chunk = Buffer.alloc(65536, 0x61);
      for (let done = 0; done < give; done += chunk.length) yield chunk.subarray(0, Math.min(chunk.length, give - done));
    },
  };
  return b;
}

const quick = { backoffMs: 1, sleep: async (): Promise<void> => undefined };

describe('net: streamed request bodies', () => {
  it('sends the exact bytes with Content-Length and reports progress up to the total', async () => {
    let got = { length: '', sha: '', n: 0 };
    const url = await serve((req, res) => {
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => {
        h.update(c);
        n += c.length;
      });
      req.on('end', () => {
        got = { length: req.headers['content-length'] ?? '', sha: h.digest('hex'), n };
        res.writeHead(201).end('{}');
      });
    });
    const progress: number[] = [];
    const a = await requestBytes({ url, method: 'POST', body: body(300_000), onProgress: (s) => progress.push(s) }, quick, { where: 't' });
    expect(a.status).toBe(201);
    expect(got).toEqual({ length: '300000', sha: createHash('sha256').update(Buffer.alloc(300_000, 0x61)).digest('hex'), n: 300_000 });
    expect(progress[progress.length - 1]).toBe(300_000);
  });

  it('a source shorter than announced fails each attempt (retried, then NetworkError)', async () => {
    const url = await serve((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(201).end());
    });
    const b = body(200_000, 100_000);
    const e = await requestBytes({ url, method: 'POST', body: b }, { ...quick, retries: 1 }, { where: 't' }).catch((x: unknown) => x);
    expect((e as Error).message).toContain('gave up after 2 attempts');
    expect(b.opened).toBe(2);
  });

  it('an answer before the body is read (401) is returned as the answer', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(401, { connection: 'close' }).end('{"httpStatus":401}');
    });
    const a = await requestBytes({ url, method: 'POST', body: body(8 * 1024 * 1024) }, quick, { where: 't' });
    expect(a.status).toBe(401);
  });

  it('a server that stops reading hits the idle limit; the retry re-sends the whole body', async () => {
    let calls = 0;
    const url = await serve((req, res) => {
      calls += 1;
      if (calls === 1) {
        req.pause(); // never reads, never answers
        return;
      }
      req.resume();
      req.on('end', () => res.writeHead(201).end());
    });
    const b = body(16 * 1024 * 1024);
    const lines: string[] = [];
    const a = await requestBytes({ url, method: 'POST', body: b }, { ...quick, requestTimeoutMs: 300, onRetry: (l) => lines.push(l) }, { where: 't' });
    expect(a.status).toBe(201);
    expect(b.opened).toBe(2);
    expect(lines[0]).toContain('no answer within the request time limit');
  });
});

it('net: an answer larger than MAX_ANSWER_BYTES is refused, not buffered, naming what was asked', async () => {
  const { MAX_ANSWER_BYTES } = await import('../../src/net/http.js');
  const url = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let sent = 0;
    const more = (): void => {
      while (sent <= MAX_ANSWER_BYTES) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
      res.end();
    };
    more();
  });
  const e = await requestBytes({ url }, quick, { where: 'test: big' }).catch((x: unknown) => x);
  expect((e as Error).message).toBe(`test: big: the answer (HTTP 200) is larger than ${MAX_ANSWER_BYTES} bytes; not read`);
});

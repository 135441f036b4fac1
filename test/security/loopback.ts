/**
 * Small node:http servers on 127.0.0.1, port 0, for tests: a JWKS host, a misbehaving FHIR server.
 * Each records what it was asked and is closed with `stop()` (connections cut, so a test that left
 * a slow response hanging still ends).
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
}

export interface Loopback {
  readonly origin: string;
  readonly seen: SeenRequest[];
  readonly server: Server;
  stop(): Promise<void>;
}

export type Route = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export async function startLoopback(route: Route): Promise<Loopback> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    // Clients that give up (timeouts, size caps) reset the socket; that is what some tests do.
    res.on('error', () => undefined);
    req.on('error', () => undefined);
    Promise.resolve(route(req, res)).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500);
      }
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    server,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Standalone in-memory FHIR R4 server: `npm run fhir-server` (PORT, default 8103; 0 = any free port).
 * Stdout carries exactly one line, `{"event":"listening","baseUrl":"http://127.0.0.1:<port>/fhir"}`, which
 * test/support/fhir-process.ts waits for; everything else goes to stderr.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createLogger } from '../../common/logger.ts';

const HOST = '127.0.0.1';
const DEFAULT_PORT = 8103;

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') {
    return DEFAULT_PORT;
  }
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be an integer 0-65535, got ${JSON.stringify(value)}`);
  }
  return port;
}

async function main(): Promise<void> {
  // @medplum/core reads WebSocket.CLOSING at import time; without the flag Node 20 fails with a bare ReferenceError.
  if (!('WebSocket' in globalThis)) {
    throw new Error('No global WebSocket: on Node 20 run node with --experimental-websocket (npm run fhir-server does)');
  }
  const port = parsePort(process.env.PORT);
  const logger = createLogger((line) => process.stderr.write(`${line}\n`));
  // Imported only after the check above, so the failure is the explanation rather than a ReferenceError.
  const { createFhirServerRouter } = await import('./fhir-router-app.ts');
  const { ensureFhirDefinitions } = await import('./definitions.ts');
  logger.info('FHIR R4 definitions loaded', { ms: ensureFhirDefinitions() });
  const app = express();
  app.disable('x-powered-by');
  app.use('/fhir', createFhirServerRouter({ logger }));

  const server = app.listen(port, HOST);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ event: 'listening', baseUrl: `http://${HOST}:${address.port}/fhir` })}\n`);

  const shutdown = (): void => {
    // Keep-alive sockets (fetch keeps them open) would otherwise hold close() until they time out.
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`fhir-server failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

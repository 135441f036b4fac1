/**
 * `npm start`: the CDS Hooks service. With no configuration it runs in sandbox mode: an embedded
 * in-memory FHIR R4 server at /fhir (the only FHIR server it trusts), a page at / where a person
 * plays the EHR (patient, referral, images, sign, cards, queue) and the result viewer at /viewer/<id>.
 * Production (BCC_CDS_MODE=production) serves the hooks only and needs FHIR_ALLOWED_SERVERS.
 */
import type { AddressInfo } from 'node:net';
import { createService, publicBaseUrlOf } from './service/create-service.ts';
import { shutdownGracefully } from './cds/graceful-shutdown.ts';
import { createLogger } from './common/logger.ts';
import { describeOutcome, OperationOutcomeError } from './common/outcomes.ts';
import { createSandboxService } from './sandbox/sandbox-service.ts';
import { loadServiceConfig } from './config.ts';
import { openSharedStore } from './storage/open-store.ts';

async function main(): Promise<void> {
  const config = loadServiceConfig();
  const log = createLogger(undefined, config.logLevel);
  const port = config.port;
  const publicBaseUrl = publicBaseUrlOf(config);
  // One store for the hook's feedback, replay cache and rate counters and the viewer's results.
  const store = await openSharedStore(config, { onIdleError: (err) => { log.warn('store connection lost; reconnecting on next use', { error: err.message }); } });
  // Sandbox: the core service plus the embedded FHIR server, the EHR-like page, viewer and queue.
  const service = config.mode === 'sandbox' ? await createSandboxService(config, { log, store }) : await createService(config, { log, store });
  const m = service.model.manifest;
  const app = service.app;
  const server = app.listen(port, config.host);
  await new Promise<void>((ok, fail) => {
    server.once('listening', ok);
    server.once('error', fail);
  });
  const actual = (server.address() as AddressInfo).port;
  log.info('BCC-CDS listening', { port: actual, mode: config.mode, model: `${m.name} ${m.version}`, store: store.kind, discovery: `${publicBaseUrl}/cds-services` });
  if (config.mode === 'sandbox') {
    log.warn('SANDBOX MODE: unauthenticated, embedded in-memory FHIR server at /fhir, demo data only. Set BCC_CDS_MODE=production for real use.');
  }
  // In-flight hooks finish (up to shutdownGraceMs); new ones get 503 + Retry-After meanwhile.
  const stop = (): void => {
    const closeAll = { drain: (timeoutMs: number) => service.drain(timeoutMs), close: () => service.close().finally(() => store.close()) };
    void shutdownGracefully(server, closeAll, { graceMs: config.shutdownGraceMs, log }).finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  const text = err instanceof OperationOutcomeError ? describeOutcome(err.outcome) : err instanceof Error ? err.message : String(err);
  process.stderr.write(`bcc-cds: cannot start: ${text}\n`);
  process.exit(1);
});

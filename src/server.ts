/**
 * `npm start`: the CDS Hooks service. With no configuration it runs in sandbox mode: an embedded
 * in-memory FHIR R4 server at /fhir (the only FHIR server it trusts), and a landing page at /.
 * Production (BCC_CDS_MODE=production) serves the hooks only and needs FHIR_ALLOWED_SERVERS.
 */
import type { AddressInfo } from 'node:net';
import { createService } from './cds/create-service.ts';
import { createLogger } from './logger.ts';
import { describeOutcome, OperationOutcomeError } from './outcomes.ts';
import { loadServiceConfig } from './service-config.ts';

async function main(): Promise<void> {
  const config = loadServiceConfig();
  const log = createLogger(undefined, config.logLevel);
  const port = config.port;
  const publicBaseUrl = (config.publicBaseUrl ?? `http://localhost:${port}`).replace(/\/+$/, '');
  const service = await createService(config, {
    log,
    mount: (a) => {
      if (config.mode === 'sandbox') {
        a.get('/', (_req, res) => {
          res.type('html').send(landingPage(publicBaseUrl, m.name, m.version));
        });
      }
    },
  });
  const m = service.model.manifest;
  const app = service.app;
  const server = app.listen(port, config.host);
  await new Promise<void>((ok, fail) => {
    server.once('listening', ok);
    server.once('error', fail);
  });
  const actual = (server.address() as AddressInfo).port;
  log.info('BCC-CDS listening', { port: actual, mode: config.mode, model: `${m.name} ${m.version}`, discovery: `${publicBaseUrl}/cds-services` });
  if (config.mode === 'sandbox') {
    log.warn('SANDBOX MODE: unauthenticated, embedded in-memory FHIR server at /fhir, demo data only. Set BCC_CDS_MODE=production for real use.');
  }
  const stop = (): void => {
    server.close(() => {
      void service.close().finally(() => process.exit(0));
    });
    server.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

function landingPage(base: string, name: string, version: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>BCC-CDS sandbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; line-height: 1.5">
<h1>BCC-CDS sandbox</h1>
<p><strong>Decision support for triage, not a diagnosis.</strong> Research model ${escapeHtml(name)} ${escapeHtml(version)}, not for clinical decisions.</p>
<ul>
<li>CDS Hooks discovery: <a href="${base}/cds-services">${base}/cds-services</a></li>
<li>Embedded FHIR R4 server (in memory): <a href="${base}/fhir/metadata">${base}/fhir</a></li>
<li>Model card: <a href="${base}/model-card">${base}/model-card</a> · OpenAPI: <a href="${base}/openapi.json">${base}/openapi.json</a> · Metrics: <a href="${base}/metrics">${base}/metrics</a></li>
</ul>
<p>Try it: <code>npm run demo -- &lt;image.jpg&gt;</code> creates a patient, a dermatology referral and its image Media here, fires <code>order-sign</code> and prints the cards.</p>
</body></html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

main().catch((err: unknown) => {
  const text = err instanceof OperationOutcomeError ? describeOutcome(err.outcome) : err instanceof Error ? err.message : String(err);
  process.stderr.write(`bcc-cds: cannot start: ${text}\n`);
  process.exit(1);
});

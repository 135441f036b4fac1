/**
 * The service as `npm start` builds it in production mode (createService), in its own process, for
 * the end-to-end bench. Env: BENCH_FHIR_BASE (the FHIR server it may call), BENCH_SERVICE_CONFIG
 * (JSON overrides of DEFAULT_CONFIG), BCC_MODEL_MANIFEST (another model, e.g. the int8 one).
 * Prints `{"event":"listening","baseUrl":...}` on stdout once the port is open.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createService } from '../src/service/create-service.ts';
import { DEFAULT_IMAGE_GATE, DEFAULT_CONFIG } from '../src/config.ts';
import { loadGateConfig, withModelChecks } from '../src/gate/gate-config.ts';
import type { ServiceConfig } from '../src/config.ts';

async function main(): Promise<void> {
  const fhir = process.env.BENCH_FHIR_BASE;
  if (!fhir) {
    throw new Error('BENCH_FHIR_BASE is not set');
  }
  const overrides = JSON.parse(process.env.BENCH_SERVICE_CONFIG ?? '{}') as Partial<ServiceConfig>;
  const dir = await mkdtemp(join(tmpdir(), 'bcc-cds-bench-'));
  const service = await createService({
    ...DEFAULT_CONFIG,
    mode: 'production',
    host: '127.0.0.1',
    port: 0,
    allowedFhirServers: [fhir],
    feedbackDbPath: join(dir, 'feedback.sqlite'),
    logLevel: 'silent',
    ...overrides,
  }, {
    // The bench's synthetic images are refused by the model's own gate (not dermoscopic / out of
    // distribution); warn instead, so every hook does the full work production does on a real image.
    gate: withModelChecks(await loadGateConfig(DEFAULT_IMAGE_GATE), 'warn'),
  });
  const server = service.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ event: 'listening', baseUrl: `http://127.0.0.1:${port}`, model: service.model.manifest.sha256 })}\n`);
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    void service
      .close()
      .then(() => rm(dir, { recursive: true, force: true }))
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench service failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

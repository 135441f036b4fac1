import type { Express } from 'express';
import { createFhirGateway } from '../fhir/fhir-gateway.ts';
import { loadGateConfig, withModelChecks } from '../gate/gate-config.ts';
import type { Logger } from '../common/logger.ts';
import { loadManifest } from '../model/manifest.ts';
import { loadTerminology } from '../report/terminology.ts';
import type { ServiceConfig } from '../config.ts';
import type { Service, ServiceOptions } from '../service/create-service.ts';
import { createService, publicBaseUrlOf } from '../service/create-service.ts';
import type { SharedStore } from '../storage/shared-store.ts';
import type { ReportStore } from '../viewer/report-store.ts';
import { createReportStore } from '../viewer/report-store.ts';
import { demoModelAdminAuth } from './demo-admin.ts';
import { sandboxAnnotatorAuth } from './demo-annotators.ts';
import { createKeyStore } from '../cds/auth/key-store.ts';
import { createStaffJwtVerifier } from '../cds/auth/staff-jwt.ts';
import { VIEWER_CALLBACK_PATH } from '../cds/viewer-routes.ts';
import { createSmartAuthServer } from './smart-auth-server.ts';
import { createFhirServerRouter } from './fhir-server/fhir-router-app.ts';
import { mountSandbox, ownFhirBase } from './sandbox-routes.ts';

export interface SandboxServiceOptions extends Pick<ServiceOptions, 'clock' | 'newId' | 'trustedIssuers'> {
  readonly log: Logger;
  /** The shared store (the caller opens and closes it): feedback, replay cache and the viewer's results. */
  readonly store: SharedStore;
  /** Where the service keeps results for the viewer and queue; default: the shared store's (createService's own). Tests wrap it. */
  readonly reports?: ReportStore;
  /** Signs the page's CDS client JWT when the service authenticates clients (see SandboxDeps). */
  readonly signHookToken?: (audience: string) => Promise<string>;
  /** Redirect URIs the sandbox authorization server also registers for the viewer's client id: another service using this sandbox as its EHR (tests). */
  readonly smartRedirectUris?: readonly string[];
}

/**
 * The service in sandbox mode: the core service plus what only a sandbox has. An embedded in-memory
 * FHIR R4 server at /fhir, trusted under each name a local client may use; the EHR-like page at `/`,
 * the result viewer the cards link to and the triage queue; named demo annotators (X-Demo-Annotator)
 * instead of annotator tokens, and a demo model administrator (X-Demo-Admin: it-admin) instead of
 * admin tokens; and the model's own gate set to warn, since the sandbox shows the
 * flow on synthetic drawings that the gate rightly calls not dermoscopic (quality checks still
 * refuse). Production never loads any of this.
 */
export async function createSandboxService(config: ServiceConfig, opts: SandboxServiceOptions): Promise<Service> {
  if (!('WebSocket' in globalThis)) {
    throw new Error('sandbox mode embeds @medplum/fhir-router, which needs a global WebSocket: run node with --experimental-websocket (npm start does)');
  }
  const publicBaseUrl = publicBaseUrlOf(config);
  const [gateFile, manifest, terminology] = await Promise.all([loadGateConfig(config.imageGateFile), loadManifest(config.modelManifest), loadTerminology()]);
  const reports = opts.reports ?? createReportStore(opts.store);
  const fhirRouter = createFhirServerRouter({ logger: opts.log });
  const ownFhirBases = [`${publicBaseUrl}/fhir`, `http://localhost:${config.port}/fhir`, `http://127.0.0.1:${config.port}/fhir`];
  // The sandbox EHR's SMART authorization server: the viewer's launch and the annotators' id_tokens.
  const smart = await createSmartAuthServer({
    publicBaseUrl,
    clientId: config.smartClientId,
    redirectUris: [`${publicBaseUrl}${VIEWER_CALLBACK_PATH}`, ...(opts.smartRedirectUris ?? [])],
    fhirBases: ownFhirBases,
    roleClaim: config.annotatorRoleClaim,
    annotatorRole: config.annotatorRole,
    log: opts.log,
  });
  const smartIdTokens = createStaffJwtVerifier(
    {
      issuers: [{ iss: smart.issuer, keys: { kind: 'inline', jwks: smart.jwks }, jkuAllowList: [] }],
      audience: config.smartClientId,
      roleClaim: config.annotatorRoleClaim,
      role: config.annotatorRole,
      clockSkewSeconds: config.jwtClockSkewSeconds,
    },
    { keys: createKeyStore() },
  );
  const mount = (app: Express): void => {
    app.get('/fhir/.well-known/smart-configuration', (_req, res) => {
      res.json(smart.smartConfiguration());
    });
    smart.mount(app);
    app.use('/fhir', fhirRouter);
    mountSandbox(app, {
      store: reports,
      decisions: opts.store,
      fhirFor: (req) => createFhirGateway({ baseUrl: ownFhirBase(req), timeoutMs: config.fhirTimeoutMs }),
      viewer: { terminology, manifest },
      ...(opts.signHookToken ? { signHookToken: opts.signHookToken } : {}),
    });
  };
  return createService(config, {
    log: opts.log,
    store: opts.store,
    gate: withModelChecks(gateFile, 'warn'),
    extraAllowedFhirServers: ownFhirBases,
    viewerBaseUrl: `${publicBaseUrl}/viewer`,
    reports,
    annotatorAuth: sandboxAnnotatorAuth({ verifier: smartIdTokens, log: opts.log }),
    modelAdminAuth: demoModelAdminAuth(),
    mount,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.newId ? { newId: opts.newId } : {}),
    ...(opts.trustedIssuers ? { trustedIssuers: opts.trustedIssuers } : {}),
  });
}

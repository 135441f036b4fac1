import type { Express } from 'express';
import type { ServiceOptions } from '../service/create-service.ts';
import { modelPaths } from '../config.ts';
import { createFhirGateway } from '../fhir/fhir-gateway.ts';
import { loadManifest } from '../model/manifest.ts';
import type { TriageReport } from '../report/triage-report.ts';
import { loadTerminology } from '../report/terminology.ts';
import type { ReportStore } from '../viewer/report-store.ts';
import { mountSandbox, ownFhirBase } from './sandbox-routes.ts';

export interface SandboxFrontEndOptions {
  /** Where clients reach this service; the cards' viewer links start with it. */
  readonly publicBaseUrl: string;
  readonly fhirTimeoutMs: number;
  /** Where the hook's results live for the viewer and the queue (the shared store). */
  readonly store: ReportStore;
  /** Signs the page's CDS client JWT when the service authenticates clients (see SandboxDeps). */
  readonly signHookToken?: (audience: string) => Promise<string>;
}

/** What createService needs to serve the sandbox pages: merge into its options. */
export interface SandboxFrontEnd {
  readonly store: ReportStore;
  readonly onReport: (report: TriageReport) => Promise<void>;
  readonly viewerBaseUrl: string;
  readonly mount: (app: Express) => void;
}

/**
 * The sandbox page, the viewer and the queue, as createService options (`npm start` and the browser
 * tests assemble it the same way). Reads the same manifest and terminology files createService does.
 */
export async function createSandboxFrontEnd(opts: SandboxFrontEndOptions): Promise<SandboxFrontEnd> {
  const [manifest, terminology] = await Promise.all([loadManifest(modelPaths().manifest), loadTerminology()]);
  const store = opts.store;
  return {
    store,
    onReport: (report) => store.add(report),
    viewerBaseUrl: `${opts.publicBaseUrl.replace(/\/+$/, '')}/viewer`,
    mount: (app) =>
      mountSandbox(app, {
        store,
        fhirFor: (req) => createFhirGateway({ baseUrl: ownFhirBase(req), timeoutMs: opts.fhirTimeoutMs }),
        viewer: { terminology, manifest },
        ...(opts.signHookToken ? { signHookToken: opts.signHookToken } : {}),
      }),
  } satisfies Pick<ServiceOptions, 'onReport' | 'viewerBaseUrl' | 'mount'> & { store: ReportStore };
}

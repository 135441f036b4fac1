import { randomUUID } from 'node:crypto';
import type { GateConfig } from '../gate/gate-config.ts';
import type { ServiceRequest } from 'fhir/r4';
import type { AssessDeps, ReferralAssessment } from '../assess/assess-referral.ts';
import { assessReferral } from '../assess/assess-referral.ts';
import type { Card, SystemAction } from '../cards/card.ts';
import { noImagesCard, notAssessedCard } from '../cards/status-cards.ts';
import { toSystemActions } from '../cards/suggestions.ts';
import { toCard } from '../cards/to-card.ts';
import type { CardOptions } from '../cards/to-card.ts';
import type { FeedbackStore, IssuedCard } from '../feedback/feedback-store.ts';
import type { FhirGateway, FhirGatewayOptions } from '../fhir/fhir-gateway.ts';
import { createFhirGateway } from '../fhir/fhir-gateway.ts';
import { isAllowedFhirServer } from '../fhir/server-allow-list.ts';
import type { Logger } from '../common/logger.ts';
import type { BccModel } from '../model/session.ts';
import { OperationOutcomeError, timedOut, tooCostly } from '../common/outcomes.ts';
import { findDermatologyReferralEntries } from '../referral/find-referrals.ts';
import type { ReferralValueSet } from '../referral/referral-value-set.ts';
import type { TriageReport } from '../report/triage-report.ts';
import type { Terminology } from '../report/terminology.ts';
import type { RuleSet } from '../rules/rule-set.ts';
import type { ServiceConfig } from '../config.ts';
import type { HookRunner } from './app.ts';
import type { HookRequest } from './hook-request.ts';
import type { ServiceMetrics } from './metrics.ts';
import type { CdsServiceDefinition } from './service-definitions.ts';

export interface TriageHookDeps {
  /**
   * The live model (src/registry/live-model.ts). Read once when a hook starts and used for all of
   * it, so a hook in flight during a promote finishes on the version it started with.
   */
  readonly model: () => BccModel;
  readonly rules: RuleSet;
  readonly valueSet: ReferralValueSet;
  readonly terminology: Terminology;
  /** The image gate (models/image-gate.json): refused images are not scored. */
  readonly gate?: GateConfig;
  readonly config: Pick<
    ServiceConfig,
    'allowedFhirServers' | 'fhirTimeoutMs' | 'hookDeadlineMs' | 'maxReferrals' | 'maxImagesPerReferral' | 'maxImageBytes' | 'maxImagePixels' | 'systemActions' | 'presentedFormPdf'
  >;
  /** Links in cards: `<publicBaseUrl>/model-card`, and the viewer when there is one. */
  readonly publicBaseUrl: string;
  readonly viewerBaseUrl?: string;
  /** The viewer's SMART launch URL: cards carry a `smart` link to it (config.viewerSmartLink). */
  readonly viewerLaunchUrl?: string;
  readonly feedback: Pick<FeedbackStore, 'recordCards'>;
  readonly metrics: Pick<ServiceMetrics, 'cards' | 'images' | 'gateRefusals'>;
  readonly log: Logger;
  readonly clock?: () => Date;
  readonly newId?: () => string;
  readonly createGateway?: (opts: FhirGatewayOptions) => FhirGateway;
  /**
   * Called with each finished report (the sandbox keeps them for the viewer); awaited before the
   * card goes out, so its viewer link works on any replica at once.
   */
  readonly onReport?: (report: TriageReport) => void | Promise<void>;
  /**
   * Admission for one hook's work (the hook queue, src/cds/overload.ts). The wait counts against the
   * deadline, and work whose deadline passed while it waited is dropped instead of run.
   */
  readonly admit?: <T>(job: () => Promise<T>) => Promise<T>;
}

/**
 * The order-sign / order-select hook: the dermatology referrals in context, each assessed
 * (src/assess), each assessment translated into one card. No referral, no cards.
 */
export function createTriageHook(deps: TriageHookDeps): HookRunner {
  const clock = deps.clock ?? ((): Date => new Date());
  const newId = deps.newId ?? randomUUID;
  const makeGateway = deps.createGateway ?? createFhirGateway;
  /** Everything that names the model, from the one model a hook runs on. */
  function forModel(model: BccModel): { cardOptions: CardOptions; assessDeps: AssessDeps } {
    return {
      cardOptions: {
        serviceLabel: 'BCC-CDS dermoscopy triage (research, decision support)',
        modelCardUrl: `${deps.publicBaseUrl}/model-card`,
        newUuid: newId,
        terminology: deps.terminology,
        model: { name: model.manifest.name, version: model.manifest.version },
      },
      assessDeps: {
        model,
        rules: deps.rules,
        terminology: deps.terminology,
        ...(deps.gate ? { gate: deps.gate } : {}),
        limits: { maxBytes: deps.config.maxImageBytes, maxPixels: deps.config.maxImagePixels, formats: HOOK_IMAGE_FORMATS, maxImagesPerReferral: deps.config.maxImagesPerReferral },
        newId,
        ...(deps.viewerBaseUrl ? { viewerBaseUrl: deps.viewerBaseUrl } : {}),
        presentedFormPdf: deps.config.presentedFormPdf,
      },
    };
  }

  function toHookCard(referral: ServiceRequest, a: ReferralAssessment, cardOptions: CardOptions): Card {
    switch (a.kind) {
      case 'assessed':
        return toCard(a.report, { ...cardOptions, referral, systemActions: deps.config.systemActions, ...(deps.viewerLaunchUrl ? { viewerLaunchUrl: deps.viewerLaunchUrl } : {}) });
      case 'no-images':
        return noImagesCard(referral, cardOptions);
      case 'not-assessable':
      case 'unreadable':
        return notAssessedCard(referral, a.images, cardOptions);
    }
  }

  async function run(service: CdsServiceDefinition, request: HookRequest, model: BccModel, signal?: AbortSignal): Promise<{ cards: Card[]; systemActions?: SystemAction[] }> {
    const found = findDermatologyReferralEntries(
      { draftOrders: request.context.draftOrders, ...(request.context.selections ? { selections: request.context.selections } : {}) },
      deps.valueSet,
    );
    if (found.length === 0) {
      return { cards: [] };
    }
    if (found.length > deps.config.maxReferrals) {
      throw new OperationOutcomeError(tooCostly(`${found.length} dermatology referrals in one hook; the limit is ${deps.config.maxReferrals}`, 'context.draftOrders'));
    }
    const gateway = gatewayFor(request);
    const now = clock();
    const context = {
      patientId: request.context.patientId,
      ...(request.prefetch ? { prefetch: request.prefetch } : {}),
      ...(gateway ? { gateway } : {}),
      now,
      ...(signal ? { signal } : {}),
    };
    const { cardOptions, assessDeps } = forModel(model);
    const assessments = await Promise.all(found.map((f) => assessReferral(assessDeps, f.referral, context)));

    const cards: Card[] = [];
    const systemActions: SystemAction[] = [];
    const issued: IssuedCard[] = [];
    for (const [r, f] of found.entries()) {
      const a = assessments[r];
      if (!a) {
        continue;
      }
      for (const img of a.images) {
        deps.metrics.images.inc({ status: img.result.ok ? 'analysed' : img.result.rejection ? 'rejected' : 'unreadable' });
        const rejection = img.result.ok ? undefined : img.result.rejection;
        for (const reason of rejection?.reasons ?? []) {
          deps.metrics.gateRefusals.inc({ stage: rejection?.stage, reason: reason.code });
        }
      }
      const card = toHookCard(f.referral, a, cardOptions);
      if (a.kind === 'assessed') {
        if (deps.config.systemActions) {
          systemActions.push(...toSystemActions(a.report));
        }
        await deps.onReport?.(a.report);
      }
      cards.push(card);
      deps.metrics.cards.inc({ category: a.kind === 'assessed' ? a.report.category : 'none', indicator: card.indicator });
      issued.push({
        uuid: card.uuid ?? newId(),
        serviceId: service.id,
        hookInstance: request.hookInstance,
        referral: f.reference ?? f.where,
        category: a.kind === 'assessed' ? a.report.category : a.kind,
        bccProbability: a.kind === 'assessed' ? a.report.bccProbability : null,
        modelVersion: model.manifest.version,
        issuedAt: now.toISOString(),
      });
    }
    await deps.feedback.recordCards(issued);
    const images = assessments.flatMap((a) => a.images);
    deps.log.info('hook answered', {
      service: service.id,
      hookInstance: request.hookInstance,
      referrals: found.length,
      images: images.length,
      unreadable: images.filter((o) => !o.result.ok && !o.result.rejection).length,
      rejected: images.filter((o) => !o.result.ok && o.result.rejection).length,
      categories: issued.map((i) => i.category),
    });
    return systemActions.length ? { cards, systemActions } : { cards };
  }

  function gatewayFor(request: HookRequest): FhirGateway | undefined {
    if (!request.fhirServer) {
      return undefined;
    }
    if (!isAllowedFhirServer(request.fhirServer, deps.config.allowedFhirServers)) {
      // Untrusted URL: never called, never sent the token. Prefetch alone may still suffice.
      deps.log.warn('fhirServer not on the allow-list; using prefetch only', { fhirServerHost: safeHost(request.fhirServer) });
      return undefined;
    }
    return makeGateway({
      baseUrl: request.fhirServer,
      ...(request.fhirAuthorization?.access_token ? { accessToken: request.fhirAuthorization.access_token } : {}),
      timeoutMs: deps.config.fhirTimeoutMs,
    });
  }

  const admit = deps.admit ?? (<T>(job: () => Promise<T>): Promise<T> => job());
  return async (service, request) => {
    let timer: NodeJS.Timeout | undefined;
    const abort = new AbortController();
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new OperationOutcomeError(timedOut(`hook did not finish within ${deps.config.hookDeadlineMs} ms`));
        abort.abort(err);
        reject(err);
      }, deps.config.hookDeadlineMs);
    });
    // The model is fixed when the hook arrives, before it waits in the queue.
    const model = deps.model();
    const work = admit(() => {
      abort.signal.throwIfAborted();
      return run(service, request, model, abort.signal);
    });
    try {
      return await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** What a hook accepts, whatever the decoder could read. */
const HOOK_IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'tiff'] as const;

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid URL)';
  }
}

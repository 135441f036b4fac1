import { randomUUID } from 'node:crypto';
import type { GateConfig } from '../gate/gate-config.ts';
import type { Reference } from 'fhir/r4';
import type { ImageInput, ImageResult } from '../analysis/analyze-images.ts';
import { analyzeImages } from '../analysis/analyze-images.ts';
import type { Card, SystemAction } from '../cards/card.ts';
import { noImagesCard, notAssessedCard } from '../cards/status-cards.ts';
import { toSystemActions } from '../cards/suggestions.ts';
import { toCard } from '../cards/to-card.ts';
import { renderAnalysisHeatmaps } from '../analysis/analysis-heatmaps.ts';
import type { FeedbackStore, IssuedCard } from '../feedback/feedback-store.ts';
import { attachmentBytes } from '../fhir/attachment-bytes.ts';
import type { FhirGateway, FhirGatewayOptions } from '../fhir/fhir-gateway.ts';
import { createFhirGateway } from '../fhir/fhir-gateway.ts';
import { isAllowedFhirServer } from '../fhir/server-allow-list.ts';
import type { Logger } from '../common/logger.ts';
import type { BccModel } from '../model/session.ts';
import { OperationOutcomeError, getStatus, serverError, tooCostly } from '../common/outcomes.ts';
import { findDermatologyReferralEntries } from '../referral/find-referrals.ts';
import { gatherReferralImages } from '../referral/gather-images.ts';
import type { ReferralImage } from '../referral/referral-images.ts';
import type { ReferralValueSet } from '../referral/referral-value-set.ts';
import { buildTriageReport } from '../report/build-triage-report.ts';
import type { ReferralImageOutcome, TriageReport } from '../report/triage-report.ts';
import type { Terminology } from '../report/terminology.ts';
import type { RuleSet } from '../rules/rule-set.ts';
import type { ServiceConfig } from '../config.ts';
import type { HookRunner } from './app.ts';
import type { HookRequest } from './hook-request.ts';
import type { ServiceMetrics } from './metrics.ts';
import type { CdsServiceDefinition } from './service-definitions.ts';

export interface TriageHookDeps {
  readonly model: BccModel;
  readonly rules: RuleSet;
  readonly valueSet: ReferralValueSet;
  readonly terminology: Terminology;
  /** The image gate (models/image-gate.json): refused images are not scored. */
  readonly gate?: GateConfig;
  readonly config: Pick<
    ServiceConfig,
    'allowedFhirServers' | 'fhirTimeoutMs' | 'hookDeadlineMs' | 'maxReferrals' | 'maxImagesPerReferral' | 'maxImageBytes' | 'maxImagePixels' | 'systemActions'
  >;
  /** Links in cards: `<publicBaseUrl>/model-card`, and the viewer when there is one. */
  readonly publicBaseUrl: string;
  readonly viewerBaseUrl?: string;
  readonly feedback: Pick<FeedbackStore, 'recordCards'>;
  readonly metrics: Pick<ServiceMetrics, 'cards' | 'images'>;
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

interface PlannedImage {
  readonly referral: number;
  readonly image: ReferralImage;
  readonly id: string;
}

/**
 * The order-sign / order-select hook: referrals -> their images -> bytes -> one batched analysis ->
 * heatmaps -> FHIR report -> card, one card per dermatology referral. A bad image degrades only its
 * own result; a referral without images gets an info card; no referral, no cards.
 */
export function createTriageHook(deps: TriageHookDeps): HookRunner {
  const clock = deps.clock ?? ((): Date => new Date());
  const newId = deps.newId ?? randomUUID;
  const makeGateway = deps.createGateway ?? createFhirGateway;
  const cardOptions = {
    serviceLabel: 'BCC-CDS dermoscopy triage (research, decision support)',
    modelCardUrl: `${deps.publicBaseUrl}/model-card`,
    newUuid: newId,
    terminology: deps.terminology,
    model: { name: deps.model.manifest.name, version: deps.model.manifest.version },
  };

  async function run(service: CdsServiceDefinition, request: HookRequest, signal?: AbortSignal): Promise<{ cards: Card[]; systemActions?: SystemAction[] }> {
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
    const perReferral = await Promise.all(
      found.map(async (f) =>
        (
          await gatherReferralImages(f.referral, {
            patientId: request.context.patientId,
            ...(request.prefetch ? { prefetch: request.prefetch } : {}),
            ...(gateway ? { gateway } : {}),
          })
        ).slice(0, deps.config.maxImagesPerReferral),
      ),
    );
    const planned: PlannedImage[] = perReferral.flatMap((images, r) => images.map((image, k) => ({ referral: r, image, id: `${r}:${k}` })));
    const fetched = await Promise.all(planned.map((p) => fetchImage(p, gateway)));
    const inputs = fetched.flatMap((f) => (f.ok ? [f.input] : []));
    // Past the deadline the caller has its answer already: spare the model the work.
    signal?.throwIfAborted();
    const analysed = await analyzeImages(
      { model: deps.model, rules: deps.rules, gate: deps.gate, limits: { maxBytes: deps.config.maxImageBytes, maxPixels: deps.config.maxImagePixels, formats: ['jpeg', 'png', 'webp', 'tiff'] } },
      inputs,
    );
    const byId = new Map<string, ImageResult>(analysed.map((r) => [r.id, r]));
    const outcomes: ReferralImageOutcome[] = await Promise.all(
      planned.map(async (p, i): Promise<ReferralImageOutcome> => {
        const f = fetched[i];
        const result: ImageResult =
          f && !f.ok ? { ok: false, id: p.id, outcome: f.outcome } : (byId.get(p.id) ?? { ok: false, id: p.id, outcome: serverError('not analysed') });
        deps.metrics.images.inc({ status: result.ok ? 'analysed' : result.rejection ? 'rejected' : 'unreadable' });
        return {
          source: p.image.source,
          label: p.image.label,
          ...(p.image.bodySite ? { bodySite: p.image.bodySite } : {}),
          result,
          heatmaps: result.ok ? await renderAnalysisHeatmaps(result.analysis, deps.model) : [],
        };
      }),
    );

    const now = clock();
    const cards: Card[] = [];
    const systemActions: SystemAction[] = [];
    const issued: IssuedCard[] = [];
    for (const [r, f] of found.entries()) {
      const images = outcomes.filter((_, i) => planned[i]?.referral === r);
      const referralRef = f.reference ?? f.where;
      let card: Card;
      let report: TriageReport | undefined;
      if (images.length === 0) {
        card = noImagesCard(f.referral, cardOptions);
      } else if (!images.some((i) => i.result.ok)) {
        card = notAssessedCard(f.referral, images, cardOptions);
      } else {
        report = buildTriageReport({
          referral: f.referral,
          patient: patientReference(request.context.patientId),
          images,
          manifest: deps.model.manifest,
          rules: deps.rules,
          terminology: deps.terminology,
          now,
          newId,
          ...(deps.viewerBaseUrl ? { viewerBaseUrl: deps.viewerBaseUrl } : {}),
        });
        card = toCard(report, { ...cardOptions, referral: f.referral, systemActions: deps.config.systemActions });
        if (deps.config.systemActions) {
          systemActions.push(...toSystemActions(report));
        }
        await deps.onReport?.(report);
      }
      cards.push(card);
      deps.metrics.cards.inc({ category: report?.category ?? 'none' });
      issued.push({
        uuid: card.uuid ?? newId(),
        serviceId: service.id,
        hookInstance: request.hookInstance,
        referral: referralRef,
        category: report?.category ?? (images.length === 0 ? 'no-images' : images.some((i) => !i.result.ok && i.result.rejection) ? 'not-assessable' : 'unreadable'),
        bccProbability: report?.bccProbability ?? null,
        modelVersion: deps.model.manifest.version,
        issuedAt: now.toISOString(),
      });
    }
    await deps.feedback.recordCards(issued);
    deps.log.info('hook answered', {
      service: service.id,
      hookInstance: request.hookInstance,
      referrals: found.length,
      images: planned.length,
      unreadable: outcomes.filter((o) => !o.result.ok && !o.result.rejection).length,
      rejected: outcomes.filter((o) => !o.result.ok && o.result.rejection).length,
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

  async function fetchImage(p: PlannedImage, gateway: FhirGateway | undefined): Promise<{ ok: true; input: ImageInput } | { ok: false; outcome: ImageResultOutcome }> {
    try {
      const bytes = await attachmentBytes(p.image, gateway, deps.config.maxImageBytes);
      return { ok: true, input: { id: p.id, bytes, where: p.image.where } };
    } catch (err) {
      // 412 (no FHIR server to fetch the URL from, token refused, server unreachable) is about the
      // request, not the image: the client must retry with a fhirServer or a fresh token, so the
      // whole hook answers 412 (CDS Hooks 2.0) instead of a card that blames the image.
      if (err instanceof OperationOutcomeError && getStatus(err.outcome) === 412) {
        throw err;
      }
      return { ok: false, outcome: err instanceof OperationOutcomeError ? err.outcome : serverError(`could not fetch ${p.image.where}`) };
    }
  }

  const admit = deps.admit ?? (<T>(job: () => Promise<T>): Promise<T> => job());
  return async (service, request) => {
    let timer: NodeJS.Timeout | undefined;
    const abort = new AbortController();
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new OperationOutcomeError({
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code: 'timeout', details: { text: `hook did not finish within ${deps.config.hookDeadlineMs} ms` } }],
        });
        abort.abort(err);
        reject(err);
      }, deps.config.hookDeadlineMs);
    });
    const work = admit(() => {
      abort.signal.throwIfAborted();
      return run(service, request, abort.signal);
    });
    try {
      return await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
    }
  };
}

type ImageResultOutcome = Extract<ImageResult, { ok: false }>['outcome'];

function patientReference(patientId: string): Reference {
  return { reference: patientId.includes('/') ? patientId : `Patient/${patientId}` };
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid URL)';
  }
}

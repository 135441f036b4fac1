import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServiceMetrics {
  readonly registry: Registry;
  readonly hooks: Counter<'service' | 'status'>;
  readonly hookSeconds: Histogram<'service'>;
  readonly cards: Counter<'category' | 'indicator'>;
  readonly images: Counter<'status'>;
  readonly feedback: Counter<'outcome'>;
  readonly modelInfo: Gauge<'name' | 'version' | 'sha256'>;
  readonly gateRefusals: Counter<'stage' | 'reason'>;
  readonly cardOutcomes: Counter<'outcome' | 'model_version'>;
  readonly inferenceBusySeconds: Counter;
}

/** What the gauges read when scraped: the hook queue and the inference queue. */
export interface QueueGauges {
  hooks(): { readonly running: number; readonly queued: number };
  inference(): { readonly running: number; readonly queued: number };
}

/** One registry per app instance (not the global one), so tests and several apps never collide. */
export function createMetrics(): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'bcc_cds_process_' });
  return {
    registry,
    hooks: new Counter({ name: 'bcc_cds_hooks_total', help: 'Hook calls by service and HTTP status', labelNames: ['service', 'status'], registers: [registry] }),
    hookSeconds: new Histogram({
      name: 'bcc_cds_hook_duration_seconds',
      help: 'Hook latency',
      labelNames: ['service'],
      buckets: [0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2],
      registers: [registry],
    }),
    cards: new Counter({
      name: 'bcc_cds_cards_total',
      help: 'Cards returned, by triage category (the queue priority; "none" for a card that assesses nothing) and by CDS Hooks indicator',
      labelNames: ['category', 'indicator'],
      registers: [registry],
    }),
    images: new Counter({ name: 'bcc_cds_images_total', help: 'Referral images by result (analysed, rejected by the image gate, unreadable)', labelNames: ['status'], registers: [registry] }),
    feedback: new Counter({ name: 'bcc_cds_feedback_total', help: 'Card feedback by outcome', labelNames: ['outcome'], registers: [registry] }),
    // An info metric (Prometheus/OpenMetrics convention): one series, value 1, labels carry the facts.
    // A promote or rollback removes the old version's series (create-service.ts onSwitch).
    modelInfo: new Gauge({ name: 'bcc_cds_model_info', help: 'The live model version on this replica (always 1)', labelNames: ['name', 'version', 'sha256'], registers: [registry] }),
    gateRefusals: new Counter({
      name: 'bcc_cds_gate_refusals_total',
      help: 'Reasons images were refused by the image gate (quality checks, or the model\'s modality and out-of-distribution outputs); one image can give several',
      labelNames: ['stage', 'reason'],
      registers: [registry],
    }),
    cardOutcomes: new Counter({
      name: 'bcc_cds_card_outcomes_total',
      help: 'Card feedback by outcome and by the model version that issued the card ("unknown": a card this service has no record of)',
      labelNames: ['outcome', 'model_version'],
      registers: [registry],
    }),
    inferenceBusySeconds: new Counter({ name: 'bcc_cds_inference_busy_seconds_total', help: 'Wall time the inference worker spent running the network', registers: [registry] }),
  };
}

/** Gauges read at scrape time: hooks running and waiting, inference runs running and waiting. */
export function registerQueueGauges(metrics: ServiceMetrics, queues: QueueGauges): void {
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [metrics.registry],
      collect() {
        this.set(read());
      },
    });
  };
  gauge('bcc_cds_hooks_in_flight', 'Hooks being processed now', () => queues.hooks().running);
  gauge('bcc_cds_hooks_queued', 'Hooks admitted and waiting for a slot', () => queues.hooks().queued);
  gauge('bcc_cds_inference_in_flight', 'Inference runs in the worker now', () => queues.inference().running);
  gauge('bcc_cds_inference_queued', 'Inference runs waiting for the worker', () => queues.inference().queued);
}

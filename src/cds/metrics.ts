import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServiceMetrics {
  readonly registry: Registry;
  readonly hooks: Counter<'service' | 'status'>;
  readonly hookSeconds: Histogram<'service'>;
  readonly cards: Counter<'category'>;
  readonly images: Counter<'status'>;
  readonly feedback: Counter<'outcome'>;
  readonly modelInfo: Gauge<'name' | 'version' | 'sha256'>;
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
    cards: new Counter({ name: 'bcc_cds_cards_total', help: 'Cards returned by triage category', labelNames: ['category'], registers: [registry] }),
    images: new Counter({ name: 'bcc_cds_images_total', help: 'Referral images by result (analysed, rejected by the image gate, unreadable)', labelNames: ['status'], registers: [registry] }),
    feedback: new Counter({ name: 'bcc_cds_feedback_total', help: 'Card feedback by outcome', labelNames: ['outcome'], registers: [registry] }),
    modelInfo: new Gauge({ name: 'bcc_cds_model_info', help: 'Installed model (value 1)', labelNames: ['name', 'version', 'sha256'], registers: [registry] }),
  };
}

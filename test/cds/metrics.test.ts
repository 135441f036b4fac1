/**
 * /metrics as issue #18 lists it, named per the Prometheus conventions
 * (https://prometheus.io/docs/practices/naming/): one `bcc_cds_` prefix, snake_case, counters end
 * in `_total`, durations in base units (`_seconds`), the live model as an `_info` metric whose only
 * series has the value 1.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics, registerQueueGauges } from '../../src/cds/metrics.ts';

async function scrape(): Promise<{ readonly text: string; readonly families: readonly { name: string; type: string }[] }> {
  const m = createMetrics();
  registerQueueGauges(m, { hooks: () => ({ running: 2, queued: 3 }), inference: () => ({ running: 1, queued: 0 }) });
  m.modelInfo.set({ name: 'bcc-mtl-mnv2', version: '1.5.0', sha256: 'a' }, 1);
  // A promote, as create-service.ts does it: the old version's series goes, the new one is 1.
  m.modelInfo.remove({ name: 'bcc-mtl-mnv2', version: '1.5.0', sha256: 'a' });
  m.modelInfo.set({ name: 'bcc-mtl-mnv2', version: '1.5.1', sha256: 'b' }, 1);
  m.cards.inc({ category: 'high', indicator: 'critical' });
  m.cards.inc({ category: 'none', indicator: 'info' });
  m.gateRefusals.inc({ stage: 'quality', reason: 'blurred' });
  m.cardOutcomes.inc({ outcome: 'overridden', model_version: '1.5.1' });
  m.inferenceBusySeconds.inc(0.25);
  const families = (await m.registry.getMetricsAsJSON()).map((f) => ({ name: f.name, type: String(f.type) }));
  return { text: await m.registry.metrics(), families };
}

describe('/metrics names and series', () => {
  it('follows the Prometheus naming conventions', async () => {
    const { families } = await scrape();
    for (const { name, type } of families) {
      assert.match(name, /^bcc_cds_[a-z0-9_]+$/, `${name}: one prefix, snake_case`);
      if (name.startsWith('bcc_cds_process_')) {
        continue; // prom-client's default process metrics, named by the client library
      }
      if (type === 'counter') {
        assert.match(name, /_total$/, `${name}: a counter ends in _total`);
      } else {
        assert.doesNotMatch(name, /_total$/, `${name}: only counters end in _total`);
      }
      if (/duration|busy|latency|time/.test(name)) {
        assert.match(name, /_seconds(_total)?$/, `${name}: durations in seconds`);
      }
    }
  });

  it('has every series the issue asks for, with its labels', async () => {
    const { text } = await scrape();
    const expected = [
      /^bcc_cds_hooks_in_flight 2$/m,
      /^bcc_cds_hooks_queued 3$/m,
      /^bcc_cds_inference_busy_seconds_total 0\.25$/m,
      /^bcc_cds_gate_refusals_total\{stage="quality",reason="blurred"\} 1$/m,
      /^bcc_cds_cards_total\{category="high",indicator="critical"\} 1$/m,
      /^bcc_cds_cards_total\{category="none",indicator="info"\} 1$/m,
      /^bcc_cds_card_outcomes_total\{outcome="overridden",model_version="1\.5\.1"\} 1$/m,
      /^# TYPE bcc_cds_model_info gauge$/m,
    ];
    for (const re of expected) {
      assert.match(text, re);
    }
  });

  it('exposes the live model as an info metric: one series, value 1', async () => {
    const { text } = await scrape();
    const series = text.split('\n').filter((l) => l.startsWith('bcc_cds_model_info{'));
    assert.deepEqual(series, ['bcc_cds_model_info{name="bcc-mtl-mnv2",version="1.5.1",sha256="b"} 1']);
  });
});

/**
 * createService keeps every report its hooks finish in the shared store's report records, in
 * production as in the sandbox, so the annotation API (and a viewer) can find it on any replica.
 * A caller's onReport still runs, after the report is kept.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { createLogger } from '../../src/common/logger.ts';
import { DEFAULT_CONFIG, DEFAULT_IMAGE_GATE } from '../../src/config.ts';
import { loadGateConfig, withModelChecks } from '../../src/gate/gate-config.ts';
import type { TriageReport } from '../../src/report/triage-report.ts';
import { createService } from '../../src/service/create-service.ts';
import type { Service } from '../../src/service/create-service.ts';
import { lesionJpeg } from '../helpers/images.ts';
import { ORDER_SIGN, PUBLIC_BASE_URL, orderSignHook } from '../security/service.ts';

let service: Service;
const seen: { id: string; keptFirst: boolean }[] = [];

before(async () => {
  service = await createService(
    { ...DEFAULT_CONFIG, mode: 'production', publicBaseUrl: PUBLIC_BASE_URL, feedbackDbPath: ':memory:', logLevel: 'silent' },
    {
      log: createLogger(() => undefined, 'silent'),
      // The synthetic drawings are out of distribution for the model's own gate (as in test/integration).
      gate: withModelChecks(await loadGateConfig(DEFAULT_IMAGE_GATE), 'warn'),
      onReport: async (r: TriageReport) => {
        const id = r.resources.report.id ?? '';
        seen.push({ id, keptFirst: (await service.store.tryGetReport(id)) !== undefined });
      },
    },
  );
});

after(async () => {
  await service.close();
});

describe('createService keeps finished reports (production mode)', () => {
  it('keeps the hook\'s report in the shared store, and still calls the caller\'s onReport after keeping it', async () => {
    const hook = await request(service.app)
      .post(`/cds-services/${ORDER_SIGN}`)
      .send(orderSignHook({ images: [await lesionJpeg(400, 300, 73)] }));
    assert.equal(hook.status, 200, JSON.stringify(hook.body));
    assert.equal(seen.length, 1, 'onReport called once');
    const [first] = seen;
    assert.ok(first);
    assert.equal(first.keptFirst, true, 'the report is kept before onReport runs');
    const kept = await service.store.tryGetReport(first.id);
    assert.ok(kept, 'the report is kept in the shared store');
    assert.equal(kept.referral, 'ServiceRequest/sr1');
    assert.deepEqual(kept.viewer.images.map((i) => i.source), ['Media/m0']);
    assert.deepEqual((await service.store.latestReportPerReferral()).map((e) => e.reportId), [first.id]);
  });
});

/**
 * Property: FHIR resources a client hands over (a dermatology referral in draftOrders, prefetched
 * Media and DocumentReferences with inline or linked images, junk entries) never make the service
 * answer 5xx or crash. Real images are mixed in, so the model runs on part of the cases. Then the
 * same resources, served by a FHIR server the hook may call, must not make it crash either.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import request from 'supertest';
import { lesionJpeg, solidPng } from '../helpers/images.ts';
import { sendJson, startLoopback } from '../security/loopback.ts';
import type { Loopback } from '../security/loopback.ts';
import { ORDER_SIGN, dermReferral, startTestService } from '../security/service.ts';
import type { TestService } from '../security/service.ts';
import { bundle, resource } from './arbitraries.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
let ts: TestService;
let ehr: Loopback;
let imageData: fc.Arbitrary<string>;
/** What the loopback FHIR server answers next; set by each property run. */
let served: unknown = null;

before(async () => {
  const [jpeg, png] = await Promise.all([lesionJpeg(160, 120, 9), solidPng(64, 64, [200, 150, 130])]);
  imageData = fc.constantFrom(jpeg.toString('base64'), png.toString('base64'));
  ehr = await startLoopback((req, res) => {
    if ((req.url ?? '').includes('/Binary/')) {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(Buffer.from('not really a png'));
      return;
    }
    sendJson(res, 200, served, 'application/fhir+json');
  });
  ts = await startTestService({ allowedFhirServers: [ehr.origin], fhirTimeoutMs: 1000, maxConcurrentHooks: 8, maxQueuedHooks: 64 });
});

after(async () => {
  await ts.stop();
  await ehr.stop();
});

const referralEntry = { resource: dermReferral('sr1', 'p1') };

describe('fuzzed FHIR resources', () => {
  it(`prefetched Bundles and draft orders from the client: never 5xx (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(bundle(resource(imageData)), fc.array(resource(imageData), { maxLength: 3 }), async (images, extraOrders) => {
        const body = {
          hook: 'order-sign',
          hookInstance: 'fuzz',
          context: { userId: 'Practitioner/1', patientId: 'p1', draftOrders: { resourceType: 'Bundle', entry: [referralEntry, ...extraOrders.map((r) => ({ resource: r }))] } },
          prefetch: { images },
        };
        const res = await request(ts.service.app).post(`/cds-services/${ORDER_SIGN}`).set('content-type', 'application/json').send(JSON.stringify(body));
        assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)} for ${JSON.stringify(body).slice(0, 800)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it(`the same resources served by an allowed FHIR server: an answer, never a crash (${RUNS / 3} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(bundle(resource(imageData)), resource(imageData)), async (answer) => {
        served = answer;
        const body = {
          hook: 'order-sign',
          hookInstance: 'fuzz-server',
          fhirServer: `${ehr.origin}/fhir`,
          fhirAuthorization: { access_token: 't', token_type: 'Bearer' },
          context: { userId: 'Practitioner/1', patientId: 'p1', draftOrders: { resourceType: 'Bundle', entry: [referralEntry] } },
        };
        const res = await request(ts.service.app).post(`/cds-services/${ORDER_SIGN}`).send(body);
        // The FHIR server is at fault here, so a 5xx outcome is fair; it must still be an outcome.
        assert.ok(res.status === 200 ? Array.isArray(res.body.cards) : res.body.resourceType === 'OperationOutcome', `HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
        assert.notEqual(res.status, 504, 'answered within the deadline');
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });

  it('is healthy afterwards', async () => {
    assert.equal((await request(ts.service.app).get('/healthz')).status, 200);
    assert.deepEqual(ts.service.hookQueue(), { running: 0, queued: 0, draining: false });
  });
});

/**
 * Property: any bytes offered as an image (noise, real JPEG/PNG/WebP/TIFF cut short, bit-flipped
 * or spliced) are either read or refused with an OperationOutcome naming the image; never another
 * exception, never a 5xx from the hook, and the other images of the referral are still assessed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import sharp from 'sharp';
import request from 'supertest';
import { analyzeImages } from '../../src/analysis/analyze-images.ts';
import { modelPaths } from '../../src/config.ts';
import { decodeDermoscopy } from '../../src/imaging/decode.ts';
import { OperationOutcomeError } from '../../src/common/outcomes.ts';
import { loadRuleSet } from '../../src/rules/rule-set.ts';
import type { RuleSet } from '../../src/rules/rule-set.ts';
import { lesionJpeg, solidPng } from '../helpers/images.ts';
import { ORDER_SIGN, orderSignHook, startTestService } from '../security/service.ts';
import type { TestService } from '../security/service.ts';
import { imageBytes } from './arbitraries.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
let ts: TestService;
let seeds: Buffer[];
let good: Buffer;
let rules: RuleSet;

before(async () => {
  good = await lesionJpeg(200, 150, 11);
  const small = await lesionJpeg(64, 48, 12);
  seeds = [
    small,
    await solidPng(48, 40, [180, 120, 100]),
    await sharp(small).webp({ quality: 60 }).toBuffer(),
    await sharp(small).tiff().toBuffer(),
    await sharp(small).gif().toBuffer(),
  ];
  rules = await loadRuleSet(modelPaths().rules);
  ts = await startTestService({ maxImageBytes: 64 * 1024, maxImagePixels: 4_000_000 });
});

after(() => ts.stop());

const LIMITS = { maxBytes: 64 * 1024, maxPixels: 4_000_000, formats: ['jpeg', 'png', 'webp', 'tiff'] } as const;

describe('fuzzed image bytes', () => {
  it(`decodeDermoscopy reads or refuses with an OperationOutcome (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(imageBytes(seeds), async (bytes) => {
        try {
          const img = await decodeDermoscopy(bytes, LIMITS, 'Media/fuzz.content');
          assert.ok(img.width >= 1 && img.height >= 1 && img.width * img.height <= LIMITS.maxPixels);
        } catch (err) {
          assert.ok(err instanceof OperationOutcomeError, `not an OperationOutcomeError: ${String(err)}`);
          assert.ok(err.outcome.issue.every((i) => i.expression?.[0] === 'Media/fuzz.content'));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it(`the whole analysis turns each bad image into a failed result, the good one still runs (${RUNS / 4} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(imageBytes(seeds), { minLength: 1, maxLength: 3 }), async (bad) => {
        const inputs = [...bad.map((bytes, k) => ({ id: `bad${k}`, bytes })), { id: 'good', bytes: good }];
        const results = await analyzeImages({ model: ts.service.model, rules, limits: LIMITS }, inputs);
        assert.equal(results.length, inputs.length);
        assert.ok(results.find((r) => r.id === 'good')?.ok, 'the good image was assessed');
        for (const r of results) {
          assert.equal(r.ok ? 'OperationOutcome' : r.outcome.resourceType, 'OperationOutcome');
        }
      }),
      { numRuns: Math.ceil(RUNS / 4) },
    );
  });

  it(`hooks with fuzzed inline images answer 200 with a card (${RUNS / 4} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(imageBytes(seeds), { minLength: 1, maxLength: 3 }), async (images) => {
        const res = await request(ts.service.app).post(`/cds-services/${ORDER_SIGN}`).send(orderSignHook({ images }));
        assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
        assert.equal(res.body.cards.length, 1);
      }),
      { numRuns: Math.ceil(RUNS / 4) },
    );
  });

  it('is healthy afterwards', async () => {
    assert.equal((await request(ts.service.app).get('/healthz')).status, 200);
    const res = await request(ts.service.app).post(`/cds-services/${ORDER_SIGN}`).send(orderSignHook({ images: [good] }));
    assert.doesNotMatch(res.body.cards[0].summary, /not assessed/);
  });
});

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { resolve } from 'node:path';
import sharp from 'sharp';
import { PROJECT_ROOT } from '../../src/config.ts';
import type { GateConfig } from '../../src/gate/gate-config.ts';
import { loadGateConfig } from '../../src/gate/gate-config.ts';
import type { QualityMeasures } from '../../src/gate/quality-measures.ts';
import { checkImageQuality, judgeQuality } from '../../src/gate/quality-gate.ts';
import { decodeDermoscopy } from '../../src/imaging/decode.ts';
import { toModelInput } from '../../src/imaging/preprocess.ts';
import { loadManifest } from '../../src/model/manifest.ts';
import type { ModelManifest } from '../../src/model/manifest.ts';
import { lesionJpeg } from './synthetic-lesion.ts';

let config: GateConfig;
/** The shipped file with the lesion checks switched from `off` to `warn`, as a trusted finder would allow. */
let warnConfig: GateConfig;
let spec: ModelManifest['input'];
let clean: Buffer;

before(async () => {
  config = await loadGateConfig(resolve(PROJECT_ROOT, 'models/image-gate.json'));
  warnConfig = { ...config, checks: config.checks.map((c) => (c.code.startsWith('lesion-') ? { ...c, action: 'warn' as const } : c)) };
  spec = (await loadManifest(resolve(PROJECT_ROOT, 'models/bcc-mtl-mnv2.json'))).input;
  clean = await lesionJpeg({ width: 640, height: 480 });
});

/** Through the service's own decode and preprocess, then the gate. */
async function gate(bytes: Buffer, gateConfig: GateConfig = config): Promise<ReturnType<typeof checkImageQuality>> {
  const image = await decodeDermoscopy(bytes);
  const input = await toModelInput(image, spec);
  return checkImageQuality(input.raster, image, gateConfig);
}

const codes = (rs: readonly { code: string }[]): string[] => rs.map((r) => r.code);

describe('quality gate on generated images', () => {
  it('accepts a clean, centred, focused image with no warnings', async () => {
    const v = await gate(clean, warnConfig);
    assert.equal(v.accepted, true, JSON.stringify(v));
    assert.deepEqual(codes(v.rejections), []);
    assert.deepEqual(codes(v.warnings), []);
  });

  it('rejects a blurred image as blurred, with the numbers in words', async () => {
    // sigma 4 px at the 224-px model input.
    const v = await gate(await sharp(clean).blur((4 * 480) / 224).jpeg({ quality: 92 }).toBuffer());
    assert.equal(v.accepted, false);
    assert.deepEqual(codes(v.rejections), ['blurred']);
    const r = v.rejections[0]!;
    assert.ok(r.measured < r.limit);
    assert.match(r.text, /blurred/);
    assert.ok(r.text.includes(r.limit.toFixed(2)), r.text);
  });

  it('rejects an over-exposed image as over-exposed', async () => {
    const v = await gate(await sharp(clean).linear(2, 0).jpeg({ quality: 92 }).toBuffer());
    assert.equal(v.accepted, false);
    assert.ok(codes(v.rejections).includes('over-exposed'), JSON.stringify(v.rejections));
    assert.ok(!codes(v.rejections).includes('under-exposed'));
  });

  it('rejects an under-exposed image as under-exposed', async () => {
    const v = await gate(await sharp(clean).linear(0.3, 0).jpeg({ quality: 92 }).toBuffer());
    assert.equal(v.accepted, false);
    assert.ok(codes(v.rejections).includes('under-exposed'), JSON.stringify(v.rejections));
    assert.ok(!codes(v.rejections).includes('over-exposed'));
  });

  it('rejects a thumbnail as low-resolution, naming its size', async () => {
    const v = await gate(await sharp(clean).resize(96, 72).jpeg({ quality: 92 }).toBuffer());
    assert.ok(codes(v.rejections).includes('low-resolution'), JSON.stringify(v.rejections));
    assert.match(v.rejections.find((r) => r.code === 'low-resolution')!.text, /72 px/);
  });

  it('warns (does not reject) when the lesion is far from the centre', async () => {
    const bytes = await lesionJpeg({ width: 640, height: 480, cx: 0.9, cy: 0.9, radius: 0.08 });
    const v = await gate(bytes, warnConfig);
    assert.equal(v.accepted, true, JSON.stringify(v.rejections));
    assert.ok(codes(v.warnings).includes('lesion-off-centre'), JSON.stringify(v.warnings));
    // The shipped file measures it but says nothing: the finder failed its evaluation.
    const shipped = await gate(bytes);
    assert.deepEqual(shipped.warnings, []);
    assert.ok(shipped.measures.lesion && shipped.measures.lesion.offset > 1, JSON.stringify(shipped.measures.lesion));
  });

  it('warns (does not reject) when the lesion runs off the edges', async () => {
    const v = await gate(await lesionJpeg({ width: 640, height: 480, cx: 0.9, cy: 0.5, radius: 1 }), warnConfig);
    assert.equal(v.accepted, true, JSON.stringify(v.rejections));
    assert.ok(codes(v.warnings).includes('lesion-cut-off'), JSON.stringify(v.warnings));
  });
});

describe('judgeQuality', () => {
  const good: QualityMeasures = { shorterSide: 480, sharpness: 500, highlightShare: 0, shadowShare: 0, meanLuminance: 150, brightLuminance: 200, lesion: { offset: 0, borderShare: 0, area: 0.2 } };
  const check = (code: string): GateConfig['checks'][number] => config.checks.find((c) => c.code === code)!;

  it('a measure exactly at its limit passes', () => {
    const v = judgeQuality({ ...good, sharpness: check('blurred').limit, brightLuminance: check('under-exposed').limit, highlightShare: check('over-exposed').limit }, config);
    assert.equal(v.accepted, true);
    assert.deepEqual(v.rejections, []);
  });

  it('reports every failed check, rejections and warnings apart', () => {
    const v = judgeQuality({ ...good, shorterSide: 50, sharpness: 0, lesion: { offset: 1.2, borderShare: 1, area: 0.5 } }, warnConfig);
    assert.deepEqual(codes(v.rejections).sort(), ['blurred', 'low-resolution']);
    assert.deepEqual(codes(v.warnings).sort(), ['lesion-cut-off', 'lesion-off-centre']);
    assert.equal(v.rejections.find((r) => r.code === 'low-resolution')!.measured, 50);
  });

  it('skips checks whose action is off', () => {
    const v = judgeQuality({ ...good, lesion: { offset: 1.2, borderShare: 1, area: 0.5 } }, config);
    assert.deepEqual(v.warnings, []);
    assert.equal(v.accepted, true);
  });

  it('says nothing about the lesion when none was found', () => {
    const v = judgeQuality({ ...good, lesion: null }, warnConfig);
    assert.deepEqual(v.warnings, []);
  });

  it('follows the file: a check turned to warn no longer rejects', () => {
    const relaxed: GateConfig = { ...config, checks: config.checks.map((c) => (c.code === 'blurred' ? { ...c, action: 'warn' as const } : c)) };
    const v = judgeQuality({ ...good, sharpness: 0 }, relaxed);
    assert.equal(v.accepted, true);
    assert.deepEqual(codes(v.warnings), ['blurred']);
  });
});

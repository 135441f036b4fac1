import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { modelPaths } from '../../src/config.ts';
import { loadManifest } from '../../src/model/manifest.ts';
import { SANDBOX_CSP } from '../../src/sandbox/sandbox-routes.ts';
import { lesionJpeg } from '../helpers/images.ts';
import { ARTIFACTS, startSandboxStand } from './harness.ts';
import type { SandboxStand } from './harness.ts';
import { signOneImage } from './sandbox-flow.ts';
import { telangiectaticLesionJpeg } from '../../src/sandbox/synthetic-lesion.ts';

/** signOneImage, and the card's link points at this stand's viewer. */
async function signOne(stand: SandboxStand, page: Page, name: string, image: Buffer): Promise<{ viewerUrl: string; reportId: string }> {
  const signed = await signOneImage(page, name, image);
  assert.ok(signed.viewerUrl.startsWith(`${stand.baseUrl}/viewer/`));
  return signed;
}

async function overlayState(page: Page, output: string): Promise<{ hidden: boolean; opacity: string }> {
  const overlay = page.locator(`.stage__overlay[data-output="${output}"]`).first();
  const opacity = /opacity:\s*([0-9.]+)/.exec((await overlay.getAttribute('style')) ?? '')?.[1] ?? '';
  return { hidden: await overlay.isHidden(), opacity };
}

describe('result viewer in Chromium', { timeout: 240_000 }, () => {
  let stand: SandboxStand;
  let notAssessed: readonly string[];
  let patternCount: number;
  before(async () => {
    stand = await startSandboxStand();
    const manifest = await loadManifest(modelPaths().manifest);
    notAssessed = manifest.patterns.filter((p) => !p.trained).map((p) => p.display);
    patternCount = manifest.patterns.length;
  });
  after(async () => {
    await stand.stop();
  });

  it('shows the image with a toggle and an opacity slider per heatmap, usable by keyboard', async () => {
    const { context, page, errors } = await stand.newPage();
    const { viewerUrl } = await signOne(stand, page, 'left-nasal-ala.jpg', await telangiectaticLesionJpeg());
    const res = await fetch(viewerUrl);
    assert.equal(res.headers.get('content-security-policy'), SANDBOX_CSP);

    await page.goto(viewerUrl);
    await page.locator('.stage__overlay').first().waitFor();
    assert.match((await page.locator('.site-header .disclaimer').textContent()) ?? '', /Decision support, not a diagnosis/);
    assert.match((await page.locator('.summary').textContent()) ?? '', /Decision support, not a diagnosis/);
    // The original image, read from the FHIR server, under the overlays.
    await page.waitForFunction('document.querySelector(".stage__base")?.naturalWidth > 0');

    const toggles = page.locator('.overlay-controls input[type="checkbox"]');
    assert.ok((await toggles.count()) >= 1, 'one toggle per overlay');
    assert.equal(await page.locator('.overlay-controls input[type="range"]').count(), await toggles.count(), 'one slider per overlay');
    const bcc = page.getByLabel('BCC heatmap', { exact: true });
    assert.equal(await bcc.isChecked(), true);
    assert.deepEqual(await overlayState(page, 'bcc'), { hidden: false, opacity: '0.7' });

    await bcc.click();
    assert.equal((await overlayState(page, 'bcc')).hidden, true, 'unticking hides the overlay');
    await bcc.focus();
    await page.keyboard.press('Space');
    assert.equal((await overlayState(page, 'bcc')).hidden, false, 'Space ticks it again');

    // Every other overlay (the patterns found present) starts hidden and shows when ticked.
    for (const t of await toggles.all()) {
      const output = (await t.getAttribute('data-output')) ?? '';
      if (output === 'bcc') {
        continue;
      }
      const toggle = page.locator(`.overlay-controls input[type="checkbox"][data-output="${output}"]`);
      assert.equal((await overlayState(page, output)).hidden, true, `${output} starts hidden`);
      await toggle.check();
      assert.equal((await overlayState(page, output)).hidden, false, `${output} shows when ticked`);
    }

    const slider = page.getByLabel('BCC heatmap opacity');
    await slider.focus();
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('ArrowLeft');
    }
    assert.equal((await overlayState(page, 'bcc')).opacity, '0.5');
    assert.equal(await slider.getAttribute('aria-valuetext'), '50%');

    // Probabilities: BCC and every pattern; an unassessed one says so and has no number.
    assert.equal(await page.locator('table.probabilities tbody tr').count(), 1 + patternCount, 'BCC, then every pattern of the model');
    for (const display of notAssessed) {
      const row = page.locator('table.probabilities tbody tr', { has: page.locator('th', { hasText: display }) });
      assert.match((await row.textContent()) ?? '', /not assessed by this model/);
      assert.equal(await row.locator('.bar__fill').count(), 0, `${display}: no bar`);
    }
    assert.ok((await page.locator('ol.trace li').count()) >= 3, 'the rule trace in words');
    assert.equal(await page.locator('.summary').getByRole('link', { name: 'model card' }).getAttribute('href'), '/model-card');

    // The risk as an icon array: the server's natural frequency, as one image with a name saying it.
    const model = (await (await fetch(viewerUrl.replace('/viewer/', '/sandbox/api/reports/'))).json()) as {
      risk?: { frequency: number; denominator: number; baseRate: number; population: string; text: string };
      images: { overlays: { output: string; title: string; description?: string }[] }[];
    };
    const risk = model.risk;
    assert.ok(risk, 'the report carries the risk statement');
    const iconArray = page.getByRole('img', { name: new RegExp(`^Icon array: ${risk.frequency} of ${risk.denominator} icons filled\\. About ${risk.frequency} in ${risk.denominator} lesions scored like this were BCC in validation\\.$`) });
    assert.equal(await iconArray.locator('.icon-array__icon').count(), risk.denominator);
    assert.equal(await iconArray.locator('.icon-array__icon--bcc').count(), risk.frequency);
    // Beside it, the base rate over the same denominator.
    const baseRate = page.getByRole('img', { name: `Icon array: ${risk.baseRate} of ${risk.denominator} icons filled. In ${risk.population} as a whole, ${risk.baseRate} in ${risk.denominator} were BCC.` });
    assert.equal(await baseRate.locator('.icon-array__icon--bcc').count(), risk.baseRate);
    assert.ok(((await page.locator('.risk-figure').textContent()) ?? '').includes(risk.text), 'the risk statement beside the icon array');
    // Each heatmap in words (the server's), tied to its toggle; the colour scale has a name.
    for (const o of model.images[0]?.overlays ?? []) {
      assert.match(o.description ?? '', /^(Strongest evidence in the .+ of the image; the overlay covers .+ of the image\.|No evidence above the display threshold: nothing is drawn\.)$/);
      const words = page.locator(`.heatmap-words li[data-output="${o.output}"]`);
      assert.equal(await words.textContent(), `${o.title}: ${o.description ?? ''}`);
      const toggle = page.locator(`.overlay-controls input[type="checkbox"][data-output="${o.output}"]`);
      assert.equal(await toggle.getAttribute('aria-describedby'), await words.getAttribute('id'));
    }
    assert.equal(await page.getByRole('img', { name: /^dark blue \(weaker evidence\) through green to yellow \(strongest evidence\)/ }).count(), 1);
    // Printed: the result, the icon array and the words; no controls.
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('.overlay-controls').first().isVisible(), false, 'controls are not printed');
    assert.equal(await page.locator('.print-button').isVisible(), false);
    assert.equal(await iconArray.isVisible(), true, 'the icon arrays are printed');
    assert.equal(await baseRate.isVisible(), true);
    assert.equal(await page.locator('.heatmap-words').first().isVisible(), true, 'the heatmaps in words are printed');
    assert.equal(await page.locator('.stage__overlay[data-output="bcc"]').isVisible(), true, 'a shown overlay is printed');
    await page.emulateMedia({ media: 'screen' });
    await page.screenshot({ path: join(ARTIFACTS, 'viewer-laptop.png'), fullPage: true });
    await context.close();
    assert.deepEqual(errors, []);
  });

  it('fits a tablet: image above the controls, no sideways scrolling', async () => {
    const { context, page, errors } = await stand.newPage({ width: 820, height: 1180 });
    const { viewerUrl } = await signOne(stand, page, 'forearm.jpg', await lesionJpeg(640, 480, 12));
    await page.goto(viewerUrl);
    await page.locator('.stage__overlay').first().waitFor();
    await page.waitForFunction('document.querySelector(".stage__base")?.naturalWidth > 0');
    assert.ok((await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')) <= 0);
    await page.screenshot({ path: join(ARTIFACTS, 'viewer-tablet.png'), fullPage: true });
    await context.close();
    assert.deepEqual(errors, []);
  });

  it('reads a saved report back from the FHIR server when the service no longer holds it', async () => {
    const { context, page, errors } = await stand.newPage();
    const { viewerUrl, reportId } = await signOne(stand, page, 'temple.jpg', await telangiectaticLesionJpeg(800, 600));
    const card = page.locator('#cards article.card').first();
    await card.getByRole('button', { name: /Save AI triage report to the chart/ }).click();
    await card.locator('.card-status[data-kind="ok"]').waitFor();
    const fromMemory = (await (await fetch(`${stand.baseUrl}/sandbox/api/reports/${reportId}`)).json()) as { origin: string; images: { overlays: unknown[]; trace: string[] }[] };
    assert.equal(fromMemory.origin, 'memory');
    stand.store.forget(reportId);

    await page.goto(viewerUrl);
    await page.locator('.stage__overlay').first().waitFor();
    assert.match((await page.locator('.facts').textContent()) ?? '', /read from the FHIR server/);
    assert.equal(await page.locator('.stage__overlay').count(), fromMemory.images[0]?.overlays.length);
    assert.equal(await page.locator('ol.trace li').count(), fromMemory.images[0]?.trace.length);
    // The heatmaps in words and the icon array survive the round trip through FHIR.
    assert.equal(await page.locator('.heatmap-words li').count(), fromMemory.images[0]?.overlays.length);
    assert.equal(await page.locator('.icon-array').count(), 2);
    for (const display of notAssessed) {
      const row = page.locator('table.probabilities tbody tr', { has: page.locator('th', { hasText: display }) });
      assert.match((await row.textContent()) ?? '', /not assessed by this model/);
    }
    await page.getByLabel('BCC heatmap', { exact: true }).uncheck();
    assert.equal((await overlayState(page, 'bcc')).hidden, true);
    await context.close();
    assert.deepEqual(errors, []);
  });

  it('says so when there is no such report', async () => {
    const { context, page } = await stand.newPage();
    await page.goto('/viewer/00000000-0000-4000-8000-000000000000');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? '', /No triage report to show: .*HTTP 404/);
    await context.close();
  });
});

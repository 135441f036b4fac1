import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { modelPaths } from '../../src/config.ts';
import { loadManifest } from '../../src/model/manifest.ts';
import { DEMO_ANNOTATOR_ISSUER } from '../../src/sandbox/demo-annotators.ts';
import { telangiectaticLesionJpeg } from '../../src/sandbox/synthetic-lesion.ts';
import { ARTIFACTS, startSandboxStand } from './harness.ts';
import type { SandboxStand } from './harness.ts';
import { signOneImage } from './sandbox-flow.ts';

interface StoredAnnotation {
  readonly reportId: string;
  readonly image: string;
  readonly pattern: string;
  readonly value: string;
  readonly annotator: { readonly issuer: string; readonly id: string; readonly name?: string };
  readonly model: { readonly name: string; readonly version: string };
  readonly region?: { readonly png: string; readonly width: number; readonly height: number };
}

interface ViewerModelJson {
  readonly model: { readonly name: string; readonly version: string };
  readonly images: readonly { readonly source: string; readonly patterns: readonly { readonly id: string; readonly display: string }[] }[];
}

/** Presses Tab (or Shift+Tab) until the focused element matches the selector; fails after 200 presses. */
async function tabTo(page: Page, selector: string, key: 'Tab' | 'Shift+Tab' = 'Tab'): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await page.keyboard.press(key);
    if (await page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)}) ?? false`)) {
      return;
    }
  }
  assert.fail(`${key} never reached ${selector}`);
}

async function focusedId(page: Page): Promise<string> {
  return page.evaluate<string>('document.activeElement?.id ?? ""');
}

async function annotations(stand: SandboxStand, reportId: string): Promise<StoredAnnotation[]> {
  const res = await fetch(`${stand.baseUrl}/annotations?report=${encodeURIComponent(reportId)}`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { annotations: StoredAnnotation[] }).annotations;
}

describe('annotating patterns in the result viewer (Chromium)', { timeout: 300_000 }, () => {
  let stand: SandboxStand;
  let patternIds: readonly string[];
  before(async () => {
    stand = await startSandboxStand();
    patternIds = (await loadManifest(modelPaths().manifest)).patterns.map((p) => p.id);
  });
  after(async () => {
    await stand.stop();
  });

  it('labels two patterns with the keyboard only, saves them, and shows them again after a reload', async () => {
    const { context, page, errors } = await stand.newPage();
    const { viewerUrl, reportId } = await signOneImage(page, 'left-nasal-ala.jpg', await telangiectaticLesionJpeg());
    const model = (await (await fetch(`${stand.baseUrl}/sandbox/api/reports/${reportId}`)).json()) as ViewerModelJson;
    const image = model.images[0];
    assert.ok(image);
    assert.deepEqual(image.patterns.map((p) => p.id), patternIds, 'the panel offers every pattern of the model');
    const [first, second] = image.patterns;
    assert.ok(first && second);

    await page.goto(viewerUrl);
    const panel = page.locator('section.annotate').first();
    await panel.locator('input[name="annotate-0-annotator"]').first().waitFor();
    assert.equal(await panel.locator('fieldset.annotate__pattern').count(), patternIds.length, 'a fieldset per pattern');
    assert.equal(await panel.locator('fieldset.annotate__pattern input[type="radio"]').count(), patternIds.length * 3);
    assert.match((await panel.textContent()) ?? '', new RegExp(`model ${model.model.name} ${model.model.version.replace(/\./g, '\\.')}`));
    assert.equal(await panel.locator('fieldset.annotate__patterns').getAttribute('disabled'), '', 'patterns wait for an annotator');

    // Keyboard only: Tab into the annotator group (the first radio takes focus), ArrowDown picks the second.
    await tabTo(page, 'input[name="annotate-0-annotator"]');
    assert.equal(await focusedId(page), 'annotate-0-annotator-derm-a');
    await page.keyboard.press('ArrowDown');
    assert.equal(await focusedId(page), 'annotate-0-annotator-derm-b');
    assert.equal(await page.locator('#annotate-0-annotator-derm-b').isChecked(), true);
    assert.equal(await panel.locator('fieldset.annotate__patterns').getAttribute('disabled'), null);

    // First pattern: Tab into its group (focus on "Present"), Space checks it.
    await tabTo(page, `input[name="annotate-0-${first.id}"]`);
    assert.equal(await focusedId(page), `annotate-0-${first.id}-present`);
    await page.keyboard.press('Space');
    // Second pattern: Tab into its group, ArrowDown to "Absent".
    await tabTo(page, `input[name="annotate-0-${second.id}"]`);
    await page.keyboard.press('ArrowDown');
    assert.equal(await focusedId(page), `annotate-0-${second.id}-absent`);
    // Shift+Tab back to the first group keeps its answer; then on to Save and Enter.
    await tabTo(page, `input[name="annotate-0-${first.id}"]`, 'Shift+Tab');
    assert.equal(await page.locator(`#annotate-0-${first.id}-present`).isChecked(), true);
    await tabTo(page, 'section.annotate button[type="submit"]');
    await page.keyboard.press('Enter');

    const live = panel.locator('[role="status"][aria-live="polite"]');
    await page.locator('#annotate-0-status', { hasText: /^Saved/ }).waitFor();
    assert.equal(await live.textContent(), 'Saved 2 annotations.');

    const stored = await annotations(stand, reportId);
    assert.equal(stored.length, 2, JSON.stringify(stored));
    const byPattern = new Map(stored.map((a) => [a.pattern, a]));
    assert.equal(byPattern.get(first.id)?.value, 'present');
    assert.equal(byPattern.get(second.id)?.value, 'absent');
    for (const a of stored) {
      assert.equal(a.reportId, reportId);
      assert.equal(a.image, image.source);
      assert.deepEqual({ issuer: a.annotator.issuer, id: a.annotator.id }, { issuer: DEMO_ANNOTATOR_ISSUER, id: 'derm-b' });
      assert.deepEqual(a.model, { name: model.model.name, version: model.model.version });
      assert.equal(a.region, undefined);
    }

    // Saving again with nothing changed posts nothing.
    await page.keyboard.press('Enter');
    await page.locator('#annotate-0-status', { hasText: /^Nothing to save/ }).waitFor();
    assert.equal((await annotations(stand, reportId)).length, 2);

    // A reload shows the saved answers (the annotator is remembered in this browser).
    await page.reload();
    await panel.locator(`#annotate-0-${first.id}-present:checked`).waitFor();
    assert.equal(await page.locator('#annotate-0-annotator-derm-b').isChecked(), true);
    assert.equal(await page.locator(`#annotate-0-${first.id}-present`).isChecked(), true);
    assert.equal(await page.locator(`#annotate-0-${second.id}-absent`).isChecked(), true);
    assert.equal(await panel.locator('fieldset.annotate__pattern input[type="radio"]:checked').count(), 2);
    await page.screenshot({ path: join(ARTIFACTS, 'viewer-annotate.png'), fullPage: true });
    await context.close();
    assert.deepEqual(errors, []);
  });

  it('saves a region drawn with the pointer, and one marked from the keyboard', async () => {
    const { context, page, errors } = await stand.newPage();
    const { viewerUrl, reportId } = await signOneImage(page, 'temple.jpg', await telangiectaticLesionJpeg(800, 600));
    await page.goto(viewerUrl);
    const panel = page.locator('section.annotate').first();
    await panel.getByLabel('Demo dermatologist C').check();
    const [first, second] = patternIds;
    assert.ok(first && second);
    const firstSet = panel.locator(`fieldset.annotate__pattern[data-pattern="${first}"]`);
    await firstSet.getByLabel('Present').check();
    await firstSet.getByRole('button', { name: 'Draw region' }).click();
    assert.equal(await firstSet.getByRole('button', { name: 'Draw region' }).getAttribute('aria-pressed'), 'true');
    const canvas = page.locator(`canvas.stage__region[data-pattern="${first}"]`).first();
    await canvas.scrollIntoViewIfNeeded();
    const box = await canvas.boundingBox();
    assert.ok(box);
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.4);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.6, { steps: 12 });
    await page.mouse.up();
    assert.match((await firstSet.locator('.annotate__region-note').textContent()) ?? '', /Region marked/);

    // The keyboard alternative: Space on "Mark whole lesion area".
    const secondSet = panel.locator(`fieldset.annotate__pattern[data-pattern="${second}"]`);
    await secondSet.getByLabel('Present').focus();
    await page.keyboard.press('Space');
    await secondSet.getByRole('button', { name: 'Mark whole lesion area' }).focus();
    await page.keyboard.press('Space');
    assert.match((await secondSet.locator('.annotate__region-note').textContent()) ?? '', /Region marked/);

    await panel.getByRole('button', { name: 'Save annotations' }).click();
    await page.locator('#annotate-0-status', { hasText: /^Saved/ }).waitFor();
    assert.equal(await panel.locator('[role="status"]').textContent(), 'Saved 2 annotations.');
    const stored = await annotations(stand, reportId);
    assert.equal(stored.length, 2);
    for (const a of stored) {
      assert.equal(a.annotator.id, 'derm-c');
      assert.equal(a.value, 'present');
      assert.ok(a.region, `${a.pattern} has a region`);
      assert.match(a.region.png, /^data:image\/png;base64,/);
      assert.equal(a.region.width, 320);
    }

    // Reloaded, the saved region comes back.
    await page.reload();
    await page.locator(`fieldset.annotate__pattern[data-pattern="${first}"] .annotate__region-note`, { hasText: 'Region saved.' }).waitFor();
    await context.close();
    assert.deepEqual(errors, []);
  });

  it('announces the server\'s refusal in the live region', async () => {
    const { context, page } = await stand.newPage();
    const { viewerUrl, reportId } = await signOneImage(page, 'cheek.jpg', await telangiectaticLesionJpeg(640, 480));
    await page.route('**/annotations', async (route) => {
      if (route.request().method() === 'POST') {
        await route.fulfill({
          status: 422,
          contentType: 'application/fhir+json',
          body: JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', details: { text: 'not an image of this report' } }] }),
        });
      } else {
        await route.continue();
      }
    });
    await page.goto(viewerUrl);
    const panel = page.locator('section.annotate').first();
    await panel.getByLabel('Demo dermatologist A').check();
    await panel.locator('fieldset.annotate__pattern').first().getByLabel('Absent').check();
    await panel.getByRole('button', { name: 'Save annotations' }).click();
    await page.locator('#annotate-0-status[data-kind="error"]').waitFor();
    assert.match((await panel.locator('[role="status"]').textContent()) ?? '', /HTTP 422 \(not an image of this report\)/);
    assert.equal((await annotations(stand, reportId)).length, 0);
    await context.close();
  });
});

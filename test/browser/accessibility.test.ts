/**
 * Accessibility of the sandbox page (with its queue), the result viewer (the sandbox's route and
 * the SMART-launched one), the SMART sign-in page and the models page (issue #20):
 * - axe-core in real Chromium: zero serious or critical violations of WCAG 2.0/2.1/2.2 A and AA
 *   and axe's best practices, on each page in the states people see (a card shown, a card
 *   overridden, a report with overlays and the annotation panel);
 * - keyboard only (Tab, Shift+Tab, Enter, Space, arrows, typing; no clicks, no element.focus()):
 *   create a referral, add an image through the file picker, sign, apply a suggestion, override a
 *   card, open the viewer, toggle an overlay, annotate, and sign in to the SMART-launched viewer;
 * - what a screen reader is given (Chromium's accessibility tree): landmarks, headings, every
 *   control named, status messages in polite live regions, the icon array and the colour scale as
 *   named images, each overlay toggle described by its heatmap in words.
 * What these tests cannot judge is in docs/accessibility.md.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { VIEWER_SMART_LINK_LABEL } from '../../src/cards/to-card.ts';
import { SMART_BASE_PATH } from '../../src/sandbox/smart-auth-server.ts';
import { telangiectaticLesionJpeg } from '../../src/sandbox/synthetic-lesion.ts';
import { axTree, names, unnamedControls } from './ax-tree.ts';
import { seriousViolations } from './axe.ts';
import { startSandboxStand } from './harness.ts';
import type { SandboxStand } from './harness.ts';
import { focusMatches, focusedText, tabTo } from './keyboard.ts';
import { chooseImage, createReferral, signReferral } from './sandbox-flow.ts';

const HOOK_TIMEOUT_MS = 60_000;

async function assertNoSeriousViolations(page: Page, where: string): Promise<void> {
  assert.deepEqual(await seriousViolations(page), [], `axe on ${where}`);
}

describe('accessibility in Chromium: axe-core, keyboard only, the accessibility tree', { timeout: 400_000 }, () => {
  let stand: SandboxStand;
  before(async () => {
    stand = await startSandboxStand();
  });
  after(async () => {
    await stand.stop();
  });

  it('sandbox page, keyboard only: create a referral, add an image, sign, apply, override, open the viewer, annotate', async () => {
    const { context, page, errors } = await stand.newPage();
    // Interception of the file picker on from the start (switching it on is itself a round trip).
    const fileChooser = page.waitForEvent('filechooser', { timeout: 120_000 });
    await page.goto('/');
    await page.getByRole('heading', { name: 'BCC-CDS sandbox' }).waitFor();
    await page.locator('#queue-status:not(:empty)').waitFor();
    await assertNoSeriousViolations(page, 'the sandbox page, empty');

    // The first Tab reaches the skip link.
    await page.keyboard.press('Tab');
    assert.equal(await focusedText(page), 'Skip to the referral');

    // 1. Create the patient and the referral.
    await tabTo(page, '#given');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('Kim');
    await tabTo(page, '#referral-form button[type="submit"]');
    await page.keyboard.press('Enter');
    const referralStatus = page.locator('#referral-status[data-kind="ok"]');
    await referralStatus.waitFor();
    const referralId = /ServiceRequest\/([^ .]+)/.exec((await referralStatus.textContent()) ?? '')?.[1];
    assert.ok(referralId);

    // 2. Add an image: the file picker opens from the keyboard (Space on the file input).
    await tabTo(page, '#file-input');
    await page.keyboard.press('Space');
    const chooser = await fileChooser;
    await chooser.setFiles({ name: 'left-nasal-ala.jpg', mimeType: 'image/jpeg', buffer: await telangiectaticLesionJpeg() });
    await page.locator('#images-status[data-kind="ok"]').waitFor();

    // 3. Sign.
    await tabTo(page, '#sign-button');
    await page.keyboard.press('Enter');
    await page.locator('#sign-status[data-kind="ok"]').waitFor({ timeout: HOOK_TIMEOUT_MS });
    const card = page.locator('#cards article.card').first();
    const firstCard = (await card.getAttribute('data-card-uuid')) ?? '';
    await assertNoSeriousViolations(page, 'the sandbox page with a card');

    // 4. Apply "Save AI triage report to the chart".
    await tabTo(page, '#cards .card-suggestions button', { text: 'Save AI triage report to the chart' });
    await page.keyboard.press('Enter');
    await card.locator('.card-status[data-kind="ok"]', { hasText: /^Applied/ }).waitFor();
    // The applied button is disabled now: the focus is on the outcome, not lost to the page.
    assert.ok(await focusMatches(page, '#cards .card-status'), 'focus on the apply outcome');
    await page.locator(`#queue-body tr[data-referral="ServiceRequest/${referralId}"][data-decision="accepted"]`).waitFor();

    // 5. Sign again (a second card for the same referral) and override it.
    await tabTo(page, '#sign-button', { backwards: true });
    await page.keyboard.press('Enter');
    await page.locator(`#cards article.card[data-card-uuid]:not([data-card-uuid="${firstCard}"])`).waitFor({ timeout: HOOK_TIMEOUT_MS });
    await tabTo(page, '#cards .card-override button[aria-expanded]');
    assert.equal(await page.evaluate('document.activeElement.getAttribute("aria-expanded")'), 'false');
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('#cards .card-override button[aria-expanded]').getAttribute('aria-expanded'), 'true');
    // Opening the form moves the focus to its first field, the reason.
    assert.ok(await focusMatches(page, '#cards .override-form select'), 'focus on the reason');
    await page.keyboard.press('ArrowDown');
    assert.notEqual(await page.evaluate('document.activeElement.value'), '', 'ArrowDown chose a reason');
    await tabTo(page, '#cards .override-form textarea, #cards .override-form input[type="text"]');
    await page.keyboard.type('Seen in clinic already.');
    await tabTo(page, '#cards .override-form button[type="submit"]');
    await page.keyboard.press('Enter');
    await page.locator('#cards .card-status[data-kind="ok"]', { hasText: /^Override sent/ }).waitFor();
    // The form (and its button) went away: the focus is on the outcome, not lost to the page.
    assert.ok(await focusMatches(page, '#cards .card-status'), 'focus on the override outcome');
    await page.locator(`#queue-body tr[data-referral="ServiceRequest/${referralId}"][data-decision="overridden"]`).waitFor();
    await assertNoSeriousViolations(page, 'the sandbox page with an overridden card and the queue');

    // What a screen reader gets on this page.
    const tree = await axTree(page);
    for (const landmark of ['banner', 'main']) {
      assert.ok(names(tree, landmark).length === 1, `one ${landmark} landmark`);
    }
    assert.deepEqual(names(tree, 'navigation').sort(), ['Queue pages', 'Service']);
    assert.ok(names(tree, 'form').includes('Filter and sort the queue'));
    assert.deepEqual(
      tree.filter((n) => n.role === 'heading' && n.level === 1).map((n) => n.name),
      ['BCC-CDS sandbox'],
    );
    for (const h of ['1 Patient and referral', '2 Dermoscopic images', '3 Sign', 'CDS cards', "Dermatologist's queue"]) {
      assert.ok(names(tree, 'heading').includes(h), `heading "${h}"`);
    }
    assert.deepEqual(unnamedControls(tree), [], 'every control has a name');
    // Status messages are polite live regions, and the override outcome is in one.
    const statuses = tree.filter((n) => n.role === 'status');
    assert.ok(statuses.length >= 5 && statuses.every((n) => n.live === 'polite'), JSON.stringify(statuses));
    assert.ok(statuses.some((n) => n.text.startsWith('Override sent')), `the override outcome is announced: ${JSON.stringify(statuses)}`);
    assert.ok(statuses.some((n) => /^\d+ referrals? in the queue, most urgent first; page 1 of \d+/.test(n.text)), 'the queue status is announced');

    // 6. Open the viewer from the card's link (a new tab), keyboard only.
    await tabTo(page, '#cards .card-links a');
    const [viewer] = await Promise.all([context.waitForEvent('page'), page.keyboard.press('Enter')]);
    await viewer.locator('.stage__overlay').first().waitFor();
    const panel = viewer.locator('section.annotate').first();
    await panel.locator('input[name="annotate-0-annotator"]').first().waitFor();
    await viewer.waitForFunction('document.querySelector(".stage__base")?.naturalWidth > 0');
    await assertNoSeriousViolations(viewer, 'the result viewer');

    // The overlay toggle and opacity by keyboard.
    await tabTo(viewer, '.overlay-controls input[type="checkbox"][data-output="bcc"]');
    await viewer.keyboard.press('Space');
    assert.equal(await viewer.locator('.stage__overlay[data-output="bcc"]').isHidden(), true);
    await viewer.keyboard.press('Space');
    assert.equal(await viewer.locator('.stage__overlay[data-output="bcc"]').isHidden(), false);

    // 7. Annotate: the annotator, one pattern present, Save; the outcome in a polite live region.
    await tabTo(viewer, 'input[name="annotate-0-annotator"]');
    await viewer.keyboard.press('ArrowDown');
    const pattern = (await panel.locator('fieldset.annotate__pattern').first().getAttribute('data-pattern')) ?? '';
    await tabTo(viewer, `input[name="annotate-0-${pattern}"]`);
    await viewer.keyboard.press('Space');
    await tabTo(viewer, 'section.annotate button[type="submit"]');
    await viewer.keyboard.press('Enter');
    await viewer.locator('#annotate-0-status', { hasText: /^Saved 1 annotation\.$/ }).waitFor();
    await assertNoSeriousViolations(viewer, 'the result viewer after annotating');

    const vtree = await axTree(viewer);
    for (const landmark of ['banner', 'main', 'contentinfo']) {
      assert.equal(names(vtree, landmark).length, 1, `one ${landmark} landmark in the viewer`);
    }
    assert.deepEqual(vtree.filter((n) => n.role === 'heading' && n.level === 1).map((n) => n.name), ['BCC triage result']);
    assert.ok(names(vtree, 'heading').some((n) => n.startsWith("Image 1: left-nasal-ala.jpg")), 'a heading per image');
    assert.deepEqual(unnamedControls(vtree), [], 'every viewer control has a name');
    assert.ok(names(vtree, 'image').some((n) => /^Icon array: \d+ of (100|1000) icons filled\. About \d+ in (100|1000) lesions scored like this were BCC in validation\.$/.test(n)), 'the icon array is one named image');
    assert.ok(names(vtree, 'image').some((n) => n.startsWith('dark blue (weaker evidence) through green to yellow')), 'the colour scale is named');
    const bccToggle = vtree.find((n) => n.role === 'checkbox' && n.name === 'BCC heatmap');
    assert.ok(bccToggle, 'the BCC overlay toggle');
    assert.match(bccToggle.description, /^BCC heatmap: (Strongest evidence in the .+ of the image; the overlay covers .+|No evidence above the display threshold: nothing is drawn\.)/);
    assert.ok(vtree.some((n) => n.role === 'status' && n.live === 'polite' && n.text === 'Saved 1 annotation.'), 'the save is announced');
    assert.ok(names(vtree, 'button').includes('Print the report'));
    await context.close();
    assert.deepEqual(errors, []);
  });

  it('SMART-launched viewer: keyboard sign-in at the sandbox EHR, no serious axe violations on either page', async () => {
    const { context, page, errors } = await stand.newPage();
    await createReferral(page);
    await chooseImage(page, 'temple.jpg', await telangiectaticLesionJpeg(640, 480));
    const card = (await signReferral(page)).first();
    await tabTo(page, '#cards .card-suggestions button', { text: 'Save AI triage report to the chart' });
    await page.keyboard.press('Enter');
    await card.locator('.card-status[data-kind="ok"]', { hasText: /^Applied/ }).waitFor();
    await tabTo(page, '#cards button[data-smart-link]', { text: VIEWER_SMART_LINK_LABEL });
    const [popup] = await Promise.all([context.waitForEvent('page'), page.keyboard.press('Enter')]);
    await popup.waitForURL(new RegExp(`${SMART_BASE_PATH}/authorize\\?`));
    await popup.locator('input[name="user"]').first().waitFor();
    await assertNoSeriousViolations(popup, 'the SMART sign-in page');
    await tabTo(popup, 'input[name="user"]');
    await popup.keyboard.press('ArrowDown');
    await tabTo(popup, 'button[value="allow"]');
    await popup.keyboard.press('Enter');
    await popup.waitForURL(`${stand.baseUrl}/viewer/smart`);
    await popup.locator('#summary-heading').waitFor();
    await popup.locator('section.annotate .annotate__who').first().waitFor();
    await popup.waitForFunction('(() => { const i = document.querySelector("img.stage__base"); return i instanceof HTMLImageElement && i.complete && i.naturalWidth > 0; })()');
    await assertNoSeriousViolations(popup, 'the SMART-launched viewer');
    const tree = await axTree(popup);
    assert.deepEqual(unnamedControls(tree), []);
    assert.ok(names(tree, 'image').some((n) => n.startsWith('Icon array: ')), 'the icon array, from the report read back from FHIR');
    await context.close();
    assert.deepEqual(errors, []);
  });

  it('models page: no serious axe violations; landmarks, headings, named controls, a polite status', async () => {
    const { context, page, errors } = await stand.newPage();
    await page.goto('/models-page');
    await page.locator('#models-status', { hasText: /./ }).waitFor();
    await page.locator('#versions button, #versions p').first().waitFor();
    await assertNoSeriousViolations(page, 'the models page');
    const tree = await axTree(page);
    for (const landmark of ['banner', 'main', 'contentinfo', 'navigation']) {
      assert.equal(names(tree, landmark).length, 1, `one ${landmark} landmark`);
    }
    assert.deepEqual(tree.filter((n) => n.role === 'heading' && n.level === 1).map((n) => n.name), ['Model versions']);
    assert.deepEqual(unnamedControls(tree), []);
    assert.ok(tree.some((n) => n.role === 'status' && n.live === 'polite'));
    await context.close();
    assert.deepEqual(errors, []);
  });
});

/**
 * The card's SMART link, end to end in Chromium (issue 18): the sandbox page plays the EHR (signs
 * the referral, files the report from the card, registers the launch and opens the smart link with
 * iss and launch), its authorization server signs a demo annotator in (keyboard only), the viewer
 * reads the report from the FHIR server with the access token, and an annotation made with the
 * keyboard is stored under the id_token's identity.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConsoleMessage, Page } from 'playwright-core';
import { VIEWER_SMART_LINK_LABEL } from '../../src/cards/to-card.ts';
import { SMART_BASE_PATH } from '../../src/sandbox/smart-auth-server.ts';
import { telangiectaticLesionJpeg } from '../../src/sandbox/synthetic-lesion.ts';
import { startSandboxStand } from './harness.ts';
import type { SandboxStand } from './harness.ts';
import { chooseImage, createReferral, signReferral } from './sandbox-flow.ts';

interface StoredAnnotation {
  readonly reportId: string;
  readonly image: string;
  readonly pattern: string;
  readonly value: string;
  readonly annotator: { readonly issuer: string; readonly id: string; readonly name?: string };
}

/** Presses Tab until the focused element matches the selector; fails after 200 presses. */
async function tabTo(page: Page, selector: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)}) ?? false`)) {
      return;
    }
  }
  assert.fail(`Tab never reached ${selector}`);
}

function collectErrors(page: Page, errors: string[]): void {
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') {
      errors.push(m.text());
    }
  });
  page.on('pageerror', (e: Error) => errors.push(e.message));
  page.on('response', (r) => {
    if (r.status() >= 400) {
      errors.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
    }
  });
}

describe('the card launches the viewer as a SMART app (Chromium)', { timeout: 300_000 }, () => {
  let stand: SandboxStand;
  before(async () => {
    stand = await startSandboxStand();
  });
  after(async () => {
    await stand.stop();
  });

  it('signs in a demo annotator at the sandbox EHR, shows the report read from FHIR, and stores a keyboard-only annotation under that identity', async () => {
    const { context, page, errors } = await stand.newPage();
    await createReferral(page);
    await chooseImage(page, 'left-nasal-ala.jpg', await telangiectaticLesionJpeg());
    const card = (await signReferral(page)).first();

    // File the report, as the viewer reads it from the EHR's FHIR server.
    await card.getByRole('button', { name: /Save AI triage report to the chart/ }).click();
    await card.locator('.card-status[data-kind="ok"]', { hasText: /^Applied/ }).waitFor();
    const reportId = /DiagnosticReport\/([0-9a-f-]{36})/.exec((await card.locator('.card-status').textContent()) ?? '')?.[1];
    assert.ok(reportId);

    const [popup] = await Promise.all([context.waitForEvent('page'), card.getByRole('button', { name: VIEWER_SMART_LINK_LABEL }).click()]);
    const popupErrors: string[] = [];
    collectErrors(popup, popupErrors);
    await popup.waitForURL(new RegExp(`${SMART_BASE_PATH}/authorize\\?`));
    const authorize = new URL(popup.url());
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authorize.searchParams.get('aud'), `${stand.baseUrl}/fhir`);
    assert.equal(authorize.searchParams.get('redirect_uri'), `${stand.baseUrl}/viewer/callback`);

    // Keyboard only: Tab into the user group (first radio), ArrowDown to the second, Tab to the button, Enter.
    await tabTo(popup, 'input[name="user"]');
    await popup.keyboard.press('ArrowDown');
    assert.equal(await popup.evaluate<string>('document.activeElement?.id ?? ""'), 'user-derm-b');
    await tabTo(popup, 'button[value="allow"]');
    await popup.keyboard.press('Enter');

    await popup.waitForURL(`${stand.baseUrl}/viewer/smart`);
    await popup.locator('#summary-heading').waitFor();
    const facts = (await popup.locator('dl.facts').textContent()) ?? '';
    assert.match(facts, /read from the EHR's FHIR server/);
    assert.match(facts, /Signed in as\s*Demo dermatologist B \(through the EHR\)/);
    // The source image came through the proxy with the token.
    await popup.waitForFunction('(() => { const i = document.querySelector("img.stage__base"); return i instanceof HTMLImageElement && i.complete && i.naturalWidth > 0; })()');
    // The token lives in this tab's sessionStorage only; the code left the address bar.
    assert.equal(await popup.evaluate<number>('localStorage.length'), 0);
    assert.match(await popup.evaluate<string>('sessionStorage.getItem("bcc-cds.smart-session") ?? ""'), /"accessToken"/);

    // Annotate one pattern with the keyboard: the panel already knows who is signed in.
    const panel = popup.locator('section.annotate').first();
    await panel.locator('.annotate__who', { hasText: 'Demo dermatologist B' }).waitFor();
    const first = (await panel.locator('fieldset.annotate__pattern').first().getAttribute('data-pattern')) ?? '';
    await tabTo(popup, `input[name="annotate-0-${first}"]`);
    await popup.keyboard.press('ArrowDown');
    assert.equal(await popup.evaluate<string>('document.activeElement?.id ?? ""'), `annotate-0-${first}-absent`);
    await tabTo(popup, 'section.annotate button[type="submit"]');
    await popup.keyboard.press('Enter');
    await popup.locator('#annotate-0-status', { hasText: /^Saved 1 annotation\.$/ }).waitFor();

    const res = await fetch(`${stand.baseUrl}/annotations?report=${reportId}`);
    const stored = ((await res.json()) as { annotations: StoredAnnotation[] }).annotations;
    assert.equal(stored.length, 1, JSON.stringify(stored));
    assert.deepEqual(
      { pattern: stored[0]?.pattern, value: stored[0]?.value, annotator: stored[0]?.annotator },
      { pattern: first, value: 'absent', annotator: { issuer: `${stand.baseUrl}${SMART_BASE_PATH}`, id: 'derm-b', name: 'Demo dermatologist B' } },
    );
    await context.close();
    assert.deepEqual(errors, []);
    assert.deepEqual(popupErrors, []);
  });

  it('says "sign in as an annotator" when the signed-in user is not one, and stores nothing', async () => {
    const { context, page } = await stand.newPage();
    await createReferral(page);
    await chooseImage(page, 'cheek.jpg', await telangiectaticLesionJpeg(640, 480));
    const card = (await signReferral(page)).first();
    await card.getByRole('button', { name: /Save AI triage report to the chart/ }).click();
    await card.locator('.card-status[data-kind="ok"]', { hasText: /^Applied/ }).waitFor();
    const reportId = /DiagnosticReport\/([0-9a-f-]{36})/.exec((await card.locator('.card-status').textContent()) ?? '')?.[1];
    const [popup] = await Promise.all([context.waitForEvent('page'), card.getByRole('button', { name: VIEWER_SMART_LINK_LABEL }).click()]);
    await popup.waitForURL(new RegExp(`${SMART_BASE_PATH}/authorize\\?`));
    await popup.getByLabel('Demo family doctor (not an annotator)').check();
    await popup.getByRole('button', { name: 'Sign in and open the viewer' }).click();
    await popup.locator('#summary-heading').waitFor();
    const panel = popup.locator('section.annotate').first();
    await panel.locator('.annotate__who', { hasText: 'Demo family doctor' }).waitFor();
    await panel.locator('fieldset.annotate__pattern input[value="present"]').first().check();
    await panel.getByRole('button', { name: 'Save annotations' }).click();
    await popup.locator('#annotate-0-status[data-kind="error"]').waitFor();
    assert.match((await popup.locator('#annotate-0-status').textContent()) ?? '', /^Sign in as an annotator: you are signed in as Demo family doctor \(not an annotator\), who does not have the annotator role\. Nothing was saved\.$/);
    const stored = ((await (await fetch(`${stand.baseUrl}/annotations?report=${reportId ?? ''}`)).json()) as { annotations: unknown[] }).annotations;
    assert.equal(stored.length, 0);
    await context.close();
  });
});

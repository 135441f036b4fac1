/** What a person does on the sandbox page, step by step, as the tests and the docs screenshots need it. */
import assert from 'node:assert/strict';
import type { Locator, Page } from 'playwright-core';

export interface CreatedReferral {
  readonly patientId: string;
  readonly referralId: string;
}

/** Hooks run the real model; a first call also warms it up. */
const HOOK_TIMEOUT_MS = 60_000;

export async function createReferral(page: Page, fields: { readonly given?: string; readonly family?: string; readonly reason?: string } = {}): Promise<CreatedReferral> {
  await page.goto('/');
  if (fields.given) {
    await page.getByLabel('Given name').fill(fields.given);
  }
  if (fields.family) {
    await page.getByLabel('Family name').fill(fields.family);
  }
  if (fields.reason) {
    await page.getByLabel('Reason for referral').fill(fields.reason);
  }
  await page.getByRole('button', { name: 'Create patient and referral' }).click();
  const status = page.locator('#referral-status[data-kind="ok"]');
  await status.waitFor();
  const m = /Patient\/([^ ]+) and draft referral ServiceRequest\/([^ .]+)/.exec((await status.textContent()) ?? '');
  assert.ok(m?.[1] && m[2], `referral status names the new resources: ${await status.textContent()}`);
  return { patientId: m[1], referralId: m[2] };
}

/** Through the file picker. */
export async function chooseImage(page: Page, name: string, bytes: Buffer): Promise<void> {
  const before = await page.locator('#image-list li').count();
  await page.locator('#file-input').setInputFiles({ name, mimeType: 'image/jpeg', buffer: bytes });
  await page.locator('#image-list li').nth(before).waitFor();
}

/** Dropped on the drop zone, with a DataTransfer built in the page as a real drag would carry it. */
export async function dropImage(page: Page, name: string, bytes: Buffer): Promise<void> {
  const before = await page.locator('#image-list li').count();
  // A string, not a function: this code runs in the page, whose DOM types the Node build lacks.
  const dataTransfer = await page.evaluateHandle(`(() => {
    const dt = new DataTransfer();
    const bin = Uint8Array.from(atob(${JSON.stringify(bytes.toString('base64'))}), (c) => c.charCodeAt(0));
    dt.items.add(new File([bin], ${JSON.stringify(name)}, { type: 'image/jpeg' }));
    return dt;
  })()`);
  await page.locator('#drop-zone').dispatchEvent('dragenter', { dataTransfer });
  await page.locator('#drop-zone').dispatchEvent('drop', { dataTransfer });
  await page.locator('#image-list li').nth(before).waitFor();
}

/** Clicks "Sign referral" and waits for the cards. */
export async function signReferral(page: Page): Promise<Locator> {
  await page.getByRole('button', { name: 'Sign referral' }).click();
  await page.locator('#sign-status[data-kind="ok"], #sign-status[data-kind="error"]').waitFor({ timeout: HOOK_TIMEOUT_MS });
  const status = (await page.locator('#sign-status').textContent()) ?? '';
  assert.match(status, /^Signed\./, status);
  return page.locator('#cards article.card');
}

/** Signs a one-image referral on the sandbox page; returns the card's viewer link and the report id. */
export async function signOneImage(page: Page, name: string, image: Buffer): Promise<{ viewerUrl: string; reportId: string }> {
  await createReferral(page);
  await chooseImage(page, name, image);
  const card = (await signReferral(page)).first();
  const viewerUrl = (await card.locator('.card-links a').getAttribute('href')) ?? '';
  const reportId = /\/viewer\/([0-9a-f-]{36})$/.exec(viewerUrl)?.[1];
  assert.ok(reportId, `viewer link ${viewerUrl}`);
  return { viewerUrl, reportId };
}

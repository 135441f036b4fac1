import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { canonicalDigest } from '../../src/common/canonical-json.ts';
import { DEFAULT_MODEL_MANIFEST } from '../../src/config.ts';
import { decideAcceptance } from '../../src/learning/acceptance.ts';
import { MODELS_PAGE_PATH, SANDBOX_CSP } from '../../src/sandbox/sandbox-routes.ts';
import { telangiectaticLesionJpeg } from '../../src/sandbox/synthetic-lesion.ts';
import { ARTIFACTS, startSandboxStand } from './harness.ts';
import type { SandboxStand } from './harness.ts';
import { signOneImage } from './sandbox-flow.ts';

const ADMIN = { 'X-Demo-Admin': 'it-admin' };
const CANDIDATE = '1.6.0-test';
const CANDIDATE_SINCE = '2026-12-02';

interface InstalledPattern {
  readonly id: string;
  readonly display: string;
  readonly trained: boolean;
}

interface ModelsJson {
  readonly live: { readonly version: string; readonly since: string };
  readonly versions: readonly { readonly version: string; readonly live: boolean; readonly acceptanceSha256: string | null }[];
}

/**
 * A candidate as `npm run learn` makes one: the installed manifest with a learned head on
 * ulceration (reading the features output), and the acceptance report its learning section names
 * by canonical digest (as test/model/learned-heads.test.ts builds the head).
 */
function candidate(installed: Record<string, unknown>): { manifest: Record<string, unknown>; acceptance: unknown } {
  const labels = [...new Array<number>(40).fill(1), ...new Array<number>(50).fill(0)];
  const bcc = labels.map((_, i) => (i % 3 === 0 ? 0.9 : 0.1));
  const acceptance = decideAcceptance({
    labels,
    auc: { value: 0.85, ci95: [0.76, 0.92], n: 90, positives: 40 },
    installedBcc: bcc,
    candidateBcc: [...bcc],
    bccThreshold: 0.5,
    bccPatternBefore: bcc.map((_, i) => i % 2 === 0),
    bccPatternAfter: bcc.map(() => true),
  });
  assert.equal(acceptance.accepted, true);
  const manifest = structuredClone(installed) as {
    version: string;
    outputs: { features: { shape: number[] } };
    patterns: Record<string, unknown>[];
    learning?: unknown;
  };
  const channels = manifest.outputs.features.shape[1] ?? 0;
  manifest.version = CANDIDATE;
  const p = manifest.patterns.find((x) => x.id === 'ulceration');
  assert.ok(p);
  Object.assign(p, {
    trained: true,
    threshold: 0.5,
    head: 'learned',
    assessedSince: CANDIDATE_SINCE,
    learned: { weights: Array.from({ length: channels }, (_, c) => (c % 7 === 0 ? 0.05 : 0)), bias: -0.2, calibration: { method: 'platt', slope: 1, intercept: 0 } },
  });
  manifest.learning = { from: installed.version, pattern: 'ulceration', acceptanceSha256: canonicalDigest(acceptance), decision: 'accepted' };
  return { manifest, acceptance };
}

async function getModels(stand: SandboxStand): Promise<ModelsJson> {
  const res = await fetch(`${stand.baseUrl}/models`);
  assert.equal(res.status, 200);
  return (await res.json()) as ModelsJson;
}

async function postAdmin(stand: SandboxStand, path: string, body: unknown): Promise<Response> {
  return fetch(`${stand.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...ADMIN }, body: JSON.stringify(body) });
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

async function focusedName(page: Page): Promise<string> {
  return page.evaluate<string>('document.activeElement?.textContent?.trim() ?? ""');
}

/** The headings' levels in document order never skip one (h1, h2, h3...). */
async function headingLevels(page: Page): Promise<number[]> {
  return page.evaluate<number[]>('[...document.querySelectorAll("h1, h2, h3, h4, h5, h6")].map((h) => Number(h.tagName.slice(1)))');
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('models page and the viewer\'s model version (Chromium)', { timeout: 300_000 }, () => {
  let stand: SandboxStand;
  let installed: Record<string, unknown> & { version: string; patterns: InstalledPattern[] };
  let viewerUrl = '';
  before(async () => {
    stand = await startSandboxStand();
    installed = JSON.parse(await readFile(DEFAULT_MODEL_MANIFEST, 'utf8')) as typeof installed;
  });
  after(async () => {
    await stand.stop();
  });

  it('shows the live version and, per version, which patterns it assesses, since when and by which head', async () => {
    const res = await fetch(`${stand.baseUrl}${MODELS_PAGE_PATH}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-security-policy'), SANDBOX_CSP);
    const { context, page, errors } = await stand.newPage();
    await page.goto('/');
    await page.getByRole('navigation', { name: 'Service' }).getByRole('link', { name: 'Model versions' }).click();
    await page.waitForURL(`**${MODELS_PAGE_PATH}`);
    const status = page.getByRole('status');
    await status.filter({ hasText: /is live\.$/ }).waitFor();
    assert.equal(await status.textContent(), `1 version registered; ${installed.version} is live.`);
    assert.equal(await page.locator('#live-version-number').textContent(), installed.version);
    assert.match((await page.getByRole('region', { name: 'Live version' }).textContent()) ?? '', new RegExp(`${escape(installed.version)} live since \\d{1,2} [A-Z][a-z]{2} \\d{4}`));

    const table = page.getByRole('table', { name: /^Patterns by model version/ });
    const headers = await table.getByRole('columnheader').allTextContents();
    assert.deepEqual(headers.map((t) => t.replace(/ \(.*\)$/, '')), ['Version', ...installed.patterns.map((p) => p.display)]);
    const row = table.getByRole('row').filter({ has: page.getByRole('rowheader', { name: `${installed.version} live` }) });
    const cells = await row.getByRole('cell').allTextContents();
    assert.equal(cells.length, installed.patterns.length);
    installed.patterns.forEach((p, k) => {
      assert.match(cells[k] ?? '', p.trained ? /^Assessed (since .+|date not recorded) graph head$/ : /^Not assessed$/, p.display);
    });
    assert.deepEqual(await headingLevels(page), [1, 2, 2, 2, 3, 2], 'headings in order: page, sections, one version');
    assert.equal(await page.getByRole('button', { name: /^Promote/ }).count(), 0, 'the live version has no Promote');
    // A tablet: the table scrolls in its own box, the page does not scroll sideways.
    await page.setViewportSize({ width: 820, height: 1180 });
    assert.ok((await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')) <= 0);
    await context.close();
    assert.deepEqual(errors, []);
  });

  it('the viewer names the version that made the report, that it is live, and what it assesses', async () => {
    const { context, page, errors } = await stand.newPage();
    ({ viewerUrl } = await signOneImage(page, 'left-nasal-ala.jpg', await telangiectaticLesionJpeg()));
    await page.goto(viewerUrl);
    const note = page.locator('#model-version-note[data-state="live"]');
    await note.waitFor();
    const text = (await note.textContent()) ?? '';
    const assessed = installed.patterns.filter((p) => p.trained).map((p) => escape(p.display));
    assert.match(text, new RegExp(`^Made by ${escape(installed.version)} \\(live since \\d{1,2} [A-Z][a-z]{2} \\d{4}\\); assesses ${assessed.join('.*')}`));
    for (const p of installed.patterns.filter((x) => !x.trained)) {
      assert.doesNotMatch(text, new RegExp(escape(p.display)), `${p.display} is not assessed`);
    }
    assert.equal(await note.getByRole('link', { name: 'all model versions' }).getAttribute('href'), MODELS_PAGE_PATH);
    await context.close();
    assert.deepEqual(errors, []);
  });

  it('the viewer says plainly when the report\'s version is not in the registry', async () => {
    const { context, page, errors } = await stand.newPage();
    const real = await getModels(stand);
    // A registry that has moved on: only a later version, so this report's is an old one.
    await page.route((url) => url.pathname === '/models', (route) =>
      route.fulfill({ contentType: 'application/json', body: JSON.stringify({ ...real, live: { version: '9.9.9', since: '2027-01-05T09:00:00Z' }, versions: [] }) }),
    );
    await page.goto(viewerUrl);
    const note = page.locator('#model-version-note[data-state="unregistered"]');
    await note.waitFor();
    assert.match(
      (await note.textContent()) ?? '',
      new RegExp(`^Made by ${escape(installed.version)}, which is not in this service's model registry \\(a report from an older model\\).* 9\\.9\\.9 is live since 5 Jan 2027`),
    );
    await context.close();
    assert.deepEqual(errors, []);
  });

  it('promotes a registered candidate with the keyboard only, announces it, updates the table, then rolls back', async () => {
    const { manifest, acceptance } = candidate(installed);
    const registered = await postAdmin(stand, '/models', { manifest, acceptance });
    assert.equal(registered.status, 201, await registered.clone().text());
    assert.equal((await getModels(stand)).versions.find((v) => v.version === CANDIDATE)?.acceptanceSha256, canonicalDigest(acceptance));

    const { context, page, errors } = await stand.newPage();
    await page.goto(MODELS_PAGE_PATH);
    const status = page.getByRole('status');
    await status.filter({ hasText: /is live\.$/ }).waitFor();
    assert.equal(await status.getAttribute('aria-live'), 'polite');
    assert.equal(await status.textContent(), `2 versions registered; ${installed.version} is live.`);
    const table = page.getByRole('table', { name: /^Patterns by model version/ });
    const ulcerationColumn = installed.patterns.findIndex((p) => p.id === 'ulceration');
    const candidateCells = table.getByRole('row').filter({ has: page.getByRole('rowheader', { name: CANDIDATE, exact: true }) }).getByRole('cell');
    assert.equal(await candidateCells.nth(ulcerationColumn).textContent(), 'Assessed since 2 Dec 2026 learned head');
    // The registration: acceptance digest shortened, the whole one in the title and the accessible text.
    const article = page.getByRole('article', { name: `Version ${CANDIDATE}` });
    const digest = article.locator('.digest').first();
    assert.equal(await digest.getAttribute('title'), `acceptance report digest: ${canonicalDigest(acceptance)}`);
    assert.match((await article.textContent()) ?? '', /by it-admin/);

    // Keyboard only: Tab to the candidate's reason, type it, Tab to Promote, Enter.
    const reasonId = (await page.getByRole('textbox', { name: new RegExp(`^Reason for promoting ${escape(CANDIDATE)}`) }).getAttribute('id')) ?? '';
    await tabTo(page, `#${reasonId}`);
    await page.keyboard.type('Ulceration head accepted by the dermatology board');
    await page.keyboard.press('Tab');
    assert.equal(await focusedName(page), `Promote ${CANDIDATE} to live`);
    await page.keyboard.press('Enter');
    await status.filter({ hasText: /^Promoted/ }).waitFor();
    assert.equal(await status.textContent(), `Promoted ${CANDIDATE}: it is live now (was ${installed.version}).`);
    assert.equal(await page.evaluate('document.activeElement?.id'), 'live-heading', 'focus goes to the live version');
    assert.equal(await page.locator('#live-version-number').textContent(), CANDIDATE);
    await table.getByRole('rowheader', { name: `${CANDIDATE} live` }).waitFor();
    assert.equal(await table.getByRole('rowheader', { name: installed.version, exact: true }).count(), 1, 'the old version is no longer marked live');
    const newest = page.getByRole('table', { name: 'Changes to the model registry, newest first' }).getByRole('row').nth(1);
    assert.deepEqual(
      (await newest.getByRole('cell').allTextContents()).slice(1, 5),
      [CANDIDATE, installed.version, 'it-admin', 'Ulceration head accepted by the dermatology board'],
    );
    assert.equal(await newest.getByRole('rowheader').textContent(), 'Promoted');
    assert.equal((await getModels(stand)).live.version, CANDIDATE);
    await page.screenshot({ path: join(ARTIFACTS, 'models-page.png'), fullPage: true });

    // The report made before the promotion says its version is no longer live.
    const viewer = await context.newPage();
    await viewer.goto(viewerUrl);
    const note = viewer.locator('#model-version-note[data-state="not-live"]');
    await note.waitFor();
    assert.match((await note.textContent()) ?? '', new RegExp(`^Made by ${escape(installed.version)}, no longer live \\(${escape(CANDIDATE)} is live since `));
    await viewer.close();

    // Roll back, keyboard only: from the live heading, Tab to the reason, type, Tab to the button, Enter.
    await tabTo(page, '#rollback-reason');
    await page.keyboard.type('Back out for the audit');
    await page.keyboard.press('Tab');
    assert.equal(await focusedName(page), `Roll back to previous version (${CANDIDATE} is live now)`);
    await page.keyboard.press('Enter');
    await status.filter({ hasText: /^Rolled back/ }).waitFor();
    assert.equal(await status.textContent(), `Rolled back: ${installed.version} is live again (was ${CANDIDATE}).`);
    await table.getByRole('rowheader', { name: `${installed.version} live` }).waitFor();
    assert.equal(await page.locator('#live-version-number').textContent(), installed.version);
    assert.equal(await newest.getByRole('rowheader').textContent(), 'Rolled back');
    assert.equal(await page.getByRole('button', { name: `Promote ${CANDIDATE} to live` }).count(), 1, 'the candidate can be promoted again');
    assert.equal((await getModels(stand)).live.version, installed.version);
    await context.close();
    assert.deepEqual(errors, []);
  });

  it('announces the server\'s refusal and keeps the page as it was', async () => {
    const { context, page, errors } = await stand.newPage();
    await page.goto(MODELS_PAGE_PATH);
    const status = page.getByRole('status');
    await status.filter({ hasText: /is live\.$/ }).waitFor();
    // Someone else promotes the candidate behind this page's back; this page's Promote is now stale.
    const elsewhere = await postAdmin(stand, `/models/${CANDIDATE}/promote`, { reason: 'from another desk' });
    assert.equal(elsewhere.status, 200);
    await page.getByRole('textbox', { name: new RegExp(`^Reason for promoting ${escape(CANDIDATE)}`) }).fill('again');
    await page.getByRole('button', { name: `Promote ${CANDIDATE} to live` }).press('Enter');
    await status.filter({ hasText: /refused/ }).waitFor();
    assert.match((await status.textContent()) ?? '', new RegExp(`^Promoting ${escape(CANDIDATE)} refused: POST /models/${escape(CANDIDATE)}/promote: HTTP 409 \\(.*already live\\)$`));
    assert.equal(await status.getAttribute('data-kind'), 'error');
    assert.equal(await page.locator('#live-version-number').textContent(), installed.version, 'nothing reloaded on a refusal');
    assert.deepEqual(errors.filter((e) => !e.includes('409')), []);
    await context.close();
    const back = await postAdmin(stand, '/models/rollback', { reason: 'test clean-up' });
    assert.equal(back.status, 200);
  });
});

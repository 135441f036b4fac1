/**
 * README screenshots from a synthetic image (the shared research images may not be committed):
 *   node --experimental-websocket --import tsx test/browser/docs-screenshots.ts
 * writes docs/sandbox-card.png (the card on the sandbox page) and docs/viewer.png (the result viewer).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import sharp from 'sharp';
import { PROJECT_ROOT } from '../../src/config.ts';
import { startSandboxStand } from './harness.ts';
import { chooseImage, createReferral, signReferral } from './sandbox-flow.ts';
import { telangiectaticLesionJpeg } from '../../src/sandbox/synthetic-lesion.ts';

const DOCS = resolve(PROJECT_ROOT, 'docs');

/** Palette PNG: screenshots are flat colours and text, so 256 colours keep them sharp and small. */
async function savePng(name: string, png: Buffer): Promise<void> {
  const small = await sharp(png).png({ palette: true, quality: 95, effort: 10, compressionLevel: 9 }).toBuffer();
  await writeFile(resolve(DOCS, name), small);
  process.stdout.write(`docs/${name}: ${(small.length / 1024).toFixed(0)} KiB\n`);
}

async function main(): Promise<void> {
  await mkdir(DOCS, { recursive: true });
  const stand = await startSandboxStand();
  try {
    const { context, page, errors } = await stand.newPage({ width: 1280, height: 900 });
    await createReferral(page, { given: 'Alex', family: 'Demo', reason: 'Pearly papule on the nose, slowly growing' });
    await page.getByLabel('Body site (optional)').fill('Left nasal ala');
    await chooseImage(page, 'dermoscopy-left-nasal-ala.jpg', await telangiectaticLesionJpeg());
    const card = (await signReferral(page)).first();
    await savePng('sandbox-card.png', await card.screenshot());

    const viewerUrl = (await card.locator('.card-links a').getAttribute('href')) ?? '';
    await page.setViewportSize({ width: 1200, height: 900 });
    await page.goto(viewerUrl);
    await page.locator('.stage__overlay').first().waitFor();
    await page.waitForFunction('document.querySelector(".stage__base")?.naturalWidth > 0');
    await savePng('viewer.png', await page.screenshot({ fullPage: true }));
    await context.close();
    if (errors.length) {
      throw new Error(`the pages reported errors: ${errors.join('; ')}`);
    }
  } finally {
    await stand.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`docs-screenshots: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});

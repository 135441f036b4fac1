/**
 * The browser tests' stand: the real service, built by createSandboxService exactly as
 * `npm start` builds it (embedded FHIR server, real model, sandbox front end), listening on a free
 * port, and Debian's Chromium driven by playwright-core.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, ConsoleMessage, Page } from 'playwright-core';
import type { Service } from '../../src/service/create-service.ts';
import { PROJECT_ROOT, DEFAULT_CONFIG } from '../../src/config.ts';
import { createLogger } from '../../src/common/logger.ts';
import type { ReportStore } from '../../src/viewer/report-store.ts';
import { createReportStore } from '../../src/viewer/report-store.ts';
import { createSandboxService } from '../../src/sandbox/sandbox-service.ts';
import type { SharedStore } from '../../src/storage/shared-store.ts';
import { openSqliteStore } from '../../src/storage/sqlite-store.ts';
import { freeLoopbackPort } from '../support/free-port.ts';

/** Debian's package (`apt-get install -y chromium`); CHROMIUM_PATH points elsewhere. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = resolve(PROJECT_ROOT, 'test/artifacts');

/** Without the background-networking flags Chromium dials out, and this network refuses it. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A store whose reports the test can hide, so the viewer must read them back from the FHIR server. */
export interface ForgetfulStore extends ReportStore {
  forget(reportId: string): void;
}

function createForgetfulStore(shared: SharedStore): ForgetfulStore {
  const store = createReportStore(shared);
  const forgotten = new Set<string>();
  return {
    add: (r) => store.add(r),
    tryGet: async (id) => (forgotten.has(id) ? undefined : store.tryGet(id)),
    queue: () => store.queue(),
    forget: (id) => void forgotten.add(id),
  };
}

export interface SandboxStand {
  readonly baseUrl: string;
  readonly service: Service;
  readonly store: ForgetfulStore;
  readonly browser: Browser;
  readonly logs: readonly string[];
  /** A fresh browser context and page; console errors, page errors (CSP violations included) and HTTP errors are collected. */
  newPage(viewport?: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page; errors: string[] }>;
  stop(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. The browser tests drive Debian's chromium package: ` +
        'install it with `apt-get install -y chromium` (CI: .ci/run), or set CHROMIUM_PATH to a Chromium binary.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 60_000 });
}

export async function startSandboxStand(): Promise<SandboxStand> {
  const browser = await launchChromium();
  const dir = await mkdtemp(join(tmpdir(), 'bcc-cds-browser-'));
  await mkdir(ARTIFACTS, { recursive: true });
  // The service's allow-list and card links derive from config.port, so it is chosen up front.
  const port = await freeLoopbackPort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const config = { ...DEFAULT_CONFIG, mode: 'sandbox' as const, port, host: '127.0.0.1', publicBaseUrl: baseUrl, feedbackDbPath: join(dir, 'feedback.sqlite') };
  const logs: string[] = [];
  // The service's own store (as npm start shares it between the hook and the viewer).
  const shared = await openSqliteStore(config.feedbackDbPath);
  const store = createForgetfulStore(shared);
  let service: Service | undefined;
  let server: Server | undefined;
  try {
    service = await createSandboxService(config, { log: createLogger((line) => logs.push(line), 'info'), store: shared, reports: store });
    const listening = service.app.listen(port, '127.0.0.1');
    server = listening;
    await new Promise<void>((ok, fail) => {
      listening.once('listening', ok);
      listening.once('error', fail);
    });
  } catch (err) {
    await browser.close();
    await service?.close();
    await shared.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const started = service;
  const httpServer = server;
  return {
    baseUrl,
    service: started,
    store,
    browser,
    logs,
    async newPage(viewport = { width: 1366, height: 900 }) {
      const context = await browser.newContext({ viewport, baseURL: baseUrl });
      const page = await context.newPage();
      const errors: string[] = [];
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
      return { context, page, errors };
    },
    async stop() {
      await browser.close();
      httpServer.closeAllConnections();
      await new Promise<void>((ok) => httpServer.close(() => { ok(); }));
      await started.close();
      await shared.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

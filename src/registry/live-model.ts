import { canonicalJson } from '../common/canonical-json.ts';
import type { Logger } from '../common/logger.ts';
import { OperationOutcomeError, notFound } from '../common/outcomes.ts';
import { parseManifest } from '../model/manifest.ts';
import type { BccModel } from '../model/session.ts';
import type { ModelRegistryStore } from './model-registry-store.ts';
import { SYSTEM_ACTOR } from './model-registry-store.ts';

/** The model that answers hooks now, switched between registered versions of one network without a restart. */
export interface LiveModel {
  /** The live version's model. A hook takes it once, when it starts, and keeps it to its end. */
  current(): BccModel;
  /** When the current version became live (as the store recorded it). */
  since(): string;
  /** Reads the live version from the store and switches when it changed. */
  refresh(): Promise<void>;
  /** Polls refresh() every `seconds` until close(); a failed poll is logged and the current model kept. */
  startPolling(seconds: number): void;
  /** Stops polling; the network stays open (its owner closes it). */
  close(): void;
}

export interface LiveModelDeps {
  /** The opened network under the installed manifest (BCC_MODEL_MANIFEST), behind its inference limit. */
  readonly network: BccModel;
  readonly store: ModelRegistryStore;
  readonly log: Pick<Logger, 'info' | 'warn' | 'error'>;
  readonly clock?: () => Date;
  /** Called after each switch, with the version before (metrics). */
  readonly onSwitch?: (now: BccModel, before: BccModel) => void;
}

/**
 * Startup of change control: the installed manifest is registered if absent (audit `install`,
 * actor `system`) and is made live when no live version is recorded or the recorded one names
 * another network (a new network was installed; logged as a warning). Otherwise the recorded live
 * version is served, so a restart keeps what was promoted.
 */
export async function openLiveModel(deps: LiveModelDeps): Promise<LiveModel> {
  const { network, store, log } = deps;
  const clock = deps.clock ?? ((): Date => new Date());
  const installed = network.manifest;
  const now = (): string => clock().toISOString();

  const registered = await store.getVersion(installed.version);
  if (registered && canonicalJson(registered.manifest) !== canonicalJson(installed)) {
    log.warn('the installed manifest differs from the registered version of the same number: this replica serves the installed file under that version, GET /models lists the registered copy; give a changed manifest a new version', { version: installed.version });
  }
  let live = await store.liveVersion();
  const runsHere = async (version: string): Promise<boolean> => {
    const rec = await store.getVersion(version);
    return rec !== undefined && canRun(rec.manifest);
  };
  const canRun = (json: unknown): boolean => {
    try {
      network.withManifest(parseManifest(json, 'registered manifest'));
      return true;
    } catch {
      return false;
    }
  };
  const staleLive = live !== undefined && !(await runsHere(live.version));
  if (!registered) {
    await store.registerVersion(
      { version: installed.version, manifest: installed, acceptance: null, acceptanceSha256: installed.learning?.acceptanceSha256 ?? null, networkSha256: installed.sha256, registeredAt: now(), registeredBy: SYSTEM_ACTOR },
      { action: 'install', actor: SYSTEM_ACTOR, at: now(), reason: 'installed manifest (BCC_MODEL_MANIFEST)', live: live === undefined },
    );
  }
  if (staleLive && live) {
    log.warn('the recorded live model version names another network; serving the installed version', { recorded: live.version, installed: installed.version });
  }
  live = await store.liveVersion();
  if (live === undefined || staleLive) {
    await store.setLiveVersion(installed.version, { action: 'install', actor: SYSTEM_ACTOR, at: now(), reason: live === undefined ? 'no live version recorded' : `recorded live version ${live.version} names another network` });
    live = await store.liveVersion();
  }

  const views = new Map<string, BccModel>([[installed.version, network]]);
  const viewOf = async (version: string): Promise<BccModel> => {
    const cached = views.get(version);
    if (cached) {
      return cached;
    }
    const rec = await store.getVersion(version);
    if (!rec) {
      throw new OperationOutcomeError(notFound(`model version ${version} is not registered`));
    }
    // Refused (OperationOutcomeError) unless it names this network with the same inputs and outputs.
    const view = network.withManifest(parseManifest(rec.manifest, `model version ${version}`));
    views.set(version, view);
    return view;
  };

  let current: BccModel = live ? await viewOf(live.version).catch(() => network) : network;
  let since = live?.since ?? now();
  let timer: NodeJS.Timeout | undefined;
  // One switch at a time, so a poll that read the store before a promote cannot land after it.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = chain.then(work);
    chain = run.catch(() => undefined);
    return run;
  };
  const use = async (version: string, at: string): Promise<void> => {
    const next = await viewOf(version);
    since = at;
    if (next !== current) {
      const before = current;
      current = next;
      log.info('model version switched', { from: before.manifest.version, to: version });
      deps.onSwitch?.(next, before);
    }
  };

  const model: LiveModel = {
    current: () => current,
    since: () => since,
    refresh: () =>
      serial(async () => {
        const l = await store.liveVersion();
        if (l && (l.version !== current.manifest.version || l.since !== since)) {
          await use(l.version, l.since);
        }
      }),
    startPolling(seconds) {
      if (timer) {
        return;
      }
      timer = setInterval(() => {
        model.refresh().catch((err: unknown) => {
          log.error('model version poll failed; keeping the current model', { version: current.manifest.version, error: err instanceof Error ? err.message : String(err) });
        });
      }, seconds * 1000);
      // Polling never keeps the process alive on its own.
      timer.unref();
    },
    close() {
      clearInterval(timer);
      timer = undefined;
    },
  };
  return model;
}

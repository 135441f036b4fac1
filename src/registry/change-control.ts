import type { Logger } from '../common/logger.ts';
import { OperationOutcomeError, conflict, describeOutcome, notFound, unprocessable } from '../common/outcomes.ts';
import type { ModelManifest } from '../model/manifest.ts';
import { parseManifest } from '../model/manifest.ts';
import type { BccModel } from '../model/session.ts';
import { checkCandidate } from './check-candidate.ts';
import type { LiveModel } from './live-model.ts';
import type { AuditEntry, ModelRegistryStore } from './model-registry-store.ts';
import type { VersionSummary } from './model-overview.ts';
import { summarizeVersion } from './model-overview.ts';

export interface ModelsOverview {
  /** The version this replica serves now, and since when it is live. */
  readonly live: { readonly version: string; readonly since: string };
  readonly installedNetwork: string;
  readonly versions: readonly VersionSummary[];
}

export interface LiveChange {
  readonly live: string;
  readonly from: string | null;
}

/** Register, promote, roll back (issue #16 point 4): each one store transaction with its audit entry. */
export interface ChangeControl {
  overview(): Promise<ModelsOverview>;
  audit(): Promise<AuditEntry[]>;
  /** Checks the candidate (check-candidate.ts; 422 with every reason) and registers it, not live. */
  register(body: { readonly manifest: unknown; readonly acceptance: unknown }, actor: string): Promise<{ readonly version: string; readonly live: false }>;
  /** 404 unknown version, 409 already live, 422 another network. This replica switches at once; others at their next poll. */
  promote(version: string, actor: string, reason?: string): Promise<LiveChange>;
  /** To `to`, default the version live before the current one (409 when there is none). */
  rollback(opts: { readonly to?: string | undefined; readonly reason?: string | undefined }, actor: string): Promise<LiveChange>;
}

export interface ChangeControlDeps {
  readonly store: ModelRegistryStore;
  readonly live: LiveModel;
  /** The network under the installed manifest: what every version must run on. */
  readonly network: BccModel;
  readonly log: Pick<Logger, 'info'>;
  /** What else a manifest must satisfy here (the rules name its operating points); throws an OperationOutcomeError. */
  readonly checkManifest?: (m: ModelManifest) => void;
  readonly clock?: () => Date;
}

export function createChangeControl(deps: ChangeControlDeps): ChangeControl {
  const { store, live, network } = deps;
  const clock = deps.clock ?? ((): Date => new Date());
  const installed = network.manifest;
  // Manifests are immutable once registered: parse each once.
  const parsed = new Map<string, ModelManifest | undefined>();
  const manifestOf = (version: string, json: unknown): ModelManifest | undefined => {
    if (!parsed.has(version)) {
      try {
        parsed.set(version, parseManifest(json, `model version ${version}`));
      } catch {
        parsed.set(version, undefined);
      }
    }
    return parsed.get(version);
  };

  async function changeLive(version: string, action: 'promote' | 'rollback', actor: string, reason: string | undefined): Promise<LiveChange> {
    const rec = await store.getVersion(version);
    if (!rec) {
      throw new OperationOutcomeError(notFound(`model version ${version} is not registered`, 'version'));
    }
    const manifest = manifestOf(version, rec.manifest);
    if (!manifest || rec.networkSha256 !== installed.sha256) {
      throw new OperationOutcomeError(unprocessable(`model version ${version} names network ${rec.networkSha256}; this service runs ${installed.sha256}`, 'version'));
    }
    // Refused here, before the pointer moves, if the network cannot run it.
    network.withManifest(manifest);
    const { changed, from } = await store.setLiveVersion(version, { action, actor, at: clock().toISOString(), reason });
    if (!changed) {
      throw new OperationOutcomeError(conflict(`model version ${version} is already live`, 'version'));
    }
    await live.refresh();
    deps.log.info(`model version ${action}d`, { version, from, actor });
    return { live: version, from };
  }

  return {
    async overview() {
      const current = live.current().manifest.version;
      const versions = await store.listVersions();
      return {
        live: { version: current, since: live.since() },
        installedNetwork: installed.sha256,
        versions: versions.map((r) => summarizeVersion(r, manifestOf(r.version, r.manifest), { liveVersion: current, installedNetwork: installed.sha256 })),
      };
    },
    audit: () => store.listAudit(),
    async register(body, actor) {
      const registered = (await store.listVersions()).map((r) => r.version);
      const { manifest, acceptanceSha256 } = checkCandidate(body, { installed, registeredVersions: registered });
      try {
        network.withManifest(manifest);
        deps.checkManifest?.(manifest);
      } catch (err) {
        throw err instanceof OperationOutcomeError ? new OperationOutcomeError(unprocessable(describeOutcome(err.outcome), 'manifest'), err) : err;
      }
      const at = clock().toISOString();
      const added = await store.registerVersion(
        { version: manifest.version, manifest: body.manifest, acceptance: body.acceptance, acceptanceSha256, networkSha256: manifest.sha256, registeredAt: at, registeredBy: actor },
        { action: 'register', actor, at },
      );
      if (!added) {
        // Another replica registered the same version between the check and the write.
        throw new OperationOutcomeError(unprocessable(`version ${manifest.version} is already registered`, 'manifest.version'));
      }
      deps.log.info('model version registered', { version: manifest.version, acceptanceSha256, actor });
      return { version: manifest.version, live: false };
    },
    promote: (version, actor, reason) => changeLive(version, 'promote', actor, reason),
    async rollback(opts, actor) {
      let to = opts.to;
      if (to === undefined) {
        to = (await store.liveVersion())?.previous ?? undefined;
        if (to === undefined) {
          throw new OperationOutcomeError(conflict('no earlier live version to roll back to; name one in "to"', 'to'));
        }
      }
      return changeLive(to, 'rollback', actor, opts.reason);
    },
  };
}

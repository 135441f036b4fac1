/** Row <-> record mapping of the model registry (src/registry), shared by both stores. */
import type { AuditEntry, LiveVersion, ModelVersionRecord, RegistryAction } from '../registry/model-registry-store.ts';
import { REGISTRY_ACTIONS } from '../registry/model-registry-store.ts';

export const VERSION_COLUMNS = 'version, manifest, acceptance, acceptance_sha256, network_sha256, registered_at, registered_by';

/** The audit row takes the version's acceptance digest from its registration, so no caller can misstate it. */
export const AUDIT_FROM_VERSION = (p: (n: number) => string): string =>
  `INSERT INTO model_audit (action, version, from_version, actor, at, acceptance_sha256, reason)
   SELECT ${p(1)}, version, ${p(2)}, ${p(3)}, ${p(4)}, acceptance_sha256, ${p(5)} FROM model_version WHERE version = ${p(6)}`;

/** Parameters of one model_version row, in VERSION_COLUMNS order. */
export function versionParams(r: ModelVersionRecord): (string | null)[] {
  return [r.version, JSON.stringify(r.manifest), r.acceptance === null || r.acceptance === undefined ? null : JSON.stringify(r.acceptance), r.acceptanceSha256, r.networkSha256, r.registeredAt, r.registeredBy];
}

/** Parameters of AUDIT_FROM_VERSION. */
export function auditParams(action: RegistryAction, version: string, from: string | null, a: { readonly actor: string; readonly at: string; readonly reason?: string | undefined }): (string | null)[] {
  return [action, from, a.actor, a.at, a.reason ?? null, version];
}

const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export function toVersionRecord(r: Record<string, unknown>): ModelVersionRecord {
  const acceptance = text(r.acceptance);
  return {
    version: String(r.version),
    manifest: JSON.parse(String(r.manifest)) as unknown,
    acceptance: acceptance === null ? null : (JSON.parse(acceptance) as unknown),
    acceptanceSha256: text(r.acceptance_sha256),
    networkSha256: String(r.network_sha256),
    registeredAt: String(r.registered_at),
    registeredBy: String(r.registered_by),
  };
}

export function toAuditEntry(r: Record<string, unknown>): AuditEntry {
  const action = REGISTRY_ACTIONS.find((a) => a === r.action);
  if (!action) {
    throw new Error(`model_audit row ${String(r.id)} has an unknown action ${String(r.action)}`);
  }
  return {
    // PostgreSQL returns BIGSERIAL as a string.
    id: Number(r.id),
    action,
    version: String(r.version),
    fromVersion: text(r.from_version),
    actor: String(r.actor),
    at: String(r.at),
    acceptanceSha256: text(r.acceptance_sha256),
    reason: text(r.reason),
  };
}

export function toLiveVersion(r: Record<string, unknown> | undefined): LiveVersion | undefined {
  return r ? { version: String(r.version), since: String(r.since), previous: text(r.previous) } : undefined;
}

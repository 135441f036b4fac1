/**
 * Change control of the model (issue #16): which versions are registered, which one is live, and
 * the append-only audit of every change. Owned here, implemented by src/storage (SQLite and
 * PostgreSQL), so replicas on one PostgreSQL agree on the live version.
 */

/** What an audit entry records: the installed manifest at startup, a candidate registered, the live version changed. */
export const REGISTRY_ACTIONS = ['install', 'register', 'promote', 'rollback'] as const;
export type RegistryAction = (typeof REGISTRY_ACTIONS)[number];

/** The actor of what the service does on its own (installing BCC_MODEL_MANIFEST at startup). */
export const SYSTEM_ACTOR = 'system';

/** One registered version: its manifest and acceptance report exactly as registered (JSON values). */
export interface ModelVersionRecord {
  readonly version: string;
  readonly manifest: unknown;
  /** The acceptance report of a learned candidate; null for the installed manifest. */
  readonly acceptance: unknown;
  readonly acceptanceSha256: string | null;
  readonly networkSha256: string;
  readonly registeredAt: string;
  readonly registeredBy: string;
}

export interface AuditEntry {
  readonly id: number;
  readonly action: RegistryAction;
  readonly version: string;
  /** The live version before a promote, rollback or install that changed it; null otherwise. */
  readonly fromVersion: string | null;
  readonly actor: string;
  readonly at: string;
  readonly acceptanceSha256: string | null;
  readonly reason: string | null;
}

export interface LiveVersion {
  readonly version: string;
  /** When it became live. */
  readonly since: string;
  /** The version live before it (what a rollback without `to` returns to); null for the first. */
  readonly previous: string | null;
}

/** Who did it, when and why: the audit fields a change supplies. */
export interface AuditFields {
  readonly actor: string;
  readonly at: string;
  readonly reason?: string | undefined;
}

export interface ModelRegistryStore {
  /**
   * Adds a version and its audit entry in one transaction; with `live`, also points the live
   * version at it (the installed manifest on a fresh store). False, and nothing written, when the
   * version is already registered.
   */
  registerVersion(record: ModelVersionRecord, audit: AuditFields & { readonly action: Extract<RegistryAction, 'install' | 'register'>; readonly live?: boolean }): Promise<boolean>;
  getVersion(version: string): Promise<ModelVersionRecord | undefined>;
  /** Oldest first. */
  listVersions(): Promise<ModelVersionRecord[]>;
  liveVersion(): Promise<LiveVersion | undefined>;
  /**
   * Points the live version at a registered version and appends the audit entry, in one
   * transaction. `changed: false` (nothing written) when it is already live; `from` is the version
   * it replaced.
   */
  setLiveVersion(version: string, audit: AuditFields & { readonly action: Extract<RegistryAction, 'install' | 'promote' | 'rollback'> }): Promise<{ readonly changed: boolean; readonly from: string | null }>;
  /** Newest first. */
  listAudit(): Promise<AuditEntry[]>;
}

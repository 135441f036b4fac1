-- Change control of the model (src/registry): registered versions, the live pointer, the append-only audit.
CREATE TABLE model_version (
  version TEXT PRIMARY KEY, manifest TEXT NOT NULL, acceptance TEXT, acceptance_sha256 TEXT,
  network_sha256 TEXT NOT NULL, registered_at TEXT NOT NULL, registered_by TEXT NOT NULL,
  seq INTEGER NOT NULL UNIQUE);
CREATE TABLE model_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  action TEXT NOT NULL CHECK (action IN ('install', 'register', 'promote', 'rollback')),
  version TEXT NOT NULL REFERENCES model_version(version), from_version TEXT,
  actor TEXT NOT NULL, at TEXT NOT NULL, acceptance_sha256 TEXT, reason TEXT);
CREATE TRIGGER model_audit_no_update BEFORE UPDATE ON model_audit BEGIN SELECT RAISE(ABORT, 'model_audit is append-only'); END;
CREATE TRIGGER model_audit_no_delete BEFORE DELETE ON model_audit BEGIN SELECT RAISE(ABORT, 'model_audit is append-only'); END;
-- One row: the live version, since when, and the one before it (a rollback's default).
CREATE TABLE model_live (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version TEXT NOT NULL REFERENCES model_version(version), since TEXT NOT NULL,
  previous TEXT REFERENCES model_version(version));

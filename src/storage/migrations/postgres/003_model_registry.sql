-- The same tables as migrations/sqlite/003_model_registry.sql.
CREATE TABLE model_version (
  version TEXT PRIMARY KEY, manifest TEXT NOT NULL, acceptance TEXT, acceptance_sha256 TEXT,
  network_sha256 TEXT NOT NULL, registered_at TEXT NOT NULL, registered_by TEXT NOT NULL,
  seq BIGSERIAL NOT NULL UNIQUE);
CREATE TABLE model_audit (
  id BIGSERIAL PRIMARY KEY,
  action TEXT NOT NULL CHECK (action IN ('install', 'register', 'promote', 'rollback')),
  version TEXT NOT NULL REFERENCES model_version(version), from_version TEXT,
  actor TEXT NOT NULL, at TEXT NOT NULL, acceptance_sha256 TEXT, reason TEXT);
CREATE FUNCTION model_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'model_audit is append-only';
END $$;
CREATE TRIGGER model_audit_no_change BEFORE UPDATE OR DELETE ON model_audit FOR EACH ROW EXECUTE FUNCTION model_audit_append_only();
CREATE TABLE model_live (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version TEXT NOT NULL REFERENCES model_version(version), since TEXT NOT NULL,
  previous TEXT REFERENCES model_version(version));

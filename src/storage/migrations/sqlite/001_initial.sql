-- Issued cards and feedback: IF NOT EXISTS because files written before migrations existed already hold these two tables.
CREATE TABLE IF NOT EXISTS issued_card (
  uuid TEXT PRIMARY KEY, service_id TEXT NOT NULL, hook_instance TEXT NOT NULL, referral TEXT NOT NULL,
  category TEXT NOT NULL, bcc_probability REAL, model_version TEXT NOT NULL, issued_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (
  id INTEGER PRIMARY KEY AUTOINCREMENT, service_id TEXT NOT NULL, card TEXT NOT NULL, outcome TEXT NOT NULL,
  accepted_suggestions TEXT NOT NULL, override_code TEXT, override_system TEXT, override_comment TEXT,
  outcome_timestamp TEXT NOT NULL, received_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS feedback_card ON feedback(card);

CREATE TABLE IF NOT EXISTS jwt_replay (
  iss TEXT NOT NULL, jti TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (iss, jti));
CREATE INDEX IF NOT EXISTS jwt_replay_expires ON jwt_replay(expires_at);

CREATE TABLE IF NOT EXISTS triage_report (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, report_id TEXT NOT NULL UNIQUE, referral TEXT NOT NULL,
  entry TEXT NOT NULL, viewer TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS triage_report_referral ON triage_report(referral, seq);

CREATE TABLE IF NOT EXISTS rate_window (
  key TEXT NOT NULL, window_start INTEGER NOT NULL, hits INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  PRIMARY KEY (key, window_start));
CREATE INDEX IF NOT EXISTS rate_window_expires ON rate_window(expires_at);

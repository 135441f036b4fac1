-- The same tables as migrations/sqlite/001_initial.sql; times in epoch milliseconds are BIGINT.
CREATE TABLE issued_card (
  uuid TEXT PRIMARY KEY, service_id TEXT NOT NULL, hook_instance TEXT NOT NULL, referral TEXT NOT NULL,
  category TEXT NOT NULL, bcc_probability DOUBLE PRECISION, model_version TEXT NOT NULL, issued_at TEXT NOT NULL);
CREATE TABLE feedback (
  id BIGSERIAL PRIMARY KEY, service_id TEXT NOT NULL, card TEXT NOT NULL, outcome TEXT NOT NULL,
  accepted_suggestions TEXT NOT NULL, override_code TEXT, override_system TEXT, override_comment TEXT,
  outcome_timestamp TEXT NOT NULL, received_at TEXT NOT NULL);
CREATE INDEX feedback_card ON feedback(card);

CREATE TABLE jwt_replay (
  iss TEXT NOT NULL, jti TEXT NOT NULL, expires_at BIGINT NOT NULL, PRIMARY KEY (iss, jti));
CREATE INDEX jwt_replay_expires ON jwt_replay(expires_at);

CREATE TABLE triage_report (
  seq BIGSERIAL PRIMARY KEY, report_id TEXT NOT NULL UNIQUE, referral TEXT NOT NULL,
  entry TEXT NOT NULL, viewer TEXT NOT NULL);
CREATE INDEX triage_report_referral ON triage_report(referral, seq);

CREATE TABLE rate_window (
  key TEXT NOT NULL, window_start BIGINT NOT NULL, hits INTEGER NOT NULL, expires_at BIGINT NOT NULL,
  PRIMARY KEY (key, window_start));
CREATE INDEX rate_window_expires ON rate_window(expires_at);

-- Dermatologists' pattern annotations (src/annotation): one per report, image, pattern and annotator; a new one replaces it.
CREATE TABLE annotation (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
  report_id TEXT NOT NULL, image TEXT NOT NULL, pattern TEXT NOT NULL,
  annotator_issuer TEXT NOT NULL, annotator_id TEXT NOT NULL, annotator_name TEXT,
  value TEXT NOT NULL CHECK (value IN ('present', 'absent', 'cannot-tell')),
  referral TEXT, patient TEXT, model_name TEXT NOT NULL, model_version TEXT NOT NULL,
  region_png TEXT, region_width INTEGER, region_height INTEGER,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  UNIQUE (report_id, image, pattern, annotator_issuer, annotator_id));
CREATE INDEX annotation_image ON annotation(image);
CREATE INDEX annotation_pattern ON annotation(pattern);

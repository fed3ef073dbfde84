-- Canon: what compositors write and players replay. One row per composed slot (or scene-level line),
-- keyed by its UID parts. Publishing these rows to JetStream is transport's job (later migrations
-- add nimmer.publish and the trigger that publishes inserted rows; see transport/README.md).
CREATE SCHEMA IF NOT EXISTS nimmer;

CREATE TABLE IF NOT EXISTS nimmer.canon (
  id           bigserial PRIMARY KEY,
  event_uid    text NOT NULL CHECK (event_uid ~ '^[A-Za-z0-9_-]{1,64}$'),
  district     text NOT NULL CHECK (district ~ '^[A-Za-z0-9_-]{1,64}$'),
  scene        text NOT NULL CHECK (scene ~ '^[A-Za-z0-9_-]{1,64}$'),
  slot         text CHECK (slot IS NULL OR slot ~ '^[A-Za-z0-9_-]{1,64}$'),
  participants text[] NOT NULL DEFAULT '{}',
  retention    text NOT NULL DEFAULT 'standard' CHECK (retention IN ('ephemeral', 'standard', 'permanent')),
  body         jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS canon_event_idx ON nimmer.canon (event_uid, district, scene);
CREATE INDEX IF NOT EXISTS canon_created_idx ON nimmer.canon (created_at);

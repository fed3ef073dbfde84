-- The district-distribution fallback (Option B). Every committed canon row enters its district's
-- backlog in the same transaction (statement trigger), so no row can slip past the coordinator the way
-- a cursor over bigserial ids could (ids are not commit-ordered). A row leaves the backlog when the
-- coordinator sees it in JetStream (confirmed), or when it is handed to the fallback: then one delivery
-- row per participant carries it until that player acknowledges it from its SQLite.
CREATE TABLE IF NOT EXISTS nimmer.district_backlog (
  canon_id   bigint PRIMARY KEY,
  district   text NOT NULL,
  entered_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS district_backlog_idx ON nimmer.district_backlog (district, canon_id);

CREATE TABLE IF NOT EXISTS nimmer.district_delivery (
  canon_id        bigint NOT NULL,
  player_id       text NOT NULL,
  district        text NOT NULL,
  -- The coordinator delivering it: the row's district, or a neighbour while that district's path is down.
  owner_district  text NOT NULL,
  state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'login')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  enqueued_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (canon_id, player_id)
);
CREATE INDEX IF NOT EXISTS district_delivery_due_idx ON nimmer.district_delivery (owner_district, state, next_attempt_at);
CREATE INDEX IF NOT EXISTS district_delivery_player_idx ON nimmer.district_delivery (player_id) WHERE state = 'login';

-- One row per district coordinator: liveness and whether its own delivery path works (neighbours read it).
CREATE TABLE IF NOT EXISTS nimmer.district_coordinator (
  district     text PRIMARY KEY,
  heartbeat_at timestamptz NOT NULL,
  path_ok      boolean NOT NULL,
  mode         text NOT NULL CHECK (mode IN ('stream', 'fallback'))
);

CREATE OR REPLACE FUNCTION nimmer.enter_district_backlog() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO nimmer.district_backlog (canon_id, district) SELECT id, district FROM new_rows;
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS canon_district_backlog ON nimmer.canon;
CREATE TRIGGER canon_district_backlog AFTER INSERT ON nimmer.canon
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION nimmer.enter_district_backlog();

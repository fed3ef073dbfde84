-- The login feed: which events each player took part in, so a client learns its subscriptions at
-- login with one indexed range scan (cost per login, not per message). Kept by a statement-level
-- trigger on nimmer.canon: one row per (player, event), inserted by the first canon row naming the
-- player and never touched again (no hot-row updates on busy events).
CREATE TABLE IF NOT EXISTS nimmer.participation (
  player_id      text NOT NULL,
  event_uid      text NOT NULL,
  first_canon_id bigint NOT NULL,
  PRIMARY KEY (player_id, event_uid)
);
CREATE INDEX IF NOT EXISTS participation_recent_idx ON nimmer.participation (player_id, first_canon_id DESC);

CREATE OR REPLACE FUNCTION nimmer.record_participation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO nimmer.participation (player_id, event_uid, first_canon_id)
  SELECT p, n.event_uid, min(n.id) FROM new_rows n, unnest(n.participants) AS p GROUP BY p, n.event_uid
  ON CONFLICT (player_id, event_uid) DO NOTHING;
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS canon_participation ON nimmer.canon;
CREATE TRIGGER canon_participation AFTER INSERT ON nimmer.canon
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION nimmer.record_participation();

-- Participation rows expire: a row tells a player at login which events to replay from the EVENTS
-- stream, so it is useful exactly as long as the stream can still hold the event's canon — the
-- stream's max_age after the row was written (the first canon naming the player was committed, and
-- published, in the same transaction). The active relay prunes with that window
-- (nimmer.participation_prune); rows present before this migration count from now.
ALTER TABLE nimmer.participation ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL DEFAULT clock_timestamp();
CREATE INDEX IF NOT EXISTS participation_created_idx ON nimmer.participation (created_at);

-- Deletes rows older than the window, oldest first, at most p_rows_max per call (one call never runs long).
CREATE OR REPLACE FUNCTION nimmer.participation_prune(p_window_ms bigint, p_rows_max integer) RETURNS integer
LANGUAGE sql AS $$
  WITH gone AS (
    DELETE FROM nimmer.participation WHERE ctid IN (
      SELECT ctid FROM nimmer.participation
       WHERE created_at < clock_timestamp() - make_interval(secs => p_window_ms / 1000.0)
       ORDER BY created_at LIMIT p_rows_max)
    RETURNING 1)
  SELECT count(*)::integer FROM gone;
$$;

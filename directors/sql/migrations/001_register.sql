-- The directors' register: one row per live event (what a respawned routine resumes from), the
-- waiting flags compositors pick up, and the per-shard term fence that keeps a deposed leader's
-- routines from writing. Routines write only through the functions below, which check the fence.
CREATE SCHEMA IF NOT EXISTS nimmer;

-- The highest Raft term a routine of each shard has written under. A write under a lower term
-- fails with SQLSTATE NM409; the row lock orders a new term's first write after every older write.
CREATE TABLE IF NOT EXISTS nimmer.director_fence (
  shard      text PRIMARY KEY,
  term       bigint NOT NULL CHECK (term >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS nimmer.register_events (
  event_uid  text PRIMARY KEY CHECK (event_uid ~ '^[A-Za-z0-9_-]{1,64}$'),
  shard      text NOT NULL,
  -- The term of the routine that wrote the row last.
  term       bigint NOT NULL CHECK (term >= 0),
  -- waiting: unfolded, flag raised (or already composed when the flag is gone); outcome: decided, not yet applied.
  stage      text NOT NULL CHECK (stage IN ('waiting', 'outcome')),
  outcome    text CHECK (outcome IS NULL OR outcome IN ('success', 'partial', 'failure')),
  event      jsonb NOT NULL,
  unfolding  jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((stage = 'outcome') = (outcome IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS register_events_shard_idx ON nimmer.register_events (shard);

-- A waiting flag: the event awaits composition. A compositor deletes it in the transaction that
-- writes the event's canon (the register entry is pruned at pickup).
CREATE TABLE IF NOT EXISTS nimmer.register_waiting (
  event_uid text PRIMARY KEY REFERENCES nimmer.register_events (event_uid) ON DELETE CASCADE,
  raised_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS register_waiting_raised_idx ON nimmer.register_waiting (raised_at);

CREATE OR REPLACE FUNCTION nimmer.director_fence(p_shard text, p_term bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  t bigint;
BEGIN
  SELECT term INTO t FROM nimmer.director_fence WHERE shard = p_shard;
  IF t IS NULL OR t < p_term THEN
    INSERT INTO nimmer.director_fence (shard, term) VALUES (p_shard, p_term)
      ON CONFLICT (shard) DO UPDATE SET term = GREATEST(nimmer.director_fence.term, EXCLUDED.term), updated_at = now()
      RETURNING term INTO t;
  ELSE
    -- Held to commit: a newer term's fence update waits for this write, never passes it.
    SELECT term INTO t FROM nimmer.director_fence WHERE shard = p_shard FOR SHARE;
  END IF;
  IF t <> p_term THEN
    RAISE EXCEPTION 'shard % is directed under term % now; a routine of term % may not write', p_shard, t, p_term
      USING ERRCODE = 'NM409', HINT = 'the routine was deposed: stop it; the new leader''s routine owns the event';
  END IF;
END;
$$;

-- Writes the unfolding and raises the waiting flag, once; a later call (respawn, new leader) adopts
-- the row under its term and returns its stage.
CREATE OR REPLACE FUNCTION nimmer.register_open(p_uid text, p_shard text, p_term bigint, p_event jsonb, p_unfolding jsonb)
RETURNS TABLE (stage text, outcome text, created boolean)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM nimmer.director_fence(p_shard, p_term);
  INSERT INTO nimmer.register_events (event_uid, shard, term, stage, event, unfolding)
    VALUES (p_uid, p_shard, p_term, 'waiting', p_event, p_unfolding)
    ON CONFLICT (event_uid) DO NOTHING;
  IF FOUND THEN
    INSERT INTO nimmer.register_waiting (event_uid) VALUES (p_uid);
    NOTIFY nimmer_waiting;
    RETURN QUERY SELECT 'waiting'::text, NULL::text, true;
    RETURN;
  END IF;
  RETURN QUERY UPDATE nimmer.register_events e SET term = p_term, updated_at = now()
    WHERE e.event_uid = p_uid RETURNING e.stage, e.outcome, false;
END;
$$;

CREATE OR REPLACE FUNCTION nimmer.register_set_outcome(p_uid text, p_shard text, p_term bigint, p_outcome text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM nimmer.director_fence(p_shard, p_term);
  UPDATE nimmer.register_events SET stage = 'outcome', outcome = p_outcome, term = p_term, updated_at = now()
    WHERE event_uid = p_uid AND stage = 'waiting';
END;
$$;

CREATE OR REPLACE FUNCTION nimmer.register_prune(p_uid text, p_shard text, p_term bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM nimmer.director_fence(p_shard, p_term);
  DELETE FROM nimmer.register_events WHERE event_uid = p_uid;
END;
$$;

-- Delivery (issue 6): players acknowledge an event once they have applied its canon in their local
-- transaction; the director waits for every participant (or a deadline) before the outcome is
-- applied, and journals how delivery ended. The journal answers GET /events/:uid after the event
-- was pruned from the shard and the register, for a bounded window (journal_prune).

-- One row per (event, participant) that applied the event's canon. Idempotent: a repeated ack is
-- a no-op. Pruned with the register row (register_prune), so it holds live events only.
CREATE TABLE IF NOT EXISTS nimmer.delivery_acks (
  event_uid   text NOT NULL REFERENCES nimmer.register_events (event_uid) ON DELETE CASCADE,
  participant text NOT NULL CHECK (length(participant) BETWEEN 1 AND 200),
  acked_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (event_uid, participant)
);

-- When the director stops waiting for acknowledgements (set once, so a respawned routine keeps the deadline).
ALTER TABLE nimmer.register_events ADD COLUMN IF NOT EXISTS delivery_due_at timestamptz;
-- When a compositor's canon transaction committed (the flag was deleted): set by the director when it sees it.
ALTER TABLE nimmer.register_events ADD COLUMN IF NOT EXISTS composed_at timestamptz;

-- Ended events, kept for the journal window: how delivery ended and the outcome that was applied.
CREATE TABLE IF NOT EXISTS nimmer.event_journal (
  event_uid    text PRIMARY KEY CHECK (event_uid ~ '^[A-Za-z0-9_-]{1,64}$'),
  shard        text NOT NULL,
  outcome      text NOT NULL CHECK (outcome IN ('success', 'partial', 'failure')),
  participants text[] NOT NULL,
  -- Participants that acknowledged; later acks (after a partial delivery) are appended with late = true.
  delivered    text[] NOT NULL,
  late         text[] NOT NULL DEFAULT '{}',
  delivery     text NOT NULL CHECK (delivery IN ('complete', 'partial')),
  unfolding    jsonb NOT NULL,
  created_at   timestamptz NOT NULL,
  composed_at  timestamptz,
  delivered_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS event_journal_delivered_idx ON nimmer.event_journal (delivered_at);

-- A player's acknowledgement. p_canon_ids: the canon ids of the event the player holds in its
-- local store (NULL: the caller vouches for completeness). Returns 'acked' (new), 'already'
-- (repeated), 'incomplete' (a canon row of the event that names the player is missing from
-- p_canon_ids, or there is no canon yet: nothing stored, ack again later), 'late' (after the
-- director closed delivery as partial: journalled, not waited for), 'not_participant', 'unknown'
-- (no live or journalled event: nothing is stored, so acks cannot grow state without bound).
CREATE OR REPLACE FUNCTION nimmer.delivery_ack(p_uid text, p_participant text, p_canon_ids bigint[] DEFAULT NULL) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  parts jsonb;
  j nimmer.event_journal%ROWTYPE;
BEGIN
  SELECT e.event->'participants' INTO parts FROM nimmer.register_events e WHERE e.event_uid = p_uid FOR KEY SHARE;
  IF FOUND THEN
    IF NOT parts ? p_participant THEN
      RETURN 'not_participant';
    END IF;
    SELECT * INTO j FROM nimmer.event_journal WHERE event_uid = p_uid;
    IF NOT FOUND THEN
      -- Composed canon exists only once the waiting flag is gone (one compositor transaction).
      IF EXISTS (SELECT 1 FROM nimmer.register_waiting WHERE event_uid = p_uid) THEN
        RETURN 'incomplete';
      END IF;
      IF p_canon_ids IS NOT NULL AND EXISTS (
           SELECT 1 FROM nimmer.canon c
            WHERE c.event_uid = p_uid AND p_participant = ANY (c.participants) AND NOT (c.id = ANY (p_canon_ids))) THEN
        RETURN 'incomplete';
      END IF;
      INSERT INTO nimmer.delivery_acks (event_uid, participant) VALUES (p_uid, p_participant) ON CONFLICT DO NOTHING;
      IF FOUND THEN
        PERFORM pg_notify('nimmer_delivered', p_uid);
        RETURN 'acked';
      END IF;
      RETURN 'already';
    END IF;
  ELSE
    SELECT * INTO j FROM nimmer.event_journal WHERE event_uid = p_uid;
    IF NOT FOUND THEN
      RETURN 'unknown';
    END IF;
  END IF;
  -- Journalled: delivery was closed.
  IF NOT p_participant = ANY (j.participants) THEN
    RETURN 'not_participant';
  END IF;
  IF p_participant = ANY (j.delivered) OR p_participant = ANY (j.late) THEN
    RETURN 'already';
  END IF;
  UPDATE nimmer.event_journal SET late = array_append(late, p_participant) WHERE event_uid = p_uid AND NOT (p_participant = ANY (late));
  RETURN 'late';
END;
$$;

-- Sets the delivery deadline once (fenced) and returns it with the acknowledgements so far.
CREATE OR REPLACE FUNCTION nimmer.register_delivery_due(p_uid text, p_shard text, p_term bigint, p_timeout_ms bigint)
RETURNS timestamptz
LANGUAGE plpgsql AS $$
DECLARE
  due timestamptz;
BEGIN
  PERFORM nimmer.director_fence(p_shard, p_term);
  UPDATE nimmer.register_events
     SET delivery_due_at = COALESCE(delivery_due_at, clock_timestamp() + make_interval(secs => p_timeout_ms / 1000.0)),
         composed_at = COALESCE(composed_at, clock_timestamp())
   WHERE event_uid = p_uid
   RETURNING delivery_due_at INTO due;
  RETURN due;
END;
$$;

-- Journals how delivery ended (once; fenced). Called before the outcome is applied to the shard.
CREATE OR REPLACE FUNCTION nimmer.register_journal(p_uid text, p_shard text, p_term bigint) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  e nimmer.register_events%ROWTYPE;
  parts text[];
  acked text[];
BEGIN
  PERFORM nimmer.director_fence(p_shard, p_term);
  SELECT * INTO e FROM nimmer.register_events WHERE event_uid = p_uid FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'event % has no register row to journal', p_uid USING HINT = 'the routine resumes from the shard: it was pruned already';
  END IF;
  IF e.outcome IS NULL THEN
    RAISE EXCEPTION 'event % has no decided outcome yet', p_uid;
  END IF;
  SELECT array_agg(x ORDER BY x) INTO parts FROM jsonb_array_elements_text(e.event->'participants') AS x;
  SELECT array_agg(participant ORDER BY participant) INTO acked FROM nimmer.delivery_acks WHERE event_uid = p_uid;
  parts := COALESCE(parts, '{}');
  acked := COALESCE(acked, '{}');
  INSERT INTO nimmer.event_journal (event_uid, shard, outcome, participants, delivered, delivery, unfolding, created_at, composed_at)
    VALUES (p_uid, p_shard, e.outcome, parts, acked, CASE WHEN parts <@ acked THEN 'complete' ELSE 'partial' END, e.unfolding, e.created_at, e.composed_at)
    ON CONFLICT (event_uid) DO NOTHING;
  RETURN (SELECT delivery FROM nimmer.event_journal WHERE event_uid = p_uid);
END;
$$;

-- Ended events older than the window go, with their canon rows (bounded per call, so one call
-- never runs long): canon outlives its event by the journal window — published to JetStream in the
-- transaction that wrote it, delivered or given up on by the director, then kept for GET /events
-- and late acknowledgements. Players keep their own copies (SQLite); JetStream keeps its window.
CREATE OR REPLACE FUNCTION nimmer.journal_prune(p_window_ms bigint, p_rows_max integer) RETURNS integer
LANGUAGE sql AS $$
  WITH gone AS (
    DELETE FROM nimmer.event_journal WHERE event_uid IN (
      SELECT event_uid FROM nimmer.event_journal
       WHERE delivered_at < clock_timestamp() - make_interval(secs => p_window_ms / 1000.0)
       ORDER BY delivered_at LIMIT p_rows_max)
    RETURNING event_uid),
  canon_gone AS (
    DELETE FROM nimmer.canon c USING gone WHERE c.event_uid = gone.event_uid RETURNING 1)
  SELECT count(*)::integer FROM gone;
$$;

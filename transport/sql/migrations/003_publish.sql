-- Transactional publish: nimmer.publish / nimmer.publish_bytes, the pgnats interface with commit semantics.
-- Each call writes (1) a transactional logical message (prefix 'nimmer.publish'), which logical decoding
-- hands to the relay only if the transaction commits, in commit order; and (2) a row in nimmer.journal
-- keyed by that message's WAL position, which keeps the message re-sendable after the WAL is recycled
-- (nats-server 2.9.10 fsyncs every 2 min; the relay prunes the journal only long after JetStream acked).
-- The relay's Nats-Msg-Id is the message's WAL position, so a re-send (relay restart, repair) dedups.
-- See transport/README.md for why both, and not an outbox polled by the relay.

CREATE TABLE IF NOT EXISTS nimmer.journal (
  lsn        pg_lsn PRIMARY KEY,
  subject    text NOT NULL,
  headers    jsonb,
  payload    bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Subjects the relay can deliver: under the EVENTS stream's subjects (transport/streams/config.ts says the
-- same; a test checks they agree), tokens non-empty, no wildcards, no whitespace or control characters.
-- Rejecting here raises in the caller's transaction: a subject no stream captures would otherwise stall
-- the relay on a message JetStream can never acknowledge.
CREATE OR REPLACE FUNCTION nimmer.check_subject(subject text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF subject IS NULL OR subject = '' THEN
    RAISE EXCEPTION 'nimmer.publish: the subject is empty; expected nimmerverse.events.<token>[.<token>…]' USING ERRCODE = '22023';
  END IF;
  IF octet_length(subject) > 512 THEN
    RAISE EXCEPTION 'nimmer.publish: the subject is % bytes long (at most 512)', octet_length(subject) USING ERRCODE = '22023';
  END IF;
  IF subject !~ '^[^[:space:][:cntrl:].*>]+([.][^[:space:][:cntrl:].*>]+)*$' THEN
    RAISE EXCEPTION 'nimmer.publish: invalid subject "%": tokens must be non-empty, without wildcards (* >), spaces or control characters', left(subject, 120)
      USING ERRCODE = '22023';
  END IF;
  IF left(subject, 19) <> 'nimmerverse.events.' THEN
    RAISE EXCEPTION 'nimmer.publish: subject "%" is outside the EVENTS stream; publish under nimmerverse.events.>', left(subject, 120)
      USING ERRCODE = '22023';
  END IF;
END $$;

-- Headers: a flat JSON object of string values; names are HTTP-style tokens; Nats-* is the server's and
-- the relay's (it sets Nats-Msg-Id).
CREATE OR REPLACE FUNCTION nimmer.check_headers(headers jsonb) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  k text;
  v jsonb;
BEGIN
  IF headers IS NULL THEN RETURN; END IF;
  IF jsonb_typeof(headers) <> 'object' THEN
    RAISE EXCEPTION 'nimmer.publish: headers must be a JSON object of strings, got a %', jsonb_typeof(headers) USING ERRCODE = '22023';
  END IF;
  FOR k, v IN SELECT * FROM jsonb_each(headers) LOOP
    IF k !~ '^[A-Za-z0-9][A-Za-z0-9-]{0,63}$' THEN
      RAISE EXCEPTION 'nimmer.publish: header name "%" is invalid; expected 1-64 characters of [A-Za-z0-9-]', left(k, 70) USING ERRCODE = '22023';
    END IF;
    IF lower(k) LIKE 'nats-%' THEN
      RAISE EXCEPTION 'nimmer.publish: header "%" is reserved (Nats-*: the relay sets Nats-Msg-Id from the WAL position)', k USING ERRCODE = '22023';
    END IF;
    IF jsonb_typeof(v) <> 'string' OR (v #>> '{}') ~ '[\r\n]' THEN
      RAISE EXCEPTION 'nimmer.publish: header "%" must be a string without line breaks', k USING ERRCODE = '22023';
    END IF;
  END LOOP;
END $$;

-- Returns the message's WAL position (its Nats-Msg-Id once relayed).
CREATE OR REPLACE FUNCTION nimmer.publish_bytes(subject text, payload bytea, headers jsonb DEFAULT NULL) RETURNS pg_lsn
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  at pg_lsn;
BEGIN
  PERFORM nimmer.check_subject(subject);
  PERFORM nimmer.check_headers(headers);
  IF payload IS NULL THEN
    RAISE EXCEPTION 'nimmer.publish: the payload is NULL; publish an empty payload as ''''::bytea' USING ERRCODE = '22023';
  END IF;
  -- nats-server's default max_payload is 1 MiB; leave room for the headers.
  IF octet_length(payload) > 1000000 THEN
    RAISE EXCEPTION 'nimmer.publish: the payload is % bytes (at most 1000000)', octet_length(payload) USING ERRCODE = '22023';
  END IF;
  -- Wire form (transport/relay/wire.ts): subject NUL headers-json NUL payload. Neither text nor jsonb can hold a NUL.
  at := pg_logical_emit_message(true, 'nimmer.publish',
          convert_to(subject, 'UTF8') || '\x00'::bytea || convert_to(coalesce(headers::text, ''), 'UTF8') || '\x00'::bytea || payload);
  INSERT INTO nimmer.journal (lsn, subject, headers, payload) VALUES (at, publish_bytes.subject, publish_bytes.headers, publish_bytes.payload);
  RETURN at;
END $$;

CREATE OR REPLACE FUNCTION nimmer.publish(subject text, payload jsonb, headers jsonb DEFAULT NULL) RETURNS pg_lsn
LANGUAGE sql VOLATILE AS $$
  SELECT nimmer.publish_bytes(subject, convert_to(payload::text, 'UTF8'), headers);
$$;

-- The automatic path: every inserted canon row is published on its scene subject as a CanonMessage
-- (transport/canon.ts), in the inserting transaction. No application code involved.
CREATE OR REPLACE FUNCTION nimmer.publish_canon_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM nimmer.publish(
    nimmer.canon_subject(NEW.event_uid, NEW.district, NEW.scene, NEW.slot),
    jsonb_build_object(
      'canonId', NEW.id,
      'eventUid', NEW.event_uid,
      'district', NEW.district,
      'scene', NEW.scene,
      'slot', NEW.slot,
      'participants', to_jsonb(NEW.participants),
      'retention', NEW.retention,
      'body', NEW.body,
      'createdAt', to_jsonb(NEW.created_at)),
    jsonb_build_object('Nimmer-Canon-Id', NEW.id::text));
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS canon_publish ON nimmer.canon;
CREATE TRIGGER canon_publish AFTER INSERT ON nimmer.canon FOR EACH ROW EXECUTE FUNCTION nimmer.publish_canon_row();

-- pgoutput needs a publication even when only logical messages are streamed; this one has no tables.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'nimmer_relay') THEN
    CREATE PUBLICATION nimmer_relay;
  END IF;
END $$;

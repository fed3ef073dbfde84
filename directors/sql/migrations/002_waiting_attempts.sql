-- Failed compositions of a waiting event (counted by the compositor after its transaction rolled
-- back). Past the compositor's limit the event fails closed instead of being retried forever.
ALTER TABLE nimmer.register_waiting ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0);

-- UID → subject in SQL: the twin of transport/subject.ts (canonSubject). transport/sql/subject_sql.test.ts
-- proves both agree on every UID form and reject the same bad ones. Errors use SQLSTATE 22023
-- (invalid_parameter_value) and name the bad token, like catalogue/uid.ts does.
CREATE OR REPLACE FUNCTION nimmer.uid_token_check(level text, pos int, token text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF token IS NULL OR token = '' THEN
    RAISE EXCEPTION '% token at position % is empty; tokens are 1-64 characters of [A-Za-z0-9_-]', level, pos
      USING ERRCODE = '22023';
  END IF;
  IF token !~ '^[A-Za-z0-9_-]{1,64}$' THEN
    RAISE EXCEPTION '% token ''%'' at position % is invalid; tokens are 1-64 characters of [A-Za-z0-9_-]', level, left(token, 40), pos
      USING ERRCODE = '22023';
  END IF;
END $$;

-- The subject a scene's canon is published on; a slot shares its scene's subject.
CREATE OR REPLACE FUNCTION nimmer.canon_subject(gm_event text, district text, scene text, slot text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM nimmer.uid_token_check('gm_event', 1, gm_event);
  PERFORM nimmer.uid_token_check('district', 2, district);
  PERFORM nimmer.uid_token_check('scene', 3, scene);
  IF slot IS NOT NULL THEN
    PERFORM nimmer.uid_token_check('slot', 4, slot);
  END IF;
  RETURN 'nimmerverse.events.' || gm_event || '.district.' || district || '.scene.' || scene;
END $$;

-- The same from a whole UID string (<gmEvent>.<district>.<scene>[.<slot>]).
CREATE OR REPLACE FUNCTION nimmer.canon_subject_of_uid(uid text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  parts text[];
  names text[] := ARRAY['gm_event', 'district', 'scene', 'slot'];
BEGIN
  IF uid IS NULL OR uid = '' THEN
    RAISE EXCEPTION 'the UID is empty; expected <gmEvent>.<district>.<scene>[.<slot>]' USING ERRCODE = '22023';
  END IF;
  parts := string_to_array(uid, '.');
  IF array_length(parts, 1) > 4 THEN
    RAISE EXCEPTION 'the UID "%" has more than 4 tokens; a UID is at most gm_event.district.scene.slot', left(uid, 80) USING ERRCODE = '22023';
  END IF;
  FOR i IN 1 .. array_length(parts, 1) LOOP
    PERFORM nimmer.uid_token_check(names[i], i, parts[i]);
  END LOOP;
  IF array_length(parts, 1) < 3 THEN
    RAISE EXCEPTION 'canon is published per scene: "%" names a %, expected <gmEvent>.<district>.<scene>[.<slot>]',
      uid, CASE array_length(parts, 1) WHEN 1 THEN 'event' ELSE 'district' END USING ERRCODE = '22023';
  END IF;
  RETURN nimmer.canon_subject(parts[1], parts[2], parts[3], parts[4]);
END $$;

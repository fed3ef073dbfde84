// The SQL half of the transport against a real Postgres: the UID → subject twin agrees with subject.ts,
// and nimmer.publish validates in the caller's transaction and journals only what commits.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTransport } from '../install.ts';
import { canonSubject, EVENTS_SUBJECTS } from '../subject.ts';
import { startServices, type TransportServices } from '../testing/services.ts';

let services: TransportServices;
let db: pg.Client;

beforeAll(async () => {
  services = await startServices({ postgres: true });
  db = new pg.Client({ connectionString: services.postgres!.url });
  await db.connect();
  await installTransport(db);
  // Catches only SQLSTATE 22023, so a test also proves the error class.
  await db.query(`CREATE FUNCTION pg_temp.try_subject(uid text) RETURNS text LANGUAGE plpgsql AS $$
    BEGIN RETURN nimmer.canon_subject_of_uid(uid); EXCEPTION WHEN invalid_parameter_value THEN RETURN NULL; END $$`);
  await db.query(`CREATE FUNCTION pg_temp.try_parts(e text, d text, s text, l text) RETURNS text LANGUAGE plpgsql AS $$
    BEGIN RETURN nimmer.canon_subject(e, d, s, l); EXCEPTION WHEN invalid_parameter_value THEN RETURN NULL; END $$`);
});

afterAll(async () => {
  await db?.end();
  await services?.stop();
});

function tsSubject(uid: string): string | null {
  try {
    return canonSubject(uid);
  } catch {
    return null;
  }
}

async function sqlSubjects(uids: string[]): Promise<Array<string | null>> {
  const r = await db.query<{ s: string | null }>('SELECT pg_temp.try_subject(u) AS s FROM unnest($1::text[]) WITH ORDINALITY AS t(u, i) ORDER BY i', [uids]);
  return r.rows.map((row) => row.s);
}

/** Seeded so a failure replays; the seed is in the test name. */
function randomUids(seed: number, count: number): string[] {
  let state = seed >>> 0;
  const next = (): number => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return state;
  };
  const alphabet = 'aZ09_-.*> \t$/éß\n';
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const levels = 1 + (next() % 5);
    const tokens: string[] = [];
    for (let l = 0; l < levels; l++) {
      const valid = next() % 3 !== 0;
      const length = valid ? 1 + (next() % 6) : next() % 4;
      let t = '';
      for (let j = 0; j < length; j++) t += valid ? 'aZ09_-'[next() % 6] : alphabet[next() % alphabet.length];
      tokens.push(t);
    }
    out.push(tokens.join('.'));
  }
  return out;
}

describe('UID → subject: SQL twin of subject.ts', () => {
  const forms = [
    'ev-7af2.d9c1.s3e8',
    'ev-7af2.d9c1.s3e8.slot1',
    'ev-1.old_harbour.bread_line.baker_plea',
    `${'x'.repeat(64)}.${'y'.repeat(64)}.${'z'.repeat(64)}.${'w'.repeat(64)}`,
    // rejected by both
    'ev-7af2',
    'ev-7af2.d1',
    'a.b.c.d.e',
    '',
    '.a.b',
    'a.b.',
    'a..b',
    'ev 7af2.d.s',
    'ev.*.s',
    'ev.d.>',
    'ev.d.s\n',
    'ev.dé.s',
    `${'x'.repeat(65)}.d.s`,
    'ev.d.s.sl ot',
  ];

  it('agrees on every UID form, valid and invalid', async () => {
    const sql = await sqlSubjects(forms);
    forms.forEach((uid, i) => expect({ uid, subject: sql[i] }).toEqual({ uid, subject: tsSubject(uid) }));
    expect(sql.filter((s) => s !== null)).toHaveLength(4);
  });

  it('agrees on 2,000 seeded random UIDs (seed 0x5eed)', async () => {
    const uids = randomUids(0x5eed, 2000);
    const sql = await sqlSubjects(uids);
    let valid = 0;
    uids.forEach((uid, i) => {
      expect({ uid, subject: sql[i] }).toEqual({ uid, subject: tsSubject(uid) });
      if (sql[i] !== null) valid++;
    });
    expect(valid).toBeGreaterThan(100);
  });

  it('derives the same subject from UID parts (the canon row columns)', async () => {
    const cases: Array<[string, string, string, string | null]> = [
      ['ev-1', 'd2', 's3', null],
      ['ev-1', 'd2', 's3', 'slot-4'],
      ['ev-1', 'd 2', 's3', null],
      ['ev-1', 'd2', '', null],
      ['ev-1', 'd2', 's3', 'a.b'],
    ];
    for (const [e, d, s, l] of cases) {
      const r = await db.query<{ s: string | null }>('SELECT pg_temp.try_parts($1, $2, $3, $4) AS s', [e, d, s, l]);
      expect(r.rows[0]!.s).toBe(tsSubject([e, d, s, ...(l === null ? [] : [l])].join('.')));
    }
  });
});

describe('nimmer.publish', () => {
  it('admits exactly the subjects of the EVENTS stream', () => {
    // 003_publish.sql hard-codes the prefix; the stream declaration derives from subject.ts.
    expect(EVENTS_SUBJECTS).toBe('nimmerverse.events.>');
  });

  it('raises SQLSTATE 22023 in the caller\'s transaction for a bad subject or headers, and journals nothing', async () => {
    const bad: Array<[string, string | null]> = [
      ['', null],
      ['nimmerverse.events..x', null],
      ['nimmerverse.events.*', null],
      ['nimmerverse.events.>', null],
      ['nimmerverse.events.a b', null],
      ['nimmerverse.events.a\tb', null],
      ['other.subject', null],
      ['nimmerverse.events.ok', '["not","an","object"]'],
      ['nimmerverse.events.ok', '{"Nats-Msg-Id":"forged"}'],
      ['nimmerverse.events.ok', '{"X-Count":1}'],
    ];
    const before = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM nimmer.journal');
    for (const [subject, headers] of bad) {
      await db.query('BEGIN');
      await expect(db.query('SELECT nimmer.publish($1, $2::jsonb, $3::jsonb)', [subject, '{"a":1}', headers])).rejects.toMatchObject({ code: '22023' });
      await db.query('ROLLBACK');
    }
    const after = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM nimmer.journal');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });

  it('journals a committed publish under its WAL position, and not a rolled-back one', async () => {
    await db.query('BEGIN');
    const kept = await db.query<{ lsn: string }>("SELECT nimmer.publish('nimmerverse.events.e.district.d.scene.s', '{\"x\":1}', '{\"Trace\":\"t1\"}')::text AS lsn");
    await db.query('COMMIT');
    await db.query('BEGIN');
    const dropped = await db.query<{ lsn: string }>("SELECT nimmer.publish_bytes('nimmerverse.events.e.district.d.scene.s', '\\x00ff'::bytea)::text AS lsn");
    await db.query('ROLLBACK');
    const rows = await db.query<{ lsn: string; payload: Buffer; headers: unknown }>('SELECT lsn::text AS lsn, payload, headers FROM nimmer.journal WHERE lsn IN ($1, $2)', [
      kept.rows[0]!.lsn,
      dropped.rows[0]!.lsn,
    ]);
    expect(rows.rows).toHaveLength(1);
    expect(rows.rows[0]!.lsn).toBe(kept.rows[0]!.lsn);
    expect(JSON.parse(rows.rows[0]!.payload.toString('utf8'))).toEqual({ x: 1 });
    expect(rows.rows[0]!.headers).toEqual({ Trace: 't1' });
  });

  it('refuses a canon row whose UID parts break the grammar, in the inserting transaction', async () => {
    // The table's CHECKs already refuse it; the trigger would too (canon_subject raises 22023).
    await expect(db.query("INSERT INTO nimmer.canon (event_uid, district, scene, body) VALUES ('ev', 'd*', 's', '{}')")).rejects.toMatchObject({ code: '23514' });
  });
});

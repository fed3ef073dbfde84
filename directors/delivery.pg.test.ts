// Delivery in a real Postgres: routines wait for every participant's acknowledgement (or the
// deadline → a journalled partial delivery) before the outcome is applied; acknowledgements are
// idempotent; the trace of an event (what GET /events/:uid answers) is right at every stage.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalogue } from '../catalogue/index.ts';
import { startRegisterDb, type RegisterDb } from '../infra/testing/register_db.ts';
import { acknowledgeDelivery, DeliveryFollower, listenDelivered, type DeliveryEnd } from './delivery_follower.ts';
import { traceEvent, type ShardEventState } from './event_trace.ts';
import { PgRegisterStore } from './pg_register_store.ts';
import { readRegisterSnapshot } from './pg_event_trace.ts';
import { COMPOSED_CHANNEL } from './register_store.ts';
import { DirectorSupervisor } from './supervisor.ts';
import { eventually, RecordingGateway } from './testing/recording_gateway.ts';
import type { CommittedEvent } from './unfold.ts';

const catalogue = defaultCatalogue();
let db: RegisterDb;
let pool: pg.Pool;

beforeAll(async () => {
  db = await startRegisterDb('directors-delivery');
  pool = db.pool;
});

afterAll(async () => {
  await db?.stop();
});

const ev = (uid: string, participants = ['p1', 'p2']): CommittedEvent => ({ uid, shard: 's-del', template: 'market_festival', district: 'square', participants, catalogueVersion: catalogue.version });

/** What a compositor's transaction does: canon rows (one naming `named`), flag deleted, director notified. Returns the canon ids. */
async function composeBySql(uid: string, named: readonly string[] = []): Promise<number[]> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const r = await c.query<{ id: string }>(
      `INSERT INTO nimmer.canon (event_uid, district, scene, slot, participants, body) VALUES
         ($1, 'square', 'stalls', 'canon_audit', '{}', '{"kind":"audit","verdict":"pass"}'),
         ($1, 'square', 'stalls', 'line1', $2, '{"kind":"dialogue"}') RETURNING id`,
      [uid, named],
    );
    await c.query('DELETE FROM nimmer.register_waiting WHERE event_uid = $1', [uid]);
    await c.query('SELECT pg_notify($1, $2)', [COMPOSED_CHANNEL, uid]);
    await c.query('COMMIT');
    return r.rows.map((x) => Number(x.id));
  } finally {
    c.release();
  }
}

function harness(timeoutMs: number) {
  const gateway = new RecordingGateway();
  const ends = new Map<string, DeliveryEnd>();
  const follower = new DeliveryFollower(pool, { timeoutMs, pollMs: 50, batchMax: 100, onEnd: (uid, end) => ends.set(uid, end) });
  const sup = new DirectorSupervisor({ store: new PgRegisterStore(pool), gateway, catalogue: () => catalogue, config: { composedPollMs: 20, restartDelayMs: 0 }, awaitDelivered: follower.awaitDelivered });
  return { gateway, ends, follower, sup };
}

const shardView = (e: CommittedEvent, gateway: RecordingGateway): ShardEventState | null => {
  if (gateway.closed.has(e.uid)) return null;
  const o = gateway.outcomes.get(e.uid);
  return { shard: e.shard, status: o ? 'resolved' : 'active', ...(o ? { outcome: o.outcome } : {}), participants: e.participants, event: e };
};

describe('delivery following', () => {
  it('waits for every participant, then applies the outcome; the trace tells each stage; acks are idempotent', { timeout: 30_000 }, async () => {
    const { gateway, ends, follower, sup } = harness(60_000);
    const stop = await listenDelivered(db.postgres.url, follower);
    try {
      const e = ev('ev-del-full');
      const trace = async () => traceEvent(e.uid, shardView(e, gateway), await readRegisterSnapshot(pool, e.uid));
      expect((await trace())!.stage).toBe('committed');
      sup.start(e, 1);
      await eventually(async () => (await trace())!.stage === 'directing', 5_000, 'directing');
      expect((await trace())!.scenes.length).toBeGreaterThan(0);
      // A compositor holding the flag: the trace says composing.
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        await c.query('SELECT 1 FROM nimmer.register_waiting WHERE event_uid = $1 FOR UPDATE', [e.uid]);
        expect((await trace())!.stage).toBe('composing');
        await c.query('ROLLBACK');
      } finally {
        c.release();
      }
      expect(await acknowledgeDelivery(pool, e.uid, 'p1', [])).toBe('incomplete'); // nothing composed yet
      const ids = await composeBySql(e.uid, ['p1', 'p2']);
      await eventually(async () => (await trace())!.delivery === 'pending' && follower.waiting === 1, 5_000, 'canon, delivery pending');
      // The player's ack must cover every canon row naming it.
      expect(await acknowledgeDelivery(pool, e.uid, 'p1', [ids[0]!])).toBe('incomplete');
      const t = (await trace())!;
      expect(t.stage).toBe('canon');
      expect(t.deliveryDueAt).toBeDefined();
      expect(t.outcomeApplied).toBe(false);
      expect(t.scenes.find((s) => s.scene === 'stalls')!.canonRows).toBe(2);
      expect(await acknowledgeDelivery(pool, e.uid, 'p1', ids)).toBe('acked');
      expect(await acknowledgeDelivery(pool, e.uid, 'p1', ids)).toBe('already');
      expect(await acknowledgeDelivery(pool, e.uid, 'intruder')).toBe('not_participant');
      expect((await trace())!.participants).toMatchObject({ p1: { delivered: true }, p2: { delivered: false } });
      await new Promise((r) => setTimeout(r, 200));
      expect(gateway.outcomes.has(e.uid)).toBe(false); // still waiting for p2
      expect(await acknowledgeDelivery(pool, e.uid, 'p2')).toBe('acked');
      await eventually(() => gateway.closed.has(e.uid), 5_000, 'closed');
      expect(ends.get(e.uid)).toBe('complete');
      const done = (await trace())!;
      expect(done).toMatchObject({ stage: 'pruned', outcome: 'success', outcomeApplied: true, delivery: 'complete', participants: { p1: { delivered: true }, p2: { delivered: true } } });
      expect(Object.values(done.stages).every(Boolean)).toBe(true);
      expect(await acknowledgeDelivery(pool, e.uid, 'p2')).toBe('already');
      // The acks went with the register row.
      expect((await pool.query('SELECT 1 FROM nimmer.delivery_acks WHERE event_uid = $1', [e.uid])).rowCount).toBe(0);
      expect(await acknowledgeDelivery(pool, 'ev-never', 'p1')).toBe('unknown');
    } finally {
      sup.close();
      follower.close();
      await stop();
    }
  });

  it('past the deadline delivery is journalled partial, the outcome applied; a late ack is recorded as late; a respawned routine keeps the deadline', { timeout: 90_000 }, async () => {
    const { gateway, ends, follower, sup } = harness(1_500);
    try {
      const e = ev('ev-del-part', ['a', 'b', 'c']);
      sup.start(e, 1);
      await eventually(async () => (await pool.query('SELECT 1 FROM nimmer.register_waiting WHERE event_uid = $1', [e.uid])).rowCount === 1, 5_000, 'flag');
      await composeBySql(e.uid);
      await eventually(() => follower.waiting === 1, 5_000, 'following delivery');
      const due1 = (await pool.query<{ d: Date }>('SELECT delivery_due_at AS d FROM nimmer.register_events WHERE event_uid = $1', [e.uid])).rows[0]!.d;
      expect(await acknowledgeDelivery(pool, e.uid, 'a')).toBe('acked');
      // A new term takes over (a leader change): the deadline is the one set first.
      sup.stopShard(e.shard);
      sup.start(e, 2);
      await eventually(() => follower.waiting === 1, 5_000, 'following again under term 2');
      const due2 = (await pool.query<{ d: Date }>('SELECT delivery_due_at AS d FROM nimmer.register_events WHERE event_uid = $1', [e.uid])).rows[0]!.d;
      expect(due2.getTime()).toBe(due1.getTime());
      await eventually(() => gateway.closed.has(e.uid), 40_000, 'closed after the deadline'); // liveness bound, generous for a loaded CI
      expect(ends.get(e.uid)).toBe('partial');
      expect(gateway.outcomes.get(e.uid)!.term).toBe(2);
      expect(await acknowledgeDelivery(pool, e.uid, 'b')).toBe('late');
      expect(await acknowledgeDelivery(pool, e.uid, 'b')).toBe('already');
      const t = traceEvent(e.uid, null, await readRegisterSnapshot(pool, e.uid))!;
      expect(t).toMatchObject({ stage: 'pruned', delivery: 'partial', participants: { a: { delivered: true }, b: { delivered: true, late: true }, c: { delivered: false } } });
      // The journal window: a zero window prunes it, after which the event is unknown.
      expect((await pool.query<{ n: number }>('SELECT nimmer.journal_prune(0, 1000) AS n')).rows[0]!.n).toBeGreaterThanOrEqual(1);
      expect(traceEvent(e.uid, null, await readRegisterSnapshot(pool, e.uid))).toBeNull();
      expect((await pool.query('SELECT 1 FROM nimmer.canon WHERE event_uid = $1', [e.uid])).rowCount).toBe(0); // canon went with its journal window
    } finally {
      sup.close();
      follower.close();
    }
  });
});

// The register in a real Postgres: migrations, routines writing the unfolding and raising flags,
// the term fence (a deposed routine's write is rejected), respawn after a crash, pruning.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCatalogue } from '../catalogue/index.ts';
import type { Postgres } from '../infra/launcher/index.ts';
import { startRegisterDb, type RegisterDb } from '../infra/testing/register_db.ts';
import { migrate } from '../transport/index.ts';
import { FencedError } from './errors.ts';
import { DIRECTORS_MIGRATIONS, listenComposed, PgRegisterStore } from './pg_register_store.ts';
import { COMPOSED_CHANNEL } from './register_store.ts';
import { DirectorSupervisor } from './supervisor.ts';
import { eventually, RecordingGateway } from './testing/recording_gateway.ts';
import { unfoldEvent, type CommittedEvent } from './unfold.ts';

const catalogue = defaultCatalogue();
let db: RegisterDb;
let postgres: Postgres;
let pool: pg.Pool;
let store: PgRegisterStore;

beforeAll(async () => {
  db = await startRegisterDb('directors-pg');
  ({ postgres, pool } = db);
  expect(db.directorMigrations).toEqual(['001_register.sql', '002_waiting_attempts.sql', '003_delivery.sql']);
  const c = await pool.connect();
  try {
    expect(await migrate(c, DIRECTORS_MIGRATIONS)).toEqual([]); // once
  } finally {
    c.release();
  }
  store = new PgRegisterStore(pool);
});

afterAll(async () => {
  await db?.stop();
});

const ev = (uid: string, shard = 's-pg'): CommittedEvent => ({ uid, shard, template: 'market_festival', district: 'square', participants: ['p1', 'p2'], catalogueVersion: catalogue.version });
const q = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => (await pool.query<T>(sql, params)).rows;

/** What a compositor's transaction does to the register (the compositor's own tests run the real one). */
async function composeBySql(uid: string, verdict: 'pass' | 'warn' | 'block'): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query(`INSERT INTO nimmer.canon (event_uid, district, scene, slot, body) VALUES ($1, 'square', 'stalls', 'canon_audit', $2)`, [uid, JSON.stringify({ kind: 'audit', verdict })]);
    await c.query('DELETE FROM nimmer.register_waiting WHERE event_uid = $1', [uid]);
    await c.query('SELECT pg_notify($1, $2)', [COMPOSED_CHANNEL, uid]);
    await c.query('COMMIT');
  } finally {
    c.release();
  }
}

describe('the register in Postgres', () => {
  it('open writes the unfolding and raises the flag once; a second open adopts the row', async () => {
    const e = ev('ev-open');
    const u = unfoldEvent(e, catalogue);
    expect(await store.open(1, e, u)).toEqual({ stage: 'waiting', outcome: null, created: true });
    expect(await store.open(2, e, u)).toEqual({ stage: 'waiting', outcome: null, created: false });
    expect(await q('SELECT term, stage, unfolding FROM nimmer.register_events WHERE event_uid = $1', ['ev-open'])).toEqual([{ term: '2', stage: 'waiting', unfolding: JSON.parse(JSON.stringify(u)) }]);
    expect(await q('SELECT event_uid FROM nimmer.register_waiting WHERE event_uid = $1', ['ev-open'])).toHaveLength(1);
    expect(await store.composed(['ev-open'])).toEqual([]);
    await composeBySql('ev-open', 'pass');
    expect(await store.composed(['ev-open'])).toEqual(['ev-open']);
    // A UID with no row (pruned by a newer term's routine) is not waiting either: its waiter must move on to be fenced.
    expect(await store.composed(['ev-open', 'ev-never-registered'])).toEqual(['ev-open', 'ev-never-registered']);
    expect(await store.auditVerdicts('ev-open')).toEqual(['pass']);
  });

  it('rejects a write under a term older than the shard has seen (Postgres enforces the fence)', async () => {
    const e = ev('ev-fence', 's-fence');
    await store.open(5, e, unfoldEvent(e, catalogue));
    await store.open(6, ev('ev-fence-new', 's-fence'), unfoldEvent(ev('ev-fence-new', 's-fence'), catalogue));
    await expect(store.setOutcome(5, 's-fence', 'ev-fence', 'success')).rejects.toBeInstanceOf(FencedError);
    await expect(store.prune(5, 's-fence', 'ev-fence')).rejects.toThrow(/directed under term 6/);
    await expect(store.open(4, ev('ev-fence-x', 's-fence'), unfoldEvent(ev('ev-fence-x', 's-fence'), catalogue))).rejects.toBeInstanceOf(FencedError);
    expect(await q('SELECT stage FROM nimmer.register_events WHERE event_uid = $1', ['ev-fence'])).toEqual([{ stage: 'waiting' }]);
    expect(await q('SELECT 1 FROM nimmer.register_events WHERE event_uid = $1', ['ev-fence-x'])).toHaveLength(0);
    // Other shards are not affected by this shard's term.
    const other = ev('ev-fence-other', 's-other');
    await expect(store.open(1, other, unfoldEvent(other, catalogue))).resolves.toMatchObject({ created: true });
  });

  it('a new term\'s first write waits for an older term\'s open transaction, and the older one cannot write after it', async () => {
    const a = await pool.connect();
    const b = await pool.connect();
    try {
      await a.query('BEGIN');
      await a.query('SELECT nimmer.director_fence($1, $2)', ['s-race', 1]);
      await b.query('BEGIN');
      let bDone = false;
      const bFence = b.query('SELECT nimmer.director_fence($1, $2)', ['s-race', 2]).then(() => (bDone = true));
      await new Promise((r) => setTimeout(r, 200));
      expect(bDone).toBe(false); // blocked behind term 1's share lock
      await a.query('COMMIT');
      await bFence;
      await b.query('COMMIT');
      await expect(pool.query('SELECT nimmer.director_fence($1, $2)', ['s-race', 1])).rejects.toMatchObject({ code: 'NM409' });
    } finally {
      a.release();
      b.release();
    }
  });

  it('routines run through the register: composed via NOTIFY, outcome from the audit verdicts, pruned at the end', async () => {
    const gateway = new RecordingGateway();
    const sup = new DirectorSupervisor({ store, gateway, catalogue: () => catalogue, config: { composedPollMs: 60_000, restartDelayMs: 10 } });
    const stopListening = await listenComposed(postgres.url, (uid) => sup.notifyComposed(uid));
    try {
      const uids = Array.from({ length: 20 }, (_, i) => `ev-run${i}`);
      for (const uid of uids) sup.start(ev(uid, 's-run'), 3);
      await eventually(async () => (await q('SELECT 1 FROM nimmer.register_waiting WHERE event_uid = ANY($1)', [uids])).length === 20, 10_000, 'all flags raised');
      for (const [i, uid] of uids.entries()) await composeBySql(uid, i % 5 === 0 ? 'warn' : 'pass');
      await eventually(() => gateway.closed.size === 20, 10_000, 'all events closed');
      expect(gateway.outcomes.get('ev-run0')!.outcome).toBe('partial');
      expect(gateway.outcomes.get('ev-run1')!.outcome).toBe('success');
      expect(await q('SELECT 1 FROM nimmer.register_events WHERE shard = $1', ['s-run'])).toHaveLength(0);
      expect(sup.stats()).toMatchObject({ live: 0, ended: 20, restarts: 0 });
    } finally {
      sup.close();
      await stopListening();
    }
  });

  it('the supervisor respawns a crashed routine, which resumes from the register (no second unfolding, outcome once)', async () => {
    const gateway = new RecordingGateway();
    gateway.failNextApply = 2; // the shard is unavailable twice: the routine crashes after its outcome is in the register
    const sup = new DirectorSupervisor({ store, gateway, catalogue: () => catalogue, config: { composedPollMs: 20, restartDelayMs: 10 } });
    try {
      sup.start(ev('ev-crash', 's-crash'), 1);
      await eventually(async () => (await q('SELECT 1 FROM nimmer.register_waiting WHERE event_uid = $1', ['ev-crash'])).length === 1, 10_000, 'the flag');
      await composeBySql('ev-crash', 'block');
      await eventually(() => gateway.closed.has('ev-crash'), 10_000, 'the event to close');
      expect(sup.stats().restarts).toBe(2);
      expect(gateway.outcomes.get('ev-crash')!.outcome).toBe('failure');
      expect(gateway.calls.filter((c) => c.startsWith('apply'))).toHaveLength(3);
      expect(await q('SELECT count(*)::int AS n FROM nimmer.canon WHERE event_uid = $1', ['ev-crash'])).toEqual([{ n: 1 }]);
      expect(await q('SELECT 1 FROM nimmer.register_events WHERE event_uid = $1', ['ev-crash'])).toHaveLength(0);
    } finally {
      sup.close();
    }
  });

  it('a deposed routine (another node took the shard under a newer term) is fenced off and leaves the row to the new leader', async () => {
    const oldGateway = new RecordingGateway();
    const oldLeader = new DirectorSupervisor({ store, gateway: oldGateway, catalogue: () => catalogue, config: { composedPollMs: 20, restartDelayMs: 10 } });
    const newGateway = new RecordingGateway();
    const newLeader = new DirectorSupervisor({ store, gateway: newGateway, catalogue: () => catalogue, config: { composedPollMs: 20, restartDelayMs: 10 } });
    try {
      oldLeader.start(ev('ev-depose', 's-depose'), 7);
      await eventually(async () => (await q('SELECT 1 FROM nimmer.register_waiting WHERE event_uid = $1', ['ev-depose'])).length === 1, 10_000, 'the flag');
      // The new leader resumes the shard from the register under term 8.
      const live = await store.live('s-depose');
      expect(live.map((l) => [l.event.uid, l.term, l.stage])).toEqual([['ev-depose', 7, 'waiting']]);
      newLeader.start(live[0]!.event, 8);
      await eventually(async () => (await q<{ term: string }>('SELECT term FROM nimmer.register_events WHERE event_uid = $1', ['ev-depose']))[0]?.term === '8', 10_000, 'adoption');
      await composeBySql('ev-depose', 'pass');
      await eventually(() => newGateway.closed.has('ev-depose'), 10_000, 'the new leader to close the event');
      // The old routine woke up too; its setOutcome under term 7 was rejected by Postgres.
      await eventually(() => oldLeader.stats().live === 0, 10_000, 'the old routine to end');
      expect(oldLeader.stats()).toMatchObject({ fenced: 1, restarts: 0 });
      expect(oldGateway.outcomes.size).toBe(0);
      expect(newGateway.outcomes.get('ev-depose')).toMatchObject({ outcome: 'success', term: 8 });
    } finally {
      oldLeader.close();
      newLeader.close();
    }
  });
});

// A stateless compositor worker: picks a waiting event from the register (FOR UPDATE SKIP LOCKED,
// so concurrent workers never take the same one), composes it, and in ONE transaction writes its
// canon rows, prunes the waiting flag and notifies the director. A worker that dies mid-event dies
// with its transaction: the row lock goes, the flag stays, another worker picks the event up.
import pg from 'pg';
import type { Logger } from 'pino';
import type { Catalogue } from '../catalogue/index.ts';
import { COMPOSED_CHANNEL, WAITING_CHANNEL, type CommittedEvent, type Unfolding } from '../directors/index.ts';
import type { ModelAdapter } from './adapters/model_adapter.ts';
import type { CompositorConfig } from './config.ts';
import { composeEvent } from './compose_event.ts';
import { failClosedCanon, type CanonRow } from './compose.ts';
import type { CompositorMetrics } from './metrics.ts';
import { TierScheduler } from './tier_scheduler.ts';

const PICK_SQL = `SELECT w.event_uid, w.attempts, e.event, e.unfolding
  FROM nimmer.register_waiting w JOIN nimmer.register_events e USING (event_uid)
  ORDER BY w.raised_at
  LIMIT 1
  FOR UPDATE OF w SKIP LOCKED`;

const INSERT_CANON_SQL = `INSERT INTO nimmer.canon (event_uid, district, scene, slot, participants, retention, body)
  SELECT x.event_uid, x.district, x.scene, x.slot, x.participants, x.retention, x.body
  FROM jsonb_to_recordset($1::jsonb) AS x(event_uid text, district text, scene text, slot text, participants text[], retention text, body jsonb)`;

export interface WorkerHooks {
  /** The event's row is locked and composition starts. */
  onPicked?(uid: string): void;
  /** The canon transaction committed. */
  onComposed?(uid: string, rows: number): void;
}

export class CompositorWorker {
  readonly scheduler: TierScheduler;
  private draining = false;
  private loops: Promise<void>[] = [];
  private readonly sleepers = new Set<() => void>();
  private listener: pg.Client | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly catalogue: () => Catalogue,
    private readonly adapter: ModelAdapter,
    private readonly config: CompositorConfig,
    private readonly metrics: CompositorMetrics,
    private readonly log: Logger,
    private readonly hooks: WorkerHooks = {},
    private readonly connectionString?: string,
  ) {
    this.scheduler = new TierScheduler(config.tiers, config.demoteWhenQueuedAtLeast, metrics);
  }

  async start(): Promise<void> {
    if (this.connectionString !== undefined) {
      // Raised flags wake idle loops at once; the idle poll is the fallback.
      const c = new pg.Client({ connectionString: this.connectionString });
      c.on('error', (e) => this.log.warn({ err: e.message }, 'waiting-flag listener lost; falling back to polling'));
      await c.connect();
      c.on('notification', () => this.wakeAll());
      await c.query(`LISTEN ${WAITING_CHANNEL}`);
      this.listener = c;
    }
    for (let i = 0; i < this.config.eventsInFlightMax; i++) this.loops.push(this.loop(i));
  }

  /** Stops picking up events, finishes the ones in flight, releases the connections. */
  async drain(): Promise<void> {
    this.draining = true;
    this.wakeAll();
    await Promise.all(this.loops);
    await this.listener?.end().catch(() => undefined);
    this.listener = null;
  }

  /** Waiting events in the register (all workers' queue), for metrics and the autoscaler. */
  async queueDepth(): Promise<number> {
    const r = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM nimmer.register_waiting');
    const n = Number(r.rows[0]!.n);
    this.metrics.queueDepth.set(n);
    return n;
  }

  private wakeAll(): void {
    for (const wake of this.sleepers) wake();
    this.sleepers.clear();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.sleepers.add(done);
    });
  }

  private async loop(i: number): Promise<void> {
    while (!this.draining) {
      if (this.scheduler.saturated()) {
        await this.sleep(this.config.idlePollMs);
        continue;
      }
      let found: boolean;
      const picked: { uid: string | null } = { uid: null };
      try {
        found = await this.composeOne(picked);
      } catch (e) {
        this.metrics.events.inc({ result: 'failed' });
        this.log.error({ err: e instanceof Error ? e.message : String(e), loop: i, uid: picked.uid }, 'composition failed; the event stays waiting for any worker');
        if (picked.uid !== null) {
          await this.pool.query('UPDATE nimmer.register_waiting SET attempts = attempts + 1 WHERE event_uid = $1', [picked.uid]).catch(() => undefined);
        }
        await this.sleep(this.config.retryDelayMs);
        continue;
      }
      if (!found) await this.sleep(this.config.idlePollMs);
    }
  }

  /** One pickup-compose-commit; false when nothing was waiting. */
  private async composeOne(picked: { uid: string | null }): Promise<boolean> {
    const client = await this.pool.connect();
    let ok = false;
    try {
      await client.query('BEGIN');
      const r = await client.query<{ event_uid: string; attempts: number; event: CommittedEvent; unfolding: Unfolding }>(PICK_SQL);
      const row = r.rows[0];
      if (row === undefined) {
        await client.query('COMMIT');
        ok = true;
        return false;
      }
      const started = performance.now();
      this.metrics.inFlight.inc();
      try {
        picked.uid = row.event_uid;
        this.hooks.onPicked?.(row.event_uid);
        const job = { event: row.event, unfolding: row.unfolding };
        const failedClosed = row.attempts >= this.config.attemptsMax;
        const rows: CanonRow[] = failedClosed ? failClosedCanon(job, row.attempts) : await composeEvent(job, this.catalogue(), this.adapter, this.scheduler);
        await client.query(INSERT_CANON_SQL, [JSON.stringify(rows)]);
        const del = await client.query('DELETE FROM nimmer.register_waiting WHERE event_uid = $1', [row.event_uid]);
        if (del.rowCount !== 1) throw new Error(`invariant: the waiting flag of ${row.event_uid} vanished while locked`);
        await client.query('SELECT pg_notify($1, $2)', [COMPOSED_CHANNEL, row.event_uid]);
        await client.query('COMMIT');
        ok = true;
        this.metrics.events.inc({ result: failedClosed ? 'failed_closed' : 'composed' });
        this.metrics.canonRows.inc(rows.length);
        this.metrics.composeSeconds.observe((performance.now() - started) / 1000);
        this.hooks.onComposed?.(row.event_uid, rows.length);
        return true;
      } finally {
        this.metrics.inFlight.dec();
      }
    } finally {
      if (!ok) await client.query('ROLLBACK').catch(() => undefined);
      client.release(!ok);
    }
  }
}

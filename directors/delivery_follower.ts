// Delivery following (issue 6): after the outcome is decided, a routine waits until every
// participant acknowledged the event's canon (nimmer.delivery_ack, called by the player client
// after its SQLite transaction applied the canon) or until the delivery deadline, journals how
// delivery ended (complete | partial), and only then lets the outcome be applied to the shard.
// One batched query per poll serves every waiting routine; LISTEN nimmer_delivered wakes the poll.
import pg from 'pg';
import { FencedError, RoutineStopped } from './errors.ts';
import { FENCED_SQLSTATE } from './register_store.ts';
import type { RoutineChild } from './routine.ts';

/** Channel delivery_ack NOTIFYs (payload: the event UID) when an acknowledgement is new. */
export const DELIVERED_CHANNEL = 'nimmer_delivered';

export type DeliveryEnd = 'complete' | 'partial';

export interface DeliveryFollowerOptions {
  /** How long after composition the director waits for every participant (then: partial delivery). */
  readonly timeoutMs: number;
  /** The safety-net poll (notifications wake it sooner). */
  readonly pollMs: number;
  /** At most this many events per poll query. */
  readonly batchMax: number;
  readonly onEnd?: (uid: string, end: DeliveryEnd) => void;
}

interface Follow {
  readonly child: RoutineChild;
  readonly participants: ReadonlySet<string>;
  readonly dueMs: number;
  resolve(): void;
  reject(e: Error): void;
}

function fencedOr(e: unknown, child: RoutineChild): Error {
  if ((e as { code?: string }).code === FENCED_SQLSTATE) return new FencedError(child.event.shard, child.term, (e as Error).message);
  return e instanceof Error ? e : new Error(String(e));
}

export class DeliveryFollower {
  private readonly follows = new Map<string, Follow>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private again = false;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: DeliveryFollowerOptions,
  ) {}

  /** The routine hook (SupervisorOptions.awaitDelivered). */
  readonly awaitDelivered = async (child: RoutineChild): Promise<void> => {
    const { uid, shard } = child.event;
    this.dropStopped(uid);
    if (this.follows.has(uid)) throw new Error(`invariant: two delivery waiters for ${uid}`);
    let dueMs: number;
    try {
      const r = await this.pool.query<{ due: Date | null }>('SELECT nimmer.register_delivery_due($1, $2, $3, $4) AS due', [uid, shard, child.term, this.options.timeoutMs]);
      const due = r.rows[0]?.due;
      if (due === null || due === undefined) throw new Error(`invariant: event ${uid} has no register row while its routine waits for delivery`);
      dueMs = due.getTime();
    } catch (e) {
      throw fencedOr(e, child);
    }
    if (child.stopped) throw new RoutineStopped(`routine ${uid} stopped before following delivery`);
    // A routine of an earlier term may still be registered here (stopped, not yet seen by a poll).
    this.dropStopped(uid);
    if (this.follows.has(uid)) throw new Error(`invariant: two delivery waiters for ${uid}`);
    await new Promise<void>((resolve, reject) => {
      this.follows.set(uid, { child, participants: new Set(child.event.participants), dueMs, resolve, reject });
      this.wake();
    });
    try {
      const r = await this.pool.query<{ delivery: DeliveryEnd }>('SELECT nimmer.register_journal($1, $2, $3) AS delivery', [uid, shard, child.term]);
      this.options.onEnd?.(uid, r.rows[0]!.delivery);
    } catch (e) {
      throw fencedOr(e, child);
    }
  };

  /** Ends the wait of a stopped routine for `uid` (a leader change replaced it) at once, not at the next poll. */
  private dropStopped(uid: string): void {
    const f = this.follows.get(uid);
    if (f === undefined || !f.child.stopped) return;
    this.follows.delete(uid);
    f.reject(new RoutineStopped(`routine ${uid} stopped while following delivery`));
  }

  /** A notification arrived (or anything else worth an early poll). */
  wake(): void {
    if (this.closed) return;
    if (this.polling) {
      this.again = true;
      return;
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), 0);
    this.timer.unref();
  }

  get waiting(): number {
    return this.follows.size;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    for (const [uid, f] of this.follows) f.reject(new RoutineStopped(`routine ${uid}: the delivery follower closed`));
    this.follows.clear();
  }

  private schedule(): void {
    if (this.closed || this.follows.size === 0) return;
    this.timer = setTimeout(() => void this.poll(), this.options.pollMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    this.timer = null;
    if (this.closed || this.polling) return;
    this.polling = true;
    try {
      const now = Date.now();
      const batch: Follow[] = [];
      for (const [uid, f] of this.follows) {
        if (f.child.stopped) {
          this.follows.delete(uid);
          f.reject(new RoutineStopped(`routine ${uid} stopped while following delivery`));
          continue;
        }
        if (f.dueMs <= now) {
          this.follows.delete(uid);
          f.resolve();
          continue;
        }
        batch.push(f);
        if (batch.length >= this.options.batchMax) break;
      }
      if (batch.length > 0) {
        const r = await this.pool.query<{ event_uid: string; acked: string[] }>(
          'SELECT event_uid, array_agg(participant) AS acked FROM nimmer.delivery_acks WHERE event_uid = ANY($1::text[]) GROUP BY event_uid',
          [batch.map((f) => f.child.event.uid)],
        );
        const ackedOf = new Map(r.rows.map((row) => [row.event_uid, new Set(row.acked)]));
        for (const f of batch) {
          const uid = f.child.event.uid;
          if (this.follows.get(uid) !== f) continue;
          this.follows.delete(uid);
          const acked = ackedOf.get(uid);
          if (acked !== undefined && [...f.participants].every((p) => acked.has(p))) f.resolve();
          // Rotate: the next poll asks about others first.
          else this.follows.set(uid, f);
        }
      }
    } catch {
      // Postgres unreachable: the next poll retries; deadlines still end the waits.
    } finally {
      this.polling = false;
      if (this.again) {
        this.again = false;
        this.wake();
      } else this.schedule();
    }
  }
}

/** LISTENs for new acknowledgements and wakes the follower. Returns a stop function. */
export async function listenDelivered(connectionString: string, follower: DeliveryFollower, onError?: (e: Error) => void): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString });
  client.on('error', (e) => onError?.(e));
  await client.connect();
  client.on('notification', (n) => {
    if (n.channel === DELIVERED_CHANNEL) follower.wake();
  });
  await client.query(`LISTEN ${DELIVERED_CHANNEL}`);
  return async () => {
    await client.end().catch(() => undefined);
  };
}

/** A player's acknowledgement (idempotent). */
export type AckResult = 'acked' | 'already' | 'incomplete' | 'late' | 'not_participant' | 'unknown';

/** `canonIds`: the event's canon ids the player holds (checked against the canon rows naming it); omitted: the caller vouches. */
export async function acknowledgeDelivery(pool: pg.Pool, eventUid: string, participant: string, canonIds?: readonly number[]): Promise<AckResult> {
  const r = await pool.query<{ r: AckResult }>('SELECT nimmer.delivery_ack($1, $2, $3::bigint[]) AS r', [eventUid, participant, canonIds === undefined ? null : canonIds]);
  return r.rows[0]!.r;
}

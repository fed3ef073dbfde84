// A canon-writing load that outlives its database: workers INSERT canon rows (seeded events and
// participants) in small transactions, and when Postgres goes away they count the transaction whose
// outcome they cannot know, reconnect and go on. What committed is read back from nimmer.canon later;
// the load reports only what it knows for sure (the ids of acknowledged commits).
import pg from 'pg';

export interface CanonLoadOptions {
  pgUrl: string;
  workers: number;
  rowsPerTxn: number;
  events: readonly string[];
  district: string;
  players: readonly string[];
  seed: number;
  /** Pause between one worker's transactions. */
  pauseMs: number;
}

export interface CanonLoad {
  /** Canon ids of commits Postgres acknowledged. */
  readonly ackedIds: number[];
  /** Transactions that failed (their commit may or may not have happened). */
  readonly uncertainTxns: number;
  /** Stops the workers after their current transaction; resolves when all have ended. */
  stop(): Promise<void>;
}

const RECONNECT_PAUSE_MS = 50;

/** A small LCG: deterministic per seed, independent per worker. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

export function startCanonLoad(o: CanonLoadOptions): CanonLoad {
  const ackedIds: number[] = [];
  let uncertain = 0;
  let stopping = false;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const worker = async (w: number): Promise<void> => {
    const random = seededRandom(o.seed * 7919 + w);
    let client: pg.Client | null = null;
    while (!stopping) {
      if (client === null) {
        const c = new pg.Client({ connectionString: o.pgUrl });
        c.on('error', () => undefined); // a server going away; the next query reports it
        try {
          await c.connect();
          client = c;
        } catch {
          await c.end().catch(() => undefined);
          await sleep(RECONNECT_PAUSE_MS);
          continue;
        }
      }
      const eventUid = o.events[Math.floor(random() * o.events.length)]!;
      const participants = o.players.filter(() => random() < 0.5);
      try {
        const r = await client.query<{ id: string }>(
          `INSERT INTO nimmer.canon (event_uid, district, scene, participants, retention, body)
           SELECT $1, $2, 's' || (g % 3), $3::text[], 'standard', jsonb_build_object('w', $5::int, 'g', g)
             FROM generate_series(1, $4::int) g RETURNING id`,
          [eventUid, o.district, participants, o.rowsPerTxn, w],
        );
        for (const row of r.rows) ackedIds.push(Number(row.id));
      } catch {
        uncertain++;
        await client.end().catch(() => undefined);
        client = null;
        await sleep(RECONNECT_PAUSE_MS);
        continue;
      }
      if (o.pauseMs > 0) await sleep(o.pauseMs);
    }
    await client?.end().catch(() => undefined);
  };
  const running = Promise.all(Array.from({ length: o.workers }, (_, w) => worker(w)));
  return {
    ackedIds,
    get uncertainTxns() {
      return uncertain;
    },
    async stop() {
      stopping = true;
      await running;
    },
  };
}

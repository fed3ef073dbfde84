// Publishing load for tests and benchmarks: many transactions of nimmer.publish from a pool of clients,
// optionally paced to a rate. Each statement is its own transaction; every publish's WAL position comes back.
import pg from 'pg';

export interface LoadOptions {
  pgUrl: string;
  total: number;
  perTxn: number;
  concurrency: number;
  /** Publishes per second over all clients; 0 = as fast as possible. */
  ratePerSec?: number;
  subjectOf: (i: number) => string;
  payloadOf?: (i: number) => unknown;
  /** Called after each commit with the transaction's publishes (their WAL positions and the index of the first). */
  onCommit?: (lsns: string[], firstIndex: number) => void;
  shouldStop?: () => boolean;
}

export async function publishLoad(o: LoadOptions): Promise<string[]> {
  const lsns: string[] = [];
  let next = 0;
  const startMs = Date.now();
  const worker = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: o.pgUrl });
    await client.connect();
    try {
      while (next < o.total && !(o.shouldStop?.() ?? false)) {
        const first = next;
        const n = Math.min(o.perTxn, o.total - first);
        next += n;
        if (o.ratePerSec) {
          const dueMs = startMs + (first / o.ratePerSec) * 1000;
          const waitMs = dueMs - Date.now();
          if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
        }
        const subjects: string[] = [];
        const payloads: string[] = [];
        for (let i = first; i < first + n; i++) {
          subjects.push(o.subjectOf(i));
          payloads.push(JSON.stringify(o.payloadOf?.(i) ?? { i }));
        }
        const r = await client.query<{ lsn: string }>(
          'SELECT nimmer.publish(s, p)::text AS lsn FROM unnest($1::text[], $2::jsonb[]) WITH ORDINALITY AS t(s, p, k) ORDER BY k',
          [subjects, payloads],
        );
        const got = r.rows.map((row) => row.lsn);
        o.onCommit?.(got, first);
        lsns.push(...got);
      }
    } finally {
      await client.end();
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  return lsns;
}

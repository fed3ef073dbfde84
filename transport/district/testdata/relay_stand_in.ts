// A stand-in for the WAL relay (built on branch `transport`) in this module's tests: publishes
// committed nimmer.canon rows to the EVENTS stream with the relay's subjects, payload and a
// Nats-Msg-Id, and can be paused (a dead relay) and resumed (catching up on everything it missed).
// It polls by id, which is only commit-ordered because the tests have a single writer.
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type pg from 'pg';
import { canonSubject } from '../../subject.ts';
import { CANON_COLUMNS, canonMessageOfRow, type CanonRow } from '../canon_rows.ts';

const encoder = new TextEncoder();

export class RelayStandIn {
  private lastId = 0;
  paused = false;
  published = 0;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly pool: pg.Pool, private readonly nc: NatsConnection, private readonly pollMs = 20) {}

  start(): void {
    const loop = () => {
      this.running = this.pass().catch(() => undefined).finally(() => {
        this.running = null;
        if (this.timer !== null) this.timer = setTimeout(loop, this.pollMs);
      });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private async pass(): Promise<void> {
    if (this.paused) return;
    const r = await this.pool.query<CanonRow>(`SELECT ${CANON_COLUMNS} FROM nimmer.canon c WHERE c.id > $1 ORDER BY c.id LIMIT 500`, [this.lastId]);
    if (r.rows.length === 0) return;
    const js = jetstream(this.nc, { timeout: 2_000 });
    await Promise.all(
      r.rows.map((row) => {
        const m = canonMessageOfRow(row);
        return js.publish(canonSubject(`${m.eventUid}.${m.district}.${m.scene}`), encoder.encode(JSON.stringify(m)), { msgID: `canon-${m.canonId}` });
      }),
    );
    this.lastId = Number(r.rows[r.rows.length - 1]!.id);
    this.published += r.rows.length;
  }
}

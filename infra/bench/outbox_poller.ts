// The baseline `nimmer bench transport` compares the relay with: an outbox table polled every 50 ms with
// FOR UPDATE SKIP LOCKED, published to JetStream, then deleted in the same transaction. Its own process, as
// the relay is, and the same lean JetStream publish as the relay (core publish + reply inbox + Nats-Msg-Id),
// so the comparison is of push vs poll and not of one process's CPU or client overhead against another's.
//   node --import tsx infra/bench/outbox_poller.ts --pg <url> --nats <url> [--in-flight 1024] [--poll-ms 50]
import { parseArgs } from 'node:util';
import { connect, createInbox, headers as natsHeaders } from '@nats-io/transport-node';
import pg from 'pg';

const { values } = parseArgs({
  options: {
    pg: { type: 'string' },
    nats: { type: 'string' },
    'in-flight': { type: 'string', default: '1024' },
    'poll-ms': { type: 'string', default: '50' },
    'batch-rows': { type: 'string', default: '5000' },
  },
});
if (values.pg === undefined || values.nats === undefined) {
  console.error('usage: outbox_poller.ts --pg <postgres url> --nats <nats url> [--in-flight N] [--poll-ms N] [--batch-rows N]');
  process.exit(2);
}
const inFlightMax = Number(values['in-flight']);
const pollMs = Number(values['poll-ms']);
const batchRows = Number(values['batch-rows']);

const db = new pg.Client({ connectionString: values.pg, application_name: 'nimmer-bench-outbox' });
await db.connect();
const nc = await connect({ servers: values.nats });
const inbox = createInbox();
const waiting = new Map<number, () => void>();
let nextToken = 0;
nc.subscribe(`${inbox}.*`, {
  callback: (err, msg) => {
    if (err) throw err;
    const ack = msg.json<{ seq?: number; error?: { description: string } }>();
    if (ack.error !== undefined || ack.seq === undefined) throw new Error(`JetStream refused an outbox row: ${ack.error?.description ?? 'no sequence'}`);
    const token = Number(msg.subject.slice(inbox.length + 1));
    waiting.get(token)?.();
    waiting.delete(token);
  },
});

function publish(row: { id: string; subject: string; payload: Buffer }): Promise<void> {
  const h = natsHeaders();
  h.set('Nats-Msg-Id', `outbox-${row.id}`);
  const token = nextToken++;
  const acked = new Promise<void>((resolve) => waiting.set(token, resolve));
  nc.publish(row.subject, row.payload, { reply: `${inbox}.${token}`, headers: h });
  return acked;
}

let stopping = false;
process.on('SIGTERM', () => (stopping = true));
process.on('SIGINT', () => (stopping = true));
process.send?.({ type: 'ready' });
console.log(`outbox poller: every ${pollMs} ms, ${batchRows} rows per poll, ${inFlightMax} in flight`);

while (!stopping) {
  await db.query('BEGIN');
  const rows = await db.query<{ id: string; subject: string; payload: Buffer }>('SELECT id, subject, payload FROM bench_outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED', [batchRows]);
  const pending: Array<Promise<void>> = [];
  for (const row of rows.rows) {
    if (pending.length >= inFlightMax) await pending[pending.length - inFlightMax];
    pending.push(publish(row));
  }
  await Promise.all(pending);
  if (rows.rows.length > 0) await db.query('DELETE FROM bench_outbox WHERE id = ANY($1::bigint[])', [rows.rows.map((r) => r.id)]);
  await db.query('COMMIT');
  if (rows.rows.length < batchRows) await new Promise((r) => setTimeout(r, pollMs));
}
await nc.drain();
await db.end();

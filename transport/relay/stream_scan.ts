// One pass over a stream's messages (headers only, an ordered consumer): what the repair checks before
// re-sending, and what tests use to prove exactly-once storage.
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

export interface StoredMessage {
  seq: number;
  subject: string;
  msgId: string | null;
}

export type ScanStart = { seq: number } | { time: Date };

export async function scanStream(nc: NatsConnection, stream: string, start: ScanStart = { seq: 1 }): Promise<StoredMessage[]> {
  const info = await (await jetstreamManager(nc)).streams.info(stream);
  const out: StoredMessage[] = [];
  if (info.state.messages === 0) return out;
  const from =
    'seq' in start
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.seq }
      : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: start.time.toISOString() };
  const consumer = await jetstream(nc).consumers.get(stream, { ...from, headers_only: true });
  if ((await consumer.info()).num_pending === 0) return out;
  const messages = await consumer.consume({ max_messages: 2000 });
  for await (const m of messages) {
    out.push({ seq: m.seq, subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id') || null });
    if (m.info.pending === 0) break;
  }
  return out;
}

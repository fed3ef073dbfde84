// Test and bench helpers: the EVENTS stream and canon messages published the way the relay will
// publish them (scene subject, JSON payload, Nats-Msg-Id), straight into real JetStream.
import { jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { CanonMessage, RetentionClass } from '../../canon.ts';
import { canonSubject, EVENTS_STREAM, EVENTS_SUBJECTS } from '../../subject.ts';

export async function ensureEventsStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(EVENTS_STREAM);
  } catch {
    await jsm.streams.add({ name: EVENTS_STREAM, subjects: [EVENTS_SUBJECTS], duplicate_window: 120_000_000_000 });
  }
}

export function canonMessage(canonId: number, eventUid: string, participants: string[], retention: RetentionClass = 'standard', scene = 's1', district = 'd1'): CanonMessage {
  return {
    canonId,
    eventUid,
    district,
    scene,
    slot: null,
    participants,
    retention,
    body: { line: `canon ${canonId}` },
    createdAt: new Date().toISOString(),
  };
}

const encoder = new TextEncoder();

/** Publishes with the relay's dedup id; `msgId` other than the default simulates a re-send after the dedup window. */
export async function publishCanon(js: JetStreamClient, m: CanonMessage, msgId = `canon-${m.canonId}`): Promise<number> {
  const ack = await js.publish(canonSubject(`${m.eventUid}.${m.district}.${m.scene}`), encoder.encode(JSON.stringify(m)), { msgID: msgId });
  return ack.seq;
}

/** Publishes many with up to `inFlightMax` acks outstanding. */
export async function publishAll(js: JetStreamClient, ms: readonly CanonMessage[], inFlightMax = 512): Promise<void> {
  for (let i = 0; i < ms.length; i += inFlightMax) {
    await Promise.all(ms.slice(i, i + inFlightMax).map((m) => publishCanon(js, m)));
  }
}

export async function waitUntil(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 20_000, pollMs = 20): Promise<void> {
  const t0 = Date.now();
  const deadline = t0 + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
  if (process.env.NIMMER_DEBUG_WAITS) console.log(`waited ${Date.now() - t0} ms for ${what}`);
}

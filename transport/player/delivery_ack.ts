// Delivery acknowledgement (issue 6): after the SQLite transaction that applied an event's canon
// committed, the player tells the cluster — `POST /events/:uid/delivered` on any node with the
// canon ids of the event its store holds. The register records the player as delivered only when
// those ids cover every canon row of the event naming the player (409 `incomplete` otherwise:
// more canon is on its way, acknowledge again after the next apply). Idempotent: repeat freely.
import type { LocalStore } from './local_store.ts';

export type DeliveryAckAnswer = 'acked' | 'already' | 'late' | 'incomplete' | 'unknown' | 'not_participant' | 'unavailable';

export interface DeliveryAckOptions {
  /** Any node's (or the controller's) base URL. */
  readonly baseUrl: string;
  readonly timeoutMs?: number;
}

export async function acknowledgeDelivered(store: LocalStore, eventUid: string, o: DeliveryAckOptions): Promise<DeliveryAckAnswer> {
  // The acknowledgement must not run ahead of the disk: with synchronous=normal the last commits may still
  // be only in the OS cache, and a power loss would drop rows the cluster was told we hold.
  store.sync();
  const canonIds = store.canonIdsOf(eventUid);
  const res = await fetch(`${o.baseUrl}/events/${encodeURIComponent(eventUid)}/delivered`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ participant: store.playerId, canonIds }),
    signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
  }).catch(() => null);
  if (res === null) return 'unavailable';
  const body = (await res.json().catch(() => ({}))) as { result?: DeliveryAckAnswer };
  if (res.status === 200 && body.result !== undefined) return body.result;
  if (res.status === 409) return 'incomplete';
  if (res.status === 404) return 'unknown';
  if (res.status === 400) return 'not_participant';
  return 'unavailable';
}

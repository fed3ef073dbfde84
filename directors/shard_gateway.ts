// How a routine closes its event on the shard: propose the outcome (an idempotent Raft command),
// then close the event (remove it from the GM's active register). Injected, so a routine runs
// without a cluster in tests; the node wires the local proposer, tools the HTTP API.
import type { Outcome } from '../shards/index.ts';

export type GatewayResult = 'applied' | 'already' | 'unknown_event';

export interface OutcomeProposal {
  readonly shard: string;
  readonly eventUid: string;
  readonly outcome: Outcome;
  /** Stable per event, so a retried proposal is the same command (never applied twice). */
  readonly commandId: string;
  readonly term: number;
}

export interface ShardGateway {
  /** Applies the outcome; 'already' when it was applied before, 'unknown_event' when the event is gone. Throws when the shard is unavailable (the routine crashes and is restarted). */
  applyOutcome(p: OutcomeProposal): Promise<GatewayResult>;
  closeEvent(p: { shard: string; eventUid: string; commandId: string; term: number }): Promise<GatewayResult>;
}

/**
 * The HTTP API as a gateway: `POST /events/:uid/outcome` on any node (it forwards). The API has no
 * close route yet, so closing is a no-op here (the node wiring closes through its proposer).
 */
export function httpShardGateway(baseUrl: string, timeoutMs = 10_000): ShardGateway {
  return {
    async applyOutcome(p) {
      const res = await fetch(`${baseUrl}/events/${encodeURIComponent(p.eventUid)}/outcome`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': p.commandId },
        body: JSON.stringify({ outcome: p.outcome }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (res.status === 200) return 'applied';
      if (res.status === 409) return 'already';
      if (res.status === 404) return 'unknown_event';
      throw new Error(`POST /events/${p.eventUid}/outcome answered ${res.status}: ${(await res.text()).slice(0, 500)}; the routine retries`);
    },
    async closeEvent() {
      return 'already';
    },
  };
}

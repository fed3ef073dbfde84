// A ShardGateway that records what routines propose, with the GM state machine's answers (an
// outcome applies once; a closed event is unknown). For unit tests of routines without a cluster.
import type { GatewayResult, OutcomeProposal, ShardGateway } from '../shard_gateway.ts';

export class RecordingGateway implements ShardGateway {
  readonly outcomes = new Map<string, OutcomeProposal>();
  readonly closed = new Set<string>();
  readonly calls: string[] = [];
  failNextApply = 0;

  async applyOutcome(p: OutcomeProposal): Promise<GatewayResult> {
    this.calls.push(`apply ${p.eventUid} ${p.outcome} t${p.term}`);
    if (this.failNextApply > 0) {
      this.failNextApply--;
      throw new Error('injected: shard unavailable (503)');
    }
    if (this.closed.has(p.eventUid)) return 'unknown_event';
    if (this.outcomes.has(p.eventUid)) return 'already';
    this.outcomes.set(p.eventUid, p);
    return 'applied';
  }

  async closeEvent(p: { eventUid: string }): Promise<GatewayResult> {
    this.calls.push(`close ${p.eventUid}`);
    if (this.closed.has(p.eventUid)) return 'unknown_event';
    this.closed.add(p.eventUid);
    return 'applied';
  }
}

/** Resolves when `predicate` holds, polling every few ms; rejects after timeoutMs. */
export async function eventually(predicate: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

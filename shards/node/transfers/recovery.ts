// Recovery, run by the leader of every shard group on this node: no transfer stays in doubt
// because a driver died. As coordinator (source), a leader re-drives every in-doubt transfer no
// driver here is running; as participant (destination), a leader holding a prepare too long asks
// the coordinator for the decision (abort unless decided) and applies it. Timers are leader-local
// wall clock; a new leader starts counting afresh, which only delays recovery, never breaks it.
import { ABORT_REASONS, decisionOf, participantStep, type ParticipantRecord } from '../../../consensus/txn/index.ts';
import type { TransferPayload } from '../../index.ts';
import type { GmNode, NodeLogger } from '../gm_node.ts';
import type { TransferDriver } from './driver.ts';
import type { TransferSettings } from './settings.ts';
import type { ShardSteps } from './shard_steps.ts';

/** Participant asks in flight at once on this node. */
const ASKS_MAX = 64;

export class TransferRecovery {
  private timer: NodeJS.Timeout | undefined;
  private readonly firstSeenMs = new Map<string, number>();
  private readonly heldSinceMs = new Map<string, number>();
  private readonly asking = new Set<string>();

  constructor(
    private readonly node: GmNode,
    private readonly driver: TransferDriver,
    private readonly steps: ShardSteps,
    private readonly settings: TransferSettings,
    private readonly log: NodeLogger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.scan(), this.settings.recoveryEveryMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  scan(): void {
    const now = performance.now();
    const seen = new Set<string>();
    const held = new Set<string>();
    for (const shardId of this.node.hostedShardIds()) {
      const shard = this.node.hostedShard(shardId);
      if (!shard || shard.closed || !this.node.raft.hasGroup(shard.record.groupId)) continue;
      if (this.node.raft.status(shard.record.groupId).role !== 'leader') continue;
      const tables = shard.sm.transferTables;
      for (const rec of tables.coordinator.inDoubt()) {
        seen.add(rec.id);
        const first = this.since(this.firstSeenMs, rec.id, now);
        if (!this.driver.isRunning(rec.id) && now - first >= this.settings.redriveAfterMs) this.driver.resume(rec, now - first);
      }
      for (const p of tables.participant.prepared()) {
        held.add(p.id);
        const since = this.since(this.heldSinceMs, p.id, now);
        if (participantStep(p, now - since, this.settings).kind === 'ask' && !this.asking.has(p.id) && this.asking.size < ASKS_MAX) void this.ask(shardId, p);
      }
    }
    for (const id of this.firstSeenMs.keys()) if (!seen.has(id)) this.firstSeenMs.delete(id);
    for (const id of this.heldSinceMs.keys()) if (!held.has(id)) this.heldSinceMs.delete(id);
  }

  private since(map: Map<string, number>, id: string, now: number): number {
    let t = map.get(id);
    if (t === undefined) map.set(id, (t = now));
    return t;
  }

  /** Asks the source for the decision (recording abort if there is none yet) and applies it here. */
  private async ask(shardId: string, p: ParticipantRecord<TransferPayload>): Promise<void> {
    this.asking.add(p.id);
    try {
      const r = await this.steps.propose(p.payload!.from.shard, { type: 'txDecide', commandId: `tx-ask-${p.id}`, transferId: p.id, decision: 'abort', reason: ABORT_REASONS.participantTimeout });
      if (!(r.ok && r.type === 'txCoordinator')) return;
      const decision = decisionOf(r.record);
      if (decision === null) throw new Error(`invariant: transfer '${p.id}' still undecided after a decide`);
      await this.steps.propose(shardId, { type: 'txFinish', commandId: `tx-finish-${p.id}`, transferId: p.id, decision, reason: r.record.reason });
      this.log.info({ transfer: p.id, shard: shardId, decision }, 'destination resolved a held transfer by asking its source');
    } catch (e) {
      this.log.warn({ transfer: p.id, err: (e as Error).message }, 'asking the source of a held transfer failed; will retry');
    } finally {
      this.asking.delete(p.id);
    }
  }
}

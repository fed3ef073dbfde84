// What transfer commands do to a shard's axes. The protocol (records, decisions, idempotency,
// bounds) is consensus/txn's; this file supplies the GM meaning: the source holds the amount
// until the decision (so concurrent transfers cannot overdraw), the destination reserves headroom
// for the credit (so a commit never pushes it past its maximum), a commit moves the value.
//
// Holds are not stored per axis: they are the sums over the in-doubt records, so they travel in
// snapshots with the records and can never drift from them. An axis always satisfies
//   min + heldOut(axis) ≤ value ≤ max − heldIn(axis)
// and every command that moves a value keeps it so (setAxis/casAxis refuse, outcomes clamp).

import { CoordinatorTable, ParticipantTable, type CoordinatorRecord, type ParticipantRecord, type Vote } from '../consensus/txn/index.ts';
import { canonicalJson } from './canonical_json.ts';
import type { GmResult, TransferPayload, TransferRefused, TxCommand } from './commands.ts';
import { clamp } from './equilibrium.ts';
import type { AxisState } from './gm_state.ts';

export const TRANSFER_REASONS = {
  insufficientFunds: 'insufficient_funds',
  exceedsMax: 'exceeds_max',
  unknownAxis: 'unknown_axis',
} as const;

/** The shard a transfer command applies to: its id, catalogue version and (mutable) axes. */
export interface ShardAxes {
  readonly shardId: string;
  readonly catalogueVersion: number;
  readonly axes: Map<string, AxisState>;
}

export interface TransferTablesLimits {
  readonly inDoubtMax: number;
  readonly finishedMax: number;
}

/** The snapshot form of both tables (plain JSON). */
export interface TransferTablesState {
  readonly coordinator: { readonly live: readonly CoordinatorRecord<TransferPayload>[]; readonly finished: readonly CoordinatorRecord<TransferPayload>[] };
  readonly participant: { readonly live: readonly ParticipantRecord<TransferPayload>[]; readonly finished: readonly ParticipantRecord<TransferPayload>[] };
}

export function emptyTransferTables(): TransferTablesState {
  return { coordinator: { live: [], finished: [] }, participant: { live: [], finished: [] } };
}

const samePayload = (a: TransferPayload, b: TransferPayload) => canonicalJson(a) === canonicalJson(b);

export class GmTransfers {
  readonly coordinator: CoordinatorTable<TransferPayload>;
  readonly participant: ParticipantTable<TransferPayload>;

  constructor(limits: TransferTablesLimits) {
    this.coordinator = new CoordinatorTable<TransferPayload>(limits, samePayload);
    this.participant = new ParticipantTable<TransferPayload>(limits, samePayload);
  }

  /** Held by outgoing transfers still preparing (not yet debited). */
  heldOut(axis: string): number {
    let sum = 0;
    for (const r of this.coordinator.inDoubt()) if (r.phase === 'preparing' && r.payload!.from.axis === axis) sum += r.payload!.amount;
    return sum;
  }

  /** Reserved by incoming transfers prepared here (not yet credited). */
  heldIn(axis: string): number {
    let sum = 0;
    for (const r of this.participant.prepared()) if (r.payload!.to.axis === axis) sum += r.payload!.amount;
    return sum;
  }

  /** The range a write may move the axis within without breaking a hold. */
  writableRange(id: string, a: AxisState): { low: number; high: number } {
    return { low: a.min + this.heldOut(id), high: a.max - this.heldIn(id) };
  }

  toJSON(): TransferTablesState {
    return { coordinator: this.coordinator.toJSON(), participant: this.participant.toJSON() };
  }

  load(state: TransferTablesState): void {
    this.coordinator.load(state.coordinator);
    this.participant.load(state.participant);
  }

  apply(cmd: TxCommand, axes: ShardAxes, index: number): GmResult {
    const v = axes.catalogueVersion;
    const refuse = (code: TransferRefused['code'], message: string): TransferRefused => ({ ok: false, code, message, transferId: cmd.transferId, catalogueVersion: v });
    const wrongShard = (role: string, shard: string) => refuse('txn_wrong_shard', `transfer '${cmd.transferId}' has ${role} shard '${shard}', not '${axes.shardId}'; send it to that shard`);
    switch (cmd.type) {
      case 'txBegin': {
        const t = cmd.transfer;
        if (t.from.shard !== axes.shardId) return wrongShard('source', t.from.shard);
        const r = this.coordinator.begin(cmd.transferId, t, index, this.sourceVote(axes, t));
        if (r.kind === 'busy') return refuse('txn_busy', `shard '${axes.shardId}' has ${r.inDoubt} transfers in doubt (at most ${this.coordinator.limits.inDoubtMax}); nothing was recorded, retry later`);
        if (r.kind === 'conflict') return refuse('txn_conflict', `transfer id '${cmd.transferId}' was already used for another transfer; use a new id`);
        return { ok: true, type: 'txCoordinator', transferId: cmd.transferId, outcome: r.kind, record: r.record, catalogueVersion: v };
      }
      case 'txPrepare': {
        const t = cmd.transfer;
        if (t.to.shard !== axes.shardId) return wrongShard('destination', t.to.shard);
        const r = this.participant.prepare(cmd.transferId, t, index, this.destinationVote(axes, t));
        if (r.kind === 'conflict') return refuse('txn_conflict', `transfer id '${cmd.transferId}' was already prepared for another transfer`);
        return { ok: true, type: 'txParticipant', transferId: cmd.transferId, outcome: r.kind, record: r.record, catalogueVersion: v };
      }
      case 'txDecide': {
        const r = this.coordinator.decide(cmd.transferId, cmd.decision, cmd.reason, index);
        if (r.kind === 'unknown') return refuse('txn_unknown', `no transfer '${cmd.transferId}' on shard '${axes.shardId}' to commit`);
        if (r.kind === 'decided' && r.record.phase === 'committed') this.move(axes, r.record.payload!.from.axis, -r.record.payload!.amount);
        return { ok: true, type: 'txCoordinator', transferId: cmd.transferId, outcome: r.kind, record: r.record, catalogueVersion: v };
      }
      case 'txFinish': {
        const r = this.participant.finish(cmd.transferId, cmd.decision, cmd.reason, index);
        if (r.kind === 'unknown') return refuse('txn_unknown', `no prepared transfer '${cmd.transferId}' on shard '${axes.shardId}' to commit`);
        if (r.kind === 'contradiction') return refuse('txn_contradiction', `transfer '${cmd.transferId}' already finished as ${r.record.phase} here; it cannot ${cmd.decision}`);
        if (r.kind === 'applied' && r.record.phase === 'committed') this.move(axes, r.record.payload!.to.axis, r.record.payload!.amount);
        return { ok: true, type: 'txParticipant', transferId: cmd.transferId, outcome: r.kind, record: r.record, catalogueVersion: v };
      }
      case 'txDone': {
        const r = this.coordinator.participantDone(cmd.transferId);
        if (r.kind === 'unknown') return refuse('txn_unknown', `no transfer '${cmd.transferId}' on shard '${axes.shardId}'`);
        if (r.kind === 'undecided') return refuse('txn_contradiction', `transfer '${cmd.transferId}' is not decided yet; its destination cannot have applied it`);
        return { ok: true, type: 'txCoordinator', transferId: cmd.transferId, outcome: r.kind, record: r.record, catalogueVersion: v };
      }
      case 'txLocal': {
        const t = cmd.transfer;
        if (t.from.shard !== axes.shardId) return wrongShard('source', t.from.shard);
        if (t.to.shard !== axes.shardId) return wrongShard('destination', t.to.shard);
        if (t.from.axis === t.to.axis) return { ok: false, code: 'invalid', message: `a transfer from axis '${t.from.axis}' to itself moves nothing`, catalogueVersion: v };
        const out = this.sourceVote(axes, t);
        const r = this.coordinator.recordLocal(cmd.transferId, t, index, out.yes ? this.destinationVote(axes, t) : out);
        if (r.kind === 'conflict') return refuse('txn_conflict', `transfer id '${cmd.transferId}' was already used for another transfer; use a new id`);
        if (r.kind === 'busy') throw new Error('invariant: a local transfer is never in doubt, so never busy');
        if (r.kind === 'begun' && r.record.phase === 'committed') {
          this.move(axes, t.from.axis, -t.amount);
          this.move(axes, t.to.axis, t.amount);
        }
        return { ok: true, type: 'txCoordinator', transferId: cmd.transferId, outcome: r.kind, record: r.record, catalogueVersion: v };
      }
    }
  }

  private sourceVote(axes: ShardAxes, t: TransferPayload): Vote {
    const a = axes.axes.get(t.from.axis);
    if (a === undefined) return { yes: false, reason: TRANSFER_REASONS.unknownAxis };
    if (a.value - this.heldOut(t.from.axis) - t.amount < a.min) return { yes: false, reason: TRANSFER_REASONS.insufficientFunds };
    return { yes: true };
  }

  private destinationVote(axes: ShardAxes, t: TransferPayload): Vote {
    const a = axes.axes.get(t.to.axis);
    if (a === undefined) return { yes: false, reason: TRANSFER_REASONS.unknownAxis };
    if (a.value + this.heldIn(t.to.axis) + t.amount > a.max) return { yes: false, reason: TRANSFER_REASONS.exceedsMax };
    return { yes: true };
  }

  private move(axes: ShardAxes, id: string, delta: number): void {
    const a = axes.axes.get(id);
    if (a === undefined) throw new Error(`invariant: transfer moves axis '${id}', which shard '${axes.shardId}' does not have (axes are never removed)`);
    // Holds keep a move within [min, max]; only a catalogue narrowing the range below what is held
    // can defeat that, and then the value is clamped (a replica that threw here would throw on
    // every replay of this entry and never come back).
    axes.axes.set(id, { ...a, value: clamp(a.value + delta, a.min, a.max) });
  }
}

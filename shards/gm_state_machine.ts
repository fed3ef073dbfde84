// The GM state machine of one shard (one Raft group per shard): what each committed command does
// to the shard's equilibrium and its register of active events.
//
// Deterministic: the result of a command depends only on the state and the entry (index, bytes),
// so every replica computes the same result and the same next state. It never throws on a bad
// command — a command that does not decode or validate becomes an `invalid` result — because a
// throwing state machine stops the node. It throws only on a broken invariant (a runtime bug).

import { newEventUid } from '../catalogue/index.ts';
import type { AppliedCommand, StateMachine } from '../consensus/runtime/index.ts';
import { canonicalJsonSpliced, SPLICE } from './canonical_json.ts';
import {
  entryFingerprint,
  decodeGmCommand,
  type ApplyOutcomeCommand,
  type AxisDefinition,
  type CasAxisCommand,
  type CloseEventCommand,
  type ErrorCode,
  type GmCommand,
  type GmError,
  type GmResult,
  type InitCommand,
  type ProposeEventCommand,
  type SetAxisCommand,
  type SetCatalogueVersionCommand,
  type SetTargetCommand,
  type TxCommand,
  TX_COMMAND_TYPES,
} from './commands.ts';
import { GmTransfers } from './gm_transfers.ts';
import { DedupTable, dedupRowsSchema } from './dedup_table.ts';
import { applyEffects, clamp, deviation, OUTCOME_EFFECT_SCALE } from './equilibrium.ts';
import { emptyGmState, GmStateSchema, type ActiveEvent, type AxisState, type GmState } from './gm_state.ts';
import { shardLimits } from './limits.ts';
import { OutcomeRecords, OutcomeRecordsSnapshotSchema, type OutcomeRecord } from './outcome_records.ts';
import { z } from 'zod';

export interface GmStateMachineOptions {
  /** Remembered command ids (default shardLimits.dedupEntriesMax). Must be equal on every replica. */
  readonly dedupEntriesMax?: number;
  /** Events the register may hold at once (default shardLimits.activeEventsMax). Equal on every replica. */
  readonly activeEventsMax?: number;
  /** Transfers in doubt per table (default shardLimits.transfersInDoubtMax). Equal on every replica. */
  readonly transfersInDoubtMax?: number;
  /** Finished transfers remembered per table (default shardLimits.transfersFinishedMax). Equal on every replica. */
  readonly transfersFinishedMax?: number;
  /** Outcome applications remembered per event (default shardLimits.outcomeRecordsMax, FIFO). Equal on every replica. */
  readonly outcomeRecordsMax?: number;
}

const isTxCommand = (cmd: GmCommand): cmd is TxCommand => (TX_COMMAND_TYPES as readonly string[]).includes(cmd.type);

/** What `GET /shards/:shard/equilibrium` shows, minus the Raft term and index the node adds. */
export interface EquilibriumView {
  readonly shardId: string | null;
  readonly catalogueVersion: number;
  readonly axes: Readonly<Record<string, AxisState>>;
  readonly deviation: number;
  readonly activeEvents: number;
  readonly closedCount: number;
  /** Outcome applications that took effect on this shard, ever. */
  readonly outcomesApplied: number;
}

const SnapshotSchema = z.strictObject({
  format: z.literal('nimmer/gm-state/v1'),
  state: GmStateSchema,
  dedup: dedupRowsSchema(z.looseObject({ ok: z.boolean() })),
  // Absent in snapshots written before outcome applications were recorded: restored as none.
  outcomes: OutcomeRecordsSnapshotSchema.optional(),
});

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export class GmStateMachine implements StateMachine<GmResult> {
  private readonly dedupEntriesMax: number;
  private readonly activeEventsMax: number;
  private shardId: string | null = null;
  private groupId: number | null = null;
  private catalogueVersion = 0;
  // Maps, not records: ids like 'constructor' are valid and must not meet Object.prototype.
  private axes = new Map<string, AxisState>();
  private active = new Map<string, ActiveEvent>();
  private closedCount = 0;
  private appliedIndex = 0;
  private dedup: DedupTable<GmResult>;
  private readonly outcomeRecordsMax: number;
  private outcomes: OutcomeRecords;
  private readonly transferLimits: { inDoubtMax: number; finishedMax: number };
  private transfers: GmTransfers;

  constructor(options: GmStateMachineOptions = {}) {
    this.dedupEntriesMax = options.dedupEntriesMax ?? shardLimits.dedupEntriesMax;
    this.activeEventsMax = options.activeEventsMax ?? shardLimits.activeEventsMax;
    this.dedup = new DedupTable<GmResult>(this.dedupEntriesMax);
    this.outcomeRecordsMax = options.outcomeRecordsMax ?? shardLimits.outcomeRecordsMax;
    this.outcomes = new OutcomeRecords(this.outcomeRecordsMax);
    this.transferLimits = {
      inDoubtMax: options.transfersInDoubtMax ?? shardLimits.transfersInDoubtMax,
      finishedMax: options.transfersFinishedMax ?? shardLimits.transfersFinishedMax,
    };
    this.transfers = new GmTransfers(this.transferLimits);
  }

  apply(entry: AppliedCommand): GmResult {
    if (!(entry.index > this.appliedIndex)) {
      throw new Error(`invariant: GM state machine applied index ${entry.index} after ${this.appliedIndex}; entries must arrive in log order`);
    }
    this.appliedIndex = entry.index;
    const decoded = decodeGmCommand(entry.data);
    // Without a valid command there is no trustworthy commandId to remember: refuse, change nothing.
    if (!decoded.ok) return this.error('invalid', decoded.message);
    const cmd = decoded.command;
    // Transfer commands are idempotent by transfer id through the transfer tables (bounded
    // separately), so they do not churn the command dedup table.
    if (isTxCommand(cmd)) return this.decide(cmd, entry.index);
    const fingerprint = entryFingerprint(decoded);
    const seen = this.dedup.get(cmd.commandId);
    if (seen !== undefined) {
      if (seen.fingerprint === fingerprint) return this.dedup.resultOf(seen);
      return this.error('conflict', `commandId '${cmd.commandId}' was already used for a different command; use a new id for a new command`);
    }
    const result = this.decide(cmd, entry.index);
    // Recorded as canonical JSON: what the caller does with its result cannot change what a retry gets.
    this.dedup.record(cmd.commandId, fingerprint, result);
    return result;
  }

  snapshot(): Uint8Array {
    return canonicalJsonSpliced({ format: 'nimmer/gm-state/v1', state: this.state(), dedup: SPLICE, outcomes: this.outcomes.toJSON() }, [this.dedup.toCanonicalBytes()]);
  }

  /** Replaces the whole state; empty bytes mean the initial state. Throws on a corrupt snapshot. */
  restore(data: Uint8Array): void {
    if (data.byteLength === 0) {
      this.load(emptyGmState(), [], undefined);
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(utf8Decoder.decode(data));
    } catch (e) {
      throw new Error(`GM snapshot is not UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    const parsed = SnapshotSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`GM snapshot is invalid: ${z.prettifyError(parsed.error)}`);
    this.load(parsed.data.state as GmState, parsed.data.dedup as unknown as [string, string, GmResult][], parsed.data.outcomes);
  }

  /** A copy of the whole state (plain JSON data). */
  state(): GmState {
    const copy = structuredClone({
      shardId: this.shardId,
      groupId: this.groupId,
      catalogueVersion: this.catalogueVersion,
      axes: Object.fromEntries(this.axes),
      active: Object.fromEntries(this.active),
      closedCount: this.closedCount,
      appliedIndex: this.appliedIndex,
    });
    // Transfer records are never mutated (a transition replaces the record), so fresh arrays of
    // them are a copy; this keeps state() cheap with thousands of remembered transfers.
    return { ...copy, transfers: this.transfers.toJSON() };
  }

  equilibrium(): EquilibriumView {
    const axes = Object.fromEntries([...this.axes].map(([id, a]) => [id, { ...a }]));
    return {
      shardId: this.shardId,
      catalogueVersion: this.catalogueVersion,
      axes,
      deviation: deviation(axes),
      activeEvents: [...this.active.values()].filter((e) => e.status === 'active').length,
      closedCount: this.closedCount,
      outcomesApplied: this.outcomes.appliedTotal,
    };
  }

  /** How the event's outcome took effect (how many times, how each axis moved); undefined: never applied, or forgotten (FIFO). */
  outcomeRecord(eventUid: string): OutcomeRecord | undefined {
    return this.outcomes.get(eventUid);
  }

  /** Outcome records applied after the Raft index, in application order, at most `limit`. */
  outcomeRecordsAfter(index: number, limit: number): Array<[eventUid: string, record: OutcomeRecord]> {
    return this.outcomes.after(index, limit);
  }

  /** Cheap views for hot paths (no copy of the whole state). */
  get applied(): number {
    return this.appliedIndex;
  }

  get initializedShardId(): string | null {
    return this.shardId;
  }

  get version(): number {
    return this.catalogueVersion;
  }

  axis(id: string): AxisState | undefined {
    const a = this.axes.get(id);
    return a === undefined ? undefined : { ...a };
  }

  event(uid: string): ActiveEvent | undefined {
    const e = this.active.get(uid);
    return e === undefined ? undefined : structuredClone(e);
  }

  /** Commands remembered for idempotent retries. */
  get dedupSize(): number {
    return this.dedup.size;
  }

  private load(state: GmState, dedupRows: readonly (readonly [string, string, GmResult])[], outcomes: z.infer<typeof OutcomeRecordsSnapshotSchema> | undefined): void {
    this.shardId = state.shardId;
    this.groupId = state.groupId;
    this.catalogueVersion = state.catalogueVersion;
    this.axes = new Map(Object.entries(state.axes));
    this.active = new Map(Object.entries(state.active));
    this.closedCount = state.closedCount;
    this.appliedIndex = state.appliedIndex;
    this.dedup = DedupTable.fromJSON(this.dedupEntriesMax, dedupRows);
    this.outcomes = OutcomeRecords.fromJSON(this.outcomeRecordsMax, outcomes);
    this.transfers = new GmTransfers(this.transferLimits);
    this.transfers.load(state.transfers);
  }

  private decide(cmd: GmCommand, index: number): GmResult {
    if (cmd.type === 'init') return this.init(cmd);
    if (this.shardId === null) return this.error('conflict', `the shard is not initialized; apply an init command first (got ${cmd.type})`);
    switch (cmd.type) {
      case 'setAxis':
        return this.setAxis(cmd);
      case 'casAxis':
        return this.casAxis(cmd);
      case 'setTarget':
        return this.setTarget(cmd);
      case 'proposeEvent':
        return this.proposeEvent(cmd, index);
      case 'applyOutcome':
        return this.applyOutcome(cmd, index);
      case 'closeEvent':
        return this.closeEvent(cmd);
      case 'setCatalogueVersion':
        return this.setCatalogueVersion(cmd);
      case 'txBegin':
      case 'txPrepare':
      case 'txDecide':
      case 'txFinish':
      case 'txDone':
      case 'txLocal':
        return this.transfers.apply(cmd, { shardId: this.shardId, catalogueVersion: this.catalogueVersion, axes: this.axes }, index);
    }
  }

  private init(cmd: InitCommand): GmResult {
    if (this.shardId !== null) {
      const sameGroup = cmd.groupId === undefined || cmd.groupId === this.groupId;
      if (cmd.shardId === this.shardId && sameGroup) {
        // Initialising twice is harmless: the node process may send init on every start.
        return { ok: true, type: 'init', shardId: this.shardId, initialized: false, catalogueVersion: this.catalogueVersion };
      }
      return this.error(
        'conflict',
        `this group already holds shard '${this.shardId}' (group ${this.groupId ?? 'unknown'}); it cannot become '${cmd.shardId}' (group ${cmd.groupId ?? 'unknown'})`,
      );
    }
    this.shardId = cmd.shardId;
    this.groupId = cmd.groupId ?? null;
    this.catalogueVersion = cmd.catalogueVersion;
    this.axes = new Map(cmd.axes.map((a) => [a.id, axisFrom(a)]));
    return { ok: true, type: 'init', shardId: cmd.shardId, initialized: true, catalogueVersion: this.catalogueVersion };
  }

  private setAxis(cmd: SetAxisCommand): GmResult {
    const axis = this.axes.get(cmd.axis);
    if (axis === undefined) return this.unknownAxis('not_found', cmd.axis);
    const bad = this.outOfBounds(cmd.axis, 'value', cmd.value, axis) ?? this.breaksHolds(cmd.axis, cmd.value, axis);
    if (bad) return bad;
    this.axes.set(cmd.axis, { ...axis, value: cmd.value });
    return { ok: true, type: 'setAxis', axis: cmd.axis, value: cmd.value, previous: axis.value, catalogueVersion: this.catalogueVersion };
  }

  private casAxis(cmd: CasAxisCommand): GmResult {
    const axis = this.axes.get(cmd.axis);
    // The API answers a CAS on a missing axis with 409: the precondition "axis = expect" fails.
    if (axis === undefined) return this.unknownAxis('conflict', cmd.axis);
    const bad = this.outOfBounds(cmd.axis, 'value', cmd.value, axis);
    if (bad) return bad;
    if (axis.value !== cmd.expect) {
      return {
        ok: false,
        code: 'cas_failed',
        message: `axis '${cmd.axis}' is ${axis.value}, not the expected ${cmd.expect}; nothing changed`,
        axis: cmd.axis,
        value: axis.value,
        catalogueVersion: this.catalogueVersion,
      };
    }
    const held = this.breaksHolds(cmd.axis, cmd.value, axis);
    if (held) return held;
    this.axes.set(cmd.axis, { ...axis, value: cmd.value });
    return { ok: true, type: 'casAxis', axis: cmd.axis, value: cmd.value, catalogueVersion: this.catalogueVersion };
  }

  private setTarget(cmd: SetTargetCommand): GmResult {
    const axis = this.axes.get(cmd.axis);
    if (axis === undefined) return this.unknownAxis('not_found', cmd.axis);
    const bad = this.outOfBounds(cmd.axis, 'target', cmd.target, axis);
    if (bad) return bad;
    this.axes.set(cmd.axis, { ...axis, target: cmd.target });
    return { ok: true, type: 'setTarget', axis: cmd.axis, target: cmd.target, previous: axis.target, catalogueVersion: this.catalogueVersion };
  }

  private proposeEvent(cmd: ProposeEventCommand, index: number): GmResult {
    if (this.active.size >= this.activeEventsMax) {
      return this.error('conflict', `the register already holds ${this.active.size} events (at most ${this.activeEventsMax}); close events before proposing more`);
    }
    if (cmd.effects !== undefined) {
      const unknown = this.unknownAxes(cmd.effects);
      if (unknown) return unknown;
    }
    // A group id is never reused, so it keeps UIDs unique even if a shard id is.
    const seedId = this.groupId === null ? this.shardId! : `${this.shardId!}@${this.groupId}`;
    const eventUid = newEventUid({ shardId: seedId, logIndex: index });
    if (this.active.has(eventUid)) throw new Error(`invariant: event UID '${eventUid}' derived twice (index ${index})`);
    const event: ActiveEvent = {
      template: cmd.template,
      district: cmd.district,
      participants: [...cmd.participants],
      source: cmd.source,
      proposedAtIndex: index,
      status: 'active',
      catalogueVersion: this.catalogueVersion,
      ...(cmd.effects === undefined ? {} : { effects: { ...cmd.effects } }),
    };
    this.active.set(eventUid, event);
    return { ok: true, type: 'proposeEvent', eventUid, event: structuredClone(event), catalogueVersion: this.catalogueVersion };
  }

  private applyOutcome(cmd: ApplyOutcomeCommand, index: number): GmResult {
    const event = this.active.get(cmd.eventUid);
    if (event === undefined) return this.error('not_found', `no event '${cmd.eventUid}' in the register of shard '${this.shardId}' (never proposed, or already closed)`);
    if (event.status === 'resolved') {
      return this.error('conflict', `event '${cmd.eventUid}' already had its outcome '${event.outcome}' applied at index ${event.resolvedAtIndex}; an outcome applies once`);
    }
    const effects = cmd.effects ?? event.effects;
    if (effects === undefined) {
      return this.error('invalid', `event '${cmd.eventUid}' was proposed without effects; pass the template's effects with the outcome`);
    }
    const unknown = this.unknownAxes(effects);
    if (unknown) return unknown;
    const before = Object.fromEntries(this.axes);
    const after = applyEffects(before, effects, OUTCOME_EFFECT_SCALE[cmd.outcome]);
    const moved: Record<string, AxisState> = {};
    const movedValues: Record<string, { before: number; after: number }> = {};
    for (const id of Object.keys(effects).sort()) {
      // An outcome moves an axis only as far as in-doubt transfers leave it room.
      const { low, high } = this.transfers.writableRange(id, before[id]!);
      this.axes.set(id, { ...after[id]!, value: clamp(after[id]!.value, low, high) });
      moved[id] = { ...this.axes.get(id)! };
      movedValues[id] = { before: before[id]!.value, after: moved[id].value };
    }
    this.active.set(cmd.eventUid, { ...event, status: 'resolved', outcome: cmd.outcome, resolvedAtIndex: index });
    // Counted here, where the equilibrium moved: the one place an outcome takes effect.
    this.outcomes.recordApplied(cmd.eventUid, cmd.outcome, index, movedValues);
    return { ok: true, type: 'applyOutcome', eventUid: cmd.eventUid, outcome: cmd.outcome, axes: moved, catalogueVersion: this.catalogueVersion };
  }

  private closeEvent(cmd: CloseEventCommand): GmResult {
    const event = this.active.get(cmd.eventUid);
    if (event === undefined) return this.error('not_found', `no event '${cmd.eventUid}' in the register of shard '${this.shardId}' (never proposed, or already closed)`);
    this.active.delete(cmd.eventUid);
    this.closedCount++;
    return { ok: true, type: 'closeEvent', eventUid: cmd.eventUid, outcome: event.outcome ?? null, catalogueVersion: this.catalogueVersion };
  }

  private setCatalogueVersion(cmd: SetCatalogueVersionCommand): GmResult {
    if (cmd.version < this.catalogueVersion) {
      return this.error('conflict', `the shard already uses catalogue version ${this.catalogueVersion}; it does not go back to ${cmd.version}`);
    }
    if (cmd.version === this.catalogueVersion) {
      return { ok: true, type: 'setCatalogueVersion', previousVersion: this.catalogueVersion, added: [], clamped: [], catalogueVersion: this.catalogueVersion };
    }
    const added = cmd.axes.filter((a) => !this.axes.has(a.id)).map((a) => a.id);
    if (this.axes.size + added.length > shardLimits.axesMax) {
      return this.error('invalid', `catalogue version ${cmd.version} would give the shard ${this.axes.size + added.length} axes; at most ${shardLimits.axesMax}`);
    }
    // Existing axes keep their value and the shard's target; they take the new range and
    // tolerance, and what falls outside the new range is clamped into it.
    const next = new Map(this.axes);
    const clamped: string[] = [];
    for (const def of cmd.axes) {
      const old = this.axes.get(def.id);
      if (old === undefined) {
        next.set(def.id, axisFrom(def));
        continue;
      }
      // Where the new range allows, keep room for the transfers in doubt (see gm_transfers.ts).
      const held = this.transfers.writableRange(def.id, { ...old, min: def.min, max: def.max });
      const value = held.low <= held.high ? clamp(old.value, held.low, held.high) : clamp(old.value, def.min, def.max);
      const target = clamp(old.target, def.min, def.max);
      if (value !== old.value || target !== old.target) clamped.push(def.id);
      next.set(def.id, { value, target, tolerance: def.tolerance, min: def.min, max: def.max });
    }
    const previousVersion = this.catalogueVersion;
    this.axes = next;
    this.catalogueVersion = cmd.version;
    return { ok: true, type: 'setCatalogueVersion', previousVersion, added: added.sort(), clamped: clamped.sort(), catalogueVersion: this.catalogueVersion };
  }

  private outOfBounds(axisId: string, what: 'value' | 'target', v: number, axis: AxisState): GmError | undefined {
    if (v >= axis.min && v <= axis.max) return undefined;
    return this.error('invalid', `${what} ${v} is outside axis '${axisId}' range [${axis.min}, ${axis.max}]; nothing changed`);
  }

  private breaksHolds(axisId: string, v: number, axis: AxisState): GmError | undefined {
    const { low, high } = this.transfers.writableRange(axisId, axis);
    if (v >= low && v <= high) return undefined;
    return this.error('conflict', `axis '${axisId}' has transfers in doubt: it must stay within [${low}, ${high}] until they are decided; ${v} is outside, nothing changed`);
  }

  /** The transfer tables, read-only for the node (status queries, re-driving in-doubt transfers). */
  get transferTables(): Pick<GmTransfers, 'coordinator' | 'participant' | 'heldOut' | 'heldIn'> {
    return this.transfers;
  }

  private unknownAxis(code: ErrorCode, axisId: string): GmError {
    return this.error(code, `shard '${this.shardId}' has no axis '${axisId}'; its axes are ${[...this.axes.keys()].sort().join(', ')}`);
  }

  private unknownAxes(effects: Readonly<Record<string, number>>): GmError | undefined {
    const unknown = Object.keys(effects).filter((id) => !this.axes.has(id)).sort();
    if (unknown.length === 0) return undefined;
    return this.error('invalid', `effects name axes shard '${this.shardId}' does not have: ${unknown.join(', ')}`);
  }

  private error(code: ErrorCode, message: string): GmError {
    return { ok: false, code, message, catalogueVersion: this.catalogueVersion };
  }
}

function axisFrom(def: AxisDefinition): AxisState {
  return { value: def.value ?? def.target, target: def.target, tolerance: def.tolerance, min: def.min, max: def.max };
}

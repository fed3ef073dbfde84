// The state of one shard's GM: its equilibrium axes and its register of active events. Plain
// JSON data, so a snapshot is its canonical encoding and equilibrium.ts can reason over it.

import { z } from 'zod';
import { coordinatorRecordSchema, participantRecordSchema, tableRowsSchema } from '../consensus/txn/index.ts';
import { EffectsSchema, EVENT_SOURCES, OUTCOMES, TransferPayloadSchema, type EventSource, type Outcome } from './commands.ts';
import { emptyTransferTables, type TransferTablesState } from './gm_transfers.ts';

/** One axis of the equilibrium: the value, where the GM wants it, and the slack it allows. */
export interface AxisState {
  readonly value: number;
  readonly target: number;
  readonly tolerance: number;
  readonly min: number;
  readonly max: number;
}

export const EVENT_STATUSES = ['active', 'resolved'] as const;
/** `active`: proposed and committed, outcome pending; `resolved`: its outcome has been applied. */
export type EventStatus = (typeof EVENT_STATUSES)[number];

export interface ActiveEvent {
  readonly template: string;
  readonly district: string;
  readonly participants: readonly string[];
  readonly source: EventSource;
  readonly proposedAtIndex: number;
  readonly status: EventStatus;
  /** The catalogue version the event was proposed under. */
  readonly catalogueVersion: number;
  /** The template's full-success effects, as proposed. */
  readonly effects?: Readonly<Record<string, number>>;
  readonly outcome?: Outcome;
  readonly resolvedAtIndex?: number;
}

export interface GmState {
  /** null until the init command. */
  readonly shardId: string | null;
  readonly groupId: number | null;
  /** 0 until init. */
  readonly catalogueVersion: number;
  readonly axes: Readonly<Record<string, AxisState>>;
  readonly active: Readonly<Record<string, ActiveEvent>>;
  /** Events removed from the register by closeEvent, ever. */
  readonly closedCount: number;
  /** Cross-shard transfers this shard coordinates (as source) or takes part in (as destination). */
  readonly transfers: TransferTablesState;
  /** The Raft index of the last applied command (0: none). */
  readonly appliedIndex: number;
}

export function emptyGmState(): GmState {
  return { shardId: null, groupId: null, catalogueVersion: 0, axes: {}, active: {}, closedCount: 0, transfers: emptyTransferTables(), appliedIndex: 0 };
}

const finite = z.number();
const index = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const AxisStateSchema = z
  .strictObject({ value: finite, target: finite, tolerance: finite.min(0), min: finite, max: finite })
  .refine((a) => a.min < a.max && a.value >= a.min && a.value <= a.max && a.target >= a.min && a.target <= a.max, 'axis out of its own bounds');

export const ActiveEventSchema = z.strictObject({
  template: z.string().min(1),
  district: z.string().min(1),
  participants: z.array(z.string()),
  source: z.enum(EVENT_SOURCES),
  proposedAtIndex: index.min(1),
  status: z.enum(EVENT_STATUSES),
  catalogueVersion: index,
  effects: EffectsSchema.optional(),
  outcome: z.enum(OUTCOMES).optional(),
  resolvedAtIndex: index.optional(),
});

export const GmStateSchema = z.strictObject({
  shardId: z.string().min(1).nullable(),
  groupId: index.min(1).nullable(),
  catalogueVersion: index,
  axes: z.record(z.string(), AxisStateSchema),
  active: z.record(z.string(), ActiveEventSchema),
  closedCount: index,
  transfers: z.strictObject({
    coordinator: tableRowsSchema(coordinatorRecordSchema(TransferPayloadSchema)),
    participant: tableRowsSchema(participantRecordSchema(TransferPayloadSchema)),
  }),
  appliedIndex: index,
});

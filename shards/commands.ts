// The commands of the two kinds of Raft group that shards/ runs — the meta group (shard map,
// catalogue, nodes) and one GM group per shard (equilibrium, active events) — and their results.
//
// A command travels as UTF-8 JSON in a Raft entry and is validated with these schemas when it is
// applied, on every replica alike: an invalid command becomes an `invalid` result there, never an
// exception. Every command carries a `commandId`; retrying a command with the same id returns the
// first result and changes nothing.

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { CATALOGUE_ID_PATTERN, UidTokenSchema } from '../catalogue/index.ts';
import { canonicalJson } from './canonical_json.ts';
import type { CoordinatorRecord, ParticipantRecord } from '../consensus/txn/index.ts';
import type { ActiveEvent, AxisState } from './gm_state.ts';
import { shardLimits as limits } from './limits.ts';
import { ShardKeySchema } from './shard_key.ts';
import type { NodeRecord, ShardRecord } from './shard_map.ts';

// ---------------------------------------------------------------------------------------------
// Identifiers

export const COMMAND_ID_PATTERN = `^[A-Za-z0-9_.:-]{1,${limits.commandIdCharsMax}}$`;
export const CommandIdSchema = z
  .string({ error: 'commandId must be a string' })
  .regex(new RegExp(COMMAND_ID_PATTERN), `commandId must match ${COMMAND_ID_PATTERN}; reuse it only to retry the same command`);

export const SHARD_ID_PATTERN = `^[a-z][a-z0-9_-]{0,${limits.shardIdCharsMax - 1}}$`;
export const ShardIdSchema = z
  .string({ error: 'a shard id must be a string' })
  .regex(new RegExp(SHARD_ID_PATTERN), `a shard id must match ${SHARD_ID_PATTERN}, e.g. 's-north-political'`);

/** Node ids as the Raft runtime numbers them (`n1` is node 1). */
export const NodeIdSchema = z
  .number({ error: 'a node id must be a number' })
  .int('a node id must be an integer')
  .min(1, 'node ids start at 1')
  .max(999_999_999, 'a node id is at most 999999999');

export const ReplicasSchema = z
  .array(NodeIdSchema, { error: 'replicas must be an array of node ids' })
  .min(1, 'a shard needs at least one replica')
  .max(limits.replicasPerShardMax, `a shard has at most ${limits.replicasPerShardMax} replicas`)
  .refine((ids) => new Set(ids).size === ids.length, 'replicas must not repeat a node id');

const catalogueIdRegex = new RegExp(CATALOGUE_ID_PATTERN);
const catalogueId = (what: string) =>
  z.string({ error: `${what} must be a string` }).regex(catalogueIdRegex, `${what} must match ${CATALOGUE_ID_PATTERN}`);
export const AxisIdSchema = catalogueId('an axis id');
export const TemplateIdSchema = catalogueId('a template id');

const AxisNumberSchema = z
  .number({ error: 'must be a finite number' })
  .min(-limits.axisMagnitudeMax, `must be ≥ ${-limits.axisMagnitudeMax}`)
  .max(limits.axisMagnitudeMax, `must be ≤ ${limits.axisMagnitudeMax}`);

export const CatalogueVersionSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

// ---------------------------------------------------------------------------------------------
// Results

/** Failures the HTTP layer maps to a 4xx: see errorCodeHttpStatus. */
export const ERROR_CODES = ['invalid', 'not_found', 'conflict'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const errorCodeHttpStatus: { readonly [C in ErrorCode]: number } = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
};

/** The command was decided and refused; nothing in the state changed (besides remembering the id). */
export interface CommandError {
  readonly ok: false;
  readonly code: ErrorCode;
  readonly message: string;
}

// ---------------------------------------------------------------------------------------------
// Meta group commands

const MetaBase = { commandId: CommandIdSchema };

export const CreateShardCommandSchema = z.strictObject({
  type: z.literal('createShard'),
  ...MetaBase,
  key: ShardKeySchema,
  replicas: ReplicasSchema,
  /** Default: derived from the key (`s-north-political`). */
  id: ShardIdSchema.optional(),
});

export const SplitShardCommandSchema = z.strictObject({
  type: z.literal('splitShard'),
  ...MetaBase,
  /** The parent shard. */
  shard: ShardIdSchema,
  /** The child's key: strictly more specific than the parent's, and within it. */
  key: ShardKeySchema,
  /** Default: the parent's replicas. */
  replicas: ReplicasSchema.optional(),
  id: ShardIdSchema.optional(),
});

export const MoveShardCommandSchema = z.strictObject({
  type: z.literal('moveShard'),
  ...MetaBase,
  shard: ShardIdSchema,
  /** The target replica set; the node process changes the Raft membership, then sends finishMove. */
  replicas: ReplicasSchema,
});

export const FinishMoveCommandSchema = z.strictObject({
  type: z.literal('finishMove'),
  ...MetaBase,
  shard: ShardIdSchema,
});

export const DropShardCommandSchema = z.strictObject({
  type: z.literal('dropShard'),
  ...MetaBase,
  shard: ShardIdSchema,
});

export const SetCatalogueCommandSchema = z.strictObject({
  type: z.literal('setCatalogue'),
  ...MetaBase,
  /** The catalogue document; checked by the meta state machine's catalogue validator. */
  catalogue: z.unknown().refine((v) => v !== undefined, 'catalogue is required'),
});

export const RegisterNodeCommandSchema = z.strictObject({
  type: z.literal('registerNode'),
  ...MetaBase,
  id: NodeIdSchema,
  /** host:port of the node's Raft transport. */
  raftAddress: z
    .string()
    .max(limits.nodeAddressCharsMax)
    .regex(/^[^\s/]+:[0-9]{1,5}$/, "raftAddress must be 'host:port'"),
  httpUrl: z
    .string()
    .max(limits.nodeUrlCharsMax)
    .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), 'httpUrl must be an http:// or https:// URL'),
});

export type CreateShardCommand = z.infer<typeof CreateShardCommandSchema>;
export type SplitShardCommand = z.infer<typeof SplitShardCommandSchema>;
export type MoveShardCommand = z.infer<typeof MoveShardCommandSchema>;
export type FinishMoveCommand = z.infer<typeof FinishMoveCommandSchema>;
export type DropShardCommand = z.infer<typeof DropShardCommandSchema>;
export type SetCatalogueCommand = z.infer<typeof SetCatalogueCommandSchema>;
export type RegisterNodeCommand = z.infer<typeof RegisterNodeCommandSchema>;

export const metaCommandSchemas = {
  createShard: CreateShardCommandSchema,
  splitShard: SplitShardCommandSchema,
  moveShard: MoveShardCommandSchema,
  finishMove: FinishMoveCommandSchema,
  dropShard: DropShardCommandSchema,
  setCatalogue: SetCatalogueCommandSchema,
  registerNode: RegisterNodeCommandSchema,
} as const;

export type MetaCommandType = keyof typeof metaCommandSchemas;
export type MetaCommand = { [T in MetaCommandType]: z.infer<(typeof metaCommandSchemas)[T]> }[MetaCommandType];

export type MetaOk =
  | { readonly ok: true; readonly type: 'createShard' | 'splitShard'; readonly shard: ShardRecord; readonly mapVersion: number }
  | { readonly ok: true; readonly type: 'moveShard' | 'finishMove'; readonly shard: ShardRecord; readonly mapVersion: number }
  | { readonly ok: true; readonly type: 'dropShard'; readonly shard: ShardRecord; readonly mapVersion: number }
  | { readonly ok: true; readonly type: 'setCatalogue'; readonly version: number }
  | { readonly ok: true; readonly type: 'registerNode'; readonly node: NodeRecord; readonly created: boolean };

export type MetaResult = MetaOk | CommandError;

// ---------------------------------------------------------------------------------------------
// GM group commands

/**
 * An axis as the catalogue defines it (a TraitAxis can be passed as is: other fields are
 * dropped), with an optional starting value (default: the target).
 */
export const AxisDefinitionSchema = z
  .object({
    id: AxisIdSchema,
    min: AxisNumberSchema,
    max: AxisNumberSchema,
    target: AxisNumberSchema,
    tolerance: AxisNumberSchema.min(0, 'tolerance must be ≥ 0'),
    value: AxisNumberSchema.optional(),
  })
  .superRefine((a, ctx) => {
    if (!(a.min < a.max)) ctx.addIssue({ code: 'custom', path: ['min'], message: `axis '${a.id}': min (${a.min}) must be below max (${a.max})` });
    else {
      if (a.target < a.min || a.target > a.max) {
        ctx.addIssue({ code: 'custom', path: ['target'], message: `axis '${a.id}': target ${a.target} is outside [${a.min}, ${a.max}]` });
      }
      if (a.value !== undefined && (a.value < a.min || a.value > a.max)) {
        ctx.addIssue({ code: 'custom', path: ['value'], message: `axis '${a.id}': value ${a.value} is outside [${a.min}, ${a.max}]` });
      }
    }
  });
export type AxisDefinition = z.infer<typeof AxisDefinitionSchema>;

const AxisDefinitionsSchema = z
  .array(AxisDefinitionSchema)
  .min(1, 'a shard needs at least one axis')
  .max(limits.axesMax, `a shard has at most ${limits.axesMax} axes`)
  .superRefine((axes, ctx) => {
    const seen = new Set<string>();
    axes.forEach((a, i) => {
      if (seen.has(a.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `axis '${a.id}' is defined twice` });
      seen.add(a.id);
    });
  });

/** Axis id → delta, as in a catalogue template's `effects`. */
export const EffectsSchema = z
  .record(AxisIdSchema, AxisNumberSchema)
  .refine((e) => Object.keys(e).length <= limits.axesMax, `effects name at most ${limits.axesMax} axes`);
export type Effects = z.infer<typeof EffectsSchema>;

export const OUTCOMES = ['success', 'partial', 'failure'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const EVENT_SOURCES = ['api', 'gm'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

const ParticipantIdSchema = UidTokenSchema;

const GmBase = { commandId: CommandIdSchema };

export const InitCommandSchema = z.strictObject({
  type: z.literal('init'),
  ...GmBase,
  shardId: ShardIdSchema,
  /**
   * The shard's Raft group id (from the shard map). Optional, but pass it: it goes into the event
   * UIDs, and group ids are never reused, so a shard re-created under an old id never mints a UID
   * that its predecessor used.
   */
  groupId: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  catalogueVersion: CatalogueVersionSchema,
  axes: AxisDefinitionsSchema,
});

export const SetAxisCommandSchema = z.strictObject({
  type: z.literal('setAxis'),
  ...GmBase,
  axis: AxisIdSchema,
  value: AxisNumberSchema,
});

export const CasAxisCommandSchema = z.strictObject({
  type: z.literal('casAxis'),
  ...GmBase,
  axis: AxisIdSchema,
  expect: AxisNumberSchema,
  value: AxisNumberSchema,
});

export const SetTargetCommandSchema = z.strictObject({
  type: z.literal('setTarget'),
  ...GmBase,
  axis: AxisIdSchema,
  target: AxisNumberSchema,
});

export const ProposeEventCommandSchema = z.strictObject({
  type: z.literal('proposeEvent'),
  ...GmBase,
  template: TemplateIdSchema,
  district: UidTokenSchema,
  participants: z
    .array(ParticipantIdSchema)
    .max(limits.participantsPerEventMax, `an event has at most ${limits.participantsPerEventMax} participants`)
    .refine((p) => new Set(p).size === p.length, 'participants must not repeat a player id'),
  source: z.enum(EVENT_SOURCES),
  /**
   * The template's effects at full success, as the proposer read them from the catalogue. Recorded
   * with the event, so the outcome applies exactly what was decided, whatever the catalogue says later.
   */
  effects: EffectsSchema.optional(),
});

export const ApplyOutcomeCommandSchema = z.strictObject({
  type: z.literal('applyOutcome'),
  ...GmBase,
  eventUid: UidTokenSchema,
  outcome: z.enum(OUTCOMES),
  /** Full-success effects to use instead of the ones recorded at proposeEvent. */
  effects: EffectsSchema.optional(),
});

export const CloseEventCommandSchema = z.strictObject({
  type: z.literal('closeEvent'),
  ...GmBase,
  eventUid: UidTokenSchema,
});

export const SetCatalogueVersionCommandSchema = z.strictObject({
  type: z.literal('setCatalogueVersion'),
  ...GmBase,
  version: CatalogueVersionSchema,
  axes: AxisDefinitionsSchema,
});

// Cross-shard transfers (consensus/txn's protocol; shards/gm_transfers.ts says what each does to
// the axes). The transfer tables are their idempotency record, keyed by transferId.

// Shorter than a command id: the node derives the commands' ids from it (`tx-begin-<id>`).
export const TRANSFER_ID_PATTERN = `^[A-Za-z0-9_.:-]{1,${limits.transferIdCharsMax}}$`;
export const TransferIdSchema = z
  .string({ error: 'a transfer id must be a string' })
  .regex(new RegExp(TRANSFER_ID_PATTERN), `a transfer id must match ${TRANSFER_ID_PATTERN}; reuse it only to retry the same transfer`);

export const TransferEndSchema = z.strictObject({ shard: ShardIdSchema, axis: AxisIdSchema });

export const TransferPayloadSchema = z.strictObject({
  from: TransferEndSchema,
  to: TransferEndSchema,
  amount: z
    .number({ error: 'amount must be a number' })
    .positive('amount must be > 0')
    .max(limits.axisMagnitudeMax, `amount must be ≤ ${limits.axisMagnitudeMax}`),
});
export type TransferPayload = z.infer<typeof TransferPayloadSchema>;

const TxnDecisionSchema = z.enum(['commit', 'abort']);
const TxnReasonSchema = z.string().min(1).max(limits.transferReasonCharsMax).nullable();

/** On the source shard (the coordinator): record the transfer and hold the amount, or refuse. */
export const TxBeginCommandSchema = z.strictObject({ type: z.literal('txBegin'), ...GmBase, transferId: TransferIdSchema, transfer: TransferPayloadSchema });
/** On the destination shard: vote, and on yes reserve the headroom for the credit. */
export const TxPrepareCommandSchema = z.strictObject({ type: z.literal('txPrepare'), ...GmBase, transferId: TransferIdSchema, transfer: TransferPayloadSchema });
/** On the source shard: the decision (first writer wins); a commit debits the source in the same step. */
export const TxDecideCommandSchema = z.strictObject({ type: z.literal('txDecide'), ...GmBase, transferId: TransferIdSchema, decision: TxnDecisionSchema, reason: TxnReasonSchema });
/** On the destination shard: apply the decision (credit, or release the reservation). */
export const TxFinishCommandSchema = z.strictObject({ type: z.literal('txFinish'), ...GmBase, transferId: TransferIdSchema, decision: TxnDecisionSchema, reason: TxnReasonSchema });
/** On the source shard: the destination applied the decision; the record is finished (prunable). */
export const TxDoneCommandSchema = z.strictObject({ type: z.literal('txDone'), ...GmBase, transferId: TransferIdSchema });
/** Both axes on one shard: the whole transfer in one command. */
export const TxLocalCommandSchema = z.strictObject({ type: z.literal('txLocal'), ...GmBase, transferId: TransferIdSchema, transfer: TransferPayloadSchema });

export const TX_COMMAND_TYPES = ['txBegin', 'txPrepare', 'txDecide', 'txFinish', 'txDone', 'txLocal'] as const;

export type InitCommand = z.infer<typeof InitCommandSchema>;
export type SetAxisCommand = z.infer<typeof SetAxisCommandSchema>;
export type CasAxisCommand = z.infer<typeof CasAxisCommandSchema>;
export type SetTargetCommand = z.infer<typeof SetTargetCommandSchema>;
export type ProposeEventCommand = z.infer<typeof ProposeEventCommandSchema>;
export type ApplyOutcomeCommand = z.infer<typeof ApplyOutcomeCommandSchema>;
export type CloseEventCommand = z.infer<typeof CloseEventCommandSchema>;
export type SetCatalogueVersionCommand = z.infer<typeof SetCatalogueVersionCommandSchema>;

export const gmCommandSchemas = {
  init: InitCommandSchema,
  setAxis: SetAxisCommandSchema,
  casAxis: CasAxisCommandSchema,
  setTarget: SetTargetCommandSchema,
  proposeEvent: ProposeEventCommandSchema,
  applyOutcome: ApplyOutcomeCommandSchema,
  closeEvent: CloseEventCommandSchema,
  setCatalogueVersion: SetCatalogueVersionCommandSchema,
  txBegin: TxBeginCommandSchema,
  txPrepare: TxPrepareCommandSchema,
  txDecide: TxDecideCommandSchema,
  txFinish: TxFinishCommandSchema,
  txDone: TxDoneCommandSchema,
  txLocal: TxLocalCommandSchema,
} as const;

export type GmCommandType = keyof typeof gmCommandSchemas;
export type GmCommand = { [T in GmCommandType]: z.infer<(typeof gmCommandSchemas)[T]> }[GmCommandType];
export type TxCommand = Extract<GmCommand, { type: (typeof TX_COMMAND_TYPES)[number] }>;

/** Every GM result names the catalogue version its decision was made under. */
interface GmVersioned {
  readonly catalogueVersion: number;
}

export type GmOk = GmVersioned &
  (
    | { readonly ok: true; readonly type: 'init'; readonly shardId: string; readonly initialized: boolean }
    | { readonly ok: true; readonly type: 'setAxis'; readonly axis: string; readonly value: number; readonly previous: number }
    | { readonly ok: true; readonly type: 'casAxis'; readonly axis: string; readonly value: number }
    | { readonly ok: true; readonly type: 'setTarget'; readonly axis: string; readonly target: number; readonly previous: number }
    | { readonly ok: true; readonly type: 'proposeEvent'; readonly eventUid: string; readonly event: ActiveEvent }
    | {
        readonly ok: true;
        readonly type: 'applyOutcome';
        readonly eventUid: string;
        readonly outcome: Outcome;
        /** The axes the outcome moved, after clamping. */
        readonly axes: Readonly<Record<string, AxisState>>;
      }
    | { readonly ok: true; readonly type: 'closeEvent'; readonly eventUid: string; readonly outcome: Outcome | null }
    | {
        readonly ok: true;
        readonly type: 'setCatalogueVersion';
        readonly previousVersion: number;
        readonly added: readonly string[];
        /** Existing axes whose value or target had to be clamped into a narrowed range. */
        readonly clamped: readonly string[];
      }
  );

/** casAxis found another value: nothing changed; `value` is the current one (HTTP 200 `{ok:false,value}`). */
export interface CasFailed extends GmVersioned {
  readonly ok: false;
  readonly code: 'cas_failed';
  readonly message: string;
  readonly axis: string;
  readonly value: number;
}

export type GmError = CommandError & GmVersioned;
/** What a transfer command did: the transfer's record in this shard's table after the command. */
export type TransferOk = GmVersioned &
  (
    | { readonly ok: true; readonly type: 'txCoordinator'; readonly transferId: string; readonly outcome: string; readonly record: CoordinatorRecord<TransferPayload> }
    | { readonly ok: true; readonly type: 'txParticipant'; readonly transferId: string; readonly outcome: string; readonly record: ParticipantRecord<TransferPayload> }
  );

/** A transfer command refused without changing anything (the HTTP layer maps `code`). */
export interface TransferRefused extends GmVersioned {
  readonly ok: false;
  readonly code: 'txn_busy' | 'txn_conflict' | 'txn_unknown' | 'txn_contradiction' | 'txn_wrong_shard';
  readonly message: string;
  readonly transferId: string;
}

export type GmResult = GmOk | CasFailed | GmError | TransferOk | TransferRefused;

// ---------------------------------------------------------------------------------------------
// Encoding

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The bytes of a Raft entry for `cmd`: canonical UTF-8 JSON. */
export function encodeCommand(cmd: MetaCommand | GmCommand): Uint8Array {
  return utf8Encoder.encode(canonicalJson(cmd));
}

/** `text`: the JSON text the command was decoded from (decode*, not parse*), for entryFingerprint. */
export type DecodeResult<C> = { readonly ok: true; readonly command: C; readonly text?: string } | { readonly ok: false; readonly message: string };

type SchemaTable = Readonly<Record<string, z.ZodType>>;

function decodeWith<C>(bytes: Uint8Array, schemas: SchemaTable, bytesMax: number, group: string): DecodeResult<C> {
  if (bytes.byteLength > bytesMax) return { ok: false, message: `the command is ${bytes.byteLength} bytes; a ${group} command is at most ${bytesMax}` };
  let raw: unknown;
  let text: string;
  try {
    text = utf8Decoder.decode(bytes);
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, message: `the command is not UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  const r = parseCommandWith<C>(raw, schemas, group);
  return r.ok ? { ok: true, command: r.command, text } : r;
}

function parseCommandWith<C>(raw: unknown, schemas: SchemaTable, group: string): DecodeResult<C> {
  // Only for the error messages: built when one is needed, not on every applied command.
  const known = () => Object.keys(schemas).join(', ');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, message: `a ${group} command must be a JSON object with a "type" (one of ${known()})` };
  }
  const type: unknown = (raw as Record<string, unknown>).type;
  if (typeof type !== 'string' || !Object.hasOwn(schemas, type)) {
    return { ok: false, message: `unknown ${group} command type ${JSON.stringify(type) ?? 'undefined'}; expected one of ${known()}` };
  }
  const parsed = schemas[type]!.safeParse(raw);
  if (!parsed.success) return { ok: false, message: `invalid ${type} command: ${formatIssues(parsed.error.issues)}` };
  return { ok: true, command: parsed.data as C };
}

export function decodeMetaCommand(bytes: Uint8Array): DecodeResult<MetaCommand> {
  return decodeWith<MetaCommand>(bytes, metaCommandSchemas, limits.metaCommandBytesMax, 'meta');
}

export function decodeGmCommand(bytes: Uint8Array): DecodeResult<GmCommand> {
  return decodeWith<GmCommand>(bytes, gmCommandSchemas, limits.gmCommandBytesMax, 'GM');
}

/** Decodes a command of either group (their type names are disjoint). */
export function decodeCommand(bytes: Uint8Array): DecodeResult<MetaCommand | GmCommand> {
  return decodeWith<MetaCommand | GmCommand>(bytes, { ...metaCommandSchemas, ...gmCommandSchemas }, limits.metaCommandBytesMax, 'shard');
}

/** Validates an already-parsed command object (e.g. an HTTP body turned into a command) without encoding it. */
export function parseMetaCommand(raw: unknown): DecodeResult<MetaCommand> {
  return parseCommandWith<MetaCommand>(raw, metaCommandSchemas, 'meta');
}

export function parseGmCommand(raw: unknown): DecodeResult<GmCommand> {
  return parseCommandWith<GmCommand>(raw, gmCommandSchemas, 'GM');
}

/** `key.geography: … ; replicas: …` — every issue on one line, with its path. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => (i.path.length === 0 ? i.message : `${i.path.map(String).join('.')}: ${i.message}`)).join('; ');
}

/** A digest of a parsed command, to tell a retry from a different command reusing its id. */
export function commandFingerprint(cmd: MetaCommand | GmCommand): string {
  return textFingerprint(canonicalJson(cmd));
}

/**
 * The fingerprint of a command decoded from a log entry, from the entry's own text: every replica
 * hashes the same bytes, and the command's schemas neither add nor drop fields, so for an entry
 * written by encodeCommand (canonical) it equals commandFingerprint of the command, without
 * encoding the command again on every apply.
 */
export function entryFingerprint(decoded: { command: MetaCommand | GmCommand; text?: string }): string {
  return decoded.text !== undefined ? textFingerprint(decoded.text) : commandFingerprint(decoded.command);
}

function textFingerprint(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 24);
}

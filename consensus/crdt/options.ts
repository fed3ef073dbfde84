// Settings of an eventual-state replica: data with defaults in one place, validated by zod.
import { z } from 'zod';

/** A peer id or document name: one NATS subject token. */
export const TOKEN_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
/** A counter name: 1-64 characters of [A-Za-z0-9_.-] (no '/', which separates the doc's keys). */
export const COUNTER_NAME_PATTERN = '^[A-Za-z0-9_.-]{1,64}$';
/** Largest |by| of one increment, so a total cannot leave the safe-integer range by accident. */
export const INCREMENT_ABS_MAX = 1_000_000_000;

export const CrdtSettingsSchema = z.strictObject({
  /** Local increments are batched and written into the document as one change every flushMs. */
  flushMs: z.number().int().min(1).max(10_000).default(50),
  /** How often each replica announces itself (peer discovery, epoch, heads digest). */
  heartbeatMs: z.number().int().min(10).max(60_000).default(500),
  /** A peer not heard from for this long is treated as gone (no sync traffic to it). */
  peerTimeoutMs: z.number().int().min(50).max(600_000).default(3_000),
  /** Anti-entropy tick: pump every pair's sync protocol, check stuck pairs, persist received changes. */
  syncIntervalMs: z.number().int().min(5).max(60_000).default(200),
  /** A pair whose heads differ with no message delivered for this long is reset and resynced. */
  resyncAfterMs: z.number().int().min(20).max(600_000).default(1_500),
  /** How long an out-of-order message waits in the reorder buffer for the gap to fill. */
  reorderWaitMs: z.number().int().min(1).max(60_000).default(150),
  reorderBufferMax: z.number().int().min(1).max(1024).default(32),
  /** A new epoch (a compacted, rebuilt document) starts once the current one holds this many bytes. */
  compactBytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(256 * 1024),
  countersMax: z.number().int().min(1).max(1_000_000).default(1_000),
  entriesMax: z.number().int().min(1).max(1_000_000).default(10_000),
  entryBytesMax: z.number().int().min(64).max(1024 * 1024).default(16 * 1024),
  peersMax: z.number().int().min(1).max(4096).default(64),
  /** Unflushed increments waiting for their batch; beyond this, increments are refused (503). */
  pendingIncrementsMax: z.number().int().min(1).max(10_000_000).default(100_000),
  /** Inbound messages queued for the replica's serial loop; beyond this they are dropped (resync repairs). */
  inboxMax: z.number().int().min(1).max(1_000_000).default(10_000),
  /** NATS core's default max_payload is 1 MiB; larger sync messages are not sent (compaction keeps them small). */
  messageBytesMax: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
  /** Subjects: `<subjectPrefix>.<doc>.hb` and `<subjectPrefix>.<doc>.to.<peer>`. */
  subjectPrefix: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'dot-separated NATS tokens').default('nimmer.crdt'),
});

export type CrdtSettings = z.output<typeof CrdtSettingsSchema>;
export type CrdtSettingsInput = z.input<typeof CrdtSettingsSchema>;

export function resolveCrdtSettings(input: CrdtSettingsInput = {}): CrdtSettings {
  const r = CrdtSettingsSchema.safeParse(input);
  if (!r.success) throw new Error(`invalid eventual-state settings: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  if (r.data.peerTimeoutMs <= r.data.heartbeatMs) throw new Error(`eventual-state settings: peerTimeoutMs (${r.data.peerTimeoutMs}) must exceed heartbeatMs (${r.data.heartbeatMs})`);
  return r.data;
}

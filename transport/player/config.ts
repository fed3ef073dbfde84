// The player client's settings, with their defaults in this one place.
import { z } from 'zod';
import { DeliveryAckConfigSchema } from './delivery_acker.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Local memory by retention class (see README "Retention"). Content is dropped first (the row stays
 * as a tombstone so a late duplicate on either path is still recognised), the tombstone later.
 */
export const RetentionPolicySchema = z.strictObject({
  /** Ephemeral canon (barks, ambient lines): content kept this long after it was applied. */
  ephemeralTtlMs: z.number().int().min(0).default(HOUR_MS),
  /** Standard canon (scene outcomes): content kept this long after it was applied… */
  standardTtlMs: z.number().int().min(0).default(30 * DAY_MS),
  /** …and at most this many standard rows with content (oldest dropped first). */
  standardRowsMax: z.number().int().min(1).default(50_000),
  /** Permanent canon (the player's story record) is never pruned. Tombstones are kept this long: it must exceed
   *  the EVENTS stream's max_age and the district login-queue TTL, so no path can re-deliver a forgotten id. */
  tombstoneTtlMs: z.number().int().min(0).default(8 * DAY_MS),
});
export type RetentionPolicy = z.infer<typeof RetentionPolicySchema>;

export const PlayerClientConfigSchema = z.strictObject({
  playerId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  /** The player's SQLite file (created when missing). */
  dbPath: z.string().min(1),
  /** NATS URLs of the JetStream (events) path. */
  eventsServers: z.array(z.string().min(1)).min(1),
  /** NATS URLs of the district (fallback) path; default the events servers. */
  districtServers: z.array(z.string().min(1)).min(1).optional(),
  stream: z.string().min(1).default('EVENTS'),
  /** SQLite synchronous level: `normal` (no fsync per commit; a power loss may drop a tail of commits, which
   *  the stream replays since rows and checkpoint commit together) or `full` (one fsync per commit). */
  sqliteSynchronous: z.enum(['normal', 'full']).default('normal'),
  /** Messages applied per SQLite transaction at most. */
  applyBatchMax: z.number().int().min(1).max(100_000).default(2_000),
  /** How long the first buffered stream message waits for others before the batch commits (0: next I/O turn). */
  applyLingerMs: z.number().int().min(0).max(1_000).default(5),
  /** Read the events path (NATS connection, ordered consumers, canon parsing) in a worker thread, so it overlaps
   *  the SQLite apply on the client's thread: replay then uses two cores. One more thread and NATS connection per
   *  client, so off by default (a fleet runs hundreds of clients per process). */
  eventsWorker: z.boolean().default(false),
  /** Events a player can be subscribed to at once (one ordered consumer each). */
  subscriptionsMax: z.number().int().min(1).max(10_000).default(256),
  /** Idle time after which the server sends a heartbeat on an event's consumer; two missed → it is recreated
   *  from the last message delivered (a restarted server lost it, or the connection was cut). */
  idleHeartbeatMs: z.number().int().min(100).max(60_000).default(5_000),
  /** Canon packages one fallback delivery may carry. */
  fallbackPackagesMax: z.number().int().min(1).max(10_000).default(512),
  retention: RetentionPolicySchema.prefault({}),
  /** When set, the client acknowledges delivery itself after each apply (see delivery_acker.ts); unset: the caller does. */
  deliveryAck: DeliveryAckConfigSchema.optional(),
});
export type PlayerClientConfigInput = z.input<typeof PlayerClientConfigSchema>;
export type PlayerClientConfig = z.infer<typeof PlayerClientConfigSchema>;

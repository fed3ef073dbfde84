// The player client's settings, with their defaults in this one place.
import { z } from 'zod';

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
  /** Messages applied per SQLite transaction at most (one fsync per batch). */
  applyBatchMax: z.number().int().min(1).max(100_000).default(2_000),
  /** How long the first buffered stream message waits for others before the batch commits (0: next I/O turn). */
  applyLingerMs: z.number().int().min(0).max(1_000).default(5),
  /** Events a player can be subscribed to at once (one ordered consumer each). */
  subscriptionsMax: z.number().int().min(1).max(10_000).default(256),
  /** Messages an ordered consumer buffers from the server. */
  consumerBufferMessages: z.number().int().min(1).max(100_000).default(4_096),
  /**
   * Lifetime of each pull request of the ordered consumers; the server heartbeats every half of it, and two
   * missed heartbeats make the client recreate the consumer from its last position. It bounds how long a
   * player stays stalled when the server hosting its consumer dies (nats.js defaults to 30 s, and also waits
   * this long between failed attempts to look the consumer up). Shorter = faster recovery, more pulls per idle consumer.
   */
  consumerExpiresMs: z.number().int().min(1_000).max(300_000).default(10_000),
  /** Canon packages one fallback delivery may carry. */
  fallbackPackagesMax: z.number().int().min(1).max(10_000).default(512),
  retention: RetentionPolicySchema.prefault({}),
});
export type PlayerClientConfigInput = z.input<typeof PlayerClientConfigSchema>;
export type PlayerClientConfig = z.infer<typeof PlayerClientConfigSchema>;

// A district coordinator's settings, with their defaults in this one place.
import path from 'node:path';
import { z } from 'zod';
import type { MigrationSet } from '../sql/migrate.ts';

const token = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

export const DistrictConfigSchema = z.strictObject({
  district: token,
  /** Districts that take over this one's deliveries while its own path is down (and vice versa). */
  neighbours: z.array(token).max(16).default([]),
  /** NATS URLs the coordinator tails JetStream on (the events path). */
  eventsServers: z.array(z.string().min(1)).min(1),
  /** NATS URLs it delivers to players over (its own path; core request/reply). Only these: no gossip. */
  districtServers: z.array(z.string().min(1)).min(1),
  stream: z.string().min(1).default('EVENTS'),
  tickMs: z.number().int().min(5).max(10_000).default(50),
  /** A canon row not seen in JetStream this long after commit makes the district switch to the fallback. */
  lagThresholdMs: z.number().int().min(10).default(2_000),
  /** The stream must look healthy this long before the district switches back. */
  recoverHoldMs: z.number().int().min(0).default(1_000),
  healthProbeMs: z.number().int().min(10).default(500),
  healthProbeTimeoutMs: z.number().int().min(10).default(1_000),
  /** A tail restarted at a checkpoint-free position starts this far before the oldest backlog row. */
  tailStartMarginMs: z.number().int().min(0).default(5_000),
  /** Pull-request lifetime of the tail's ordered consumer: a consumer lost with its server is noticed within it. */
  tailExpiresMs: z.number().int().min(1_000).max(300_000).default(10_000),
  backlogBatchMax: z.number().int().min(1).max(100_000).default(2_000),
  deliveryRowsMax: z.number().int().min(1).max(100_000).default(2_000),
  packagesPerDeliveryMax: z.number().int().min(1).max(10_000).default(256),
  deliveryTimeoutMs: z.number().int().min(10).default(1_000),
  retryBaseMs: z.number().int().min(1).default(100),
  retryMaxMs: z.number().int().min(1).default(5_000),
  /** Failed attempts (timeouts, errors) before a delivery waits for the player's next login. */
  attemptsMax: z.number().int().min(1).max(1_000).default(8),
  /** Queued-for-login deliveries are retried this often even without a presence announcement. */
  loginRecheckMs: z.number().int().min(10).default(10_000),
  /** Queued-for-login deliveries older than this are dropped (the player replays the stream at login). */
  loginQueueTtlMs: z.number().int().min(1_000).default(7 * 24 * 3_600_000),
  /** A neighbour whose heartbeat is older than this is considered down. */
  heartbeatStaleMs: z.number().int().min(10).default(3_000),
});
export type DistrictConfigInput = z.input<typeof DistrictConfigSchema>;
export type DistrictConfig = z.infer<typeof DistrictConfigSchema>;

export const DISTRICT_MIGRATIONS: MigrationSet = {
  namespace: 'transport.district',
  dir: path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations'),
};

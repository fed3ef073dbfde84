// The directors' settings, validated, with their defaults in one place.
import { z } from 'zod';
import { directorLimits } from './limits.ts';

export const DirectorConfigSchema = z.strictObject({
  /** OTP intensity: at most this many restarts of one shard's routines within periodMs, then escalate. */
  restartsMax: z.number().int().min(0).max(1_000_000).default(50),
  restartPeriodMs: z.number().int().min(1).max(3_600_000).default(10_000),
  /** Pause before a crashed routine is respawned (OTP restarts at once; a pause keeps a dead Postgres from being hammered). */
  restartDelayMs: z.number().int().min(0).max(60_000).default(100),
  /** How often waiting routines ask the register whether they were composed (a safety net under LISTEN/NOTIFY). */
  composedPollMs: z.number().int().min(10).max(60_000).default(1_000),
  composedPollBatch: z.number().int().min(1).max(directorLimits.pollBatchMax).default(500),
  participantsPerDistrict: z.number().int().min(1).max(directorLimits.participantsPerDistrictMax).default(directorLimits.participantsPerDistrictDefault),
  routinesMax: z.number().int().min(1).max(directorLimits.routinesMax).default(200_000),
  /** How often a node compares its shards' active registers and leadership with its live routines. */
  reconcileMs: z.number().int().min(10).max(60_000).default(200),
  /** After a shard escalated, the node waits this long before starting its routines again. */
  escalationBackoffMs: z.number().int().min(0).max(3_600_000).default(5_000),
  /** After composition, how long a routine waits for every participant's delivery acknowledgement (then: partial delivery, journalled). */
  deliveryTimeoutMs: z.number().int().min(0).max(3_600_000).default(10_000),
  /** The safety-net poll of delivery acknowledgements (NOTIFY nimmer_delivered wakes it sooner). */
  deliveryPollMs: z.number().int().min(10).max(60_000).default(500),
  /** Ended events stay in nimmer.event_journal (GET /events/:uid answers 'pruned') this long. */
  journalWindowMs: z.number().int().min(0).max(30 * 86_400_000).default(3_600_000),
  /** How often a node prunes the journal, and at most how many rows per pass. */
  journalPruneMs: z.number().int().min(100).max(3_600_000).default(10_000),
  journalPruneRowsMax: z.number().int().min(1).max(1_000_000).default(10_000),
});
export type DirectorConfig = z.infer<typeof DirectorConfigSchema>;
export type DirectorConfigInput = z.input<typeof DirectorConfigSchema>;

export function directorConfig(input: DirectorConfigInput = {}): DirectorConfig {
  return DirectorConfigSchema.parse(input);
}

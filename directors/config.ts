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
});
export type DirectorConfig = z.infer<typeof DirectorConfigSchema>;
export type DirectorConfigInput = z.input<typeof DirectorConfigSchema>;

export function directorConfig(input: DirectorConfigInput = {}): DirectorConfig {
  return DirectorConfigSchema.parse(input);
}

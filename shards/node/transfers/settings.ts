// Timing and limits of the node's transfer driver, in one place. Defaults scale with the Raft
// proposal timeout, so a slow test cluster and a production one both get sensible values.
import { z } from 'zod';

export const TransferSettingsSchema = z.strictObject({
  /** How long POST /transfers waits for a decision before answering 504 (pending). */
  requestBudgetMs: z.number().int().min(1),
  /** How long a driver keeps trying before leaving the rest to recovery. */
  driverBudgetMs: z.number().int().min(1),
  /** A transfer whose destination has not voted this long is aborted (reason `timeout`). */
  preparingTimeoutMs: z.number().int().min(1),
  /** A destination holding a prepare this long asks the coordinator (abort unless decided). */
  participantAskAfterMs: z.number().int().min(1),
  /** A coordinator leader re-drives an in-doubt transfer no driver on this node is running after this long. */
  redriveAfterMs: z.number().int().min(1),
  /** How often leaders scan their transfer tables. */
  recoveryEveryMs: z.number().int().min(10),
  /** Drivers running at once on this node (requests beyond it get 503). */
  driversMax: z.number().int().min(1),
  /** Pause between retries of a step that got 503/504. */
  retryPauseMs: z.number().int().min(1),
});
export type TransferSettings = z.output<typeof TransferSettingsSchema>;

/** The `transfers` section of cluster.json: any setting, the rest derived from the proposal timeout. */
export const TransferSettingsOverridesSchema = TransferSettingsSchema.partial();

export function transferSettingsFor(proposalTimeoutMs: number, overrides: Partial<TransferSettings> = {}): TransferSettings {
  return TransferSettingsSchema.parse({
    requestBudgetMs: proposalTimeoutMs,
    driverBudgetMs: 4 * proposalTimeoutMs,
    preparingTimeoutMs: 3 * proposalTimeoutMs,
    participantAskAfterMs: 6 * proposalTimeoutMs,
    redriveAfterMs: proposalTimeoutMs,
    recoveryEveryMs: 250,
    driversMax: 2_000,
    retryPauseMs: 100,
    ...overrides,
  });
}

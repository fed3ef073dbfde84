// The compositor's settings, validated, with their defaults in one place.
//
// Tier budgets (per worker process). The design sizes dialogue by "active dialogue zones": 5-15 per
// 100-NPC city. One worker serves one such city slice by default, so the small-model-with-adapters
// tier (most dialogue and every bark) runs 10 slots at once — the middle of that range. The deep
// model is the scarce one: 2 at once, its overflow demoted to the small tier. Classifiers are cheap:
// 16 at once. A slot that finds its tier full waits in that tier's queue unless it can be demoted.
import { z } from 'zod';
import { MODEL_TIERS, type ModelTier } from '../catalogue/index.ts';

const TierBudgetSchema = z.strictObject({
  /** Slots of this tier running at once in one worker. */
  concurrencyMax: z.number().int().min(1).max(1_000),
  /** Slots waiting for this tier; past it, the worker stops picking up events (backpressure). */
  queueMax: z.number().int().min(0).max(100_000),
});
export type TierBudget = z.infer<typeof TierBudgetSchema>;

export const DEFAULT_TIER_BUDGETS: { readonly [T in ModelTier]: TierBudget } = {
  deep: { concurrencyMax: 2, queueMax: 64 },
  small_lora: { concurrencyMax: 10, queueMax: 256 },
  classifier: { concurrencyMax: 16, queueMax: 256 },
};

export const TierBudgetsSchema = z
  .strictObject({ deep: TierBudgetSchema.optional(), small_lora: TierBudgetSchema.optional(), classifier: TierBudgetSchema.optional() })
  .transform((b) => Object.fromEntries(MODEL_TIERS.map((t) => [t, b[t] ?? DEFAULT_TIER_BUDGETS[t]])) as { [T in ModelTier]: TierBudget });

export const AdapterConfigSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('builtin'),
    /** Simulated model latency per slot (0: none); benchmarks and tests use it to hold work in flight. */
    slotDelayMs: z.number().int().min(0).max(600_000).default(0),
  }),
  z.strictObject({
    kind: z.literal('openai'),
    /** Base URL of an OpenAI-compatible server; requests go to `${baseUrl}/v1/chat/completions`. */
    baseUrl: z.url(),
    apiKey: z.string().max(4096).optional(),
    models: z.strictObject({ deep: z.string().min(1), small_lora: z.string().min(1), classifier: z.string().min(1) }),
    timeoutMs: z.number().int().min(1).max(600_000).default(30_000),
    maxTokens: z.number().int().min(1).max(32_768).default(256),
  }),
]);
export type AdapterConfig = z.infer<typeof AdapterConfigSchema>;

export const CompositorConfigSchema = z.strictObject({
  tiers: TierBudgetsSchema.default({ ...DEFAULT_TIER_BUDGETS }),
  /** A deep slot is demoted once this many slots already wait for the deep tier (0: whenever no deep permit is free). */
  demoteWhenQueuedAtLeast: z.number().int().min(0).max(100_000).default(0),
  /** Events one worker composes at once (each holds one Postgres connection and its row lock). */
  eventsInFlightMax: z.number().int().min(1).max(256).default(4),
  /** Idle workers look for waiting events this often (a NOTIFY wakes them sooner). */
  idlePollMs: z.number().int().min(10).max(60_000).default(500),
  /** Pause after a failed composition (the event stays waiting for any worker). */
  retryDelayMs: z.number().int().min(0).max(60_000).default(1_000),
  /** Failed compositions of one event before it fails closed (an audit `block`: the event's outcome is failure). */
  attemptsMax: z.number().int().min(1).max(1_000).default(3),
  adapter: AdapterConfigSchema.default({ kind: 'builtin', slotDelayMs: 0 }),
});
export type CompositorConfig = z.infer<typeof CompositorConfigSchema>;
export type CompositorConfigInput = z.input<typeof CompositorConfigSchema>;

export function compositorConfig(input: CompositorConfigInput = {}): CompositorConfig {
  return CompositorConfigSchema.parse(input);
}

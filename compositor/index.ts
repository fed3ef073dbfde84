// compositor — stateless workers that compose waiting events into canon: tier allocation under
// per-tier budgets (deep / small_lora / classifier) with queueing and demotion, model adapters
// (deterministic built-in, OpenAI-compatible HTTP), queue-depth autoscaling of worker processes.
export { compositorConfig, CompositorConfigSchema, DEFAULT_TIER_BUDGETS, type CompositorConfig, type CompositorConfigInput, type TierBudget, type AdapterConfig } from './config.ts';
export { allocateTier, saturated, DEMOTION_CHAIN, type Allocation, type TierLoad, type TierLoads, type TierBudgets } from './tiers.ts';
export { TierScheduler } from './tier_scheduler.ts';
export { CompositorMetrics } from './metrics.ts';
export { planComposition, assembleCanon, failClosedCanon, AUDIT_CHOICES, type CompositionJob, type CanonRow, type PlannedSlot, type ComposedSlot } from './compose.ts';
export { composeEvent } from './compose_event.ts';
export { CompositorWorker, type WorkerHooks } from './worker.ts';
export { builtinAdapter } from './adapters/builtin.ts';
export { openAiAdapter, ModelHttpError, type OpenAiAdapterOptions } from './adapters/openai.ts';
export { adapterFor } from './adapters/index.ts';
export { promptFor, parseChoice, type ModelAdapter, type SlotRequest, type SlotResult } from './adapters/model_adapter.ts';
export { decideScale, AutoscalePolicySchema, type AutoscalePolicy, type ScaleState, type ScaleDecision } from './autoscale_policy.ts';
export { WorkerPool, forkCompositor, type WorkerHandle, type WorkerLauncher, type PoolOptions } from './pool.ts';

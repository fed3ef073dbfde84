// directors — one routine per live gm_event: unfold it (pure), write the unfolding to the register
// in Postgres and raise the waiting flag, follow composition, close the event by proposing its
// outcome to the shard, prune. Supervised (OTP restart intensity), at most one live routine per UID,
// fenced by the Raft term in process and in Postgres.
export { unfoldEvent, templateFor, districtNames, UnfoldError, type CommittedEvent, type Unfolding, type UnfoldedDistrict, type UnfoldedScene, type UnfoldedSlot, type UnfoldOptions } from './unfold.ts';
export { decideOutcome, AUDIT_VERDICTS, type AuditVerdict } from './outcome.ts';
export { RestartIntensity } from './restart_intensity.ts';
export { RoutineRegistry, type Admission } from './registry.ts';
export { runRoutine, outcomeCommandId, type RoutineChild, type RoutineContext, type RoutineEnd } from './routine.ts';
export { DirectorSupervisor, type SupervisorOptions, type SupervisorStats } from './supervisor.ts';
export { directorConfig, DirectorConfigSchema, type DirectorConfig, type DirectorConfigInput } from './config.ts';
export { FencedError, RoutineStopped } from './errors.ts';
export { COMPOSED_CHANNEL, WAITING_CHANNEL, FENCED_SQLSTATE, type RegisterStore, type OpenResult, type LiveEntry, type RegisterStage } from './register_store.ts';
export { MemoryRegisterStore } from './memory_register_store.ts';
export { PgRegisterStore, listenComposed, DIRECTORS_MIGRATIONS } from './pg_register_store.ts';
export { httpShardGateway, type ShardGateway, type OutcomeProposal, type GatewayResult } from './shard_gateway.ts';
export { directorLimits } from './limits.ts';
export { DirectorNodeHost, type HostedShardView, type ShardEventView, type DirectorNodeHostOptions } from './node_host.ts';
export { DeliveryFollower, listenDelivered, acknowledgeDelivery, DELIVERED_CHANNEL, type DeliveryEnd, type DeliveryFollowerOptions, type AckResult } from './delivery_follower.ts';
export { traceEvent, PIPELINE_STAGES, type PipelineStage, type EventTrace, type RegisterSnapshot, type ShardEventState, type SceneTrace, type ParticipantTrace } from './event_trace.ts';
export { readRegisterSnapshot } from './pg_event_trace.ts';
